/**
 * The multi-label head (tfjs CPU): binary cross-entropy on logits against hand-computed values
 * and its gradient against central finite differences, padding rows ignored; the from-scratch
 * classifier and a pretrained encoder (tiny BERT) learn label sets with a sigmoid per label and
 * evaluate them at 0.5; the decisions match a direct reading of the probabilities, and Inside's
 * occlusion reads the same sigmoid probabilities; no tensor leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { sigmoidCrossEntropy } from '../../../src/lib/engine/ops';
import { ClassifierSession, summarizeSigmoid } from '../../../src/lib/engine/classifier';
import { PretrainedSession, configForObjective } from '../../../src/lib/engine/pretrained';
import { labelSetsOf, makeBatch, type TokenRows } from '../../../src/lib/engine/batching';
import { defaultRunConfig, isMultiLabelRun, type RunConfig } from '../../../src/lib/shared/config';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureJson, fixtureTensors } from '../models/fixtures';
import { classifierModel, occlusion } from '../../../src/lib/engine/inside/attribution';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const sig = (x: number) => 1 / (1 + Math.exp(-x));

describe('sigmoidCrossEntropy', () => {
	const x = [
		[2, -1, 0.5],
		[-3, 0, 4]
	];
	const y = [
		[1, 0, 0],
		[0, 1, 1]
	];
	/** −[y log σ(x) + (1−y) log(1−σ(x))], mean over the entries of the rows counted. */
	const hand = (rows: number[]) => {
		let s = 0;
		for (const i of rows) for (let j = 0; j < 3; j++) s -= y[i][j] * Math.log(sig(x[i][j])) + (1 - y[i][j]) * Math.log(1 - sig(x[i][j]));
		return s / (rows.length * 3);
	};

	it('equals the hand-computed mean binary cross-entropy, and ignores masked rows', () => {
		const v = tf.tidy(() => sigmoidCrossEntropy(tf.tensor2d(x), tf.tensor2d(y)).dataSync()[0]);
		expect(v).toBeCloseTo(hand([0, 1]), 6);
		const masked = tf.tidy(() => sigmoidCrossEntropy(tf.tensor2d(x), tf.tensor2d(y), tf.tensor1d([1, 0])).dataSync()[0]);
		expect(masked).toBeCloseTo(hand([0]), 6);
		// stable for large logits (log σ(±60) would be −Infinity computed naively)
		const big = tf.tidy(() => sigmoidCrossEntropy(tf.tensor2d([[60, -60]]), tf.tensor2d([[0, 1]])).dataSync()[0]);
		expect(big).toBeCloseTo(60, 4);
	});

	it('has the gradient (σ(x) − y)/(N·L), equal to central finite differences, zero on masked rows', () => {
		const mask = tf.tensor1d([1, 0]);
		const g = tf.grad((logits: tf.Tensor) => sigmoidCrossEntropy(logits as tf.Tensor2D, tf.tensor2d(y), mask));
		const grad = g(tf.tensor2d(x)).arraySync() as number[][];
		for (let j = 0; j < 3; j++) {
			expect(grad[0][j]).toBeCloseTo((sig(x[0][j]) - y[0][j]) / 3, 6);
			expect(grad[1][j]).toBe(0);
		}
		// float64 finite differences on the hand formula (tfjs CPU computes in float32)
		const f = (xs: number[][]) => {
			let s = 0;
			for (let j = 0; j < 3; j++) s -= y[0][j] * Math.log(sig(xs[0][j])) + (1 - y[0][j]) * Math.log(1 - sig(xs[0][j]));
			return s / 3;
		};
		const h = 1e-5;
		for (let j = 0; j < 3; j++) {
			const up = x.map((r) => [...r]);
			const down = x.map((r) => [...r]);
			up[0][j] += h;
			down[0][j] -= h;
			expect(grad[0][j]).toBeCloseTo((f(up) - f(down)) / (2 * h), 5);
		}
		// at logit 0 exactly (a zero-initialised head) the gradient is σ(0) − y = ±0.5, not 0
		const zero = tf.grad((logits: tf.Tensor) => sigmoidCrossEntropy(logits as tf.Tensor2D, tf.tensor2d([[1, 0]])))(tf.zeros([1, 2])).arraySync() as number[][];
		expect(zero[0][0]).toBeCloseTo(-0.25, 6);
		expect(zero[0][1]).toBeCloseTo(0.25, 6);
		mask.dispose();
	});
});

describe('summarizeSigmoid', () => {
	it('predicts the labels at or above 0.5; accuracy is the exact-set share; loss the mean BCE', () => {
		const probs = Float32Array.from([0.9, 0.2, 0.5, 0.1, 0.6, 0.3]);
		const truth = Uint8Array.from([1, 0, 1, 0, 0, 0]);
		const out = summarizeSigmoid(probs, Int32Array.from([0, 0]), truth);
		expect(Array.from(out.sets!.predicted)).toEqual([1, 0, 1, 0, 1, 0]);
		expect(out.accuracy).toBe(0.5);
		const p = Array.from(probs);
		const bce = -p.reduce((s, q, i) => s + (truth[i] ? Math.log(q) : Math.log(1 - q)), 0) / 6;
		expect(out.loss).toBeCloseTo(bce, 6);
		expect(Array.from(out.preds)).toEqual([0, 1]);
	});
});

