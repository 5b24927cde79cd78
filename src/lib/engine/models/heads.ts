/**
 * What the Hugging Face head models compute on top of the base model (transformers v4.40): the
 * shifted causal-LM loss of `*ForCausalLM`, the last-token pooling of the decoders'
 * `*ForSequenceClassification`, the loss of `*ForSequenceClassification` (chosen by
 * `problem_type` as transformers chooses it), and greedy decoding as `generate(do_sample=False)`
 * does it.
 */
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, linear } from '../ops';
import { useFastPath } from '../fast-path';
import { fusedCrossEntropy } from '../ops/fused/cross-entropy';
import { emptyTensor } from '../ops/fused/program';
import type { ArchSpec, HfConfigBase, Params, ProblemType } from './spec';

export type { ProblemType } from './spec';

/**
 * Mean next-token cross-entropy: logits at position t predict labels at t + 1, and labels of -100
 * (padding, prompt tokens) are not counted. logits: (B, T, V); labels: (B, T) int32. On the WebGPU
 * fast path the fused cross-entropy reads the next position's label itself (no slices, and no
 * pad in the backward); the slices below are its reference.
 */
export function causalLmLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
	return tf.tidy(() => {
		const [b, t, v] = logits.shape;
		if (useFastPath() && logits.dtype === 'float32') return fusedCrossEntropy(logits.reshape([b * t, v]) as tf.Tensor2D, labels.reshape([b * t]).toInt() as tf.Tensor1D, 0, t);
		const shifted = logits.slice([0, 0, 0], [b, t - 1, v]).reshape([b * (t - 1), v]) as tf.Tensor2D; // (B*(T-1), V)
		const target = labels.slice([0, 1], [b, t - 1]).reshape([b * (t - 1)]).toInt() as tf.Tensor1D; // (B*(T-1))
		return crossEntropy(shifted, target);
	});
}

/**
 * `causalLmLoss` and how many counted positions predict their next token (argmax, first on ties),
 * as a scalar. On the fast path both come from the fused cross-entropy's own two kernels (it finds
 * each row's argmax while it reads the row); the slices, argmax, compare, mask and sum below are
 * its reference.
 */
export function causalLmLossAndCorrect(logits: tf.Tensor, labels: tf.Tensor): { loss: tf.Scalar; correct: tf.Scalar } {
	return tf.tidy(() => {
		const [b, t, v] = logits.shape;
		if (useFastPath() && logits.dtype === 'float32') {
			const correct = emptyTensor([1]);
			const loss = fusedCrossEntropy(logits.reshape([b * t, v]) as tf.Tensor2D, labels.reshape([b * t]).toInt() as tf.Tensor1D, 0, t, correct);
			return { loss, correct: correct.reshape([]) as tf.Scalar };
		}
		const loss = causalLmLoss(logits, labels);
		const next = labels.slice([0, 1], [b, t - 1]); // (B, T-1): what position t predicts
		const pred = logits.slice([0, 0, 0], [b, t - 1, v]).argMax(-1); // (B, T-1)
		// 1 where pred = next (integers: 1 − min(|pred − next|, 1)), by ops that have gradients (zero
		// ones, through argmax), so a caller may differentiate something built from the count.
		const hit = tf.scalar(1).sub(pred.toFloat().sub(next.toFloat()).abs().minimum(1));
		return { loss, correct: hit.mul(next.greaterEqual(0).toFloat()).sum() as tf.Scalar };
	});
}

/**
 * Single-label classification: the cross-entropy (with `labelSmoothing`, as torch's cross_entropy
 * takes it) and how many rows have their label as their first largest logit, as a scalar. logits
 * (B, C); labels (B) int32, negative for a batch's filler rows, which neither term counts. On the
 * fast path both come from the fused cross-entropy's own two kernels; the argmax, compare and sum
 * below are its reference.
 */
export function singleLabelLossAndCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): { loss: tf.Scalar; correct: tf.Scalar } {
	return tf.tidy(() => {
		const ids = labels.toInt() as tf.Tensor1D;
		if (useFastPath() && logits.dtype === 'float32') {
			const correct = emptyTensor([1]);
			const loss = fusedCrossEntropy(logits, ids, labelSmoothing, 0, correct);
			return { loss, correct: correct.reshape([]) as tf.Scalar };
		}
		const loss = crossEntropy(logits, ids, { labelSmoothing });
		// 1 where argmax = label (integers: 1 − min(|pred − label|, 1)), by ops that have gradients
		// (zero ones, through argmax), as causalLmLossAndCorrect's, so a check can differentiate it.
		const hit = tf.scalar(1).sub(logits.argMax(-1).toFloat().sub(ids.toFloat()).abs().minimum(1)); // (B)
		return { loss, correct: hit.mul(ids.greaterEqual(0).toFloat()).sum() as tf.Scalar };
	});
}

/**
 * The sequence-classification loss, as `BertForSequenceClassification.forward` picks it: MSE for
 * one label (regression), cross-entropy for integer labels, BCE-with-logits for float multi-hot labels.
 * logits: (B, C); labels: (B) int32, (B) float for regression, or (B, C) float multi-hot.
 */
