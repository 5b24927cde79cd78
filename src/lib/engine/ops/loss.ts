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

/**
 * Binary cross-entropy on logits, one sigmoid per label: the multi-label loss, as
 * torch.nn.BCEWithLogitsLoss (reduction 'mean') that Hugging Face uses for
 * `problem_type: "multi_label_classification"`. logits and targets: (N, L), targets 0 or 1;
 * rowMask: (N), 1 for a real row and 0 for a batch's padding rows. The mean is over the real rows'
 * N·L entries. Written as softplus(x) − x·y, which equals −y·log σ(x) − (1−y)·log(1−σ(x)) and
 * whose gradient tfjs derives as σ(x) − y exactly (softplus is computed stably for large |x|).
 */
export function sigmoidCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D, rowMask?: tf.Tensor1D): tf.Scalar {
	const [n, l] = logits.shape;
	const mask = (rowMask ?? tf.ones([n])).reshape([n, 1]); // (N, 1)
	const perEntry = tf.softplus(logits).sub(logits.mul(targets)); // (N, L)
	const count = mask.sum().mul(l).maximum(1);
	return perEntry.mul(mask).sum().div(count) as tf.Scalar;
}
