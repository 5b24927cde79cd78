/**
 * Rotary position embeddings on WebGPU (reference: applyRope in ../rope.ts, Hugging Face's
 * `rotate_half` form): y = x · cos + rotate_half(x) · sin in one elementwise dispatch, where the
 * composite slices, negates, concatenates, multiplies and adds (about nine dispatches forward and
 * as many back, for q and again for k). The backward is the inverse rotation, in one dispatch:
 * dx_i = dy_i · cos_i + dy_{i+h} · sin_{i+h} for the first half, dy_i · cos_i − dy_{i−h} · sin_{i−h}
 * for the second. Only the first `rd` dimensions of each head rotate (the table's width: GPT-NeoX's
 * partial rotary); the rest pass through. The tables are constants here: no gradient reaches them.
 * With `rotated` < H only the first `rotated` heads turn: the heads of a packed q | k | v
 * projection (Llama's on the fast path, Phi-3's qkv_proj), where v's heads pass through.
 *
 * x is (B, T, H, hs) with tables (B or 1, T, 1, rd), or (B, H, T, hs) with (B or 1, 1, T, rd).
 *
 * Dispatches: forward 1, backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const ROPE_DISPATCHES = { forward: 1, backward: 1 };

/** WGSL: this element's head dimension `i`, its table row `tb`, `rd` and `half`; `positionsAt` 1 or 2. */
function locate(positionsAt: 1 | 2, source: string, rotated: number | null): string {
	return `
		let hs = uniforms.${source}Shape[3];
		let bc = uniforms.cosShape[0];
		let T = uniforms.cosShape[${positionsAt}];
		let rd = uniforms.cosShape[3];
		let half = rd / 2;
		let i = index % hs;
		let row = index / hs;
		${positionsAt === 1
			? `let H = uniforms.${source}Shape[2];
		let t = (row / H) % T;
		let b = row / (H * T);`
			: `let H = uniforms.${source}Shape[1];
		let t = row % T;
		let b = row / (H * T);`}
		let tb = (select(b, 0, bc == 1) * T + t) * rd;
		${rotated === null ? 'let turns = i < rd;' : `let turns = i < rd && ${positionsAt === 1 ? 'row % H' : '(row / T) % H'} < ${rotated};`}`;
}

function forwardBody(positionsAt: 1 | 2, rotated: number | null): string {
	return `${locate(positionsAt, 'x', rotated)}
		if (!turns) {
			result[index] = x[index];
		} else if (i < half) {
			result[index] = x[index] * cos[tb + i] - x[index + half] * sin[tb + i];
		} else {
			result[index] = x[index] * cos[tb + i] + x[index - half] * sin[tb + i];
		}`;
}

function backwardBody(positionsAt: 1 | 2, rotated: number | null): string {
	return `${locate(positionsAt, 'dy', rotated)}
		if (!turns) {
			result[index] = dy[index];
		} else if (i < half) {
			result[index] = dy[index] * cos[tb + i] + dy[index + half] * sin[tb + i + half];
		} else {
			result[index] = dy[index] * cos[tb + i] - dy[index - half] * sin[tb + i - half];
		}`;
}

/**
 * x (rank 4, float32) rotated by the (B or 1, ·, ·, rd) tables; see the file's comment for the
 * layouts. `rotated`: how many heads turn (all when omitted).
 */
export function fusedRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D, rotated?: number): tf.Tensor4D {
	// Positions on axis 1 when the table's axis 1 is the sequence (T > 1 there), else on axis 2.
	const positionsAt: 1 | 2 = cos.shape[1] > 1 ? 1 : 2;
	const heads = x.shape[positionsAt === 1 ? 2 : 1];
	const rot = rotated === undefined || rotated >= heads ? null : rotated;
	const key = rot === null ? `${positionsAt}` : `${positionsAt}_heads${rot}`;
	const op = tf.customGrad((...args: unknown[]) => {
		const xs = args[0] as tf.Tensor4D;
		const y = runProgram(elementwiseProgram(`whetstoneRope_${key}`, ['x', 'cos', 'sin'], xs.shape, forwardBody(positionsAt, rot)), [xs, cos, sin]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor) => [runProgram(elementwiseProgram(`whetstoneRopeGrad_${key}`, ['dy', 'cos', 'sin'], xs.shape, backwardBody(positionsAt, rot)), [dy, cos, sin])]
		};
	});
	return op(x) as tf.Tensor4D;
}
