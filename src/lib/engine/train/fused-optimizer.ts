/**
 * The optimizer's fast path on WebGPU (issue 10): global-norm clipping and the whole update for
 * every trainable parameter in two compute dispatches, at any depth, where the composites
 * (adamw.ts, sgd.ts, clip.ts) run a handful of small kernels per operation per variable.
 *
 * Flat arenas: one float32 buffer for the parameters and one per optimizer slot (Adam's m and v,
 * SGD's momentum buffer), laid out by arena.ts, decayed parameters first. An arena larger than one
 * binding (split.ts's `bindingLimit`, or `maxBufferSize`) is cut into chunks, one buffer each, a
 * parameter's values possibly across two or more; every chunk then gets its own two dispatches,
 * the norm passes first (each writing its partial sums after the previous chunk's), so every
 * update sees the global norm. Each step:
 *   - transfers (copyBufferToBuffer, not dispatches): every gradient into a gradient arena, and a
 *     parameter into the parameter arena only when its variable holds data this arena did not
 *     write (the first step, a resume, a step the composite path took);
 *   - dispatch 1 ('clip'): 256 workgroups each sum a strided share of the squared gradients
 *     (on a software adapter, 16 threads of one workgroup, with no barrier: reductions.ts);
 *   - dispatch 2 ('optimizer'): every workgroup adds those partial sums (the global norm, on
 *     the GPU: the scale factor never goes back to the CPU), scales its gradients, applies the
 *     decay (decoupled or L2, where the parameter's DecayRule says so), updates the moments in
 *     place and the parameters; workgroup 0 writes the norm into the scalar the step logs;
 *   - transfers: each parameter's new values into a new tensor, which the variable is assigned.
 * Assigning new tensors (never writing a variable's buffer in place) keeps every other tensor
 * that shares a variable's data — the `record` path's clones of the weights before the update —
 * unchanged.
 *
 * While the arenas hold the moments, the optimizer's moment variables are disposed (the memory is
 * not held twice); `takeBack` puts them back as variables before anything reads or replaces them
 * (a checkpoint's `stateTensors`, `loadState`, a composite step), so checkpoints name and shape
 * them as before and the two paths' checkpoints are interchangeable.
 *
 * Everything is encoded into tfjs's own command encoder, in order with its kernels, from the
 * buffers its tensors already own: the backend's internals used here are listed in
 * `WebGPUBackendLike` (tfjs-backend-webgpu 4.x).
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { setStepPhase } from '../phase';
import { arenaChunks, arenaLayout, chunkElements, NORM_WORKGROUPS, segmentPieces, THREAD_PARTIALS, WORKGROUP_SIZE, workgroupCounts, type ArenaChunk, type ArenaLayout, type ArenaPiece } from './arena';
import { bindingLimit } from '../ops/split';
import { reductions, type Reductions } from '../ops/fused/reductions';
import { noteUniforms, tracing } from '../compiled/notes';

type DataId = object;

/** The parts of tfjs's WebGPU backend the fused update drives. */
interface WebGPUBackendLike {
	device: GPUDevice;
	commandEncoder: GPUCommandEncoder | null;
	tensorMap: { get(dataId: DataId): { resource: GPUBuffer | null } | undefined };
	bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer; releaseBuffer(buffer: GPUBuffer): void };
	/** Buffers released to the pool after the next submit (tfjs puts each kernel's uniforms there). */
	uniformPendingDisposal: GPUBuffer[];
	/** Data the unsubmitted commands use: disposing it waits for the submit. */
	commandQueueOwnedIds: WeakSet<DataId>;
	ensureCommandEncoderReady(): void;
	endComputePassEncoder(): void;
	uploadToGPU(dataId: DataId): void;
	makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
	makeUniforms(uniforms: { type: 'float32' | 'uint32'; data: number[] }[]): GPUBufferBinding;
}

/** The update rule the kernel computes, with the optimizer's hyper-parameters. */
export type FusedRule =
	| { kind: 'adam'; decoupled: boolean; beta1: number; beta2: number; eps: number; weightDecay: number }
	| { kind: 'sgd'; momentum: number; nesterov: boolean; weightDecay: number };

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

