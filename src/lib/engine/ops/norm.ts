/**
 * Normalisation over the last axis: LayerNorm (Ba et al. 2016) as in torch.nn.LayerNorm (biased
 * variance), and RMSNorm (Zhang & Sennrich 2019) as Llama/Qwen2 use it.
 */
import * as tf from '@tensorflow/tfjs';

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor {
	const axis = x.rank - 1;
	const mean = x.mean(axis, true);
	const centered = x.sub(mean);
	const variance = centered.square().mean(axis, true);
	return centered.mul(variance.add(eps).rsqrt()).mul(gamma).add(beta);
}

export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor1D, eps = 1e-6): tf.Tensor {
	const ms = x.square().mean(x.rank - 1, true);
	return x.mul(ms.add(eps).rsqrt()).mul(gamma);
}
