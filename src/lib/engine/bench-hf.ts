/**
 * Throughput of a Hugging Face architecture on the active backend: load time (from tensors
 * already in memory to variables on the device), forward and training-step time per token after a
 * warm-up, the kernels one step dispatches (tf.profile), and the memory tfjs holds at the peak.
 * Random token ids, fixed shapes; the bench scripts in bench/ print the figures.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type Objective } from '../shared/config';
import { Prng } from '../shared/prng';
import type { SafetensorsTensor } from './io/safetensors';
import { PretrainedSession, type LmTokenRows } from './pretrained';

export interface HfBenchmark {
	backend: string;
	modelType: string;
	params: number;
	batchSize: number;
	seqLen: number;
	loadMs: number;
	warmupMs: number;
	forwardMsPerToken: number;
	trainMsPerToken: number;
	msPerStep: number;
	kernelsPerForward: number;
	kernelsPerStep: number;
	peakBytes: number;
	tensorsLeaked: number;
}

/** Random weights in a checkpoint's layout (N(0, 0.02), unit norms), for sizes with no download. */
export function randomCheckpoint(shapes: Record<string, number[]>, seed = 1): Map<string, SafetensorsTensor> {
	const rng = new Prng(seed);
	const out = new Map<string, SafetensorsTensor>();
	for (const [name, shape] of Object.entries(shapes)) {
		const n = shape.reduce((a, b) => a * b, 1);
		const data = new Float32Array(n);
		const norm = /norm|ln_/i.test(name) && name.endsWith('.weight');
		if (norm) data.fill(1);
		else if (!name.endsWith('.bias')) for (let i = 0; i < n; i++) data[i] = (rng.next() - 0.5) * 0.07; // std ≈ 0.02
		out.set(name, { dtype: 'F32', shape, data } as SafetensorsTensor);
	}
	return out;
}

export async function benchmarkPretrained(
	hfConfig: Record<string, unknown>,
	tensors: Map<string, SafetensorsTensor>,
	opts: { batchSize: number; seqLen: number; steps: number; objective?: Objective }
): Promise<HfBenchmark> {
	const objective = opts.objective ?? (hfConfig.model_type === 'bert' ? 'classification' : 'causal-lm');
	const cfg = defaultRunConfig(2);
	cfg.train = { ...cfg.train, batchSize: opts.batchSize, weightDecay: 0.01 };
	cfg.pretrained = { repo: 'bench', revision: 'bench', modelType: String(hfConfig.model_type), hfConfig, objective, contextLength: opts.seqLen, numClasses: 2 };
	const startBytes = tf.memory().numBytes;
	let peak = 0;
	const sample = () => (peak = Math.max(peak, tf.memory().numBytes - startBytes));

	let t = performance.now();
	const session = await PretrainedSession.fromPretrained(cfg, tensors, { padId: 0 }, ['a', 'b']);
	const loadMs = performance.now() - t;
	sample();

	const rng = new Prng(7);
	const n = opts.batchSize;
	const len = opts.seqLen;
	const vocab = session.hf.vocabSize;
	const data: LmTokenRows = {
		ids: Int32Array.from({ length: n * len }, () => 1 + rng.int(vocab - 1)),
		offsets: Int32Array.from({ length: n + 1 }, (_, i) => i * len),
		labels: Int32Array.from({ length: n }, (_, i) => i % 2)
	};
	const rows = [...Array(n).keys()];
	const hb = session.batch(data, rows);
	const forward = async () => {
		const out = tf.tidy(() => {
			const logits = session.spec.forward(session.modelParams, session.hf, {
				inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'),
				attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length], 'float32')
			});
			sample();
			return logits.sum();
		});
		await out.data();
		out.dispose();
	};
	const step = async (i: number) => {
		session.trainStep(hb, 1e-5, i);
		sample();
		await session.takeStats(); // reading back waits for the GPU to finish the step
	};

	t = performance.now();
	await forward();
	await step(0);
	await step(1);
	const warmupMs = performance.now() - t;
	const before = tf.memory().numTensors;
	t = performance.now();
	for (let i = 0; i < opts.steps; i++) await forward();
	const forwardMs = (performance.now() - t) / opts.steps;
	t = performance.now();
	for (let i = 0; i < opts.steps; i++) await step(2 + i);
	const msPerStep = (performance.now() - t) / opts.steps;
	const tensorsLeaked = tf.memory().numTensors - before;
	// tf.profile returns the engine's one profile object, overwritten by the next call: copy out at once.
	const kernelsPerForward = (await tf.profile(() => forward())).kernels.length;
	const stepProfile = await tf.profile(() => step(99));
	const kernelsPerStep = stepProfile.kernels.length;
	peak = Math.max(peak, stepProfile.peakBytes - startBytes);
	const params = session.numParams;
	session.dispose();
	const tokens = n * len;
	return {
		backend: tf.getBackend(),
		modelType: String(hfConfig.model_type),
		params,
		batchSize: n,
		seqLen: len,
		loadMs,
		warmupMs,
		forwardMsPerToken: forwardMs / tokens,
		trainMsPerToken: msPerStep / tokens,
		msPerStep,
		kernelsPerForward,
		kernelsPerStep,
		peakBytes: peak,
		tensorsLeaked
	};
}
