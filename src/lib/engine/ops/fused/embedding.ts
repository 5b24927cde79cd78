/**
 * Embedding lookup on WebGPU: rows of a (V, d) table for int32 ids in one gather dispatch, where
 * the composite (../embedding.ts) builds a one-hot matrix and multiplies it (two). The backward
 * adds each position's gradient into its id's row: one thread per table element sums, in position
 * order, the gradient rows whose id is its row, the same sums in the same order as the one-hot
 * matmul's gradient (whose other terms are exact zeros). Like that matmul it costs V · N · d, so
 * it runs under the same ONE_HOT_LIMIT; a larger vocabulary keeps tfjs's gather. An id outside
 * [0, V) reads a zero row and receives no gradient, as its all-zero one-hot row does.
 *
 * Dispatches: forward 1, backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram, type WebGPUProgram } from './program';
import { reductions } from './reductions';

export const EMBEDDING_DISPATCHES = { forward: 1, backward: 1 };

const gatherBody = `
	let V = uniforms.tableShape[0];
	let D = uniforms.tableShape[1];
	let id = ids[index / D];
	let ok = id >= 0 && id < V;
	result[index] = select(0.0, table[clamp(id, 0, V - 1) * D + index % D], ok);`;

const scatterBody = `
	let N = uniforms.idsShape;
	let D = uniforms.dyShape[1];
	let v = index / D;
	let j = index % D;
	var acc = 0.0;
	for (var n = 0; n < N; n++) {
		if (ids[n] == v) { acc += dy[n * D + j]; }
	}
	result[index] = acc;`;

/**
 * The scatter with 'thread' reductions (software adapters, reductions.ts): one thread per table
 * row reads the ids once and adds the rows of its id, in position order (the same sums), V · N
 * comparisons instead of V · N · d. Thread counts matter there: each costs tens of nanoseconds.
 */
function rowScatterProgram(v: number, d: number): WebGPUProgram {
	return {
		variableNames: ['ids', 'dy'],
		outputShape: [v, d],
		shaderKey: 'whetstoneEmbeddingScatterRows',
		dispatchLayout: { x: [0, 1] },
		dispatch: [Math.ceil(v / 64), 1, 1],
		workgroupSize: [64, 1, 1],
		getUserCode: () => `
			fn main(index : i32) {
				let N = uniforms.idsShape;
				let V = uniforms.outShape[0];
				let D = uniforms.dyShape[1];
				if (index >= V) { return; }
				let base = index * D;
				for (var j = 0; j < D; j++) { result[base + j] = 0.0; }
				for (var n = 0; n < N; n++) {
					if (ids[n] == index) {
						for (var j = 0; j < D; j++) { result[base + j] = result[base + j] + dy[n * D + j]; }
					}
				}
			}`
	};
}

/** table (V, d) float32, ids (N) int32: (N, d), differentiable in the table. */
export function fusedEmbedding(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
	const [v, d] = table.shape;
	const n = ids.shape[0];
	const op = tf.customGrad((...args: unknown[]) => {
		const t = args[0] as tf.Tensor2D;
		const save = args[1] as tf.GradSaveFunc;
		// The ids are saved as well: ids made inside a differentiated function are disposed when its forward ends.
		save([ids]);
		const y = runProgram(elementwiseProgram('whetstoneEmbeddingGather', ['table', 'ids'], [n, d], gatherBody), [t, ids]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
				runProgram(reductions() === 'thread' ? rowScatterProgram(v, d) : elementwiseProgram('whetstoneEmbeddingScatter', ['ids', 'dy'], [v, d], scatterBody), [saved[0], dy])
			]
		};
	});
	return op(table) as tf.Tensor2D;
}
