/**
 * Masked mean pooling: the mean of each row's states over its unmasked positions (a row with none
 * gives zeros). The composite is five tfjs ops; on the WebGPU fast path it is one kernel with a
 * one-kernel backward (fused/pool.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedMeanPool } from './fused/pool';

/** h (B, T, d), mask (B, T) of 0/1: (B, d). */
export function meanPool(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
	if (useFastPath() && h.dtype === 'float32' && mask.dtype === 'float32') return fusedMeanPool(h, mask);
	const m = mask.expandDims(2); // (B, T, 1)
	return h.mul(m).sum(1).div(m.sum(1).maximum(1)) as tf.Tensor2D;
}
