/**
 * Scaled dot-product attention (Vaswani et al. 2017) over split heads, with causal and key-padding
 * masks and grouped-query attention (Ainslie et al. 2023: fewer key/value heads, each shared by a
 * group of query heads). Masks are additive large negatives, as Hugging Face's eager attention
 * uses the dtype minimum, so masked positions get exactly zero weight after softmax.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedAttention, fusedAttentionPacked, type HeadLayout } from './fused/attention';
import { dropout, kernelDropout } from './dropout';

export const NEG = -1e9;

export interface AttentionOptions {
	causal: boolean;
	/** (B, T) with 1 for real tokens and 0 for padding; padded keys get no attention. */
	keyMask?: tf.Tensor2D;
	/** Dropout on the attention weights (training only), with its seed. */
	dropout?: { rate: number; seed: number };
	/** Scale of the logits; defaults to 1/sqrt(head size). */
	scale?: number;
	/**
	 * Sliding-window attention (Mistral): with `causal`, the query at position a sees keys
	 * a - window ... a only (window + 1 keys, as transformers v4.40's eager mask does).
	 */
	window?: number | null;
}

/**
 * What a capture sees of one attention call: the weights after the masks and the softmax (before
 * dropout), and the tensors they came from, so a test can recompute softmax(q kᵀ · scale + bias).
 */
export interface AttentionCapture {
	/** (B, nh, Tq, Tk) attention probabilities. */
	weights: tf.Tensor4D;
	/** (B, nh, Tq, hs) queries and (B, nh, Tk, hs) keys, after rotary positions and key/value head repetition. */
	q: tf.Tensor4D;
	k: tf.Tensor4D;
	scale: number;
	/** The additive mask (B or 1, 1, Tq, Tk) the weights were computed with (masked: -1e9), or null. */
	bias: tf.Tensor | null;
}

let capture: ((c: AttentionCapture) => void) | null = null;

/**
 * Run `fn` (a forward pass) with every call of `attention` handing its weights to `onAttention`,
 * in call order (one per layer). The tensors belong to `fn`'s scope: keep (tf.keep) or read what
 * outlives it. Synchronous, so a pass in flight elsewhere is never captured.
 */
export function captureAttention<T>(onAttention: (c: AttentionCapture) => void, fn: () => T): T {
	const outer = capture;
	capture = onAttention;
	try {
		return fn();
	} finally {
		capture = outer;
	}
}

/** Additive mask of shape (B or 1, 1, Tq, Tk), or null when nothing is masked. */
export function attentionBias(tq: number, tk: number, opts: AttentionOptions): tf.Tensor | null {
	let bias: tf.Tensor | null = null;
	if (opts.causal) {
		// query i (at absolute position tk - tq + i) sees keys 0..tk - tq + i
		if (opts.window != null && tk - 1 > opts.window) {
			const m = new Float32Array(tq * tk);
			for (let i = 0; i < tq; i++)
				for (let j = 0, a = tk - tq + i; j < tk; j++) if (j > a || j < a - opts.window) m[i * tk + j] = NEG;
			bias = tf.tensor4d(m, [1, 1, tq, tk]);
		} else {
			const lower = tf.linalg.bandPart(tf.ones([tq, tk]), -1, tk - tq);
			bias = tf.sub(1, lower).mul(NEG).reshape([1, 1, tq, tk]);
		}
	}
	if (opts.keyMask) {
		const b = opts.keyMask.shape[0];
		const pad = tf.sub(1, opts.keyMask.toFloat()).mul(NEG).reshape([b, 1, 1, tk]);
		bias = bias ? bias.add(pad) : pad;
	}
	return bias;
}

/** Repeat each key/value head `groups` times: (B, nkv, T, hs) -> (B, nkv*groups, T, hs). */
export function repeatKv(x: tf.Tensor4D, groups: number): tf.Tensor4D {
	if (groups === 1) return x;
	const [b, nkv, t, hs] = x.shape;
	// (T, hs) is flattened so the tile is rank 4: tfjs has no tile gradient above rank 4
	return x
		.reshape([b, nkv, 1, t * hs]) // (B, nkv, 1, T*hs)
		.tile([1, 1, groups, 1]) // (B, nkv, groups, T*hs)
		.reshape([b, nkv * groups, t, hs]) as tf.Tensor4D; // (B, nh, T, hs)
}

/**
 * The fused kernel runs (fused/attention.ts): the fast path, float32, no capture (which wants the
 * weights). Attention dropout is hashed per weight (dropout.ts) on both paths, so the kernel and
 * the composite drop the same weights.
 */
function fused(opts: AttentionOptions, ...xs: tf.Tensor[]): boolean {
	return useFastPath() && !capture && !(opts.dropout && opts.dropout.rate >= 1) && xs.every((x) => x.dtype === 'float32');
}

function runFused(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, layout: HeadLayout, b: number, nh: number, nkv: number, tq: number, tk: number, hs: number, opts: AttentionOptions): tf.Tensor {
	return fusedAttention(q, k, v, { batch: b, nHead: nh, nKvHead: nkv, tq, tk, headSize: hs, layout }, {
		causal: opts.causal,
		window: opts.window ?? null,
		scale: opts.scale ?? 1 / Math.sqrt(hs),
		keyMask: opts.keyMask,
		dropout: kernelDropout(opts.dropout)
	});
}

