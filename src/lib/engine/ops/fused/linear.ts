/**
 * The affine map with its bias on WebGPU: the forward is tfjs-webgpu's own matmul with the bias
 * added in its epilogue (one dispatch instead of a matmul and an add), and the backward takes the
 * bias gradient as one column-sum kernel over dy, where the composite's `sum` over the rows makes
 * tfjs transpose dy first (two dispatches, and the `Sum` reductions that showed up as a fifth of a
 * step's GPU time in issue 10). dx and dW are the same matmuls tfjs's MatMul gradient runs.
 * Reference: `linear` in ../linear.ts.
 *
 * A registered kernel with a registered gradient rather than tf.customGrad: each input's gradient
 * is computed only if something needs it, so a frozen base weight (LoRA) costs no dW matmul.
 *
 * Dispatches: forward 1; backward 3 (dx, dW, db) when all three are needed. tfjs runs a matmul
 * with a long inner dimension as split-K, which adds a zero fill, on either path.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const LINEAR_DISPATCHES = { forward: 1, backward: 3 };
/** Only dx is needed when the weight and bias are frozen (a LoRA base layer). */
export const FROZEN_LINEAR_DISPATCHES = { forward: 1, backward: 1 };

const KERNEL = 'WhetstoneLinearBias';

/** Σ over rows of a (N, D) tensor: one thread per column. */
const columnSumBody = `
	let N = uniforms.dyShape[0];
	let D = uniforms.dyShape[1];
	var acc = 0.0;
	for (var i = 0; i < N; i++) { acc += dy[i * D + index]; }
	result[index] = acc;`;

/** The column sums of dy (N, D), as (D): a bias gradient in one dispatch. */
export function columnSum(dy: tf.Tensor): tf.Tensor1D {
	return runProgram(elementwiseProgram('whetstoneColumnSum', ['dy'], [dy.shape[1] as number], columnSumBody), [dy]) as tf.Tensor1D;
}

interface LinearAttrs {
	transposeB: boolean;
}

let registered = false;

/** Register the kernel for the webgpu backend and its gradient, once. */
function register(): void {
	if (registered) return;
	registered = true;
	tf.registerKernel({
		kernelName: KERNEL,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => {
			const { transposeB } = attrs as unknown as LinearAttrs;
			const matMul = tf.getKernel('_FusedMatMul', 'webgpu');
			if (!matMul) throw new Error('The WebGPU backend has no fused matmul kernel.');
			return matMul.kernelFunc({ inputs: { a: inputs.x, b: inputs.w, bias: inputs.b }, backend, attrs: { transposeA: false, transposeB, activation: 'linear' } }) as tf.TensorInfo;
		}
	});
	tf.registerGradient({
		kernelName: KERNEL,
		inputsToSave: ['x', 'w'],
		gradFunc: (dy, saved, attrs) => {
			const [x, w] = saved;
			const d = dy as tf.Tensor2D;
			const { transposeB } = attrs as unknown as LinearAttrs;
			// As tfjs's BatchMatMul gradient, so dx and dW equal the composite's bit for bit.
			return {
				x: () => (transposeB ? tf.matMul(d, w as tf.Tensor2D) : tf.matMul(d, w as tf.Tensor2D, false, true)),
				w: () => (transposeB ? tf.matMul(d, x as tf.Tensor2D, true, false) : tf.matMul(x as tf.Tensor2D, d, true, false)),
				b: () => columnSum(d)
			};
		}
	});
}

/** x (N, in), w (out, in) with transposeB or (in, out) without, b (out): x·w + b as (N, out). */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, transposeB: boolean): tf.Tensor2D {
	register();
	return tf.engine().runKernel(KERNEL, { x, w, b } as unknown as tf.NamedTensorMap, { transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
