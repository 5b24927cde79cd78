/**
 * Softmax cross-entropy with ignored positions and optional label smoothing, averaged over the
 * positions that count, as torch.nn.functional.cross_entropy(ignore_index=-100) does.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedCrossEntropy } from './fused/cross-entropy';

export interface CrossEntropyOptions {
	labelSmoothing?: number;
}

/**
 * logits: (N, C); labels: (N) int32 where a negative label means "ignore this position".
 * Returns the mean loss over counted positions (a scalar). On the WebGPU fast path a fused kernel
 * (fused/cross-entropy.ts) computes the same loss and gradient; this composite is its reference.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, opts: CrossEntropyOptions = {}): tf.Scalar {
	if (useFastPath() && logits.dtype === 'float32') return fusedCrossEntropy(logits, labels.dtype === 'int32' ? labels : (labels.toInt() as tf.Tensor1D), opts.labelSmoothing ?? 0);
	const c = logits.shape[1];
	const valid = labels.greaterEqual(0).toFloat(); // (N)
	const safe = labels.maximum(0).toInt();
	const logp = tf.logSoftmax(logits, -1); // (N, C)
	const onehot = tf.oneHot(safe, c).toFloat();
	let nll = logp.mul(onehot).sum(-1).neg(); // (N)
	const eps = opts.labelSmoothing ?? 0;
	if (eps > 0) nll = nll.mul(1 - eps).add(logp.mean(-1).neg().mul(eps));
	const count = valid.sum().maximum(1);
	return nll.mul(valid).sum().div(count) as tf.Scalar;
}

/** Per-row log-probabilities of the given labels (N), for scoring rather than training. */
export function labelLogProbs(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
	const logp = tf.logSoftmax(logits, -1);
	return logp.mul(tf.oneHot(labels.toInt(), logits.shape[1]).toFloat()).sum(-1) as tf.Tensor1D;
}
