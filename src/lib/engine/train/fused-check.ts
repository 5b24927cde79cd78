/**
 * The fused optimizer (fused-optimizer.ts) against the composites on the active backend, for the
 * browser test tier and for anyone curious at the console: random parameters of odd shapes,
 * some decayed and some not, trained a few steps by each optimizer with and without clipping on
 * the fast path and on the reference path through the real step (step.ts); GPU dispatches of the
 * clip and optimizer phases as the number of variables grows; the tensor count across steps; a
 * 20-step training of the real classifier on both paths; and save → load → continue against an
 * uninterrupted run on the fast path. Returns figures; the caller decides what passes.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig, type TrainConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { ClassifierSession } from '../classifier';
import { addMany } from '../ops';
import { fastPathEnabled, setFastPath } from '../fast-path';
import { stepPhase, type StepPhase } from '../phase';
import { createOptimizer, type Optimizer } from './optimizer';
import { StepAccumulator, type MicroStep } from './step';
import { reductions, setReductions, type Reductions } from '../ops/fused/reductions';
import { setBindingLimitForTest } from '../ops/split';
import { chunkElements } from './arena';

export interface FusedCaseResult {
	name: string;
	steps: number;
	gradClip: number;
	/** Global norms (before clipping) per step on the reference path: above `gradClip`, the clip acted. */
	norms: number[];
	/** Max over tensors of max|fast − reference| / max|reference|. */
	paramsRel: number;
	momentsRel: number;
	normsRel: number;
	/** Per-layer update ratios of the recorded last step (the `record` path). */
	layersRel: number;
	/** Dispatches of the clip and optimizer phases in the fast path's last step. */
	fastDispatches: number;
	/** Arena chunks the fast path bound (1 unless the case pretends a small binding limit). */
	chunks: number;
}

export interface FusedCheckReport {
	backend: string;
	cases: FusedCaseResult[];
	/** Per number of variables, clip + optimizer dispatches and transfers of one step on each path. */
	dispatches: { variables: number; fast: { clip: number; optimizer: number; copies: number; submits: number }; reference: { clip: number; optimizer: number } }[];
	/** tf.memory() after each of several fast steps (after three warm-up steps). */
	memory: { numTensors: number[]; numBytesInGPU: number[] };
	training: { steps: number; fast: number[]; reference: number[]; maxRel: number };
	resume: { paramsMaxAbs: number; momentsMaxAbs: number; lossesMaxAbs: number };
	/** Wall milliseconds of each part of the check. */
	ms: Record<string, number>;
}

type Host = Map<string, { shape: number[]; data: Float32Array }>;

interface Counts {
	dispatches: Record<StepPhase, number>;
	copies: number;
	submits: number;
}

/**
 * Counts GPU work while `measure` runs: compute dispatches by the step phase they were encoded in
 * (phase.ts), buffer-to-buffer copies and queue submits, by wrapping the WebGPU prototypes'
 * methods of this worker until `dispose`. Without WebGPU it counts nothing.
 */
class GpuCounter {
	private active: Counts | null = null;
	private readonly restore: (() => void)[] = [];

	constructor() {
		const scope = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
		const wrap = (cls: string, method: string, count: (c: Counts) => void) => {
			const proto = scope[cls]?.prototype;
			const original = proto?.[method];
			if (!proto || typeof original !== 'function') return;
			const self = this;
			proto[method] = function (this: unknown, ...args: unknown[]) {
				if (self.active) count(self.active);
				return original.apply(this, args);
			};
			this.restore.push(() => (proto[method] = original));
		};
		wrap('GPUComputePassEncoder', 'dispatchWorkgroups', (c) => c.dispatches[stepPhase()]++);
		wrap('GPUCommandEncoder', 'copyBufferToBuffer', (c) => c.copies++);
		wrap('GPUQueue', 'submit', (c) => c.submits++);
	}

	async measure<T>(f: () => Promise<T> | T): Promise<{ value: T; counts: Counts }> {
		const counts: Counts = { dispatches: { forward: 0, backward: 0, clip: 0, optimizer: 0, other: 0 }, copies: 0, submits: 0 };
		this.active = counts;
		try {
			return { value: await f(), counts };
		} finally {
			this.active = null;
		}
	}

	dispose(): void {
		this.active = null;
		this.restore.reverse().forEach((r) => r());
	}
}

