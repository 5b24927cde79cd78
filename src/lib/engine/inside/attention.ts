/**
 * Attention maps of one text (the Inside view): every layer's and head's attention probabilities
 * as the model's own forward pass computes them, captured at the shared attention op
 * (ops/attention.ts `captureAttention`, after the causal, window and padding masks and the softmax),
 * the head average per layer, and attention rollout across layers (Abnar & Zuidema 2020,
 * "Quantifying Attention Flow in Transformers", §3: average the heads, add the identity for the
 * residual connection, renormalise the rows, multiply the layers' matrices from the first up).
 */
import * as tf from '@tensorflow/tfjs';
import { captureAttention, NEG } from '../ops/attention';
import { paddedRow, type InsideModel } from './model';

/** Texts are cut to this many tokens before the maps are computed, so a map stays small enough to draw. */
export const SHOWN_TOKENS = 48;

export interface AttentionMaps {
	/** Padded length T of the row the model saw (its length bucket); the first `real` positions are the text. */
	length: number;
	real: number;
	nLayer: number;
	nHead: number;
	/** maps[layer][head]: (T, T) row-major, row = query, column = key; each row sums to 1. */
	maps: Float32Array[][];
	/**
	 * (T, T) 1 where the mask hides the key from the query (causal, sliding window, padding); the same for every layer.
	 * A padding query that sees no key at all (a sliding window past the text) gets an all-zero row.
	 */
	masked: Uint8Array;
	/** average[layer]: (T, T) the heads' mean. */
	average: Float32Array[];
	/** rollout[layer]: (T, T) attention rolled out from the input through that layer. */
	rollout: Float32Array[];
}

/** The (T, T) attention probabilities of every layer and head for `ids` (one row, padded to its bucket). */
export async function attentionMaps(model: InsideModel, ids: readonly number[]): Promise<AttentionMaps> {
	if (!ids.length) throw new Error('attentionMaps needs at least one token.');
	const { inputIds, attentionMask, length: t } = paddedRow(model, ids);
	const weights: tf.Tensor[] = [];
	let bias: tf.Tensor | null = null;
	try {
		tf.tidy(() => {
			captureAttention(
				(c) => {
					weights.push(tf.keep(c.weights.slice([0, 0, 0, 0], [1, -1, -1, -1]))); // (1, nh, T, T)
					if (!bias && c.bias) bias = tf.keep(tf.broadcastTo(c.bias.slice([0, 0, 0, 0], [1, 1, -1, -1]), [1, 1, t, t])); // (1, 1, T, T)
				},
				() => model.forward(inputIds, attentionMask)
			);
		});
		const nHead = weights[0]?.shape[1] ?? 0;
		const maps: Float32Array[][] = [];
		for (const w of weights) {
			const data = (await w.data()) as Float32Array;
			maps.push(Array.from({ length: nHead }, (_, h) => data.slice(h * t * t, (h + 1) * t * t)));
		}
		const masked = new Uint8Array(t * t);
		if (bias) {
			const b = (await (bias as tf.Tensor).data()) as Float32Array;
			for (let i = 0; i < t * t; i++) masked[i] = b[i] <= NEG / 2 ? 1 : 0;
		}
		// A padding query whose every key is masked has no attention to speak of (softmax over
		// equal large negatives is uniform noise): its row is shown empty.
		for (let i = 0; i < t; i++) {
			if (!masked.subarray(i * t, (i + 1) * t).every((x) => x === 1)) continue;
			for (const layer of maps) for (const head of layer) head.fill(0, i * t, (i + 1) * t);
		}
		const average = maps.map(headAverage);
		return { length: t, real: ids.length, nLayer: maps.length, nHead, maps, masked, average, rollout: rollout(average) };
	} finally {
		tf.dispose([inputIds, attentionMask, ...weights]);
		if (bias) (bias as tf.Tensor).dispose();
	}
}

/** The mean of the heads' (T, T) maps. */
export function headAverage(heads: Float32Array[]): Float32Array {
	const out = new Float32Array(heads[0].length);
	for (const h of heads) for (let i = 0; i < out.length; i++) out[i] += h[i];
	for (let i = 0; i < out.length; i++) out[i] /= heads.length;
	return out;
}

/**
 * Attention rollout: Ã_l = rownorm(A_l + I) for each layer's head-averaged map A_l, and
 * R_l = Ã_l · R_(l-1) with R_0 = I; returns R_1 … R_L. Row i of R_L says how much of the input
 * token j flows into position i at the last layer; every row sums to 1.
 */
export function rollout(average: Float32Array[]): Float32Array[] {
	if (!average.length) return [];
	const t = Math.round(Math.sqrt(average[0].length));
	let r: Float64Array = identity(t);
	const out: Float32Array[] = [];
	for (const a of average) {
		const aug = new Float64Array(t * t);
		for (let i = 0; i < t; i++) {
			let sum = 0;
			for (let j = 0; j < t; j++) sum += aug[i * t + j] = a[i * t + j] + (i === j ? 1 : 0);
			for (let j = 0; j < t; j++) aug[i * t + j] /= sum;
		}
		r = matmul(aug, r, t);
		out.push(Float32Array.from(r));
	}
	return out;
}

function identity(t: number): Float64Array {
	const m = new Float64Array(t * t);
	for (let i = 0; i < t; i++) m[i * t + i] = 1;
	return m;
}

function matmul(a: Float64Array, b: Float64Array, t: number): Float64Array {
	const out = new Float64Array(t * t);
	for (let i = 0; i < t; i++)
		for (let k = 0; k < t; k++) {
			const v = a[i * t + k];
			if (v === 0) continue;
			for (let j = 0; j < t; j++) out[i * t + j] += v * b[k * t + j];
		}
	return out;
}
