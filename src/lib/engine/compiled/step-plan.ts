/**
 * A compiled training step (issue 10): the GPU work of one step, traced once as tfjs and the fused
 * kernels encode it, then replayed each step from the recorded dispatch list in one command buffer
 * and one submit, without running the step's JavaScript (no autodiff bookkeeping, no tensors, no
 * pipeline look-ups, no uniform building).
 *
 * The trace watches the device while the step runs normally: every dispatch (pipeline, bind group,
 * workgroup counts, the step phase it belongs to), every buffer-to-buffer copy, every queue write
 * (tfjs writes each kernel's uniforms so) and every upload of host data, and every buffer tfjs's
 * pool hands out or takes back. Each use of a pooled buffer between its acquisition and release
 * is one *lifetime*; a lifetime is, in the plan:
 *   - `in`: a buffer of a tensor the engine holds and the step reads (the weights, the running
 *     sums), looked up again at each replay, since each step leaves new ones;
 *   - `stable`: any other buffer that was there before the step and still is (frozen weights, the
 *     optimizer's arenas, cached tables), bound as it is; the plan is dropped if tfjs frees one;
 *   - `out`: a buffer of a tensor the step leaves to the engine (the new weights, the sums), made
 *     afresh at each replay and handed back;
 *   - `data`: uniforms or uploaded host data, in a buffer of the plan's, written before the submit:
 *     the same bytes each step, except the batch (recognised by its arrays), the dropout keys
 *     (re-derived from the step's seed, notes.ts) and the optimizer's uniforms (rebuilt from the
 *     learning rate and the step count);
 *   - `temp`: everything else the step makes and frees, in buffers of the plan's given out by
 *     liveness (`planTemporaries`): a buffer passes to a later temporary of its size once the last
 *     command that uses it has run, so activations and gradients of different layers share memory.
 *     (tfjs's pool takes a buffer back only at a submit, which a step of one submit never reaches.)
 *
 * A plan is compiled from one traced step and accepted only when a second traced step matches it
 * exactly: the same dispatches, copies and bindings, and every byte written or uploaded predicted
 * from that step's context. Whatever the trace cannot account for (a read-back inside the step, a
 * texture, a buffer the step keeps that the engine did not name) refuses the plan with the reason;
 * the step then keeps running uncompiled.
 */
import * as tf from '@tensorflow/tfjs';
import { setStepPhase, stepPhase, type StepPhase } from '../phase';
import { dropKey } from '../ops/dropout';
import { setTraceListener, type StepContext, type UniformList } from './notes';

/** The parts of tfjs's WebGPU backend (4.x) a trace and a replay use. */
export interface TraceBackend {
	device: GPUDevice;
	queue: GPUQueue;
	commandEncoder: GPUCommandEncoder | null;
	tensorMap: { get(dataId: object): { resource: unknown; values: ArrayLike<number> | null; dtype: string } | undefined };
	bufferManager: {
		acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer;
		releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
	};
	uploadToGPU(dataId: object): void;
	endComputePassEncoder(): void;
	submitQueue(): void;
	getBufferData(buffer: GPUBuffer): Promise<ArrayBuffer>;
	makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
	makeUniforms(list: UniformList): GPUBufferBinding;
}

export interface Life {
	id: number;
	buffer: GPUBuffer;
	/** Acquired during the step (else it was there before). */
	acquired: boolean;
	released: boolean;
	data?: DataWrite;
	/** Referenced by a command or a bind group. */
	used: boolean;
}

export type DataWrite =
	| { kind: 'upload'; bytes: Uint8Array; dtype: string; array?: string }
	| { kind: 'write'; offset: number; bytes: Uint8Array; keys: { at: number; seedOffset: number; stream: number | null }[]; build?: (ctx: StepContext) => UniformList };

export interface Binding {
	binding: number;
	life: Life;
	offset: number;
	size: number | undefined;
}

export type TraceEvent =
	| { kind: 'dispatch'; phase: StepPhase; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; bindings: Binding[]; dims: [number, number, number]; label: string }
	| { kind: 'copy'; phase: StepPhase; src: Life; srcOffset: number; dst: Life; dstOffset: number; size: number }
	| { kind: 'clear'; phase: StepPhase; buf: Life; offset: number; size: number | undefined };