/** Odd shapes; decayByDefault decays the matrices except the one named like a norm. */
const SHAPES: [string, number[]][] = [
	['h.0.attn.weight', [7, 13]],
	['h.0.attn.bias', [13]],
	['h.0.mlp.weight', [33, 5]],
	['h.0.ln_1.weight', [5]],
	['h.1.conv.weight', [3, 1, 9]],
	['h.1.norm.weight', [2, 3]],
	['h.1.proj.weight', [257, 3]],
	['head.bias', [1]],
	['head.weight', [2, 2, 2, 2]]
];

function randomHost(shapes: [string, number[]][], rng: Prng, scale = 1): Host {
	return new Map(shapes.map(([n, s]) => [n, { shape: s, data: Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale) }]));
}

function toVars(h: Host): Map<string, tf.Variable> {
	return new Map([...h].map(([n, t]) => [n, tf.variable(tf.tensor(t.data, t.shape), true)]));
}

/** max|a − b| / max|b| over the pairs, at least 0. */
function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let d = 0;
	let m = 0;
	for (let i = 0; i < b.length; i++) {
		d = Math.max(d, Math.abs(a[i] - b[i]));
		m = Math.max(m, Math.abs(b[i]));
	}
	return m > 0 ? d / m : d;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let d = a.length === b.length ? 0 : Infinity;
	for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
	return d;
}

async function readAll(entries: [string, tf.Tensor][]): Promise<Map<string, Float32Array>> {
	const out = new Map<string, Float32Array>();
	for (const [n, t] of entries) out.set(n, new Float32Array((await t.data()) as Float32Array));
	return out;
}

function maxRelMaps(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
	let r = 0;
	for (const [n, x] of b) r = Math.max(r, a.has(n) ? rel(a.get(n)!, x) : Infinity);
	return a.size === b.size ? r : Infinity;
}

/** The loss of step k: Σ ½ Σ w ∘ (p − t)², with w and t drawn per step (the same on both paths). */
function quadratic(params: Map<string, tf.Variable>, targets: Host, weights: Host): () => { loss: tf.Scalar; correct: tf.Tensor } {
	return () => {
		const terms = [...params].map(([n, p]) => p.sub(tf.tensor(targets.get(n)!.data, p.shape)).square().mul(tf.tensor(weights.get(n)!.data, p.shape)).sum());
		return { loss: addMany(terms).mul(0.5) as tf.Scalar, correct: tf.scalar(0) };
	};
}

interface Trained {
	params: Map<string, Float32Array>;
	moments: Map<string, Float32Array>;
	norms: number[];
	layers: number[];
	lastDispatches: number;
}

/** Train fresh variables from `init` for `steps` steps, on the fast path or not. */
async function trainQuadratic(fast: boolean, init: Host, train: Partial<TrainConfig>, steps: number, accumulate: boolean, counter: GpuCounter): Promise<Trained> {
	const rng = new Prng(99);
	const params = toVars(init);
	const opt: Optimizer = createOptimizer(params, train);
	const acc = new StepAccumulator(opt, train.gradClip ?? 0);
	const norms: number[] = [];
	let layers: number[] = [];
	let lastDispatches = 0;
	const was = fastPathEnabled();
	setFastPath(fast);
	try {
		for (let k = 0; k < steps; k++) {
			const last = k === steps - 1;
			const micro: MicroStep[] = accumulate ? [{ scale: 0.5, apply: false }, { scale: 0.5, apply: true, record: last }] : [{ scale: 1, apply: true, record: last }];
			const targets = micro.map(() => randomHost(SHAPES, rng));
			const weights = micro.map(() => randomHost(SHAPES, rng, 0.5));
			const { counts } = await counter.measure(() => micro.forEach((m, i) => acc.run(quadratic(params, targets[i], weights[i]), 1, 0.01 * (1 + k / 4), m)));
			lastDispatches = counts.dispatches.clip + counts.dispatches.optimizer;
			const stats = await acc.take();
			norms.push(stats?.gradNorm ?? NaN);
			if (stats?.layers) layers = stats.layers.map((l) => l.updateRatio);
		}
		const result = { params: await readAll([...params]), moments: await readAll(opt.stateTensors()), norms, layers, lastDispatches };
		return result;
	} finally {
		setFastPath(was);
		acc.dispose();
		opt.dispose();
		for (const v of params.values()) v.dispose();
	}
}

