/**
 * The key/value cache a decoder's forward pass fills and reads when generate.ts decodes (as
 * transformers' `past_key_values`): a prefill pass runs the prompt as usual and hands back each
 * layer's keys (after rotary positions) and values; a decode pass runs one new token per row,
 * writes its key and value into the row's next slot of the cache, and attends over the slots filled
 * so far. Grouped-query models cache their key/value heads only (B, nkv, C, hs), never the repeats.
 *
 * A cache has a capacity C (a length bucket, batching.ts) and each row its own position: slot j
 * holds position j, a row's new token at position p goes to slot p, and the mask hides every slot
 * after p (a prompt's padding and the slots not yet written) and, with a sliding window, those
 * before p - window. Padding in the cache is therefore never seen, whatever it holds.
 */
import * as tf from '@tensorflow/tfjs';
import { attendHeads, attention, cachedAttention, mergeHeads, NEG, splitHeads, type AttentionOptions } from '../ops/attention';

/** One layer's cached keys and values, each (B, nkv, C, hs). */
export interface KvLayer {
	k: tf.Tensor4D;
	v: tf.Tensor4D;
}

/**
 * What a forward pass does with the cache (`ForwardOptions.kv`). The tensors it puts in `out` belong
 * to the caller's tidy scope: return them from it to keep them.
 */
export class KvStep {
	/** Each layer's keys and values after this pass (prefill: the prompt's; decode: the cache with the new slot written). */
	readonly out: KvLayer[] = [];
	private readonly biases = new Map<number | null, tf.Tensor>();
	private slotMask: tf.Tensor | null = null;

	private constructor(
		readonly mode: 'prefill' | 'decode',
		/** decode: the cache so far, one entry per layer, (B, nkv, C, hs). */
		readonly past: KvLayer[],
		/** decode: the absolute position of each row's new token, which is also its slot. */
		readonly positions: number[]
	) {}

	/** Record every layer's keys and values of a normal forward pass over the prompt. */
	static prefill(): KvStep {
		return new KvStep('prefill', [], []);
	}

	/** One new token per row at `positions` (B), over `past` (every position before it, in slots 0..p-1). */
	static decode(past: KvLayer[], positions: number[]): KvStep {
		if (!past.length) throw new Error('A decode step needs the cache of a prefill.');
		const capacity = past[0].k.shape[2];
		if (positions.some((p) => p >= capacity)) throw new Error(`A position in ${positions} has no slot in a cache of ${capacity}.`);
		return new KvStep('decode', past, positions);
	}

	/** (B, 1, C, 1): true at each row's slot. */
	private slot(): tf.Tensor {
		if (!this.slotMask) {
			const c = this.past[0].k.shape[2];
			const m = new Uint8Array(this.positions.length * c);
			this.positions.forEach((p, r) => (m[r * c + p] = 1));
			this.slotMask = tf.tensor4d(m, [this.positions.length, 1, c, 1], 'bool');
		}
		return this.slotMask;
	}

	/** (B, 1, 1, C) additive mask: slot j is visible to the row at p when j <= p (and j >= p - window). */
	private bias(window: number | null | undefined): tf.Tensor {
		const w = window ?? null;
		let bias = this.biases.get(w);
		if (!bias) {
			const c = this.past[0].k.shape[2];
			const m = new Float32Array(this.positions.length * c);
			this.positions.forEach((p, r) => {
				for (let j = 0; j < c; j++) if (j > p || (w !== null && j < p - w)) m[r * c + j] = NEG;
			});
			bias = tf.tensor4d(m, [this.positions.length, 1, 1, c]);
			this.biases.set(w, bias);
		}
		return bias;
	}

	/**
	 * Attention of block `layer` through the cache. q: (B, nh, T, hs); k, v: (B, nkv, T, hs) of this
	 * pass's tokens (T = 1 when decoding). `opts` are the block's usual attention options (causal);
	 * a decode step replaces its masks by the cache's.
	 */
	attend(layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
		if (this.mode === 'prefill') {
			this.out[layer] = { k, v };
			return attention(q, k, v, opts);
		}
		if (!opts.causal) throw new Error('A KV cache decodes causal attention only.');
		const past = this.past[layer];
		const slot = this.slot();
		const cache = { k: tf.where(slot, k, past.k) as tf.Tensor4D, v: tf.where(slot, v, past.v) as tf.Tensor4D }; // (B, nkv, C, hs)
		this.out[layer] = cache;
		return cachedAttention(q, cache.k, cache.v, this.bias(opts.window), opts.scale);
	}
}

/**
 * `attendCached` for heads laid side by side: q (B, T, nh·hs), k and v (B, T, nkv·hs) -> (B, T, nh·hs).
 * Without a cache, `attendHeads` (on the fast path, no split or merge transposes); a cache keeps
 * its heads first, so it splits and merges.
 */
export function attendCachedHeads(kv: KvStep | undefined, layer: number, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, nHead: number, nKvHead: number, opts: AttentionOptions): tf.Tensor3D {
	if (!kv) return attendHeads(q, k, v, nHead, nKvHead, opts);
	return mergeHeads(kv.attend(layer, splitHeads(q, nHead), splitHeads(k, nKvHead), splitHeads(v, nKvHead), opts));
}

/** Attention of block `layer`, through the cache when the pass has one. */
export function attendCached(kv: KvStep | undefined, layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
	return kv ? kv.attend(layer, q, k, v, opts) : attention(q, k, v, opts);
}