export function sequenceClassificationLoss(logits: tf.Tensor, labels: tf.Tensor, problemType: ProblemType | null): tf.Scalar {
	return tf.tidy(() => {
		const [b, c] = logits.shape;
		const type: ProblemType =
			problemType ?? (c === 1 ? 'regression' : labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification');
		if (type === 'regression') return logits.reshape(c === 1 ? [b] : [b, c]).sub(labels.toFloat()).square().mean() as tf.Scalar;
		if (type === 'single_label_classification') return crossEntropy(logits as tf.Tensor2D, labels.reshape([b]).toInt() as tf.Tensor1D);
		return tf.losses.sigmoidCrossEntropy(labels.toFloat(), logits) as tf.Scalar;
	});
}

/** The loss of the config's head: `causalLmLoss` or `sequenceClassificationLoss`. */
export function taskLoss(logits: tf.Tensor, labels: tf.Tensor, config: HfConfigBase): tf.Scalar {
	return config.task === 'causal-lm' ? causalLmLoss(logits, labels) : sequenceClassificationLoss(logits, labels, config.problemType);
}

/**
 * (B) int32 index of each row's last real token: sum(attention_mask) - 1, modulo T (so a row
 * with no tokens gives T - 1, as transformers' modulo does); T - 1 on every row without a mask.
 *
 * transformers (`GPT2/Llama/Qwen2ForSequenceClassification`, v4.40) finds the position from
 * `pad_token_id` instead: `(argmax(input_ids == pad) - 1) % T`, the token before the first pad,
 * and the last position when `pad_token_id` is unset. For right-padded rows whose pads are
 * `pad_token_id` and whose real tokens do not contain that id, both give the same index. Padding
 * with an id that also occurs in the text (GPT-2 padding with eos) is where they part:
 * transformers would stop at the first occurrence; the mask does not.
 */
export function lastTokenIndex(b: number, t: number, attentionMask?: tf.Tensor2D): tf.Tensor1D {
	return tf.tidy(() => {
		if (!attentionMask) return tf.fill([b], t - 1, 'int32') as tf.Tensor1D;
		return attentionMask.toInt().sum(1).add(t - 1).mod(t).toInt() as tf.Tensor1D; // (B)
	});
}

/** The hidden state at each row's last real token: (B, T, d) -> (B, d). */
export function lastTokenPool(hidden: tf.Tensor3D, attentionMask?: tf.Tensor2D): tf.Tensor2D {
	return tf.tidy(() => {
		const [b, t, d] = hidden.shape;
		const rowStart = tf.range(0, b * t, t, 'int32'); // (B) offset of each row in the flattened (B*T)
		const flat = rowStart.add(lastTokenIndex(b, t, attentionMask)) as tf.Tensor1D; // (B)
		return tf.gather(hidden.reshape([b * t, d]), flat) as tf.Tensor2D; // (B*T, d) -> (B, d)
	});
}

export interface GenerateOptions {
	maxNewTokens: number;
	/** Stop after emitting one of these; undefined means the config's eos, null means never stop early. */
	eosTokenId?: number | number[] | null;
}

/**
 * Greedy decoding: append the argmax of the last position's logits until maxNewTokens or EOS.
 * Recomputes the whole prefix each step (no KV cache): the same tokens as transformers' cached
 * decoding, at O(T^2) cost, which tiny models and tests can afford. Returns prompt + new ids.
 */
export async function generate<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	promptIds: number[],
	opts: GenerateOptions
): Promise<number[]> {
	if (config.task !== 'causal-lm') throw new Error(`This ${spec.modelType} model has a ${config.task} head; it does not generate text.`);
	if (!promptIds.length) throw new Error('generate needs at least one prompt token.');
	const eos = new Set(opts.eosTokenId === undefined ? config.eosTokenIds : opts.eosTokenId === null ? [] : [opts.eosTokenId].flat());
	const ids = [...promptIds];
	for (let i = 0; i < opts.maxNewTokens; i++) {
		const next = tf.tidy(() => {
			const inputIds = tf.tensor2d([ids], [1, ids.length], 'int32');
			const logits = spec.forward(params, config, { inputIds }); // (1, T, V)
			// torch.argmax and tf.argMax both return the first index on ties
			return logits.slice([0, ids.length - 1, 0], [1, 1, -1]).reshape([-1]).argMax();
		});
		const token = (await next.data())[0];
		next.dispose();
		ids.push(token);
		if (eos.has(token)) break;
	}
	return ids;
}

/**
 * A decoder's head on its final hidden states h (B, T, d): `score` on each row's last real token
 * for `*ForSequenceClassification` (scoring the pooled row equals transformers' score-then-pool:
 * each logit is the same dot product), else the LM head `lmHead`, or the input embeddings
 * `embeddings` when the two are tied.
 */
export function decoderHead(p: Params, c: HfConfigBase, h: tf.Tensor3D, mask: tf.Tensor2D | undefined, embeddings: string, lmHead: string): tf.Tensor {
	if (c.task === 'sequence-classification') return linear(lastTokenPool(h, mask), p['score.weight'] as tf.Tensor2D); // (B, numLabels)
	return linear(h, p[c.tieWordEmbeddings ? embeddings : lmHead] as tf.Tensor2D); // (B, T, V)
}

/** `headParams` and `isTied` of a decoder whose classifier is `score` and whose LM head may be tied. */
export const decoderHeadRules = {
	headParams: (c: HfConfigBase): string[] => (c.task === 'sequence-classification' ? ['score.weight'] : []),
	isTied: (c: HfConfigBase): boolean => c.task === 'causal-lm' && c.tieWordEmbeddings
};