export interface Trace {
	ctx: StepContext;
	events: TraceEvent[];
	lives: Life[];
	/** Buffers of the engine's input tensors, by index. */
	ins: Map<GPUBuffer, number>;
	/** Per output: the lifetime that holds it, or `alias`, the input it shares its data with (a clone). */
	outs: { life: Life | null; alias?: number; shape: number[]; dtype: tf.DataType }[];
	failure: string | null;
}

function bytesOf(values: ArrayLike<number>, dtype: string): Uint8Array {
	const typed = dtype === 'int32' || dtype === 'bool' ? Int32Array.from(values) : Float32Array.from(values);
	return new Uint8Array(typed.buffer);
}

function viewBytes(data: BufferSource | SharedArrayBuffer, dataOffset = 0, size?: number): Uint8Array {
	if (ArrayBuffer.isView(data)) {
		const el = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
		const start = data.byteOffset + dataOffset * el;
		const len = size !== undefined ? size * el : data.byteLength - dataOffset * el;
		return new Uint8Array(data.buffer.slice(start, start + len));
	}
	const buf = data as ArrayBuffer;
	return new Uint8Array(buf.slice(dataOffset, size !== undefined ? dataOffset + size : undefined));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** Replace `obj[name]` with `wrap(original)` and return the undo. */
function patch<T extends object>(obj: T, name: string, wrap: (original: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown, undo: (() => void)[]): void {
	const o = obj as Record<string, unknown>;
	const own = Object.prototype.hasOwnProperty.call(o, name);
	const original = o[name] as (...a: unknown[]) => unknown;
	if (typeof original !== 'function') return;
	o[name] = wrap(original);
	undo.push(() => {
		if (own) o[name] = original;
		else delete o[name];
	});
}

/**
 * Run `step` (one whole training step, done normally) while recording its GPU work. `ins` are the
 * engine's tensors the step reads, `outs` (called after it) the ones it leaves.
 */
export function traceStep(backend: TraceBackend, ctx: StepContext, ins: tf.Tensor[], step: () => void, outs: () => tf.Tensor[]): Trace {
	const lives: Life[] = [];
	const current = new Map<GPUBuffer, Life>();
	const events: TraceEvent[] = [];
	const groups = new Map<GPUBindGroup, { layout: GPUBindGroupLayout; bindings: Binding[] }>();
	// Dropout keys (stream ≥ 0) and seeds a kernel hashes itself (stream null), by their value.
	const keys = new Map<number, { seed: number; stream: number | null }>();
	const arrays = new Map<unknown, string>(Object.entries(ctx.arrays).map(([k, v]) => [v, k]));
	let failure: string | null = null;
	const fail = (why: string) => (failure ??= why);
	let inUpload = 0;

	const life = (buffer: GPUBuffer): Life => {
		let l = current.get(buffer);
		if (!l) {
			l = { id: lives.length, buffer, acquired: false, released: false, used: false };
			lives.push(l);
			current.set(buffer, l);
		}
		return l;
	};

	// The engine's tensors resident on the GPU before the step.
	const inBuffers = new Map<GPUBuffer, number>();
	ins.forEach((t, i) => {
		backend.uploadToGPU(t.dataId);
		const r = backend.tensorMap.get(t.dataId)?.resource;
		if (r instanceof GPUBuffer && !inBuffers.has(r)) inBuffers.set(r, i);
	});
	// Work tfjs has not submitted yet belongs to the step before.
	flush(backend);

	const undo: (() => void)[] = [];
	const bm = backend.bufferManager;
	patch(bm, 'acquireBuffer', (orig) => function (this: unknown, ...a: unknown[]) {
		const b = orig.apply(this, a) as GPUBuffer;
		const l: Life = { id: lives.length, buffer: b, acquired: true, released: false, used: false };
		lives.push(l);
		current.set(b, l);
		return b;
	}, undo);
	patch(bm, 'releaseBuffer', (orig) => function (this: unknown, ...a: unknown[]) {
		const b = a[0] as GPUBuffer;
		const l = current.get(b);
		if (l) {
			l.released = true;
			current.delete(b);
		}
		return orig.apply(this, a);
	}, undo);
	patch(backend, 'uploadToGPU', (orig) => function (this: unknown, ...a: unknown[]) {
		const td = backend.tensorMap.get(a[0] as object);
		const values = td && td.resource == null ? td.values : null;
		inUpload++;
		try {
			return orig.apply(this, a);
		} finally {
			inUpload--;
			if (values && td && td.resource instanceof GPUBuffer) {
				const l = life(td.resource);
				if (!l.acquired || l.data) fail('an upload into a buffer that was not new');
				l.data = { kind: 'upload', bytes: bytesOf(values, td.dtype), dtype: td.dtype, array: arrays.get(values) };
			}
		}
	}, undo);
	// The tfjs program being encoded, to name a dispatch in a refusal.
	let program = 'the fused optimizer';
	patch(backend, 'recordAndSubmit', (orig) => function (this: unknown, ...a: unknown[]) {
		const p = a[0] as { shaderKey?: string; constructor: { name: string } };
		program = p.shaderKey?.split('_')[0] || p.constructor.name;
		try {
			return orig.apply(this, a);
		} finally {
			program = 'the fused optimizer';
		}
	}, undo);
	patch(backend, 'getBufferData', (orig) => function (this: unknown, ...a: unknown[]) {
		fail('the step reads a tensor back from the GPU');
		return orig.apply(this, a);
	}, undo);
	patch(backend.device, 'createBindGroup', (orig) => function (this: unknown, ...a: unknown[]) {
		const desc = a[0] as GPUBindGroupDescriptor;
		const g = orig.apply(this, a) as GPUBindGroup;
		const bindings: Binding[] = [];
		for (const e of desc.entries) {
			const r = e.resource as GPUBufferBinding;
			if (!r || !(r.buffer instanceof GPUBuffer)) {
				fail('a binding that is not a buffer');
				continue;
			}
			const l = life(r.buffer);
			l.used = true;
			bindings.push({ binding: e.binding, life: l, offset: r.offset ?? 0, size: r.size });
		}
		groups.set(g, { layout: desc.layout as GPUBindGroupLayout, bindings });
		return g;
	}, undo);
	patch(backend.queue, 'writeBuffer', (orig) => function (this: unknown, ...a: unknown[]) {
		const [buffer, offset, data, dataOffset, size] = a as [GPUBuffer, number, BufferSource, number | undefined, number | undefined];
		const l = life(buffer);
		if (!l.acquired || l.data) fail('a queue write into a buffer that was not new');
		const bytes = viewBytes(data, dataOffset ?? 0, size);
		l.data = { kind: 'write', offset, bytes, keys: [] };
		return orig.apply(this, a);
	}, undo);

	const passProto = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: object } }).GPUComputePassEncoder?.prototype;
	const encProto = (globalThis as unknown as { GPUCommandEncoder?: { prototype: object } }).GPUCommandEncoder?.prototype;
	const state = new WeakMap<object, { pipeline?: GPUComputePipeline; group?: GPUBindGroup }>();
	if (passProto && encProto) {
		patch(passProto, 'setPipeline', (orig) => function (this: object, ...a: unknown[]) {
			state.set(this, { ...state.get(this), pipeline: a[0] as GPUComputePipeline });
			return orig.apply(this, a);
		}, undo);
		patch(passProto, 'setBindGroup', (orig) => function (this: object, ...a: unknown[]) {
			if (a[0] !== 0 || (a[2] && (a[2] as unknown[]).length)) fail('a bind group other than group 0, or dynamic offsets');
			state.set(this, { ...state.get(this), group: a[1] as GPUBindGroup });
			return orig.apply(this, a);
		}, undo);
		patch(passProto, 'dispatchWorkgroups', (orig) => function (this: object, ...a: unknown[]) {
			const s = state.get(this);
			const g = s?.group ? groups.get(s.group) : undefined;
			if (!s?.pipeline || !g) fail('a dispatch whose pipeline or bind group the trace did not see');
			else events.push({ kind: 'dispatch', phase: stepPhase(), pipeline: s.pipeline, layout: g.layout, bindings: g.bindings, dims: [Number(a[0]), Number(a[1] ?? 1), Number(a[2] ?? 1)], label: program });
			return orig.apply(this, a);
		}, undo);
		patch(passProto, 'dispatchWorkgroupsIndirect', (orig) => function (this: object, ...a: unknown[]) {
			fail('an indirect dispatch');
			return orig.apply(this, a);
		}, undo);
		patch(encProto, 'copyBufferToBuffer', (orig) => function (this: object, ...a: unknown[]) {
			if (!inUpload) {
				const [src, so, dst, dso, size] = a as [GPUBuffer, number, GPUBuffer, number, number];
				const s = life(src);
				const d = life(dst);
				s.used = d.used = true;
				events.push({ kind: 'copy', phase: stepPhase(), src: s, srcOffset: so, dst: d, dstOffset: dso, size });
			}
			return orig.apply(this, a);
		}, undo);
		patch(encProto, 'clearBuffer', (orig) => function (this: object, ...a: unknown[]) {
			const l = life(a[0] as GPUBuffer);
			l.used = true;
			events.push({ kind: 'clear', phase: stepPhase(), buf: l, offset: Number(a[1] ?? 0), size: a[2] as number | undefined });
			return orig.apply(this, a);
		}, undo);
		for (const m of ['resolveQuerySet', 'writeTimestamp', 'beginRenderPass'])
			patch(encProto, m, (orig) => function (this: object, ...a: unknown[]) {
				fail(`the step uses ${m}`);
				return orig.apply(this, a);
			}, undo);
	} else fail('no WebGPU encoder prototypes to watch');

	setTraceListener({
		dropKey: (key, seed, stream) => keys.set(key >>> 0, { seed: seed >>> 0, stream }),
		dropSeed: (seed) => keys.set(seed >>> 0, { seed: seed >>> 0, stream: null }),
		uniforms: (buffer, build) => {
			const l = current.get(buffer);
			if (l?.data?.kind === 'write') l.data.build = build;
			else fail('noted uniforms the trace did not see written');
		}
	});
	let outTensors: tf.Tensor[] = [];
	try {
		step();
		flush(backend); // releases what the step freed
		outTensors = outs();
	} finally {
		setTraceListener(null);
		undo.reverse().forEach((u) => u());
	}

	// Where a uniform write holds a dropout key or seed, its seed's offset from the step's. A word
	// that only happens to equal one is caught when the second trace is predicted from the first.
	for (const l of lives) {
		const d = l.data;
		if (d?.kind !== 'write' || d.build || !keys.size) continue;
		const words = new Uint32Array(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength >> 2);
		words.forEach((w, i) => {
			const k = keys.get(w);
			if (k) d.keys.push({ at: i * 4, seedOffset: (k.seed - (ctx.seed >>> 0)) >>> 0, stream: k.stream });
		});
	}

	const outList: Trace['outs'] = [];
	for (const [j, t] of outTensors.entries()) {
		const r = backend.tensorMap.get(t.dataId)?.resource;
		const l = r instanceof GPUBuffer ? current.get(r) : undefined;
		// An output that shares an input's data (a clone of a running sum the step did not add to).
		if (r instanceof GPUBuffer && inBuffers.has(r) && (!l || !l.acquired)) {
			outList.push({ life: null, alias: inBuffers.get(r), shape: [...t.shape], dtype: t.dtype });
			continue;
		}
		if (!l || !l.acquired || l.released) {
			fail(`output ${j} (${t.shape.join('×') || 'a scalar'}) is not a tensor the step wrote (${!l ? 'its buffer never used' : !l.acquired ? 'a buffer it found' : 'a buffer it freed'})`);
			continue;
		}
		outList.push({ life: l, shape: [...t.shape], dtype: t.dtype });
	}
	const outSet = new Set(outList.map((o) => o.life));
	for (const l of lives) {
		if (!l.used) continue;
		if (l.acquired && !l.released && !outSet.has(l) && !l.data) fail(`the step keeps a buffer (${l.buffer.size} bytes) the engine did not name`);
		if (!l.acquired && l.released && !inBuffers.has(l.buffer)) fail('the step frees a buffer it found (not one of its inputs)');
	}
	return { ctx, events, lives, ins: inBuffers, outs: outList, failure };
}

