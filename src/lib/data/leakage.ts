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
import { findNearDuplicates, normaliseForShingles, type NearDupOptions, type NearDupResult } from './minhash';

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
	pairs: LeakPair[];
	/** Held-out rows with at least one copy in training, per split. */
	rows: { validation: number; test: number };
	/** Clusters (row indices) whose members sit in more than one split. */
	clusters: number[][];
}

/** `near`: the near-duplicates of these same texts when the caller has them already (not computed twice). */
export function findLeakage(texts: readonly string[], splits: ArrayLike<number>, opts: NearDupOptions = {}, near: NearDupResult = findNearDuplicates(texts, opts)): LeakageReport {
	const norm = (i: number) => normaliseForShingles(texts[i]);
	const pairs: LeakPair[] = [];
	for (const p of near.pairs) {
		const [sa, sb] = [splits[p.a], splits[p.b]];
		if (sa === sb || (sa !== SPLIT_CODE.train && sb !== SPLIT_CODE.train)) continue;
		const [heldOut, train] = sa === SPLIT_CODE.train ? [p.b, p.a] : [p.a, p.b];
		pairs.push({ heldOut, train, split: SPLITS[splits[heldOut]] as LeakPair['split'], kind: norm(p.a) === norm(p.b) ? 'exact' : 'near', jaccard: p.jaccard });
	}
	const leaked = { validation: new Set<number>(), test: new Set<number>() };
	for (const p of pairs) leaked[p.split].add(p.heldOut);
	const clusters = near.clusters.filter((c) => new Set(c.map((i) => splits[i])).size > 1);
	return { pairs, rows: { validation: leaked.validation.size, test: leaked.test.size }, clusters };
}

/** New split codes with every cluster that spans splits moved wholly to `to` (training by default). */
export function fixLeakage(splits: ArrayLike<number>, report: LeakageReport, to: SplitName = 'train'): Uint8Array {
	const out = Uint8Array.from(splits as ArrayLike<number>);
	for (const c of report.clusters) for (const i of c) out[i] = SPLIT_CODE[to];
	return out;
}
