// Scores from the tfjs models against log-softmax computed in float64 from transformers' logits.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextWindows, continuationLogLikelihoods, perplexity, tokenLogProbs } from '../../../src/lib/engine/eval/lm-score';
import { disposeBatch } from '../../../src/lib/engine/models/parity';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

type Fixture = ReturnType<typeof fixtureModel>;
const loaded = new Map<string, Fixture>();
function load(arch: string): Fixture {
	if (!loaded.has(arch)) loaded.set(arch, fixtureModel(arch));
	return loaded.get(arch)!;
}
afterAll(() => {
	for (const m of loaded.values()) {
		disposeBatch(m.batch, m.labels);
		tf.dispose(Object.values(m.params));
	}
});

/** log softmax(reference logits[row][pos])[token], in float64. */
function refLogProb(m: Fixture, row: number, pos: number, token: number): number {
	const z = (m.reference.logits as number[][][])[row][pos];
	const max = Math.max(...z);
	const lse = max + Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0));
	return z[token] - lse;
}

/** Σ log p(ids[j] | ids[<j]) for j in [from, to) of a reference row. */
function refSum(m: Fixture, row: number, from: number, to: number): number {
	const ids = m.reference.input_ids[row];
	let s = 0;
	for (let j = from; j < to; j++) s += refLogProb(m, row, j - 1, ids[j]);
	return s;
}

/** The shifted mean cross-entropy of HF's causal-LM loss, from the reference logits and labels. */
function refLoss(m: Fixture, rows: number[]): number {
	let nll = 0;
	let n = 0;
	for (const r of rows) {
		const labels = (m.reference.labels as number[][])[r];
		for (let j = 1; j < labels.length; j++)
			if (labels[j] !== -100) {
				nll -= refLogProb(m, r, j - 1, labels[j]);
				n++;
			}
	}
	return nll / n;
}

const ARCHS = ['gpt2', 'llama', 'qwen2'];

describe('continuationLogLikelihoods', () => {
	for (const arch of ARCHS)
		it(`${arch}: equals log-softmax of transformers' logits summed over the continuation`, async () => {
			const m = load(arch);
			const ids = m.reference.input_ids[0];
			for (const k of [1, 4, 7]) {
				const [score] = await continuationLogLikelihoods(m.spec, m.params, m.config, ids.slice(0, k), [ids.slice(k)]);
				const want = refSum(m, 0, k, ids.length);
				expect(score.tokens).toBe(ids.length - k);
				expect(Math.abs(score.sum - want)).toBeLessThan(1e-4);
				expect(score.mean).toBeCloseTo(score.sum / (ids.length - k), 12);
			}
		});

	it('gives the same scores batched (right-padded, masked) as one at a time', async () => {
		const m = load('llama');
		const ids = m.reference.input_ids[0];
		const prompt = ids.slice(0, 3);
		const candidates = [ids.slice(3), [5], ids.slice(3, 5), [9, 8, 7, 6], ids.slice(3, 9)];
		const batched = await continuationLogLikelihoods(m.spec, m.params, m.config, prompt, candidates, { batchSize: 4 });
		for (const [i, c] of candidates.entries()) {
			const [alone] = await continuationLogLikelihoods(m.spec, m.params, m.config, prompt, [c], { batchSize: 1 });
			expect(batched[i].tokens).toBe(c.length);
			expect(Math.abs(batched[i].sum - alone.sum)).toBeLessThan(1e-5);
		}
		expect(Math.abs(batched[0].sum - refSum(m, 0, 3, 10))).toBeLessThan(1e-4);
	});

	it('keeps every batch the same shape (fixed rows, bucketed length)', async () => {
		const m = load('gpt2');
		const shapes = new Set<string>();
		const spec = { ...m.spec, forward: (...a: Parameters<typeof m.spec.forward>) => (shapes.add(String(a[2].inputIds.shape)), m.spec.forward(...a)) };
		const scores = await continuationLogLikelihoods(spec, m.params, m.config, [1, 2], [[3], [4, 5, 6], [7, 8], [9], [10, 11]], { batchSize: 2 });
		expect(scores.map((s) => s.tokens)).toEqual([1, 3, 2, 1, 2]);
		expect([...shapes]).toEqual(['2,16']);
	});

	it('cuts the prompt from the left to fit the context', async () => {
		const m = load('gpt2');
		const ids = m.reference.input_ids[0];
		const config = { ...m.config, maxPositions: 6 };
		const [cut] = await continuationLogLikelihoods(m.spec, m.params, config, ids.slice(0, 7), [ids.slice(7)]);
		const [direct] = await continuationLogLikelihoods(m.spec, m.params, m.config, ids.slice(4, 7), [ids.slice(7)]);
		expect(Math.abs(cut.sum - direct.sum)).toBeLessThan(1e-5);
		await expect(continuationLogLikelihoods(m.spec, m.params, config, [1], [[1, 2, 3, 4, 5, 6]])).rejects.toThrow(/context/);
		await expect(continuationLogLikelihoods(m.spec, m.params, config, [], [[1]])).rejects.toThrow(/prompt/);
	});
});