/** A lifetime's part in the plan (see the file's comment). */
type Role = { kind: 'in'; index: number } | { kind: 'stable'; buffer: GPUBuffer } | { kind: 'out'; index: number } | { kind: 'data' } | { kind: 'temp' };

function roleOf(t: Trace, l: Life, outIndex: Map<Life, number>): Role {
	if (!l.acquired) {
		const i = t.ins.get(l.buffer);
		return i !== undefined ? { kind: 'in', index: i } : { kind: 'stable', buffer: l.buffer };
	}
	const o = outIndex.get(l);
	if (o !== undefined) return { kind: 'out', index: o };
	return l.data ? { kind: 'data' } : { kind: 'temp' };
}

function sameRole(a: Role, b: Role): boolean {
	if (a.kind !== b.kind) return false;
	if (a.kind === 'in' || a.kind === 'out') return a.index === (b as typeof a).index;
	if (a.kind === 'stable') return a.buffer === (b as typeof a).buffer;
	return true;
}

/** The bytes a data lifetime gets in a step with context `ctx`. */
export function predict(d: DataWrite, ctx: StepContext, uniformBytes: (list: UniformList) => Uint8Array): Uint8Array | string {
	if (d.kind === 'upload') {
		if (!d.array) return d.bytes;
		const a = ctx.arrays[d.array] as unknown as ArrayLike<number> | undefined;
		if (!a) return `the step's context has no array '${d.array}'`;
		return bytesOf(a, d.dtype);
	}
	if (d.build) return uniformBytes(d.build(ctx));
	if (!d.keys.length) return d.bytes;
	const out = d.bytes.slice();
	const words = new Uint32Array(out.buffer);
	for (const k of d.keys) {
		const seed = (ctx.seed + k.seedOffset) >>> 0;
		words[k.at >> 2] = k.stream === null ? seed : dropKey(seed, k.stream);
	}
	return out;
}

