/**
 * Normalisation over the last axis: LayerNorm (Ba et al. 2016) as in torch.nn.LayerNorm (biased
 * variance), and RMSNorm (Zhang & Sennrich 2019) as Llama/Qwen2 use it.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedLayerNorm, fusedNormAddResidual, fusedNormResidual, fusedPostLayerNorm, fusedRmsNorm } from './fused/norm';
import { dropout, kernelDropout, type DropoutSpec } from './dropout';

/** The fused kernels (fused/norm.ts) take float32 rows; the composite below is their reference. */
function fused(x: tf.Tensor, gamma: tf.Tensor1D): boolean {
	return useFastPath() && x.dtype === 'float32' && gamma.dtype === 'float32' && x.rank >= 1 && gamma.shape[0] === x.shape[x.rank - 1];
}

/** x as (rows, width) for a row kernel, and back. */
function rows(x: tf.Tensor): tf.Tensor2D {
	return x.reshape([-1, x.shape[x.rank - 1]]) as tf.Tensor2D;
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
	if (fused(x, gamma) && beta.dtype === 'float32') return fusedLayerNorm(rows(x), gamma, beta, eps).reshape(x.shape);
	const axis = x.rank - 1;
	const mean = x.mean(axis, true);
	const centered = x.sub(mean);
	const variance = centered.square().mean(axis, true);
	return centered.mul(variance.add(eps).rsqrt()).mul(gamma).add(beta);
}

export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor1D, eps = 1e-6): tf.Tensor {
	if (fused(x, gamma)) return fusedRmsNorm(rows(x), gamma, eps).reshape(x.shape);
	const ms = x.square().mean(x.rank - 1, true);
	return x.mul(ms.add(eps).rsqrt()).mul(gamma);
}

/**
 * A pre-norm block's input and its norm, `[x, layerNorm(x)]`, for `x + sublayer(norm(x))` written
 * as `const [res, h] = layerNormResidual(x, …); res.add(sublayer(h))`. The composite returns x
 * itself; on the fast path x comes back through the norm's kernel (the same buffer), so the
 * residual stream's gradient is added in the norm's dx kernel rather than by a separate add.
 */
export function layerNormResidual(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): [tf.Tensor, tf.Tensor] {
	if (fused(x, gamma) && beta.dtype === 'float32') {
		const [r, y] = fusedNormResidual(false, rows(x), gamma, beta, eps);
		return [r.reshape(x.shape), y.reshape(x.shape)];
	}
	return [x, layerNorm(x, gamma, beta, eps)];
}

/** `[x, rmsNorm(x)]`, as `layerNormResidual`. */
export function rmsNormResidual(x: tf.Tensor, gamma: tf.Tensor1D, eps = 1e-6): [tf.Tensor, tf.Tensor] {
	if (fused(x, gamma)) {
		const [r, y] = fusedNormResidual(true, rows(x), gamma, null, eps);
		return [r.reshape(x.shape), y.reshape(x.shape)];
	}
	return [x, rmsNorm(x, gamma, eps)];
}

/** Dropout on a residual branch δ before it is added (the sublayer's own dropout), or none. */
export type ResidualDropout = DropoutSpec | undefined;

/**
 * A pre-norm block's residual add and the next norm, `[x + dropout(δ), layerNorm(x + dropout(δ))]`:
 * on the fast path one kernel adds and normalises (the sum is its second output), reading δ
 * through its hashed dropout mask (ops/dropout.ts), so neither the add nor the dropout costs a
 * forward dispatch; the composite drops, adds, then normalises.
 */
export function layerNormAddResidual(x: tf.Tensor, delta: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5, drop?: ResidualDropout): [tf.Tensor, tf.Tensor] {
	if (fused(x, gamma) && delta.dtype === 'float32' && beta.dtype === 'float32' && tf.util.arraysEqual(x.shape, delta.shape) && !(drop && drop.rate >= 1)) {
		const [s, y] = fusedNormAddResidual(false, rows(x), rows(delta), gamma, beta, eps, kernelDropout(drop));
		return [s.reshape(x.shape), y.reshape(x.shape)];
	}
	const s = x.add(drop ? dropout(delta, drop.rate, drop.seed) : delta);
	return [s, layerNorm(s, gamma, beta, eps)];
}

/** `[x + dropout(δ), rmsNorm(x + dropout(δ))]`, as `layerNormAddResidual`. */
export function rmsNormAddResidual(x: tf.Tensor, delta: tf.Tensor, gamma: tf.Tensor1D, eps = 1e-6, drop?: ResidualDropout): [tf.Tensor, tf.Tensor] {
	if (fused(x, gamma) && delta.dtype === 'float32' && tf.util.arraysEqual(x.shape, delta.shape) && !(drop && drop.rate >= 1)) {
		const [s, y] = fusedNormAddResidual(true, rows(x), rows(delta), gamma, null, eps, kernelDropout(drop));
		return [s.reshape(x.shape), y.reshape(x.shape)];
	}
	const s = x.add(drop ? dropout(delta, drop.rate, drop.seed) : delta);
	return [s, rmsNorm(s, gamma, eps)];
}

/**
 * A post-norm block's `LN(x + dropout(δ))` (BERT's), given twice: `[y, y]`, one for the next
 * sublayer and one for the residual sum after it. On the fast path one kernel adds and normalises,
 * reading δ through its hashed dropout mask (so the dropout costs no forward dispatch), and the two
 * uses' gradients are added inside the norm's backward kernels, where tfjs would add them in a
 * dispatch of its own; the composite drops, adds, normalises, and returns the one tensor twice.
 */
export function postLayerNorm(x: tf.Tensor, delta: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5, drop?: ResidualDropout): [tf.Tensor, tf.Tensor] {
	if (fused(x, gamma) && delta.dtype === 'float32' && beta.dtype === 'float32' && tf.util.arraysEqual(x.shape, delta.shape) && !(drop && drop.rate >= 1)) {
		const [y, y2] = fusedPostLayerNorm(rows(x), rows(delta), gamma, beta, eps, kernelDropout(drop));
		return [y.reshape(x.shape), y2.reshape(x.shape)];
	}
	const y = layerNorm(x.add(drop ? dropout(delta, drop.rate, drop.seed) : delta), gamma, beta, eps);
	return [y, y];
}