const UNIFORMS = `struct Uniforms {
	n: u32, decayEnd: u32, np: u32, partialBase: u32,
	maxNorm: f32, lr: f32, wd: f32, decayFactor: f32,
	b1: f32, omb1: f32, b2: f32, omb2: f32,
	eps: f32, bc2Sqrt: f32, stepSize: f32, mu: f32,
}`;

/** Pass 1 of the global norm: each workgroup's sum of squares over a strided share of the arena. */
const NORM_SHADER = `${UNIFORMS}
@group(0) @binding(0) var<storage, read> grads: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> u: Uniforms;
var<workgroup> acc: array<f32, ${WORKGROUP_SIZE}>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	var s = 0.0;
	let stride = nwg.x * ${WORKGROUP_SIZE}u;
	for (var i = wid.x * ${WORKGROUP_SIZE}u + lid; i < u.n; i = i + stride) {
		let x = grads[i];
		s = s + x * x;
	}
	acc[lid] = s;
	workgroupBarrier();
	for (var k = ${WORKGROUP_SIZE / 2}u; k > 0u; k = k >> 1u) {
		if (lid < k) { acc[lid] = acc[lid] + acc[lid + k]; }
		workgroupBarrier();
	}
	if (lid == 0u) { partials[u.partialBase + wid.x] = acc[0]; }
}`;

/**
 * Pass 1 without barriers (software adapters, reductions.ts): one workgroup of THREAD_PARTIALS
 * threads, each summing a strided share of the arena into its own partial.
 */
const NORM_SHADER_THREAD = `${UNIFORMS}
@group(0) @binding(0) var<storage, read> grads: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> u: Uniforms;
@compute @workgroup_size(${THREAD_PARTIALS})
fn main(@builtin(local_invocation_index) lid: u32) {
	var s = 0.0;
	for (var i = lid; i < u.n; i = i + ${THREAD_PARTIALS}u) {
		let x = grads[i];
		s = s + x * x;
	}
	partials[u.partialBase + lid] = s;
}`;

/** The update: the norm from the partial sums, the clip scale, then each element's rule. */
function updateShader(rule: FusedRule, reduce: Reductions): string {
	const slots = slotCount(rule);
	const slotBindings = Array.from({ length: slots }, (_, k) => `@group(0) @binding(${2 + k}) var<storage, read_write> s${k}: array<f32>;`).join('\n');
	let body: string;
	if (rule.kind === 'adam') {
		body = `${rule.decoupled ? '' : 'if (decays) { g = g + p0 * u.wd; }'}
		let m1 = s0[i] * u.b1 + g * u.omb1;
		let v1 = s1[i] * u.b2 + (g * g) * u.omb2;
		s0[i] = m1;
		s1[i] = v1;
		var base = p0;
		${rule.decoupled ? 'if (decays) { base = p0 * u.decayFactor; }' : ''}
		let denom = sqrt(v1) / u.bc2Sqrt + u.eps;
		params[i] = base - (m1 / denom) * u.stepSize;`;
	} else {
		body = `if (decays) { g = g + p0 * u.wd; }
		${slots ? `let b1 = s0[i] * u.mu + g;\n\t\ts0[i] = b1;\n\t\t${rule.nesterov ? 'g = g + b1 * u.mu;' : 'g = b1;'}` : ''}
		params[i] = p0 - g * u.lr;`;
	}
	return `${UNIFORMS}
@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
${slotBindings}
@group(0) @binding(${2 + slots}) var<storage, read> partials: array<f32>;
@group(0) @binding(${3 + slots}) var<storage, read_write> normOut: array<f32>;
@group(0) @binding(${4 + slots}) var<uniform> u: Uniforms;
${reduce === 'workgroup' ? `var<workgroup> acc: array<f32, ${WORKGROUP_SIZE}>;` : ''}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
	${reduce === 'workgroup' ? WORKGROUP_TOTAL : THREAD_TOTAL}
	let norm = sqrt(total);
	var scale = 1.0;
	if (u.maxNorm > 0.0) { scale = min(1.0, u.maxNorm / (norm + 1e-6)); }
	if (u.partialBase == 0u && wid.x == 0u && lid == 0u) { normOut[0] = norm; }
	let stride = nwg.x * ${WORKGROUP_SIZE}u;
	for (var i = wid.x * ${WORKGROUP_SIZE}u + lid; i < u.n; i = i + stride) {
		let decays = i < u.decayEnd;
		let p0 = params[i];
		var g = grads[i] * scale;
		${body}
	}
}`;
}

