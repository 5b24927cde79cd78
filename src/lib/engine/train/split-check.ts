/**
 * Full fine-tuning with tables larger than one storage binding (ops/split.ts), through the real
 * sessions (pretrained.ts, classifier.ts): a tiny random GPT-2 (embedding tied to the LM head,
 * learned positions), a tiny Llama (untied LM head) and the from-scratch classifier, each trained
 * a few steps on the fast path twice from the same weights: once as the adapter binds, and once
 * with the binding limit pretended to be 4 KiB, so that the embeddings, the LM heads, GPT-2's
 * position table and Llama's joined projections are read, differentiated and trained in parts
 * whose gradients are joined by buffer copies. With AdamW and with SGD, two micro-batches a step
 * (the gradients summed across them) and the layers' norms recorded. The same kernels run on
 * smaller tables (some sums in another order), so losses and final weights agree within float32
 * noise: GPT-2 small's 147 MiB embedding on an adapter that binds 128 MiB, at a size a test can
 * train. Returns figures; the caller decides what passes.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { fastPathEnabled, setFastPath } from '../fast-path';
import { randomCheckpoint } from '../bench-hf';
import { hfConfigFor } from '../bench-step';
import { setBindingLimitForTest, tablesCut } from '../ops/split';
import { resolveConfig } from '../models/registry';
import { configForObjective, PretrainedSession, type LmTokenRows } from '../pretrained';
import { ClassifierSession } from '../classifier';

export interface SplitTrainingCase {
	model: string;
	optimizer: 'adamw' | 'sgd';
	/** The pretended binding limit of the split run, in bytes. */
	limitBytes: number;
	/** Parameters larger than that limit, as the split run read them in parts where it could. */
	overLimit: string[];
	/** Per-step losses as the adapter binds, and with the pretended limit. */
	whole: number[];
	inParts: number[];
	/** How many tables the split run cut into parts (0 would mean nothing was split). */
	cuts: number;
	/**
	 * Programs that bound a tensor of the vocabulary table's shape (V, d) as an input or output: the
	 * table, its gradient or a full-size dW. Above 0 as the adapter binds (the probe sees them); 0
	 * in parts, as on an adapter whose limit the table is over. Null off WebGPU.
	 */
	tableBindings: { whole: number | null; inParts: number | null };
	/** max |whole − inParts| / max |whole| over the steps. */
	lossMaxRel: number;
	/**
	 * The final weights: the largest over parameters of max |whole − inParts| / max |whole|, leaving
	 * out the elements whose gradient is only rounding noise (`gradientIsNoise`). AdamW divides each
	 * gradient by its own running size, so single elements move apart where a gradient nearly
	 * cancels (less with the check's eps): the norm below is then the measure; SGD keeps both small.
	 */
	paramMaxRel: number;
	/** Over the same weights as one vector: ‖whole − inParts‖ / ‖whole‖. */
	paramNormRel: number;
	/** Where paramMaxRel was found: the parameter and the element. */
	worstParam: string;
	/** max |whole − inParts| / max |whole| over the elements left out (0 if none). */
	noiseMaxRel: number;
	tensorsLeaked: number;
}

const LIMIT = 4096;
const SEQ = 16;
const ROWS = 3;
const LR = { adamw: 1e-2, sgd: 1e-1 };
/** Vocabulary 97 × width 32: 12.1 KiB, four parts of 32, 32, 32 and 1 rows at 4 KiB. */
const SHAPE = { layers: 2, width: 32, heads: 4, vocab: 97, seq: SEQ };

/** Pretrained architectures by config.json; 'scratch' is the from-scratch classifier (models/transformer.ts). */
const MODELS: Record<string, Record<string, unknown> | null> = {
	gpt2: hfConfigFor({ ...SHAPE, model: 'gpt2' }),
	llama: { ...hfConfigFor({ ...SHAPE, model: 'llama' }), tie_word_embeddings: false, num_key_value_heads: 2, intermediate_size: 72, max_position_embeddings: 32 },
	scratch: null
};

