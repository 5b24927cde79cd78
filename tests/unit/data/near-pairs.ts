/**
 * Test helpers for near-duplicate results: every pair of rows a result stands for, as the search
 * listed them before copies of one text were collapsed (minhash.ts `copies`), and a brute-force
 * reference that compares every pair of rows with the exact Jaccard.
 */
import { jaccard, normaliseForShingles, shingleSet, type NearDupPair, type NearDupResult } from '../../../src/lib/data/minhash';
import { SPLIT_CODE } from '../../../src/lib/shared/types';

/** Every pair of rows, a < b, sorted: copies pair with each other (Jaccard 1) and with every copy of their text's pairs. O(k²) for k copies. */
export function rowPairs(r: NearDupResult): NearDupPair[] {
	const group = new Map(r.copies.map((g) => [g[0], g]));
	const rows = (i: number) => group.get(i) ?? [i];
	const out: NearDupPair[] = [];
	for (const g of r.copies) for (let x = 0; x < g.length; x++) for (let y = x + 1; y < g.length; y++) out.push({ a: g[x], b: g[y], jaccard: 1 });
	for (const p of r.pairs) for (const a of rows(p.a)) for (const b of rows(p.b)) out.push({ a: Math.min(a, b), b: Math.max(a, b), jaccard: p.jaccard });
	return out.sort((p, q) => p.a - q.a || p.b - q.b);
}

/** Pairs of rows at or above the threshold by exact Jaccard of every pair, and their clusters as the search returns them. */
export function bruteForce(texts: readonly string[], threshold: number, shingle: 'char' | 'word' = 'char') {
	const sets = texts.map((t) => shingleSet(t, shingle));
	const pairs: NearDupPair[] = [];
	const parent = texts.map((_, i) => i);
	const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
	for (let a = 0; a < texts.length; a++)
		for (let b = a + 1; b < texts.length; b++) {
			const j = jaccard(sets[a], sets[b]);
			if (j < threshold) continue;
			pairs.push({ a, b, jaccard: j });
			parent[Math.max(find(a), find(b))] = Math.min(find(a), find(b));
		}
	const groups = new Map<number, number[]>();
	const inPair = new Set(pairs.flatMap((p) => [p.a, p.b]));
	for (let i = 0; i < texts.length; i++) if (inPair.has(i)) groups.set(find(i), [...(groups.get(find(i)) ?? []), i]);
	const clusters = [...groups.values()].sort((g, h) => h.length - g.length || g[0] - h[0]);
	return { pairs, clusters };
}

/** Held-out rows with a training row at or above the threshold (exact: the same normalised text), per split, from brute-force pairs. */
export function bruteLeakage(texts: readonly string[], splits: readonly number[], pairs: readonly NearDupPair[]) {
	const leaked = new Map<number, 'exact' | 'near'>();
	for (const p of pairs)
		for (const [h, t] of [
			[p.a, p.b],
			[p.b, p.a]
		]) {
			if (splits[h] === SPLIT_CODE.train || splits[t] !== SPLIT_CODE.train) continue;
			if (normaliseForShingles(texts[h]) === normaliseForShingles(texts[t])) leaked.set(h, 'exact');
			else if (!leaked.has(h)) leaked.set(h, 'near');
		}
	const rows = { validation: 0, test: 0 };
	for (const h of leaked.keys()) rows[splits[h] === SPLIT_CODE.validation ? 'validation' : 'test']++;
	return { rows, kinds: leaked };
}
