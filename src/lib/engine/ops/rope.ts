/**
 * Rotary position embeddings (Su et al. 2021, RoFormer), in Hugging Face's `rotate_half`
 * convention (Llama, Qwen2): the head dimension is split into two halves rather than interleaved
 * pairs, so q' = q * cos + rotate_half(q) * sin with rotate_half([x1, x2]) = [-x2, x1].
 * Frequencies are computed the way `LlamaRotaryEmbedding` does, in float32, so angles agree with
 * transformers to the last bit or two.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedRope } from './fused/rope';

/** inv_freq[i] = 1 / theta^(2i / dim), rounded to float32 at each step as torch does. */
export function ropeInvFreq(headDim: number, theta: number): Float32Array {
	const half = headDim / 2;
	const out = new Float32Array(half);
	for (let i = 0; i < half; i++) out[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
	return out;
}

/**
 * cos and sin tables for explicit positions: (B, 1, T, hs), broadcasting over heads. Computed on
 * the device; `ropeTable` is the more exact path for the default positions 0..T-1.
 * `positionScale` divides positions (linear RoPE scaling: `rope_scaling.factor`).
 */
export function ropeCosSin(
	positionIds: tf.Tensor2D,
	headDim: number,
	theta: number,
	positionScale = 1
): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
	return tf.tidy(() => {
		const [b, t] = positionIds.shape;
		let pos = positionIds.toFloat();
		if (positionScale !== 1) pos = pos.div(positionScale);
		const invFreq = tf.tensor1d(ropeInvFreq(headDim, theta));
		const freqs = pos.reshape([b, t, 1]).mul(invFreq.reshape([1, 1, headDim / 2])); // (B, T, hs/2)
		const emb = tf.concat([freqs, freqs], -1).reshape([b, 1, t, headDim]); // (B, 1, T, hs)
		return { cos: emb.cos() as tf.Tensor4D, sin: emb.sin() as tf.Tensor4D };
	});
}

/**
 * cos and sin for positions 0..T-1 (every row of a right-padded batch): (1, 1, T, hs). Computed
 * here in float64 from the float32 angles torch computes, then rounded, rather than on the device:
 * GPU sin/cos lose accuracy on the large angles that late positions reach.
 */
export function ropeTable(t: number, headDim: number, theta: number, positionScale = 1): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
	return ropeTableAt([Array.from({ length: t }, (_, p) => p)], headDim, theta, positionScale);
}

/**
 * `ropeTable` at explicit positions, one list per row (all of one length T): (B, 1, T, hs). A
 * decode step over a KV cache rotates each row's new token at its absolute position (an offset of
 * the prompt's length and the tokens since), with the same angles the whole sequence would get.
 */
export function ropeTableAt(
	positions: readonly (readonly number[])[],
	headDim: number,
	theta: number,
	positionScale = 1
): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
	const invFreq = ropeInvFreq(headDim, theta);
	const half = headDim / 2;
	const b = positions.length;
	const t = positions[0]?.length ?? 0;
	const cos = new Float32Array(b * t * headDim);
	const sin = new Float32Array(b * t * headDim);
	positions.forEach((row, r) => {
		if (row.length !== t) throw new Error(`ropeTableAt: rows of ${t} and ${row.length} positions.`);
		row.forEach((p, j) => {
			const pos = positionScale === 1 ? p : Math.fround(p / positionScale);
			const at = (r * t + j) * headDim;
			for (let i = 0; i < half; i++) {
				const angle = Math.fround(pos * invFreq[i]); // a float32 product, as torch's matmul of inv_freq and positions
				const c = Math.cos(angle);
				const s = Math.sin(angle);
				// emb = cat(freqs, freqs): both halves of the head use the same angles
				cos[at + i] = cos[at + half + i] = c;
				sin[at + i] = sin[at + half + i] = s;
			}
		});
	});
	return { cos: tf.tensor4d(cos, [b, 1, t, headDim]), sin: tf.tensor4d(sin, [b, 1, t, headDim]) };
}

/** [x1, x2] -> [-x2, x1] on the last axis. */
export function rotateHalf(x: tf.Tensor4D): tf.Tensor4D {
	const [x1, x2] = tf.split(x, 2, -1);
	return tf.concat([x2.neg(), x1], -1) as tf.Tensor4D;
}

/**
 * x: (B, nh, T, hs) with cos, sin: (B or 1, 1, T, rd), or (B, T, nh, hs) with (B or 1, T, 1, rd).
 * The first rd of each head's dimensions rotate (rd = hs unless partial, as GPT-NeoX's
 * `rotary_pct`), the rest pass through. On the WebGPU fast path one kernel each way (fused/rope.ts).
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
	const rd = cos.shape[3];
	const hs = x.shape[3];
	if (useFastPath() && x.dtype === 'float32' && cos.dtype === 'float32' && sin.dtype === 'float32' && rd % 2 === 0 && rd <= hs) return fusedRope(x, cos, sin);
	if (rd === hs) return x.mul(cos).add(rotateHalf(x).mul(sin)) as tf.Tensor4D;
	const [rot, pass] = tf.split(x, [rd, hs - rd], -1) as [tf.Tensor4D, tf.Tensor4D];
	return tf.concat([rot.mul(cos).add(rotateHalf(rot).mul(sin)), pass], -1) as tf.Tensor4D;
}

/**
 * `applyRope` on the first `rotated` heads of x only, the others passing through: a packed
 * q | k | v projection viewed as (B, T, nh + 2·nkv, hs), where q's and k's heads turn and v's do
 * not (or (B, H, T, hs) with its tables). One kernel each way on the fast path; the reference
 * splits off the heads that turn and joins them back.
 */
export function applyRopeHeads(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D, rotated: number): tf.Tensor4D {
	const rd = cos.shape[3];
	const headAxis = cos.shape[1] > 1 ? 2 : 1;
	const heads = x.shape[headAxis];
	if (rotated >= heads) return applyRope(x, cos, sin);
	if (useFastPath() && x.dtype === 'float32' && cos.dtype === 'float32' && sin.dtype === 'float32' && rd % 2 === 0 && rd <= x.shape[3]) return fusedRope(x, cos, sin, rotated);
	const [turn, pass] = tf.split(x, [rotated, heads - rotated], headAxis) as [tf.Tensor4D, tf.Tensor4D];
	return tf.concat([applyRope(turn, cos, sin), pass], headAxis) as tf.Tensor4D;
}