/** q: (B, nh, Tq, hs); k, v: (B, nkv, Tk, hs). Returns (B, nh, Tq, hs). */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
	const [b, nh, tq, hs] = q.shape;
	if (fused(opts, q, k, v)) return runFused(q, k, v, 'heads-first', b, nh, k.shape[1], tq, k.shape[2], hs, opts) as tf.Tensor4D;
	const groups = nh / k.shape[1];
	const kk = repeatKv(k, groups);
	const vv = repeatKv(v, groups);
	const scale = opts.scale ?? 1 / Math.sqrt(hs);
	let att = tf.matMul(q, kk, false, true).mul(scale); // (B, nh, Tq, Tk)
	const bias = attentionBias(tq, k.shape[2], opts);
	if (bias) att = att.add(bias);
	let w = tf.softmax(att, -1);
	capture?.({ weights: w as tf.Tensor4D, q, k: kk, scale, bias });
	if (opts.dropout && opts.dropout.rate > 0) w = dropout(w, opts.dropout.rate, opts.dropout.seed);
	return tf.matMul(w, vv) as tf.Tensor4D; // (B, nh, Tq, hs)
}

/**
 * Attention over heads laid side by side, as the projections produce them: q (B, Tq, nh·hs), k and
 * v (B, Tk, nkv·hs) -> (B, Tq, nh·hs). The same as mergeHeads(attention(splitHeads(q), …)); on the
 * fast path one kernel reads and writes this layout through strides, so neither the split's nor
 * the merge's transposes run, forward or backward.
 */
export function attendHeads(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, nHead: number, nKvHead: number, opts: AttentionOptions): tf.Tensor3D {
	const [b, tq, c] = q.shape;
	const hs = c / nHead;
	if (fused(opts, q, k, v)) return runFused(q, k, v, 'side-by-side', b, nHead, nKvHead, tq, k.shape[1] as number, hs, opts) as tf.Tensor3D;
	return mergeHeads(attention(splitHeads(q, nHead), splitHeads(k, nKvHead), splitHeads(v, nKvHead), opts));
}

/**
 * Self-attention from a fused q/k/v projection: qkv (B, T, (nh + 2·nkv)·hs), laid out [q | k | v]
 * on the last axis (GPT-2's c_attn) -> (B, T, nh·hs). The split, then `attendHeads`; on the fast
 * path one kernel reads q, k and v at their offsets, so no slices run forward and no concat backward.
 */
export function attendPacked(qkv: tf.Tensor, nHead: number, nKvHead: number, opts: AttentionOptions): tf.Tensor3D {
	const [b, t, c] = qkv.shape;
	const hs = c / (nHead + 2 * nKvHead);
	if (fused(opts, qkv)) {
		return fusedAttentionPacked(qkv, { batch: b, nHead, nKvHead, t, headSize: hs }, {
			causal: opts.causal,
			window: opts.window ?? null,
			scale: opts.scale ?? 1 / Math.sqrt(hs),
			keyMask: opts.keyMask,
			dropout: kernelDropout(opts.dropout)
		}) as tf.Tensor3D;
	}
	const [q, k, v] = tf.split(qkv, [nHead * hs, nKvHead * hs, nKvHead * hs], -1);
	return attendHeads(q, k, v, nHead, nKvHead, opts);
}

/** (B, T, nh*hs) -> (B, nh, T, hs); for one token (a decode step) the same layout, so a reshape and no transpose kernel. */
export function splitHeads(x: tf.Tensor, nHeads: number): tf.Tensor4D {
	const [b, t, c] = x.shape;
	if (t === 1) return x.reshape([b, nHeads, 1, c / nHeads]) as tf.Tensor4D;
	return x.reshape([b, t, nHeads, c / nHeads]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * One decode step over a key/value cache: q (B, nh, 1, hs) against the cached k, v (B, nkv, C, hs)
 * with an additive `bias` (B or 1, 1, 1, C) that hides the slots each row has not filled (and any
 * outside a sliding window). Grouped-query heads are never repeated: the `nh / nkv` query heads of
 * a group are laid side by side as rows of one (B, nkv, groups, hs) query, which gives the same dot
 * products as `attention` with `repeatKv` (query head h reads key/value head floor(h / groups)).
 * A capture, when on, sees the weights and keys in `attention`'s shapes.
 */
export function cachedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor, scale?: number): tf.Tensor4D {
	const [b, nh, tq, hs] = q.shape;
	if (tq !== 1) throw new Error(`cachedAttention decodes one token per row, got ${tq}.`);
	const [, nkv, tk] = k.shape;
	const groups = nh / nkv;
	const s = scale ?? 1 / Math.sqrt(hs);
	const qg = q.reshape([b, nkv, groups, hs]); // (B, nkv, groups, hs)
	const w = tf.softmax(tf.matMul(qg, k, false, true).mul(s).add(bias), -1); // (B, nkv, groups, C)
	if (capture) capture({ weights: w.reshape([b, nh, 1, tk]) as tf.Tensor4D, q, k: repeatKv(k, groups), scale: s, bias });
	return tf.matMul(w, v).reshape([b, nh, 1, hs]) as tf.Tensor4D; // (B, nkv, groups, hs) -> (B, nh, 1, hs)
}

/** (B, nh, T, hs) -> (B, T, nh*hs); for one token a reshape, as in `splitHeads`. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
	const [b, nh, t, hs] = x.shape;
	if (t === 1) return x.reshape([b, 1, nh * hs]) as tf.Tensor3D;
	return x.transpose([0, 2, 1, 3]).reshape([b, t, nh * hs]) as tf.Tensor3D;
}