type Ref = { kind: 'in' | 'out'; index: number } | { kind: 'buffer'; buffer: GPUBuffer };

type PlanCommand =
	| { kind: 'dispatch'; phase: StepPhase; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; entries: { binding: number; ref: Ref; offset: number; size: number | undefined }[]; dims: [number, number, number]; group: GPUBindGroup | null }
	| { kind: 'copy'; phase: StepPhase; src: Ref; srcOffset: number; dst: Ref; dstOffset: number; size: number }
	| { kind: 'clear'; phase: StepPhase; buf: Ref; offset: number; size: number | undefined };

/** Figures about a compiled plan, for the bench and the log. */
export interface PlanStats {
	dispatches: number;
	copies: number;
	/** Buffers of the plan's own (temporaries and data) and their bytes. */
	buffers: number;
	bytes: number;
	/** Data writes before each replay, and how many change from step to step. */
	writes: number;
	dynamicWrites: number;
	/** Dispatches whose bind group is made once (no input or output tensor in it). */
	fixedGroups: number;
}

/** Buffers of the plans of one engine, shared across its plans (only one step runs at a time). */
export class PlanBuffers {
	private readonly byKey = new Map<string, GPUBuffer[]>();
	constructor(private readonly backend: TraceBackend) {}

	/** The `ordinal`-th buffer of this size and usage. */
	take(size: number, usage: number, ordinal: number): GPUBuffer {
		const key = `${size}:${usage}`;
		let list = this.byKey.get(key);
		if (!list) this.byKey.set(key, (list = []));
		while (list.length <= ordinal) list.push(this.backend.bufferManager.acquireBuffer(size, usage));
		return list[ordinal];
	}