function runConfig(hfConfig: Record<string, unknown> | null, optimizer: SplitTrainingCase['optimizer']): RunConfig {
	const cfg = defaultRunConfig(2);
	// AdamW's first step is lr · sign(g) for every element, however small g: where a gradient is at
	// rounding-noise size the two runs step apart by up to 2 · lr. eps 1e-6 (above that noise, far
	// below the gradients that train) damps those steps so the weights compare; SGD needs nothing.
	cfg.train = { ...cfg.train, optimizer, ...(optimizer === 'adamw' ? { eps: 1e-6 } : {}), batchSize: ROWS, weightDecay: 0.01, seed: 5 };
	if (!hfConfig) {
		cfg.model = { ...cfg.model, vocabSize: SHAPE.vocab, contextLength: SEQ, nLayer: SHAPE.layers, nHead: SHAPE.heads, dModel: SHAPE.width, dropout: 0, numClasses: 2 };
		return cfg;
	}
	cfg.pretrained = {
		repo: 'check',
		revision: 'check',
		modelType: hfConfig.model_type as string,
		hfConfig,
		objective: 'causal-lm',
		contextLength: SEQ,
		numClasses: 2,
		method: { kind: 'full' }
	};
	return cfg;
}

function rows(vocab: number): LmTokenRows {
	const rng = new Prng(11);
	return {
		ids: Int32Array.from({ length: ROWS * SEQ }, () => 3 + rng.int(vocab - 3)),
		offsets: Int32Array.from({ length: ROWS + 1 }, (_, i) => i * SEQ),
		labels: Int32Array.from({ length: ROWS }, (_, i) => i % 2)
	} as LmTokenRows;
}

async function session(hfConfig: Record<string, unknown> | null, optimizer: SplitTrainingCase['optimizer']): Promise<PretrainedSession | ClassifierSession> {
	if (!hfConfig) return ClassifierSession.create(runConfig(null, optimizer), { padId: 0 });
	const { spec, config } = resolveConfig(configForObjective(hfConfig, 'causal-lm', []));
	return PretrainedSession.fromPretrained(runConfig(hfConfig, optimizer), randomCheckpoint(spec.paramShapes(config), 3), { padId: 0 }, []);
}

async function train(hfConfig: Record<string, unknown> | null, optimizer: SplitTrainingCase['optimizer'], steps: number): Promise<{ losses: number[]; params: Map<string, Float32Array> }> {
	const s = await session(hfConfig, optimizer);
	const losses: number[] = [];
	try {
		const hb = s.batch(rows(SHAPE.vocab), [...Array(ROWS).keys()]);
		for (let i = 0; i < steps; i++) {
			// Two micro-batches a step, the second recording the layers' norms: the table's gradients
			// are summed and measured part by part too (train/step.ts).
			s.trainStep(hb, LR[optimizer], 1000 + i, { scale: 0.5, apply: false });
			s.trainStep(hb, LR[optimizer], 2000 + i, { scale: 0.5, apply: true, record: true });
			losses.push((await s.takeStats())?.loss ?? NaN);
		}
		const params = new Map<string, Float32Array>();
		for (const [name, v] of s.params) params.set(name, (await v.data()) as Float32Array);
		return { losses, params };
	} finally {
		s.dispose();
	}
}

/**
 * Elements whose gradient is zero in exact arithmetic: the key biases of GPT-2 and the
 * from-scratch model (c_attn.bias[d, 2d)), as softmax does not see a constant added to every score
 * of a row. In float32 it is rounding noise, which differs with any change in summation order.
 */
function gradientIsNoise(name: string, width: number): (i: number) => boolean {
	if (name.endsWith('.attn.c_attn.bias')) return (i) => i >= width && i < 2 * width;
	return () => false;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
	let m = 0;
	for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
	return m;
};
const argMaxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
	let at = 0;
	for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > Math.abs(a[at] - b[at])) at = i;
	return at;
};
const maxOf = (a: ArrayLike<number>) => {
	let m = 0;
	for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
	return m;
};
const squares = (a: ArrayLike<number>, b?: ArrayLike<number>) => {
	let s = 0;
	for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2;
	return s;
};

/**
 * Counts the programs that bind a tensor of `shape` (an input or the output) while `run` runs, by
 * wrapping the WebGPU backend's runWebGPUProgram, through which tfjs's kernels and the fused ones
 * dispatch; null off WebGPU. The pretended limit does not make the adapter refuse a binding, so
 * this is what shows that nothing bound a table whole.
 */
