/**
 * The next-token view of one text (the Inside view): under a causal language model, the
 * log-probability of each token given the tokens before it (what the loss averages), and at each
 * position the model's k likeliest next tokens, from one forward pass of the model's own code.
 * Comparing two models on the same ids (a base model and its fine-tuned run) shows what
 * fine-tuning changed: the tokens whose probability moved most.
 */
import * as tf from '@tensorflow/tfjs';
import { paddedRow, type InsideModel } from './model';

export const TOP_K = 10;

export interface TokenChoice {
	id: number;
	p: number;
}

export interface NextTokenView {
	ids: number[];
	/** logProbs[i] = log p(ids[i] | ids[0..i-1]); null for the first token, which nothing predicts. */
	logProbs: (number | null)[];
	/** top[i]: the k likeliest tokens to follow ids[0..i], likeliest first. */
	top: TokenChoice[][];
}

/** Log-probabilities and top-k next tokens of `ids` (at least one token) under a causal LM. */
export async function nextTokenView(model: InsideModel, ids: readonly number[], k = TOP_K): Promise<NextTokenView> {
	if (model.task !== 'causal-lm') throw new Error('The next-token view needs a causal language model.');
	if (!ids.length) throw new Error('nextTokenView needs at least one token.');
	const n = ids.length;
	const { inputIds, attentionMask } = paddedRow(model, ids);
	const [values, indices, taken] = tf.tidy(() => {
		const logits = model.forward(inputIds, attentionMask); // (1, T, V)
		const vocab = logits.shape[2]!;
		const lp = tf.logSoftmax(logits.slice([0, 0, 0], [1, n, -1]).reshape([n, vocab])) as tf.Tensor2D; // (n, V)
		const { values, indices } = tf.topk(lp, Math.min(k, vocab)); // (n, k)
		// log p of the token that actually follows each position: row i, column ids[i + 1]
		const at = tf.tensor1d(ids.slice(1).map((id, i) => i * vocab + id), 'int32'); // (n-1)
		const taken = n > 1 ? tf.gather(lp.reshape([-1]), at) : tf.zeros([0]); // (n-1)
		return [values, indices, taken] as tf.Tensor[];
	});
	try {
		const [val, ix, tk] = await Promise.all([values.data(), indices.data(), taken.data()]);
		const kk = values.shape[1] ?? 0;
		const top: TokenChoice[][] = Array.from({ length: n }, (_, i) => Array.from({ length: kk }, (_, j) => ({ id: ix[i * kk + j], p: Math.exp(val[i * kk + j]) })));
		return { ids: [...ids], logProbs: [null, ...Array.from(tk)], top };
	} finally {
		tf.dispose([inputIds, attentionMask, values, indices, taken]);
	}
}

export interface NextTokenChange {
	/** delta[i] = p_after(ids[i]) - p_before(ids[i]); null for the first token. */
	delta: (number | null)[];
	/** Positions of the `count` largest |delta|, largest first. */
	most: number[];
}

/** What changed from `before` to `after` (the same ids under two models). */
export function compareNextTokens(before: NextTokenView, after: NextTokenView, count = 3): NextTokenChange {
	if (before.ids.length !== after.ids.length || before.ids.some((id, i) => id !== after.ids[i])) throw new Error('Compare the same tokens under both models.');
	const delta = after.logProbs.map((lp, i) => (lp === null || before.logProbs[i] === null ? null : Math.exp(lp) - Math.exp(before.logProbs[i]!)));
	const most = delta
		.map((d, i) => [d === null ? -1 : Math.abs(d), i] as const)
		.filter(([d]) => d > 0)
		.sort((a, b) => b[0] - a[0])
		.slice(0, count)
		.map(([, i]) => i);
	return { delta, most };
}
