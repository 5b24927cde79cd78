/**
 * Broadcasting binary ops on tfjs's CPU backend, without its per-element index arithmetic.
 *
 * tfjs-backend-cpu computes `a + b` of two float32 tensors of different shapes element by element
 * through `indexToLoc`, two `slice`s, two `forEach`es and two `locToIndex`es (binary_impl.ts): about
 * 240 ns an element, twenty times its same-shape loop. The composites broadcast everywhere (a
 * LayerNorm's mean and scale, an attention mask across heads, a bias across rows), so on the CPU
 * backend (unit tests, a machine whose fastest backend is the CPU) such adds were a large part of a
 * step: (4, 4, 64, 64) + (4, 1, 64, 64) took 15.5 ms against 0.8 ms for the same shapes.
 *
 * Here the same ops walk the output with an odometer over strides, 0 along a broadcast axis, and
 * compute each element with the same JavaScript expression as tfjs, stored into a Float32Array as
 * tfjs stores it: the values are identical, bit for bit. Only float32 with float32 of different
 * shapes is taken; every other case goes to tfjs's own kernel. Gradients are registered by kernel
 * name, not by backend, so they are unchanged.
 */
import * as tf from '@tensorflow/tfjs';

type Op = (a: number, b: number) => number;

/** tfjs-backend-cpu's expressions (kernels/Add.ts, Sub.ts, Multiply.ts, RealDiv.ts, Maximum.ts, Minimum.ts, SquaredDifference.ts). */
const OPS: Record<string, Op> = {
	Add: (a, b) => a + b,
	Sub: (a, b) => a - b,
	Multiply: (a, b) => a * b,
	RealDiv: (a, b) => a / b,
	Maximum: (a, b) => Math.max(a, b),
	Minimum: (a, b) => Math.min(a, b),
	SquaredDifference: (a, b) => {
		const d = a - b;
		return d * d;
	}
};

/** The strides of `shape` aligned right to `rank` axes of `out`, 0 along axes it is broadcast on. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
	const rank = out.length;
	const strides = new Array<number>(rank).fill(0);
	let s = 1;
	for (let i = shape.length - 1, o = rank - 1; i >= 0; i--, o--) {
		strides[o] = shape[i] === 1 && out[o] !== 1 ? 0 : s;
		s *= shape[i];
	}
	return strides;
}

/** `op` over a and b broadcast to `out`: the innermost axis in a tight loop, the others by odometer. */
export function broadcastBinary(op: Op, a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>, bShape: readonly number[], out: readonly number[]): Float32Array {
	const rank = out.length;
	const size = out.reduce((x, y) => x * y, 1);
	const result = new Float32Array(size);
	if (size === 0) return result;
	const sa = broadcastStrides(aShape, out);
	const sb = broadcastStrides(bShape, out);
	const inner = rank ? out[rank - 1] : 1;
	const ia = rank ? sa[rank - 1] : 0;
	const ib = rank ? sb[rank - 1] : 0;
	const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
	let offA = 0;
	let offB = 0;
	for (let base = 0; base < size; base += inner) {
		let pa = offA;
		let pb = offB;
		for (let i = 0; i < inner; i++) {
			result[base + i] = op(a[pa], b[pb]);
			pa += ia;
			pb += ib;
		}
		for (let d = rank - 2; d >= 0; d--) {
			idx[d]++;
			offA += sa[d];
			offB += sb[d];
			if (idx[d] < out[d]) break;
			offA -= sa[d] * out[d];
			offB -= sb[d] * out[d];
			idx[d] = 0;
		}
	}
	return result;
}

interface CpuBackendLike {
	data: { get(id: tf.DataId): { values: ArrayLike<number> } };
	makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

let installed = false;

/** Put the broadcasting loops in front of tfjs's CPU kernels, once (tfjs's kernel handles the rest). */
export function installCpuBroadcast(): void {
	if (installed) return;
	installed = true;
	for (const [name, op] of Object.entries(OPS)) {
		const original = tf.getKernel(name, 'cpu');
		if (!original) continue;
		const fallback = original.kernelFunc;
		tf.unregisterKernel(name, 'cpu');
		tf.registerKernel({
			...original,
			kernelFunc: (args) => {
				const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
				if (a.dtype !== 'float32' || b.dtype !== 'float32' || sameShape(a.shape, b.shape)) return fallback(args);
				const backend = args.backend as unknown as CpuBackendLike;
				const out = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
				return backend.makeTensorInfo(out, 'float32', broadcastBinary(op, backend.data.get(a.dataId).values, a.shape, backend.data.get(b.dataId).values, b.shape, out));
			}
		});
	}
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
	return x.length === y.length && x.every((v, i) => v === y[i]);
}