const CASES: { name: string; train: Partial<TrainConfig>; accumulate?: boolean; bindLimit?: number }[] = [
	{ name: 'adamw', train: { optimizer: 'adamw', weightDecay: 0.1, gradClip: 0 } },
	{ name: 'adamw, clipped, accumulated', train: { optimizer: 'adamw', weightDecay: 0.1, gradClip: 0.5 }, accumulate: true },
	{ name: 'adam (L2)', train: { optimizer: 'adam', weightDecay: 0.05, gradClip: 0 } },
	{ name: 'adam (L2), clipped', train: { optimizer: 'adam', weightDecay: 0.05, gradClip: 0.5 } },
	{ name: 'sgd momentum', train: { optimizer: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0.01, gradClip: 0 } },
	{ name: 'sgd nesterov, clipped', train: { optimizer: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01, gradClip: 0.5 } },
	{ name: 'sgd plain, clipped', train: { optimizer: 'sgd', momentum: 0, nesterov: false, weightDecay: 0.01, gradClip: 0.5 } },
	// A pretended binding limit of 256 or 250 values: the 1,095-value arena in 5 chunks, with
	// segments across chunk boundaries and the decay boundary inside a chunk.
	{ name: 'adamw, clipped, 5 chunks', train: { optimizer: 'adamw', weightDecay: 0.1, gradClip: 0.5 }, bindLimit: 1024 },
	{ name: 'adam (L2), accumulated, 5 chunks', train: { optimizer: 'adam', weightDecay: 0.05, gradClip: 0 }, accumulate: true, bindLimit: 1000 },
	{ name: 'sgd nesterov, clipped, 5 chunks', train: { optimizer: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01, gradClip: 0.5 }, bindLimit: 1000 }
];

/** Elements in SHAPES: the arena's size. */
const ARENA_VALUES = SHAPES.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);

/** A tiny classifier config whose step is quick on a software adapter. */
function tinyClassifier(): RunConfig {
	const cfg = defaultRunConfig(3);
	Object.assign(cfg.model, { vocabSize: 64, nLayer: 1, nHead: 2, dModel: 16, contextLength: 8, dropout: 0 });
	Object.assign(cfg.train, { batchSize: 2, gradClip: 1, optimizer: 'adamw', learningRate: 3e-3 });
	return cfg;
}

async function trainClassifier(cfg: RunConfig, fast: boolean, steps: number, from?: ClassifierSession): Promise<{ session: ClassifierSession; losses: number[] }> {
	const rng = new Prng(5);
	const n = cfg.train.batchSize;
	const len = cfg.model.contextLength;
	const ids = Int32Array.from({ length: 64 * len }, () => 4 + rng.int(cfg.model.vocabSize - 4));
	const offsets = Int32Array.from({ length: 65 }, (_, i) => i * len);
	const labels = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % cfg.model.numClasses);
	const data = { ids, offsets, labels };
	const session = from ?? ClassifierSession.create(cfg, { padId: 0 });
	const start = session.optimizer.step;
	const losses: number[] = [];
	const was = fastPathEnabled();
	setFastPath(fast);
	try {
		for (let k = start; k < start + steps; k++) {
			const rows = Array.from({ length: n }, (_, i) => (k * n + i) % 64);
			session.trainStep(session.batch(data, rows), cfg.train.learningRate, k);
			losses.push((await session.takeStats())!.loss);
		}
	} finally {
		setFastPath(was);
	}
	return { session, losses };
}