	get count(): number {
		let n = 0;
		for (const l of this.byKey.values()) n += l.length;
		return n;
	}

	get bytes(): number {
		let n = 0;
		for (const l of this.byKey.values()) for (const b of l) n += b.size;
		return n;
	}

	dispose(): void {
		for (const l of this.byKey.values()) for (const b of l) this.backend.bufferManager.releaseBuffer(b);
		this.byKey.clear();
	}
}

export class StepPlan {
	private stale = false;

	private constructor(
		private readonly backend: TraceBackend,
		private readonly commands: PlanCommand[],
		private readonly data: { buffer: GPUBuffer; write: DataWrite }[],
		private readonly outs: { shape: number[]; dtype: tf.DataType; alias?: number }[],
		private readonly inCount: number,
		readonly stable: GPUBuffer[],
		readonly stats: PlanStats
	) {}

	/**
	 * The plan of trace `a`, if trace `b` (the next step) matches it; otherwise why not. `buffers`
	 * lends the plan its temporaries and data buffers.
	 */
	static compile(backend: TraceBackend, a: Trace, b: Trace, buffers: PlanBuffers): StepPlan | string {
		if (a.failure) return a.failure;
		if (b.failure) return b.failure;
		if (a.events.length !== b.events.length) return `the steps differ in length (${a.events.length} and ${b.events.length} commands)`;
		if (a.outs.length !== b.outs.length || a.outs.some((o, i) => o.alias !== b.outs[i].alias || !o.life !== !b.outs[i].life)) return 'the steps leave different outputs';
		const outIndex = (t: Trace) => new Map(t.outs.flatMap((o, i) => (o.life ? [[o.life, i] as [Life, number]] : [])));
		const outsA = outIndex(a);
		const outsB = outIndex(b);
		const pair = new Map<Life, Life>();
		const uniformBytes = (list: UniformList) => uniformBytesOf(backend, list);
		const match = (la: Life, lb: Life): string | null => {
			const seen = pair.get(la);
			if (seen) return seen === lb ? null : 'a buffer is used in different places in the two steps';
			if (!sameRole(roleOf(a, la, outsA), roleOf(b, lb, outsB))) return 'a buffer plays different parts in the two steps';
			if (la.buffer.size !== lb.buffer.size || la.buffer.usage !== lb.buffer.usage) return 'buffers of different sizes in the two steps';
			if (!!la.data !== !!lb.data) return 'data written in one step only';
			if (la.data && lb.data) {
				const p = predict(la.data, b.ctx, uniformBytes);
				if (typeof p === 'string') return p;
				const actual = lb.data.bytes;
				if (!equalBytes(p, actual)) return `${describe(la, a)} changed between the steps, and the plan cannot predict it`;
				if (la.data.kind === 'write' && lb.data.kind === 'write' && la.data.offset !== lb.data.offset) return 'a write at a different offset';
			}
			pair.set(la, lb);
			return null;
		};
		for (let i = 0; i < a.events.length; i++) {
			const ea = a.events[i];
			const eb = b.events[i];
			if (ea.kind !== eb.kind || ea.phase !== eb.phase) return `command ${i} differs between the steps`;
			let why: string | null = null;
			if (ea.kind === 'dispatch' && eb.kind === 'dispatch') {
				if (ea.pipeline !== eb.pipeline || ea.dims.join() !== eb.dims.join() || ea.bindings.length !== eb.bindings.length) return `dispatch ${i} differs between the steps`;
				for (let k = 0; k < ea.bindings.length && !why; k++) {
					const x = ea.bindings[k];
					const y = eb.bindings[k];
					if (x.binding !== y.binding || x.offset !== y.offset || x.size !== y.size) why = `dispatch ${i} binds differently`;
					else why = match(x.life, y.life);
				}
			} else if (ea.kind === 'copy' && eb.kind === 'copy') {
				if (ea.srcOffset !== eb.srcOffset || ea.dstOffset !== eb.dstOffset || ea.size !== eb.size) return `copy ${i} differs between the steps`;
				why = match(ea.src, eb.src) ?? match(ea.dst, eb.dst);
			} else if (ea.kind === 'clear' && eb.kind === 'clear') {
				if (ea.offset !== eb.offset || ea.size !== eb.size) return `clear ${i} differs`;
				why = match(ea.buf, eb.buf);
			}
			if (why) return why;
		}

		// The plan's buffers: data lifetimes one each (written before the submit, so shared with
		// nothing); temporaries by liveness, a buffer going to the next temporary of its size and usage
		// that starts after the last command that uses it (the commands run in order).
		const ordinals = new Map<string, number>();
		const next = (b: GPUBuffer) => {
			const key = `${b.size}:${b.usage}`;
			const n = ordinals.get(key) ?? 0;
			ordinals.set(key, n + 1);
			return buffers.take(b.size, b.usage, n);
		};
		const tempOf = planTemporaries(a, outsA, next);
		const dataOf = new Map<Life, GPUBuffer>();
		const data: { buffer: GPUBuffer; write: DataWrite }[] = [];
		const stable = new Set<GPUBuffer>();
		const ref = (l: Life): Ref => {
			const r = roleOf(a, l, outsA);
			if (r.kind === 'in' || r.kind === 'out') return { kind: r.kind, index: r.index };
			if (r.kind === 'stable') {
				stable.add(r.buffer);
				return { kind: 'buffer', buffer: r.buffer };
			}
			if (r.kind === 'data') {
				let buf = dataOf.get(l);
				if (!buf) {
					buf = next(l.buffer);
					dataOf.set(l, buf);
					data.push({ buffer: buf, write: l.data! });
				}
				return { kind: 'buffer', buffer: buf };
			}
			return { kind: 'buffer', buffer: tempOf.get(l)! };
		};
		const commands: PlanCommand[] = a.events.map((e) => {
			if (e.kind === 'copy') return { kind: 'copy', phase: e.phase, src: ref(e.src), srcOffset: e.srcOffset, dst: ref(e.dst), dstOffset: e.dstOffset, size: e.size };
			if (e.kind === 'clear') return { kind: 'clear', phase: e.phase, buf: ref(e.buf), offset: e.offset, size: e.size };
			const entries = e.bindings.map((x) => ({ binding: x.binding, ref: ref(x.life), offset: x.offset, size: x.size }));
			return { kind: 'dispatch', phase: e.phase, pipeline: e.pipeline, layout: e.layout, entries, dims: e.dims, group: null };
		});
		// Bind groups without an input or output tensor are made once.
		let fixedGroups = 0;
		for (const c of commands) {
			if (c.kind !== 'dispatch' || c.entries.some((x) => x.ref.kind !== 'buffer')) continue;
			c.group = backend.device.createBindGroup({ layout: c.layout, entries: c.entries.map((x) => ({ binding: x.binding, resource: { buffer: (x.ref as { buffer: GPUBuffer }).buffer, offset: x.offset, size: x.size } })) });
			fixedGroups++;
		}
		const dynamicWrites = data.filter(({ write: d }) => (d.kind === 'upload' ? !!d.array : !!d.build || d.keys.length > 0)).length;
		const stats: PlanStats = {
			dispatches: commands.filter((c) => c.kind === 'dispatch').length,
			copies: commands.filter((c) => c.kind === 'copy').length,
			buffers: buffers.count,
			bytes: buffers.bytes,
			writes: data.length,
			dynamicWrites,
			fixedGroups
		};
		const inCount = Math.max(a.ins.size ? Math.max(...a.ins.values()) + 1 : 0, ...a.outs.map((o) => (o.alias ?? -1) + 1));
		return new StepPlan(backend, commands, data, a.outs.map((o) => ({ shape: o.shape, dtype: o.dtype, alias: o.alias })), inCount, [...stable], stats);
	}