/** The sum of the partials (every chunk's), shared through workgroup memory. */
const WORKGROUP_TOTAL = `var s = 0.0;
	for (var k = lid; k < u.np; k = k + ${WORKGROUP_SIZE}u) { s = s + partials[k]; }
	acc[lid] = s;
	workgroupBarrier();
	for (var k = ${WORKGROUP_SIZE / 2}u; k > 0u; k = k >> 1u) {
		if (lid < k) { acc[lid] = acc[lid] + acc[lid + k]; }
		workgroupBarrier();
	}
	let total = acc[0];`;

/** The sum of the partials, each thread reading all of them (THREAD_PARTIALS: a few). */
const THREAD_TOTAL = `var total = 0.0;
	for (var k = 0u; k < u.np; k = k + 1u) { total = total + partials[k]; }`;

/** Moment arenas the rule keeps: Adam's m and v, SGD's momentum buffer (none without momentum). */
export function slotCount(rule: FusedRule): number {
	return rule.kind === 'adam' ? 2 : rule.momentum > 0 ? 1 : 0;
}

function ruleKey(rule: FusedRule): string {
	return rule.kind === 'adam' ? `adam-${rule.decoupled ? 'decoupled' : 'l2'}` : `sgd-${slotCount(rule)}-${rule.nesterov ? 'nesterov' : 'plain'}`;
}

/** Compiled pipelines per device (a lost device's go with it). */
const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(device: GPUDevice, key: string, code: () => string): GPUComputePipeline {
	let cache = pipelines.get(device);
	if (!cache) pipelines.set(device, (cache = new Map()));
	let p = cache.get(key);
	if (!p) {
		p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: code() }), entryPoint: 'main' } });
		cache.set(key, p);
	}
	return p;
}

/**
 * The uniform values of one chunk's dispatches in one step, in the order of `Uniforms`: `chunk`
 * is the arena (or one chunk of it: its size and decay boundary), `partials` the number of partial
 * sums every chunk's norm pass writes in all, `partialBase` where this chunk's go (chunk 0, at 0,
 * also writes the norm the step logs).
 */
export function uniformValues(
	rule: FusedRule,
	chunk: Pick<ArenaChunk, 'total' | 'decayEnd'>,
	lr: number,
	maxNorm: number,
	step: number,
	partials: number,
	partialBase = 0
): { type: 'float32' | 'uint32'; data: number[] }[] {
	const wd = rule.weightDecay;
	const u = (x: number) => ({ type: 'uint32' as const, data: [x] });
	const f = (x: number) => ({ type: 'float32' as const, data: [x] });
	const clip = maxNorm > 0 ? maxNorm : 0;
	const decayEnd = wd > 0 ? chunk.decayEnd : 0;
	if (rule.kind === 'adam') {
		// As adamw.ts computes them, in float64 before they become float32.
		const bc1 = 1 - Math.pow(rule.beta1, step);
		const bc2Sqrt = Math.sqrt(1 - Math.pow(rule.beta2, step));
		return [u(chunk.total), u(decayEnd), u(partials), u(partialBase), f(clip), f(lr), f(wd), f(1 - lr * wd), f(rule.beta1), f(1 - rule.beta1), f(rule.beta2), f(1 - rule.beta2), f(rule.eps), f(bc2Sqrt), f(lr / bc1), f(0)];
	}
	return [u(chunk.total), u(decayEnd), u(partials), u(partialBase), f(clip), f(lr), f(wd), f(1 - lr * wd), f(0), f(0), f(0), f(0), f(0), f(1), f(lr), f(rule.momentum)];
}

