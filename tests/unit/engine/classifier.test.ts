import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import type { TokenRows } from '../../../src/lib/engine/batching';
import { Prng } from '../../../src/lib/shared/prng';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function config(over: Partial<RunConfig['model']> = {}): RunConfig {
	const c = defaultRunConfig(4);
	c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0, ...over };
	c.train = { ...c.train, batchSize: 8, learningRate: 1e-2, weightDecay: 0, warmupSteps: 0 };
	return c;
}

/** Random token rows: 8 examples of 4 classes, each class with its own marker token. */
function rows(n = 8, classes = 4, seed = 1): TokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const labels: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 3 + rng.int(8);
		const label = i % classes;
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 4 + label : 10 + rng.int(50));
		offsets.push(ids.length);
		labels.push(label);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels) };
}

describe('ClassifierSession', () => {
	it('starts with a loss near ln(classes)', async () => {
		const s = ClassifierSession.create(config(), { padId: 0 });
		const data = rows(32);
		const ev = await s.evaluate(data, [...Array(32).keys()]);
		expect(Math.abs(ev.loss - Math.log(4))).toBeLessThan(0.05);
		s.dispose();
	});

	it('overfits one batch', async () => {
		const s = ClassifierSession.create(config(), { padId: 0 });
		const data = rows(8);
		const all = [...Array(8).keys()];
		for (let i = 0; i < 30; i++) s.trainStep(s.batch(data, all), 1e-2, i);
		const stats = await s.takeStats();
		expect(stats!.steps).toBe(30);
		const ev = await s.evaluate(data, all);
		expect(ev.accuracy).toBe(1);
		expect(ev.loss).toBeLessThan(0.05);
		s.dispose();
	});

	it('leaks no tensors across a step, an evaluation and a prediction', async () => {
		// Counted from here, not from zero: with module isolation off another file may hold tensors in this fork.
		const start = tf.memory().numTensors;
		const s = ClassifierSession.create(config({ dropout: 0.1 }), { padId: 0 });
		const data = rows(8);
		const all = [...Array(8).keys()];
		s.trainStep(s.batch(data, all), 1e-3, 1); // warm: the first step creates nothing persistent but sums
		await s.takeStats();
		const before = tf.memory().numTensors;
		s.trainStep(s.batch(data, all), 1e-3, 2);
		await s.takeStats();
		await s.evaluate(data, all);
		await s.probs(s.batch(data, [0]));
		expect(tf.memory().numTensors).toBe(before);
		s.dispose();
		expect(tf.memory().numTensors).toBe(start);
	});
});
