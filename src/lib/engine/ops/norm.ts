/**
 * Normalisation over the last axis: LayerNorm (Ba et al. 2016) as in torch.nn.LayerNorm (biased
 * variance), and RMSNorm (Zhang & Sennrich 2019) as Llama/Qwen2 use it.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedLayerNorm, fusedRmsNorm } from './fused/norm';

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