	/** Whether tfjs freed a buffer the plan binds as it is (a frozen weight, an arena): it must not run again. */
	get invalid(): boolean {
		return this.stale;
	}

	invalidate(): void {
		this.stale = true;
	}

	/**
	 * One step from the plan: `ins` the engine's tensors as the trace took them, `ctx` this step's
	 * values. Returns the outputs in order: new tensors, as the traced step made them, or a clone of
	 * the input an output shares its data with.
	 */
	replay(ctx: StepContext, ins: tf.Tensor[]): tf.Tensor[] {
		if (this.stale) throw new Error('A compiled step ran after a buffer it binds was freed.');
		const backend = this.backend;
		const device = backend.device;
		const inBuf: GPUBuffer[] = [];
		for (let i = 0; i < this.inCount; i++) {
			const t = ins[i];
			backend.uploadToGPU(t.dataId);
			inBuf.push(backend.tensorMap.get(t.dataId)!.resource as GPUBuffer);
		}
		const outs = this.outs.map((o) => {
			if (o.alias !== undefined) return null;
			const info = backend.makeTensorInfo(o.shape, o.dtype);
			backend.uploadToGPU(info.dataId);
			return info;
		});
		const outBuf = outs.map((o) => (o ? (backend.tensorMap.get(o.dataId)!.resource as GPUBuffer) : null!));
		const resolve = (r: Ref) => (r.kind === 'buffer' ? r.buffer : r.kind === 'in' ? inBuf[r.index] : outBuf[r.index]);
		// tfjs's unsubmitted work comes first.
		flush(backend);
		const uniformBytes = (list: UniformList) => uniformBytesOf(backend, list);
		for (const { buffer, write } of this.data) {
			const bytes = predict(write, ctx, uniformBytes);
			if (typeof bytes === 'string') throw new Error(`Compiled step: ${bytes}.`);
			device.queue.writeBuffer(buffer, write.kind === 'write' ? write.offset : 0, bytes);
		}
		const encoder = device.createCommandEncoder();
		let pass: GPUComputePassEncoder | null = null;
		for (const c of this.commands) {
			setStepPhase(c.phase);
			if (c.kind === 'dispatch') {
				pass ??= encoder.beginComputePass();
				const group =
					c.group ??
					device.createBindGroup({ layout: c.layout, entries: c.entries.map((x) => ({ binding: x.binding, resource: { buffer: resolve(x.ref), offset: x.offset, size: x.size } })) });
				pass.setPipeline(c.pipeline);
				pass.setBindGroup(0, group);
				pass.dispatchWorkgroups(c.dims[0], c.dims[1], c.dims[2]);
				continue;
			}
			if (pass) {
				pass.end();
				pass = null;
			}
			if (c.kind === 'copy') encoder.copyBufferToBuffer(resolve(c.src), c.srcOffset, resolve(c.dst), c.dstOffset, c.size);
			else encoder.clearBuffer(resolve(c.buf), c.offset, c.size);
		}
		pass?.end();
		setStepPhase('other');
		device.queue.submit([encoder.finish()]);
		return outs.map((info, i) => (info ? tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend) : ins[this.outs[i].alias!].clone()));
	}
}

