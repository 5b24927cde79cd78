/**
 * Dropout by a counter-based hash, the same on every backend: element i (row-major) of x is kept,
 * and scaled by 1 / (1 − rate), when the top 24 bits of mix32(i XOR mix32(seed + stream ·
 * 0x9e3779b9)) are at least rate · 2²⁴. A seed therefore names its mask exactly, so a resumed run
 * or a checkpointed block's recompute draws the same masks again, and the fast path (one kernel
 * each way, fused/dropout.ts; attention weights inside the attention kernel) drops the same
 * elements as this composite, which multiplies by the mask built here.
 *
 * LoRA's dropout (lora.ts) uses the same function, one stream per adapter.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedDropout, type HashDropout } from './fused/dropout';
import { noteDropKey } from '../compiled/notes';

/** The 32-bit mixer of the masks (lowbias32; the WGSL `mix32` in fused/dropout.ts, bit for bit). */
export function mix32(v: number): number {
	let x = v >>> 0;
	x = (x ^ (x >>> 16)) >>> 0;
	x = Math.imul(x, 0x7feb352d) >>> 0;
	x = (x ^ (x >>> 15)) >>> 0;
	x = Math.imul(x, 0x846ca68b) >>> 0;
	return (x ^ (x >>> 16)) >>> 0;
}

/** Keep an element when its hash's top 24 bits are at least this. */
export function dropThreshold(rate: number): number {
	return Math.round(Math.min(Math.max(rate, 0), 1) * 2 ** 24);
}

/** The key of a call's mask: stream 0 for plain dropout, the adapter's index for LoRA's. */
export function dropKey(seed: number, stream = 0): number {
	return mix32((seed + Math.imul(stream, 0x9e3779b9)) >>> 0);
}

/** The kernel's parameters for a call with `seed` at `rate`. */
export function hashDropout(rate: number, seed: number, stream = 0): HashDropout {
	const key = dropKey(seed >>> 0, stream);
	noteDropKey(key, seed >>> 0, stream); // a compiled step's trace (compiled/step-plan.ts) re-derives it each replay
	return { threshold: dropThreshold(rate), inv: Math.fround(1 / (1 - rate)), key };
}

/** A dropout site's rate and seed, as the models hand them to the ops. */
export type DropoutSpec = { rate: number; seed: number };

/** A site's mask parameters for a kernel that applies them itself (attention, a norm adding δ); none at rate 0. */
export function kernelDropout(d: DropoutSpec | undefined): HashDropout | undefined {
	return d && d.rate > 0 ? hashDropout(d.rate, d.seed) : undefined;
}

/** The mask of `n` elements for a call with `seed` at `rate`: 1 / (1 − rate) where kept, 0 where dropped. */
export function keepMask(seed: number, n: number, rate: number, stream = 0): Float32Array {
	const out = new Float32Array(n);
	const { threshold, inv, key } = hashDropout(rate, seed, stream);
	for (let i = 0; i < n; i++) out[i] = mix32((i ^ key) >>> 0) >>> 8 >= threshold ? inv : 0;
	return out;
}

/** x with dropout at `rate` drawn from `seed` (x itself when rate is 0). */
export function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
	if (!(rate > 0)) return x;
	if (rate >= 1) return tf.zerosLike(x);
	if (useFastPath() && x.dtype === 'float32') return fusedDropout(x, hashDropout(rate, seed));
	return tf.tidy(() => x.mul(tf.tensor(keepMask(seed, x.size, rate), x.shape, 'float32')));
}