/** The arenas on the GPU, between steps: per arena, one buffer per chunk. */
interface Arenas {
	backend: WebGPUBackendLike;
	layout: ArenaLayout;
	/** Values per chunk (the binding limit when the arenas were laid out). */
	perChunk: number;
	chunks: ArenaChunk[];
	/** Per segment, its pieces in the chunks. */
	pieces: Map<string, ArenaPiece[]>;
	params: GPUBuffer[];
	/** Per optimizer slot, one buffer per chunk. */
	slots: GPUBuffer[][];
	/** Every chunk's partial sums of the norm, one after another. */
	partials: GPUBuffer;
	/** Per parameter, the data its variable held when this arena wrote it (still current if unchanged). */
	written: Map<string, DataId>;
}

/**
 * The fused update of one optimizer. The optimizer hands it its parameters, its decay rule and its
 * slot maps (`optimizer.<slot>.<param>` variables, in checkpoint order).
 */
export class FusedUpdate {
	private arenas: Arenas | null = null;

	constructor(
		private readonly params: Map<string, tf.Variable>,
		private readonly decay: (name: string, shape: number[]) => boolean,
		private readonly slots: Map<string, tf.Variable>[]
	) {}

	/** Whether the arenas hold the moments now (the slot maps are empty meanwhile). */
	get active(): boolean {
		return this.arenas !== null;
	}

	/**
	 * Clip and update from `grads` (keyed like the parameters) in two dispatches and return the
	 * gradients' global norm before clipping, or null where the fast path does not apply (not
	 * WebGPU, switched off, a parameter without a float32 gradient of its shape, an arena larger
	 * than one storage binding): the caller then runs the composites.
	 */
	run(grads: Record<string, tf.Tensor>, rule: FusedRule, lr: number, maxNorm: number, step: number): tf.Scalar | null {
		if (!this.applies(grads)) return null;
		const backend = tf.backend() as unknown as WebGPUBackendLike;
		if (this.arenas && (this.arenas.backend !== backend || this.arenas.perChunk !== this.perChunk(backend))) this.takeBack();
		const a = this.arenas ?? this.adopt(backend);
		const device = backend.device;
		const owned = backend.commandQueueOwnedIds;

		backend.ensureCommandEncoderReady();
		backend.endComputePassEncoder();
		const encoder = backend.commandEncoder!;
		const bufferOf = (t: tf.TensorInfo) => {
			backend.uploadToGPU(t.dataId);
			owned.add(t.dataId);
			return backend.tensorMap.get(t.dataId)!.resource!;
		};
		const gradArenas = a.chunks.map((c) => backend.bufferManager.acquireBuffer(Math.max(4, c.total * 4), STORAGE()));
		backend.uniformPendingDisposal.push(...gradArenas);
		for (const seg of a.layout.segments) {
			const v = this.params.get(seg.name)!;
			const fresh = a.written.get(seg.name) !== v.dataId;
			const g = bufferOf(grads[seg.name]);
			for (const p of a.pieces.get(seg.name)!) {
				if (fresh) encoder.copyBufferToBuffer(bufferOf(v), p.from * 4, a.params[p.chunk], p.at * 4, p.size * 4);
				encoder.copyBufferToBuffer(g, p.from * 4, gradArenas[p.chunk], p.at * 4, p.size * 4);
			}
		}

		const norm = backend.makeTensorInfo([], 'float32');
		const normBuffer = bufferOf(norm);
		const reduce = reductions();
		// Each chunk's norm pass writes its partial sums after the previous chunk's.
		const counts = a.chunks.map((c) => workgroupCounts(c.total));
		const perChunkPartials = counts.map((c) => (reduce === 'workgroup' ? c.norm : THREAD_PARTIALS));
		const partials = perChunkPartials.reduce((x, y) => x + y, 0);
		let base = 0;
		const uniforms = a.chunks.map((c, k) => {
			const u = backend.makeUniforms(uniformValues(rule, c, lr, maxNorm, step, partials, base));
			// A compiled step (compiled/step-plan.ts) rebuilds these from each step's rate and count.
			const at = base;
			if (tracing()) noteUniforms(u.buffer, (ctx) => uniformValues(rule, c, ctx.lr, maxNorm, ctx.optimizerStep, partials, at));
			base += perChunkPartials[k];
			return u;
		});
		const normPipe = reduce === 'workgroup' ? pipeline(device, 'norm', () => NORM_SHADER) : pipeline(device, 'norm-thread', () => NORM_SHADER_THREAD);
		const updatePipe = pipeline(device, `${ruleKey(rule)}-${reduce}`, () => updateShader(rule, reduce));
		const group = (p: GPUComputePipeline, buffers: GPUBuffer[], k: number) =>
			device.createBindGroup({
				layout: p.getBindGroupLayout(0),
				entries: [...buffers.map((buffer, binding) => ({ binding, resource: { buffer } })), { binding: buffers.length, resource: uniforms[k] }]
			});

		const pass = encoder.beginComputePass();
		setStepPhase('clip');
		pass.setPipeline(normPipe);
		a.chunks.forEach((_, k) => {
			pass.setBindGroup(0, group(normPipe, [gradArenas[k], a.partials], k));
			pass.dispatchWorkgroups(reduce === 'workgroup' ? counts[k].norm : 1);
		});
		setStepPhase('optimizer');
		pass.setPipeline(updatePipe);
		a.chunks.forEach((_, k) => {
			pass.setBindGroup(0, group(updatePipe, [a.params[k], gradArenas[k], ...a.slots.map((s) => s[k]), a.partials, normBuffer], k));
			pass.dispatchWorkgroups(counts[k].update);
		});
		pass.end();

		for (const seg of a.layout.segments) {
			const v = this.params.get(seg.name)!;
			const t = this.slice(backend, a.params, a.pieces.get(seg.name)!, seg.shape);
			v.assign(t);
			a.written.set(seg.name, v.dataId);
		}
		return tf.engine().makeTensorFromTensorInfo(norm, backend as unknown as tf.KernelBackend) as tf.Scalar;
	}