/** The lifetimes each command of a trace uses. */
function livesOf(e: TraceEvent): Life[] {
	return e.kind === 'dispatch' ? e.bindings.map((b) => b.life) : e.kind === 'copy' ? [e.src, e.dst] : [e.buf];
}

/**
 * A buffer for every temporary of trace `t`: each from the first to the last command that uses
 * it, handed on to a later temporary of the same size and usage once that command has run.
 */
export function planTemporaries(t: Trace, outs: Map<Life, number>, fresh: (like: GPUBuffer) => GPUBuffer): Map<Life, GPUBuffer> {
	const span = new Map<Life, [number, number]>();
	t.events.forEach((e, i) => {
		for (const l of livesOf(e)) {
			if (roleOf(t, l, outs).kind !== 'temp') continue;
			const s = span.get(l);
			if (s) s[1] = i;
			else span.set(l, [i, i]);
		}
	});
	const order = [...span.entries()].sort((x, y) => x[1][0] - y[1][0]);
	const out = new Map<Life, GPUBuffer>();
	const free = new Map<string, GPUBuffer[]>();
	let busy: { last: number; key: string; buffer: GPUBuffer }[] = [];
	for (const [l, [first, last]] of order) {
		for (const b of busy.filter((x) => x.last < first)) {
			const list = free.get(b.key) ?? [];
			list.push(b.buffer);
			free.set(b.key, list);
		}
		busy = busy.filter((x) => x.last >= first);
		const key = `${l.buffer.size}:${l.buffer.usage}`;
		const buffer = free.get(key)?.pop() ?? fresh(l.buffer);
		out.set(l, buffer);
		busy.push({ last, key, buffer });
	}
	return out;
}

