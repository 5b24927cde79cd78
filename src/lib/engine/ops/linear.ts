/**
 * Affine map on the last axis. Weights follow PyTorch's nn.Linear layout ([out, in]) unless the
 * caller says otherwise: GPT-2's Conv1D stores [in, out], and keeping the Hugging Face layout
 * means checkpoints and exports line up by name and shape with no transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedLinear } from './fused/linear';
import { fusedConcatRows } from './fused/pack';
import { overBindingLimit, rowParts } from './split';

export type WeightLayout = 'out_in' | 'in_out';

export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D, layout: WeightLayout = 'out_in'): tf.Tensor {
	const inDim = x.shape[x.shape.length - 1];
	const outDim = layout === 'out_in' ? w.shape[0] : w.shape[1];
	const x2 = x.reshape([-1, inDim]); // (N, in)
	if (layout === 'out_in' && overBindingLimit(w)) {
		// A weight too large to bind (a big vocabulary's LM head): its rows in parts, one product
		// each, the outputs side by side; dW per part, joined by copies (split.ts).
		const ys = rowParts(w).map((part) => linear(x2, part.rows, b?.slice(part.from, part.rows.shape[0])));
		return tf.concat(ys, -1).reshape([...x.shape.slice(0, -1), outDim]);
	}
	// On the WebGPU fast path the bias rides in the matmul's epilogue and its gradient is summed in
	// the dW kernel; with or without a bias, the products are the adapter's own (fused/linear.ts).
	if (useFastPath() && x.dtype === 'float32' && w.dtype === 'float32' && (!b || b.dtype === 'float32')) return fusedLinear(x2 as tf.Tensor2D, w, b, layout === 'out_in').reshape([...x.shape.slice(0, -1), outDim]);
	let y = tf.matMul(x2, w, false, layout === 'out_in'); // (N, out)
	if (b) y = y.add(b);
	return y.reshape([...x.shape.slice(0, -1), outDim]);
}

/**
 * Several nn.Linear maps of one input side by side: x·[W₁; W₂; …]ᵀ (+ [b₁; b₂; …]), (..., Σ out),
 * the outputs laid out in the order given ([q | k | v] for Llama's attention, [gate | up] for its
 * MLP). On the fast path the weights are joined by buffer copies (fused/pack.ts) and the map is one
 * linear: one matmul forward, one for dx, one dW whose rows the join's gradient cuts back into
 * each weight's. Off it, each map runs alone and the outputs are concatenated. Biases: all or none.
 */
export function linearSideBySide(x: tf.Tensor, ws: tf.Tensor2D[], bs?: tf.Tensor1D[]): tf.Tensor {
	const f32 = (t: tf.Tensor) => t.dtype === 'float32';
	if (useFastPath() && f32(x) && ws.every(f32) && (!bs || bs.every(f32))) {
		const w = fusedConcatRows(ws) as tf.Tensor2D;
		const b = bs ? (fusedConcatRows(bs) as tf.Tensor1D) : undefined;
		return linear(x, w, b);
	}
	return tf.concat(ws.map((w, i) => linear(x, w, bs?.[i])), -1);
}