async function countBindings<T>(shape: number[], run: () => Promise<T>): Promise<{ value: T; bindings: number | null }> {
	type Run = (...args: unknown[]) => tf.TensorInfo;
	const backend = tf.backend() as unknown as { runWebGPUProgram?: Run };
	const original = backend.runWebGPUProgram;
	if (typeof original !== 'function') return { value: await run(), bindings: null };
	const own = Object.prototype.hasOwnProperty.call(backend, 'runWebGPUProgram');
	const same = (s: readonly number[] | undefined) => !!s && s.length === shape.length && s.every((d, i) => d === shape[i]);
	let bindings = 0;
	backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
		const [program, inputs, , , output] = args as [{ outputShape: number[] }, tf.TensorInfo[], unknown, unknown, tf.TensorInfo | undefined];
		if (inputs.some((t) => same(t.shape)) || same(output?.shape ?? program.outputShape)) bindings++;
		return original.apply(this, args);
	};
	try {
		return { value: await run(), bindings };
	} finally {
		if (own) backend.runWebGPUProgram = original;
		else delete backend.runWebGPUProgram;
	}
}

/** The check for GPT-2 (tied), Llama (untied) and the from-scratch classifier, each with AdamW and with SGD; see the file's comment. */
export async function splitTrainingCheck(steps = 4): Promise<SplitTrainingCase[]> {
	const was = fastPathEnabled();
	const out: SplitTrainingCase[] = [];
	try {
		setFastPath(true);
		for (const [model, hfConfig] of Object.entries(MODELS)) for (const optimizer of ['adamw', 'sgd'] as const) {
			const before = tf.memory().numTensors;
			const table = [SHAPE.vocab, SHAPE.width];
			const { value: whole, bindings: wholeBindings } = await countBindings(table, () => train(hfConfig, optimizer, steps));
			const cutsBefore = tablesCut();
			let inParts: Awaited<ReturnType<typeof train>>;
			let partsBindings: number | null;
			setBindingLimitForTest(LIMIT);
			try {
				({ value: inParts, bindings: partsBindings } = await countBindings(table, () => train(hfConfig, optimizer, steps)));
			} finally {
				setBindingLimitForTest(null);
			}
			let [paramMaxRel, noiseMaxRel] = [0, 0];
			let [diff2, whole2] = [0, 0];
			let worstParam = '';
			const width = SHAPE.width;
			const overLimit: string[] = [];
			for (const [name, w] of whole.params) {
				if (w.length * 4 > LIMIT) overLimit.push(name);
				const noise = gradientIsNoise(name, width);
				const kept = (t: Float32Array) => t.filter((_, i) => !noise(i));
				const [a, b] = [kept(w), kept(inParts.params.get(name)!)];
				const [na, nb] = [w.filter((_, i) => noise(i)), inParts.params.get(name)!.filter((_, i) => noise(i))];
				if (na.length) noiseMaxRel = Math.max(noiseMaxRel, maxAbs(na, nb) / Math.max(maxOf(w), 1e-30));
				diff2 += squares(a, b);
				whole2 += squares(a);
				const rel = maxAbs(a, b) / Math.max(maxOf(w), 1e-30);
				if (rel >= paramMaxRel) [paramMaxRel, worstParam] = [rel, `${name}[${argMaxAbs(a, b)}${na.length ? ' of the rest' : ''}]`];
			}
			out.push({
				model,
				optimizer,
				limitBytes: LIMIT,
				overLimit,
				whole: whole.losses,
				inParts: inParts.losses,
				cuts: tablesCut() - cutsBefore,
				tableBindings: { whole: wholeBindings, inParts: partsBindings },
				lossMaxRel: maxAbs(whole.losses, inParts.losses) / maxOf(whole.losses),
				paramMaxRel,
				paramNormRel: Math.sqrt(diff2 / Math.max(whole2, 1e-30)),
				worstParam,
				noiseMaxRel,
				tensorsLeaked: tf.memory().numTensors - before
			});
		}
	} finally {
		setFastPath(was);
	}
	return out;
}
