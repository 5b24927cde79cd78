/**
 * Throughput of the training step on whatever backend is active: milliseconds per step after a
 * warm-up (the first steps compile the GPU pipelines), and how many kernels one step dispatches
 * (from tf.profile), the figure that kernel fusion will bring down. Random tokens, fixed shapes.
 */
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from '../shared/config';
import { Prng } from '../shared/prng';
import { ClassifierSession } from './classifier';

export interface StepBenchmark {
	backend: string;
	params: number;
	batchSize: number;
	seqLen: number;
	warmupMs: number;
	msPerStep: number;
	tokensPerSec: number;
	kernelsPerStep: number;
	tensorsLeaked: number;
}

export async function benchmarkTrainStep(cfg: RunConfig, seqLen: number, steps = 5): Promise<StepBenchmark> {
	const rng = new Prng(7);
	const n = cfg.train.batchSize;
	const len = Math.min(seqLen, cfg.model.contextLength);
	const ids = Int32Array.from({ length: n * len }, () => 4 + rng.int(cfg.model.vocabSize - 4));
	const offsets = Int32Array.from({ length: n + 1 }, (_, i) => i * len);
	const labels = Int32Array.from({ length: n }, (_, i) => i % cfg.model.numClasses);
	const rows = [...Array(n).keys()];
	const session = ClassifierSession.create(cfg, { padId: 0 });
	const data = { ids, offsets, labels };
	const step = async (i: number) => {
		session.trainStep(session.batch(data, rows), 1e-3, i);
		await session.takeStats(); // reading back waits for the GPU to finish the step
	};
	let t = performance.now();
	await step(0);
	await step(1);
	const warmupMs = performance.now() - t;
	const before = tf.memory().numTensors;
	t = performance.now();
	for (let i = 0; i < steps; i++) await step(2 + i);
	const msPerStep = (performance.now() - t) / steps;
	const tensorsLeaked = tf.memory().numTensors - before;
	const profile = await tf.profile(() => step(99));
	let params = 0;
	for (const v of session.params.values()) params += v.size;
	session.dispose();
	return {
		backend: tf.getBackend(),
		params,
		batchSize: n,
		seqLen: len,
		warmupMs,
		msPerStep,
		tokensPerSec: (n * len * 1000) / msPerStep,
		kernelsPerStep: profile.kernels.length,
		tensorsLeaked
	};
}
