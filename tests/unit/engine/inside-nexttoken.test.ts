/**
 * The next-token view (engine/inside/nexttoken.ts) against transformers: on every causal fixture
 * (tests/fixtures/hf-tiny), the top-k next tokens at each position are the top-k of the reference
 * logits (same ids, same order, probabilities = their softmax), and each token's log-probability is
 * the reference log-softmax at that token. No tensors leak.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { archModel } from '../../../src/lib/engine/inside/model';
import { compareNextTokens, nextTokenView, TOP_K, type NextTokenView } from '../../../src/lib/engine/inside/nexttoken';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function logSoftmax(row: number[]): number[] {
	const max = Math.max(...row);
	const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
	return row.map((x) => x - lse);
}

describe('top-k next tokens equal the reference logits’ top-k', () => {
	for (const arch of ['gpt2', 'llama', 'qwen2', 'gpt_neox', 'mistral', 'gemma', 'phi3'])
		it(arch, async () => {
			const m = fixtureModel(arch);
			const ids = (m.reference.input_ids as number[][])[0];
			const ref = (m.reference.logits as number[][][])[0]; // (T, V)
			const before = tf.memory().numTensors;
			const view = await nextTokenView(archModel(m.spec, m.config, m.params, 0), ids);
			expect(tf.memory().numTensors).toBe(before);
			expect(view.top).toHaveLength(ids.length);
			ref.forEach((row, i) => {
				const lp = logSoftmax(row);
				const order = lp.map((_, j) => j).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, TOP_K);
				expect(view.top[i].map((c) => c.id)).toEqual(order);
				view.top[i].forEach((c, j) => expect(c.p).toBeCloseTo(Math.exp(lp[order[j]]), 4));
				if (i > 0) expect(view.logProbs[i]!).toBeCloseTo(logSoftmax(ref[i - 1])[ids[i]], 4);
			});
			expect(view.logProbs[0]).toBeNull();
			tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
		});

	it('refuses a classifier', async () => {
		const m = fixtureModel('bert');
		await expect(nextTokenView(archModel(m.spec, m.config, m.params, 0), [1, 2])).rejects.toThrow(/causal language model/);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds].filter((x) => x !== undefined));
	});
});

describe('comparing two models', () => {
	const view = (lps: (number | null)[]): NextTokenView => ({ ids: lps.map((_, i) => i), logProbs: lps, top: [] });
	it('ranks tokens by how much their probability moved', () => {
		const c = compareNextTokens(view([null, Math.log(0.5), Math.log(0.1), Math.log(0.3)]), view([null, Math.log(0.4), Math.log(0.8), Math.log(0.3)]), 2);
		expect(c.delta[0]).toBeNull();
		expect(c.delta[1]).toBeCloseTo(-0.1, 9);
		expect(c.delta[2]).toBeCloseTo(0.7, 9);
		expect(c.most).toEqual([2, 1]); // the unchanged token is never "most changed"
	});
	it('refuses different tokens', () => {
		expect(() => compareNextTokens(view([null, 0]), { ...view([null, 0]), ids: [0, 5] })).toThrow(/same tokens/);
	});
});
