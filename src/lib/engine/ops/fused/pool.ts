/**
 * Masked mean pooling on WebGPU: (B, T, d) states and a (B, T) 0/1 mask to the (B, d) mean over
 * each row's unmasked positions, in one dispatch; the composite (models/transformer.ts: multiply,
 * two sums, a maximum and a division) takes five. A row with no position left gives zeros, as the
 * composite's max(count, 1) does. The backward spreads dy[b, j] · m[b, t] / count[b] over the
 * positions in one more dispatch (each thread counts its row's mask again: T additions, cheaper
 * than a kernel of its own). The mask is not differentiated (an attention mask is data).
 *
 * Dispatches: forward 1, backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const MEAN_POOL_DISPATCHES = { forward: 1, backward: 1 };

const poolBody = `
	let T = uniforms.hShape[1];
	let D = uniforms.hShape[2];
	let b = index / D;
	let j = index % D;
	var acc = 0.0;
	var count = 0.0;
	for (var t = 0; t < T; t++) {
		let w = mask[b * T + t];
		acc += h[(b * T + t) * D + j] * w;
		count += w;
	}
	result[index] = acc / max(count, 1.0);`;

const spreadBody = `
	let T = uniforms.maskShape[1];
	let D = uniforms.dyShape[1];
	let b = index / (T * D);
	let t = (index / D) % T;
	let j = index % D;
	var count = 0.0;
	for (var s = 0; s < T; s++) { count += mask[b * T + s]; }
	result[index] = dy[b * D + j] * mask[b * T + t] / max(count, 1.0);`;

/** h (B, T, d) float32, mask (B, T) float32 0/1: (B, d), differentiable in h. */
export function fusedMeanPool(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
	const [b, t, d] = h.shape;
	const op = tf.customGrad((...args: unknown[]) => {
		const x = args[0] as tf.Tensor3D;
		const save = args[1] as tf.GradSaveFunc;
		// The mask is saved too: a tensor made inside a differentiated function may be gone by the backward.
		save([mask]);
		const y = runProgram(elementwiseProgram('whetstoneMeanPool', ['h', 'mask'], [b, d], poolBody), [x, mask]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [runProgram(elementwiseProgram('whetstoneMeanPoolSpread', ['mask', 'dy'], [b, t, d], spreadBody), [saved[0], dy])]
		};
	});
	return op(h) as tf.Tensor2D;
}