/** Submit what tfjs has encoded so far (its open compute pass ended first, as tfjs does). */
function flush(backend: TraceBackend): void {
	if (!backend.commandEncoder) return;
	backend.endComputePassEncoder();
	backend.submitQueue();
}

/** A data lifetime in words: what it holds and the first dispatch that reads it. */
function describe(l: Life, t: Trace): string {
	const d = l.data!;
	const reader = t.events.find((e) => e.kind === 'dispatch' && e.bindings.some((b) => b.life === l));
	const by = reader && reader.kind === 'dispatch' ? ` read by ${reader.label}` : '';
	if (d.kind === 'upload') return `an upload of ${d.bytes.length} bytes (${d.dtype})${by}`;
	const words = Array.from(new Uint32Array(d.bytes.buffer, d.bytes.byteOffset, d.bytes.byteLength >> 2));
	return `a uniform write [${words.slice(0, 24).join(' ')}]${by}`;
}

/** The bytes tfjs's `makeUniforms` writes for a program-defined list (its layout, not a copy of it). */
function uniformBytesOf(backend: TraceBackend, list: UniformList): Uint8Array {
	let bytes: Uint8Array | null = null;
	const make = Object.getPrototypeOf(backend).makeUniforms as TraceBackend['makeUniforms'];
	const fake = {
		bufferManager: { acquireBuffer: () => ({}) },
		queue: { writeBuffer: (_b: unknown, _o: number, data: ArrayBuffer, off: number, size: number) => (bytes = new Uint8Array(data.slice(off, off + size))) },
		uniformPendingDisposal: [] as unknown[]
	};
	make.call(fake as unknown as TraceBackend, list.map((u) => ({ ...u, data: [...u.data] })));
	return bytes!;
}