/** `reduce`: the norm's reductions to check (reductions.ts); the adapter's own by default. */
export async function fusedOptimizerCheck(reduce: Reductions = reductions()): Promise<FusedCheckReport> {
	const counter = new GpuCounter();
	const ms: Record<string, number> = {};
	let t0 = performance.now();
	const adapters = reductions();
	setReductions(reduce);
	try {
		const init = randomHost(SHAPES, new Prng(3));
		const cases: FusedCaseResult[] = [];
		for (const c of CASES) {
			const steps = 4;
			const ref = await trainQuadratic(false, init, c.train, steps, !!c.accumulate, counter);
			setBindingLimitForTest(c.bindLimit ?? null);
			let fast: Trained;
			try {
				fast = await trainQuadratic(true, init, c.train, steps, !!c.accumulate, counter);
			} finally {
				setBindingLimitForTest(null);
			}
			cases.push({
				name: c.name,
				steps,
				gradClip: c.train.gradClip ?? 0,
				norms: ref.norms,
				paramsRel: maxRelMaps(fast.params, ref.params),
				momentsRel: maxRelMaps(fast.moments, ref.moments),
				normsRel: rel(fast.norms, ref.norms),
				layersRel: ref.layers.length === fast.layers.length && ref.layers.length > 0 ? rel(fast.layers, ref.layers) : Infinity,
				fastDispatches: fast.lastDispatches,
				chunks: c.bindLimit ? Math.ceil(ARENA_VALUES / chunkElements(c.bindLimit)) : 1
			});
		}

		ms.cases = performance.now() - t0;

		// Dispatches as the number of variables grows.
		t0 = performance.now();
		const dispatches: FusedCheckReport['dispatches'] = [];
		for (const count of [4, 16, 64]) {
			const shapes: [string, number[]][] = Array.from({ length: count }, (_, i) => [`h.${i}.${i % 3 ? 'weight' : 'bias'}`, i % 3 ? [(i % 5) + 1, (i % 7) + 2] : [(i % 11) + 1]]);
			const host = randomHost(shapes, new Prng(count));
			const one = async (fast: boolean) => {
				const params = toVars(host);
				const opt = createOptimizer(params, { optimizer: 'adamw', gradClip: 1 });
				const acc = new StepAccumulator(opt, 1);
				const loss = () => ({ loss: addMany([...params.values()].map((p) => p.square().sum())) as tf.Scalar, correct: tf.scalar(0) });
				const was = fastPathEnabled();
				setFastPath(fast);
				try {
					acc.run(loss, 1, 1e-3);
					await acc.take(); // the first step compiles and lays out the arenas
					const { counts } = await counter.measure(async () => {
						acc.run(loss, 1, 1e-3);
						await acc.take();
					});
					return counts;
				} finally {
					setFastPath(was);
					acc.dispose();
					opt.dispose();
					for (const v of params.values()) v.dispose();
				}
			};
			const fast = await one(true);
			const reference = await one(false);
			dispatches.push({
				variables: count,
				fast: { clip: fast.dispatches.clip, optimizer: fast.dispatches.optimizer, copies: fast.copies, submits: fast.submits },
				reference: { clip: reference.dispatches.clip, optimizer: reference.dispatches.optimizer }
			});
		}

		ms.dispatches = performance.now() - t0;

		// 20 steps of the real classifier on each path; on the fast path, tf.memory() after steps 4–6
		// (the warm-up includes a compiled step's two traced steps, after which its plan holds its
		// buffers) and the state after step 6 (the uninterrupted run the resume is checked against).
		t0 = performance.now();
		const cfg = tinyClassifier();
		const r = await trainClassifier(cfg, false, 20);
		r.session.dispose();
		ms.reference = performance.now() - t0;
		t0 = performance.now();
		const memory: FusedCheckReport['memory'] = { numTensors: [], numBytesInGPU: [] };
		const f = await trainClassifier(cfg, true, 3);
		for (let i = 0; i < 3; i++) {
			f.losses.push(...(await trainClassifier(cfg, true, 1, f.session)).losses);
			const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
			memory.numTensors.push(m.numTensors);
			memory.numBytesInGPU.push(m.numBytesInGPU ?? 0);
		}
		const wholeState = await readAll([...f.session.params, ...f.session.optimizer.stateTensors()]);
		f.losses.push(...(await trainClassifier(cfg, true, 14, f.session)).losses);
		f.session.dispose();
		const training = { steps: 20, fast: f.losses, reference: r.losses, maxRel: rel(f.losses, r.losses) };
		ms.fast = performance.now() - t0;

		// Resume on the fast path: 3 steps, save, load, 3 more, against 6 uninterrupted.
		t0 = performance.now();
		const first = await trainClassifier(cfg, true, 3);
		const saved = await first.session.snapshot();
		const step = first.session.optimizer.step;
		first.session.dispose();
		const loaded = ClassifierSession.fromTensors(cfg, new Map(saved.map((t) => [t.name, { shape: t.shape, data: t.data }])), { padId: 0 }, step);
		const rest = await trainClassifier(cfg, true, 3, loaded);
		const restState = await readAll([...rest.session.params, ...rest.session.optimizer.stateTensors()]);
		rest.session.dispose();
		let paramsMaxAbs = 0;
		let momentsMaxAbs = 0;
		for (const [n, x] of wholeState) {
			const d = restState.has(n) ? maxAbs(restState.get(n)!, x) : Infinity;
			if (n.startsWith('optimizer.')) momentsMaxAbs = Math.max(momentsMaxAbs, d);
			else paramsMaxAbs = Math.max(paramsMaxAbs, d);
		}
		if (restState.size !== wholeState.size) paramsMaxAbs = Infinity;
		const resume = { paramsMaxAbs, momentsMaxAbs, lossesMaxAbs: maxAbs([...first.losses, ...rest.losses], f.losses.slice(0, 6)) };
		ms.resume = performance.now() - t0;

		return { backend: tf.getBackend(), cases, dispatches, memory, training, resume, ms };
	} finally {
		setReductions(adapters);
		counter.dispose();
	}
}
