/**
 * Position embeddings added on WebGPU (reference: ../positions.ts): the forward reads each
 * position's row of the table where it is, in one dispatch (no slice); the backward passes dy on
 * as dx (a reshape, no dispatch) and sums it over the batch into the table's first T rows, zeros
 * below, in one more: one thread per table element adds its B terms in batch order. The composite
 * transposes dy, reduces it and pads the result (three dispatches); its reduction waits at
 * workgroup barriers, which a software adapter runs per thread.
 *
 * Dispatches: forward 1, backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const ADD_POSITIONS_DISPATCHES = { forward: 1, backward: 1 };

const addBody = `
	let TD = uniforms.xShape[1] * uniforms.xShape[2];
	result[index] = x[index] + wpe[index % TD];`;

const sumBody = `
	let B = uniforms.dyShape[0];
	let TD = uniforms.dyShape[1] * uniforms.dyShape[2];
	var acc = 0.0;
	if (index < TD) {
		for (var b = 0; b < B; b++) { acc += dy[b * TD + index]; }
	}
	result[index] = acc;`;

/** x (B, T, d) float32 + wpe (P, d) float32's first T rows: (B, T, d), differentiable in both. */
export function fusedAddPositions(x: tf.Tensor3D, wpe: tf.Tensor2D): tf.Tensor3D {
	const [p, d] = wpe.shape;
	const op = tf.customGrad((...args: unknown[]) => {
		const [xs, table] = args as [tf.Tensor3D, tf.Tensor2D];
		const y = runProgram(elementwiseProgram('whetstoneAddPositions', ['x', 'wpe'], xs.shape, addBody), [xs, table]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor) => [dy.reshape(xs.shape), runProgram(elementwiseProgram('whetstonePositionsGrad', ['dy'], [p, d], sumBody), [dy])]
		};
	});
	return op(x, wpe) as tf.Tensor3D;
}