describe('tokenLogProbs', () => {
	it('gives log p(next token) at every position, NaN where the next token is padding', async () => {
		const m = load('qwen2');
		const ref = m.reference;
		const out = await tokenLogProbs(m.spec, m.params, m.config, ref.input_ids, ref.attention_mask!);
		expect(out.map((r) => r.length)).toEqual([9, 9]);
		for (const row of [0, 1])
			for (let t = 0; t < 9; t++) {
				if (ref.attention_mask![row][t + 1]) expect(Math.abs(out[row][t] - refLogProb(m, row, t, ref.input_ids[row][t + 1]))).toBeLessThan(1e-5);
				else expect(out[row][t]).toBeNaN();
			}
		await expect(tokenLogProbs(m.spec, m.params, m.config, [[1, 2, 3]], [[0, 1, 1]])).rejects.toThrow(/right-padded/);
	});
});

describe('perplexity', () => {
	for (const arch of ARCHS)
		it(`${arch}: row 0's mean NLL is HF's causal-LM loss restricted to row 0`, async () => {
			const m = load(arch);
			// the helper reproduces reference.loss over both rows, so restricted to row 0 it is what loss implies
			expect(Math.abs(refLoss(m, [0, 1]) - m.reference.loss) / m.reference.loss).toBeLessThan(1e-5);
			const r = await perplexity(m.spec, m.params, m.config, [m.reference.input_ids[0]]);
			const want = refLoss(m, [0]);
			expect(r.tokens).toBe(9);
			expect(r.stopped).toBe(false);
			expect(Math.abs(r.meanNll - want)).toBeLessThan(1e-5);
			expect(r.perplexity).toBeCloseTo(Math.exp(r.meanNll), 12);
			expect(Math.abs(r.perplexity - Math.exp(want)) / Math.exp(want)).toBeLessThan(1e-5);
		});

	it('weights by tokens across sequences of different lengths', async () => {
		const m = load('gpt2');
		const [a, b] = m.reference.input_ids;
		const r = await perplexity(m.spec, m.params, m.config, [a, b.slice(0, 7), [3]], { batchSize: 2 });
		const want = -(refSum(m, 0, 1, 10) + refSum(m, 1, 1, 7)) / (9 + 6);
		expect(r.tokens).toBe(15);
		expect(Math.abs(r.meanNll - want)).toBeLessThan(1e-5);
	});

	it('scores a long sequence in windows whose predicted tokens do not overlap', async () => {
		expect(contextWindows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([
			[0, 1, 2, 3],
			[3, 4, 5, 6],
			[6, 7, 8, 9]
		]);
		expect(contextWindows([0, 1, 2, 3, 4], 4)).toEqual([[0, 1, 2, 3], [3, 4]]);
		expect(contextWindows([7], 4)).toEqual([]);

		const m = load('llama');
		const ids = m.reference.input_ids[0];
		const progress: [number, number][] = [];
		const r = await perplexity(m.spec, m.params, m.config, [ids], { contextLength: 4, batchSize: 1, onProgress: (d, t) => void progress.push([d, t]) });
		expect(progress).toEqual([[1, 3], [2, 3], [3, 3]]);
		expect(r.tokens).toBe(9);
		let nll = -refSum(m, 0, 1, 4); // the first window is the start of the full sequence
		for (const w of [ids.slice(3, 7), ids.slice(6, 10)]) nll -= (await tokenLogProbs(m.spec, m.params, m.config, [w]))[0].reduce((s, x) => s + x, 0);
		expect(Math.abs(r.meanNll - nll / 9)).toBeLessThan(1e-5);
	});

	it('stops when asked and reports what it scored', async () => {
		const m = load('llama');
		const ids = m.reference.input_ids[0];
		let batches = 0;
		const r = await perplexity(m.spec, m.params, m.config, [ids], {
			contextLength: 4,
			batchSize: 1,
			onProgress: () => void batches++,
			shouldStop: () => batches >= 1
		});
		expect(r.stopped).toBe(true);
		expect(r.tokens).toBe(3);
		expect(Math.abs(r.meanNll + refSum(m, 0, 1, 4) / 3)).toBeLessThan(1e-5);
	});
});

it('leaks no tensors', async () => {
	const m = load('qwen2');
	const ids = m.reference.input_ids;
	const before = tf.memory().numTensors;
	await continuationLogLikelihoods(m.spec, m.params, m.config, ids[0].slice(0, 3), [[1], [2, 3], ids[0].slice(3)], { batchSize: 2 });
	await tokenLogProbs(m.spec, m.params, m.config, ids, m.reference.attention_mask);
	await perplexity(m.spec, m.params, m.config, ids, { contextLength: 5, batchSize: 3 });
	expect(tf.memory().numTensors).toBe(before);
});
