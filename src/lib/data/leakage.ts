/**
 * Train/evaluation leakage: validation and test rows whose text appears in training, exactly (same
 * normalised text) or nearly (MinHash near-duplicates at the threshold, minhash.ts). A held-out
 * score means little when the model saw the same example while training (Lee et al. 2022,
 * "Deduplicating Training Data Makes Language Models Better", on exactly this effect).
 *
 * The fix puts each cluster of near-duplicates that spans splits wholly into one split: training
 * by default, so the held-out splits keep only examples unlike anything trained on.
 */
import { SPLIT_CODE, SPLITS, type SplitName } from '../shared/types';
import { findNearDuplicates, representatives, type NearDupOptions, type NearDupResult } from './minhash';

export interface LeakPair {
	/** Row index (into the texts given) of the held-out copy. */
	heldOut: number;
	/** Row index of the training copy. */
	train: number;
	split: Exclude<SplitName, 'train'>;
	kind: 'exact' | 'near';
	jaccard: number;
}

export interface LeakageReport {
	/**
	 * Each held-out row with a copy in training, in row order, with one training row it repeats: the
	 * first exact copy (same normalised text) when there is one, else the first training row of its
	 * most similar near-duplicate text. One entry per row however many copies training holds.
	 */
	pairs: LeakPair[];
	/** Held-out rows with at least one copy in training, per split. */
	rows: { validation: number; test: number };
	/** Clusters (row indices) whose members sit in more than one split. */
	clusters: number[][];
}

/**
 * `near`: the near-duplicates of these same texts when the caller has them already (not computed
 * twice). Copies are read by group (NearDupResult.copies), never pair by pair: thousands of copies
 * of one text across the splits cost time and memory in rows, not in their pairs.
 */
export function findLeakage(texts: readonly string[], splits: ArrayLike<number>, opts: NearDupOptions = {}, near: NearDupResult = findNearDuplicates(texts, opts)): LeakageReport {
	const n = texts.length;
	const train = SPLIT_CODE.train;
	const rep = representatives(near, n);
	// the first training row among each text's copies, by the text's first row
	const trainCopy = new Int32Array(n).fill(-1);
	for (let i = 0; i < n; i++) if (splits[i] === train && trainCopy[rep[i]] === -1) trainCopy[rep[i]] = i;
	// for each text, the training row of its most similar near-duplicate text that has one
	const nearest = new Map<number, { train: number; jaccard: number }>();
	const offer = (text: number, other: number, jaccard: number) => {
		const t = trainCopy[other];
		if (t === -1) return;
		const best = nearest.get(text);
		if (!best || jaccard > best.jaccard || (jaccard === best.jaccard && t < best.train)) nearest.set(text, { train: t, jaccard });
	};
	for (const p of near.pairs) {
		offer(p.a, p.b, p.jaccard);
		offer(p.b, p.a, p.jaccard);
	}
	const pairs: LeakPair[] = [];
	const rows = { validation: 0, test: 0 };
	for (let i = 0; i < n; i++) {
		if (splits[i] === train) continue;
		const split = SPLITS[splits[i]] as LeakPair['split'];
		const exact = trainCopy[rep[i]];
		const close = exact === -1 ? nearest.get(rep[i]) : undefined;
		if (exact !== -1) pairs.push({ heldOut: i, train: exact, split, kind: 'exact', jaccard: 1 });
		else if (close) pairs.push({ heldOut: i, train: close.train, split, kind: 'near', jaccard: close.jaccard });
		else continue;
		rows[split]++;
	}
	const clusters = near.clusters.filter((c) => new Set(c.map((i) => splits[i])).size > 1);
	return { pairs, rows, clusters };
}

/** New split codes with every cluster that spans splits moved wholly to `to` (training by default). */
export function fixLeakage(splits: ArrayLike<number>, report: LeakageReport, to: SplitName = 'train'): Uint8Array {
	const out = Uint8Array.from(splits as ArrayLike<number>);
	for (const c of report.clusters) for (const i of c) out[i] = SPLIT_CODE[to];
	return out;
}