	/**
	 * Whether a compiled step may replay the update: the arenas hold the moments and every
	 * variable still holds the data the arena last wrote, so the traced step's transfers (no
	 * parameter copied in) are this step's too.
	 */
	replayable(): boolean {
		const a = this.arenas;
		if (!a || a.backend !== (tf.backend() as unknown as WebGPUBackendLike) || a.perChunk !== this.perChunk(a.backend)) return false;
		for (const [name, v] of this.params) if (a.written.get(name) !== v.dataId) return false;
		return true;
	}

	/** A replayed step assigned the variables the tensors it wrote from the arena. */
	replayed(): void {
		const a = this.arenas;
		if (!a) return;
		for (const [name, v] of this.params) a.written.set(name, v.dataId);
	}

	/**
	 * Copies of the moments in the arenas, per slot by parameter name (in the parameters' order),
	 * leaving the arenas in place: a checkpoint reads them without the next step adopting the arenas
	 * again, and a compiled step's plan, which binds them, stays valid. Null while the optimizer's
	 * variables hold the moments. The caller disposes the copies.
	 */
	copySlots(): Map<string, tf.Tensor>[] | null {
		const a = this.arenas;
		if (!a || a.backend !== (tf.backend() as unknown as WebGPUBackendLike)) return null;
		const byName = new Map(a.layout.segments.map((s) => [s.name, s]));
		a.backend.ensureCommandEncoderReady();
		a.backend.endComputePassEncoder();
		return a.slots.map((slot) => new Map([...this.params.keys()].map((name) => [name, this.slice(a.backend, slot, a.pieces.get(name)!, byName.get(name)!.shape)])));
	}

	/** Put the moments back into the optimizer's variables and let the arenas go. */
	takeBack(): void {
		const a = this.arenas;
		if (!a) return;
		this.arenas = null;
		const byName = new Map(a.layout.segments.map((s) => [s.name, s]));
		a.backend.ensureCommandEncoderReady();
		a.backend.endComputePassEncoder();
		this.slots.forEach((map, k) => {
			for (const name of this.params.keys()) {
				const seg = byName.get(name)!;
				const t = this.slice(a.backend, a.slots[k], a.pieces.get(name)!, seg.shape);
				map.set(name, tf.variable(t, false));
				t.dispose();
			}
		});
		this.release(a);
	}

