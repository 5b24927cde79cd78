/**
 * Learned position embeddings added to the token embeddings: x (B, T, d) + wpe[0..T) for a table
 * wpe (P, d) of P ≥ T positions. The composite slices the table and adds it across the batch (two
 * tfjs ops forward; a transpose, a sum over the batch and a pad backward). On the WebGPU fast path
 * it is one kernel each way (fused/positions.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedAddPositions } from './fused/positions';

/** x (B, T, d) + the first T rows of wpe (P, d), differentiable in both. */
export function addPositions(x: tf.Tensor3D, wpe: tf.Tensor2D): tf.Tensor3D {
	const [, t, d] = x.shape;
	if (t > wpe.shape[0]) throw new Error(`Sequence of ${t} positions is longer than the ${wpe.shape[0]} position embeddings.`);
	if (useFastPath() && x.dtype === 'float32' && wpe.dtype === 'float32') return fusedAddPositions(x, wpe);
	return x.add(wpe.slice([0, 0], [t, d]));
}
