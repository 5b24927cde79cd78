/**
 * Does the active backend compute what the CPU computes? Runs one forward pass, the loss and
 * every parameter's gradient of a small classifier on the active backend and on tfjs's CPU
 * backend, from the same weights and batch, and reports the largest differences. A GPU driver
 * or kernel bug shows up here as a number, not as a model that mysteriously fails to learn.
 */
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from '../shared/config';
import { Prng } from '../shared/prng';
import { forward, initParams } from './models/transformer';
import { crossEntropy } from './ops';

export interface BackendCheck {
	backend: string;
	logitsMaxDiff: number;
	lossDiff: number;
	/** Largest |g_backend - g_cpu| / (|g_cpu|_max + 1e-12) over parameters, with its name. */
	gradMaxRelDiff: number;
	worstParam: string;
}

/** Largest |a - b| relative to the largest |a|. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let scale = 1e-12;
	let diff = 0;
	for (let i = 0; i < a.length; i++) {
		scale = Math.max(scale, Math.abs(a[i]));
		diff = Math.max(diff, Math.abs(a[i] - b[i]));
	}
	return diff / scale;
}

async function run(cfg: RunConfig, weights: ReturnType<typeof initParams>, ids: Int32Array, mask: Float32Array, labels: Int32Array, training: boolean) {
	const b = labels.length;
	const t = ids.length / b;
	const vars = Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, tf.variable(tf.tensor(w.data, w.shape), true)]));
	const batch = { inputIds: tf.tensor2d(ids, [b, t], 'int32'), attentionMask: tf.tensor2d(mask, [b, t]) };
	const y = tf.tensor1d(labels, 'int32');
	const logits = forward(vars, cfg.model, batch, { training, seed: 5 });
	const { value, grads } = tf.variableGrads(() => crossEntropy(forward(vars, cfg.model, batch, { training, seed: 5 }) as tf.Tensor2D, y), Object.values(vars));
	const byVar = new Map(Object.entries(vars).map(([k, v]) => [v.name, k]));
	const out = { logits: await logits.data(), loss: (await value.data())[0], grads: new Map<string, Float32Array>() };
	for (const [vn, g] of Object.entries(grads)) out.grads.set(byVar.get(vn)!, (await g.data()) as Float32Array);
	tf.dispose([logits, value, y, batch.inputIds, batch.attentionMask, ...Object.values(grads), ...Object.values(vars)]);
	return out;
}

export async function checkBackendAgainstCpu(cfg: RunConfig, training = false): Promise<BackendCheck> {
	const backend = tf.getBackend();
	const rng = new Prng(11);
	const b = 4;
	const t = Math.min(16, cfg.model.contextLength);
	const ids = Int32Array.from({ length: b * t }, () => 4 + rng.int(cfg.model.vocabSize - 4));
	const mask = Float32Array.from({ length: b * t }, (_, i) => (i % t < t - (i / t >= 2 ? 3 : 0) ? 1 : 0));
	const labels = Int32Array.from({ length: b }, (_, i) => i % cfg.model.numClasses);
	const weights = initParams(cfg.model, 3);
	const here = await run(cfg, weights, ids, mask, labels, training);
	await tf.setBackend('cpu');
	let cpu;
	try {
		cpu = await run(cfg, weights, ids, mask, labels, training);
	} finally {
		await tf.setBackend(backend);
	}
	let logitsMaxDiff = 0;
	here.logits.forEach((v, i) => (logitsMaxDiff = Math.max(logitsMaxDiff, Math.abs(v - cpu.logits[i]))));
	let gradMaxRelDiff = 0;
	let worstParam = '';
	for (const [name, g] of cpu.grads) {
		const h = here.grads.get(name);
		if (!h) return { backend, logitsMaxDiff, lossDiff: Math.abs(here.loss - cpu.loss), gradMaxRelDiff: Infinity, worstParam: name + ' (no gradient)' };
		const d = maxRelDiff(g, h);
		if (d > gradMaxRelDiff) [gradMaxRelDiff, worstParam] = [d, name];
	}
	return { backend, logitsMaxDiff, lossDiff: Math.abs(here.loss - cpu.loss), gradMaxRelDiff, worstParam };
}

/**
 * The same few optimizer steps (forward, backward, clipping, AdamW) from the same weights on the
 * active backend and on the CPU; returns the largest relative difference in the weights after.
 */
export async function checkStepsAgainstCpu(cfg: RunConfig, steps = 3): Promise<{ backend: string; weightMaxRelDiff: number; worstParam: string; lossHere: number; lossCpu: number }> {
	const { ClassifierSession } = await import('./classifier');
	const backend = tf.getBackend();
	const rng = new Prng(12);
	const n = cfg.train.batchSize;
	const len = Math.min(16, cfg.model.contextLength);
	const data = {
		ids: Int32Array.from({ length: n * len }, () => 4 + rng.int(cfg.model.vocabSize - 4)),
		offsets: Int32Array.from({ length: n + 1 }, (_, i) => i * len),
		labels: Int32Array.from({ length: n }, (_, i) => i % cfg.model.numClasses)
	};
	const rows = [...Array(n).keys()];
	const weights = initParams(cfg.model, 3);
	const train = async () => {
		const s = new ClassifierSession(cfg, weights, { padId: 0 });
		for (let i = 0; i < steps; i++) s.trainStep(s.batch(data, rows), cfg.train.learningRate, 100 + i);
		const stats = await s.takeStats();
		const out = await s.weights();
		s.dispose();
		return { loss: stats!.loss, weights: new Map(out.map((t) => [t.name, t.data])) };
	};
	const here = await train();
	await tf.setBackend('cpu');
	let cpu;
	try {
		cpu = await train();
	} finally {
		await tf.setBackend(backend);
	}
	let weightMaxRelDiff = 0;
	let worstParam = '';
	for (const [name, w] of cpu.weights) {
		const d = maxRelDiff(w, here.weights.get(name)!);
		if (d > weightMaxRelDiff) [weightMaxRelDiff, worstParam] = [d, name];
	}
	return { backend, weightMaxRelDiff, worstParam, lossHere: here.loss, lossCpu: cpu.loss };
}

