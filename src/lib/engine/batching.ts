/**
 * Turning token-id rows into fixed-shape batches. tfjs-webgpu's buffer pool keys buffers by exact
 * size and never frees them, so sequence lengths are rounded up to a few buckets and every batch
 * has the same number of rows (short batches are filled with masked dummy rows).
 */
import { Prng } from '../shared/prng';

export interface TokenRows {
	ids: Int32Array;
	offsets: Int32Array;
	labels: Int32Array;
	/** Multi-label rows: each row's label set as a 0/1 indicator, row-major (n, width). */
	labelSets?: LabelSets;
}

/** Label sets as an (n, width) 0/1 indicator matrix, row-major. */
export interface LabelSets {
	width: number;
	data: Uint8Array;
}

/** The (n, width) indicator of label sets given as lists of label ids. */
export function labelSetsOf(sets: readonly (readonly number[])[], width: number): LabelSets {
	const data = new Uint8Array(sets.length * width);
	sets.forEach((s, i) => s.forEach((l) => (data[i * width + l] = 1)));
	return { width, data };
}

/** 16, 32, 64, … up to and including the context length. */
export function lengthBuckets(contextLength: number): number[] {
	const out: number[] = [];
	for (let b = 16; b < contextLength; b *= 2) out.push(b);
	out.push(contextLength);
	return out;
}

export function bucketFor(len: number, buckets: number[]): number {
	return buckets.find((b) => b >= len) ?? buckets[buckets.length - 1];
}

export interface HostBatch {
	ids: Int32Array; // (B * T)
	mask: Float32Array; // (B * T)
	labels: Int32Array; // (B), -1 for dummy rows
	/** Multi-label: (B * L) 0/1 targets, all 0 for dummy rows. */
	multiHot?: Float32Array;
	rows: number; // B
	length: number; // T
	real: number; // rows that are real examples
}

/** Word dropout (Iyyer et al. 2015): hide each token from the model with probability `rate`. */
export interface TokenDropout {
	rate: number;
	seed: number;
}

/**
 * Pack `rowIdx` into a (batchSize, T) batch. `prefixId` (the <cls> token) is prepended when the
 * model pools the first position. With `drop`, training batches mask random tokens out (never all
 * of a row's), a regularizer for classifiers that average over tokens.
 */
export function makeBatch(data: TokenRows, rowIdx: number[], batchSize: number, contextLength: number, padId: number, prefixId?: number, drop?: TokenDropout): HostBatch {
	const extra = prefixId === undefined ? 0 : 1;
	let longest = 1;
	for (const r of rowIdx) longest = Math.max(longest, Math.min(contextLength, data.offsets[r + 1] - data.offsets[r] + extra));
	const t = bucketFor(longest, lengthBuckets(contextLength));
	const ids = new Int32Array(batchSize * t).fill(padId);
	const mask = new Float32Array(batchSize * t);
	const labels = new Int32Array(batchSize).fill(-1);
	const rng = drop && drop.rate > 0 ? new Prng(drop.seed) : null;
	const sets = data.labelSets;
	const multiHot = sets ? new Float32Array(batchSize * sets.width) : undefined;
	rowIdx.forEach((r, b) => {
		const start = data.offsets[r];
		const n = Math.min(t - extra, data.offsets[r + 1] - start);
		if (extra) ids[b * t] = prefixId!;
		ids.set(data.ids.subarray(start, start + n), b * t + extra);
		mask.fill(1, b * t, b * t + n + extra);
		if (rng && n > 1) {
			let kept = n;
			for (let j = extra; j < n + extra && kept > 1; j++) if (rng.next() < drop!.rate) (mask[b * t + j] = 0), kept--;
		}
		labels[b] = data.labels[r];
		if (sets) for (let j = 0; j < sets.width; j++) multiHot![b * sets.width + j] = sets.data[r * sets.width + j];
	});
	// Dummy rows still need one unmasked position so attention never sees an all-masked row.
	for (let b = rowIdx.length; b < batchSize; b++) mask[b * t] = 1;
	return { ids, mask, labels, ...(multiHot ? { multiHot } : {}), rows: batchSize, length: t, real: rowIdx.length };
}
