/**
 * Embedding lookup: rows of a (V, d) table for integer ids. tfjs differentiates `gather` through
 * UnsortedSegmentSum, which is very slow on the CPU backend (O(V * N * d) with masks) and slow on
 * software WebGPU; when the one-hot matrix is small, a one-hot matmul gives the same values
 * exactly (each output is 1 * row + sums of exact zeros) and its gradient is a plain matmul.
 * Large vocabularies (GPT-2's 50k) keep `gather`, where the one-hot matrix would not fit. On the
 * WebGPU fast path the small-vocabulary case is one gather kernel with a one-kernel backward
 * (fused/embedding.ts), the same sums as the one-hot matmul's.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedEmbedding } from './fused/embedding';
import { overBindingLimit, rowParts } from './split';

/** Largest one-hot matrix (ids × vocabulary) used for the matmul path: 8M floats, 32 MB. */
export const ONE_HOT_LIMIT = 8 * 1024 * 1024;

/** ids: any shape of int32 ids; returns ids.shape + [d]. */
export function embedding(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
	const [v, d] = table.shape;
	const flat = ids.reshape([-1]).toInt(); // (N)
	if (overBindingLimit(table)) {
		// A table too large to bind (GPT-2's 147 MiB): a gather from each part of its rows, an id
		// outside a part reading zeros there, summed; each part's backward adds into its own rows
		// only, and the table's gradient joins them by copies (split.ts).
		const rows = rowParts(table).map((part) => fusedEmbedding(part.rows, (part.from ? flat.sub(tf.scalar(part.from, 'int32')) : flat) as tf.Tensor1D));
		return (rows.length === 1 ? rows[0] : tf.addN(rows)).reshape([...ids.shape, d]);
	}
	if (flat.size * v <= ONE_HOT_LIMIT && useFastPath() && table.dtype === 'float32') return fusedEmbedding(table, flat as tf.Tensor1D).reshape([...ids.shape, d]);
	const rows = flat.size * v <= ONE_HOT_LIMIT ? tf.matMul(tf.oneHot(flat, v, 1, 0, 'float32'), table) : tf.gather(table, flat); // (N, d)
	return rows.reshape([...ids.shape, d]);
}