/** Rows whose marker tokens give their labels: label j present when token 4 + j is in the row. */
function multiRows(n: number, labels: number, seed = 1, base = 4): { data: TokenRows; sets: number[][] } {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const sets: number[][] = [];
	for (let i = 0; i < n; i++) {
		const set = [...Array(labels).keys()].filter((j) => (i >> j) & 1 || (j === 0 && i % (1 << labels) === 0));
		for (const j of set) ids.push(base + j);
		for (let k = 0; k < 3 + rng.int(4); k++) ids.push(base + 20 + rng.int(30));
		offsets.push(ids.length);
		sets.push(set);
	}
	return { data: { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(sets.map((s) => s[0])), labelSets: labelSetsOf(sets, labels) }, sets };
}

describe('multi-label sessions', () => {
	it('batches carry (B, L) targets, zero for padding rows', () => {
		const { data } = multiRows(3, 3);
		const b = makeBatch(data, [1, 2], 4, 16, 0);
		expect(Array.from(b.multiHot!)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
	});

	it('the from-scratch classifier learns label sets with a sigmoid per label, and leaks nothing', async () => {
		const c: RunConfig = defaultRunConfig(3);
		c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0, multiLabel: true };
		c.train = { ...c.train, batchSize: 8, learningRate: 1e-2, weightDecay: 0, warmupSteps: 0 };
		expect(isMultiLabelRun(c)).toBe(true);
		const before = tf.memory().numTensors;
		const s = ClassifierSession.create(c, { padId: 0 });
		const { data, sets } = multiRows(16, 3);
		const all = [...Array(16).keys()];
		const first = await s.evaluate(data, all);
		// a sigmoid per label starts near ln 2 per label slot
		expect(Math.abs(first.loss - Math.log(2))).toBeLessThan(0.15);
		// 30 steps reach every label set (accuracy 1, loss under half); the bounds below are the claim.
		for (let i = 0; i < 30; i++) s.trainStep(s.batch(data, all.slice((i % 2) * 8, (i % 2) * 8 + 8)), 1e-2, i);
		const stats = await s.takeStats();
		expect(stats!.loss).toBeLessThan(first.loss);
		const last = await s.evaluate(data, all);
		expect(last.loss).toBeLessThan(first.loss * 0.5);
		expect(last.accuracy).toBe(1);
		// the decisions are the probabilities read at 0.5, and the truth is the rows' sets
		const probs = await s.probs(s.batch(data, all.slice(0, 8)));
		expect(Array.from(last.sets!.predicted.slice(0, 24))).toEqual(Array.from(probs, (p) => (p >= 0.5 ? 1 : 0)));
		expect(Array.from(last.sets!.truth)).toEqual(Array.from(labelSetsOf(sets, 3).data));
		// independent sigmoids: row 3 has labels 0 and 1, both near 1 (a softmax could not give both)
		expect(probs[9]).toBeGreaterThan(0.5);
		expect(probs[10]).toBeGreaterThan(0.5);
		expect(probs[11]).toBeLessThan(0.5);
		// Inside (Why this label, occlusion) reads the same sigmoid probabilities
		const m = classifierModel(s);
		expect(m.multiLabel).toBe(true);
		const occ = await occlusion(m, Array.from(data.ids.subarray(data.offsets[3], data.offsets[4])), 0, []);
		occ.probs.forEach((p, j) => expect(p).toBeCloseTo(probs[9 + j], 4));
		s.dispose();
		expect(tf.memory().numTensors).toBe(before);
	});

	it('a pretrained encoder (tiny BERT) gets problem_type multi_label_classification and learns label sets', async () => {
		const names = ['a', 'b', 'c'];
		expect(configForObjective(fixtureJson('bert', 'config.json'), 'classification', names, undefined, true).problem_type).toBe('multi_label_classification');
		expect(configForObjective(fixtureJson('bert', 'config.json'), 'classification', names).problem_type).toBe('single_label_classification');
		const c = defaultRunConfig(3);
		c.train = { ...c.train, batchSize: 4, learningRate: 3e-3, weightDecay: 0, warmupSteps: 0 };
		const hfConfig = fixtureJson('bert', 'config.json');
		c.pretrained = { repo: 'whetstone-test/tiny-bert', revision: 'f'.repeat(40), modelType: 'bert', hfConfig, objective: 'classification', contextLength: 16, numClasses: 3, multiLabel: true };
		const before = tf.memory().numTensors;
		const s = await PretrainedSession.fromPretrained(c, fixtureTensors('bert'), { padId: 0 }, names);
		expect(s.hf.problemType).toBe('multi_label_classification');
		const { data } = multiRows(12, 3, 2, 10);
		const all = [...Array(12).keys()];
		const first = await s.evaluate(data, all);
		for (let i = 0; i < 60; i++) s.trainStep(s.batch(data, all.slice((i % 3) * 4, (i % 3) * 4 + 4)), 1e-2, i);
		await s.takeStats();
		const last = await s.evaluate(data, all);
		expect(last.sets).toBeDefined();
		expect(last.loss).toBeLessThan(first.loss * 0.6);
		expect(last.accuracy).toBeGreaterThanOrEqual(0.75);
		s.dispose();
		expect(tf.memory().numTensors).toBe(before);
	});
});