	/** Free the arenas without restoring the moments (the optimizer is being disposed). */
	dispose(): void {
		if (this.arenas) this.release(this.arenas);
		this.arenas = null;
	}

	private applies(grads: Record<string, tf.Tensor>): boolean {
		if (!useFastPath() || this.params.size === 0) return false;
		const backend = tf.backend() as unknown as Partial<WebGPUBackendLike>;
		if (!backend.device || typeof backend.makeUniforms !== 'function' || !backend.bufferManager) return false;
		for (const [name, p] of this.params) {
			const g = grads[name];
			if (!g || g.dtype !== 'float32' || p.dtype !== 'float32' || p.size === 0 || !tf.util.arraysEqual(g.shape, p.shape)) return false;
		}
		return true;
	}

	/**
	 * Values per arena chunk: what one binding and one buffer may hold (split.ts's limit, which a
	 * test may pretend smaller), so an arena of any size is bound chunk by chunk.
	 */
	private perChunk(backend: WebGPUBackendLike): number {
		const limits = backend.device.limits;
		return chunkElements(Math.min(bindingLimit() ?? limits.maxStorageBufferBindingSize, limits.maxStorageBufferBindingSize, limits.maxBufferSize));
	}

	/** Lay out the arenas and move the moments in; the moment variables are disposed meanwhile. */
	private adopt(backend: WebGPUBackendLike): Arenas {
		const layout = arenaLayout(
			[...this.params].map(([name, p]) => [name, p.shape]),
			this.decay
		);
		const perChunk = this.perChunk(backend);
		const chunks = arenaChunks(layout, perChunk);
		const buffers = () => chunks.map((c) => backend.bufferManager.acquireBuffer(Math.max(4, c.total * 4), STORAGE()));
		const a: Arenas = {
			backend,
			layout,
			perChunk,
			chunks,
			pieces: new Map(layout.segments.map((seg) => [seg.name, segmentPieces(seg, perChunk)])),
			params: buffers(),
			slots: this.slots.map(() => buffers()),
			partials: backend.bufferManager.acquireBuffer(chunks.length * NORM_WORKGROUPS * 4, STORAGE()),
			written: new Map()
		};
		backend.ensureCommandEncoderReady();
		backend.endComputePassEncoder();
		const encoder = backend.commandEncoder!;
		this.slots.forEach((map, k) => {
			for (const seg of layout.segments) {
				const v = map.get(seg.name);
				if (!v) throw new Error(`The optimizer has no state for ${seg.name}.`);
				backend.uploadToGPU(v.dataId);
				backend.commandQueueOwnedIds.add(v.dataId);
				const src = backend.tensorMap.get(v.dataId)!.resource!;
				for (const p of a.pieces.get(seg.name)!) encoder.copyBufferToBuffer(src, p.from * 4, a.slots[k][p.chunk], p.at * 4, p.size * 4);
			}
			for (const v of map.values()) v.dispose();
			map.clear();
		});
		this.arenas = a;
		return a;
	}

	/** A new tensor of `shape` gathered from its pieces in the arena's chunks (transfers, no dispatch). */
	private slice(backend: WebGPUBackendLike, arena: GPUBuffer[], pieces: ArenaPiece[], shape: number[]): tf.Tensor {
		const info = backend.makeTensorInfo(shape, 'float32');
		backend.uploadToGPU(info.dataId);
		backend.commandQueueOwnedIds.add(info.dataId);
		const dst = backend.tensorMap.get(info.dataId)!.resource!;
		for (const p of pieces) backend.commandEncoder!.copyBufferToBuffer(arena[p.chunk], p.at * 4, dst, p.from * 4, p.size * 4);
		return tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend);
	}

	/** The arenas go back to tfjs's buffer pool once the commands that use them are submitted. */
	private release(a: Arenas): void {
		a.backend.uniformPendingDisposal.push(...a.params, ...a.slots.flat(), a.partials);
	}
}
