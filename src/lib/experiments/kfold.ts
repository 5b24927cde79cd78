/**
 * Cross-validation splits as scikit-learn makes them: KFold (shuffled), StratifiedKFold (each
 * class dealt round the folds so every fold keeps the class balance) and GroupKFold (whole groups,
 * largest first, into the fold with the fewest rows, so no group straddles train and validation).
 * Each returns the fold of every row (−1 for a row left out: the test split stays out of
 * cross-validation), and `foldSplitCodes` turns fold i into train/validation split codes. Repeated
 * seeds are the same configuration with seeds derived from one base seed.
 */
import { Prng, hashSeed } from '../shared/prng';
import { SPLIT_CODE } from '../shared/types';
import { UserError } from '../shared/errors';

function checkK(k: number, rows: number, what: string) {
	if (!Number.isInteger(k) || k < 2)
		throw new UserError('invalid-config', `Cross-validation needs at least 2 folds (got ${k}).`);
	if (k > rows) throw new UserError('invalid-config', `${k} folds need at least ${k} ${what}; there are ${rows}. Use fewer folds.`);
}

/** Indices of the rows taking part (every row, or those with `include[i]`). */
const members = (n: number, include?: ArrayLike<boolean>) => Array.from({ length: n }, (_, i) => i).filter((i) => !include || include[i]);

export function kFold(n: number, k: number, seed: number, include?: ArrayLike<boolean>): Int32Array {
	const rows = members(n, include);
	checkK(k, rows.length, 'rows');
	const fold = new Int32Array(n).fill(-1);
	new Prng(seed).shuffle(rows).forEach((r, i) => (fold[r] = i % k));
	return fold;
}

export function stratifiedKFold(labels: ArrayLike<number | string>, k: number, seed: number, include?: ArrayLike<boolean>): Int32Array {
	const rows = members(labels.length, include);
	checkK(k, rows.length, 'rows');
	const byClass = new Map<string, number[]>();
	for (const r of rows) {
		const c = String(labels[r]);
		if (!byClass.has(c)) byClass.set(c, []);
		byClass.get(c)!.push(r);
	}
	const fold = new Int32Array(labels.length).fill(-1);
	// Continue the deal where the previous class stopped, so fold sizes differ by at most one.
	let next = 0;
	for (const c of [...byClass.keys()].sort()) {
		for (const r of new Prng((seed ^ hashSeed(c)) >>> 0).shuffle(byClass.get(c)!)) {
			fold[r] = next;
			next = (next + 1) % k;
		}
	}
	return fold;
}

export function groupKFold(groups: ArrayLike<string | number>, k: number, include?: ArrayLike<boolean>): Int32Array {
	const rows = members(groups.length, include);
	const byGroup = new Map<string, number[]>();
	for (const r of rows) {
		const g = String(groups[r]);
		if (!byGroup.has(g)) byGroup.set(g, []);
		byGroup.get(g)!.push(r);
	}
	checkK(k, byGroup.size, 'distinct groups');
	const fold = new Int32Array(groups.length).fill(-1);
	const sizes = new Array(k).fill(0);
	const ordered = [...byGroup.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
	for (const [, rs] of ordered) {
		const f = sizes.indexOf(Math.min(...sizes));
		for (const r of rs) fold[r] = f;
		sizes[f] += rs.length;
	}
	return fold;
}

/**
 * Split codes for fold `i`: its rows validate, the other folds' rows train, rows outside
 * cross-validation keep their code from `base` (the test split stays the test split).
 */
export function foldSplitCodes(fold: Int32Array, i: number, base: ArrayLike<number>): Uint8Array {
	const codes = new Uint8Array(fold.length);
	for (let r = 0; r < fold.length; r++) {
		if (fold[r] < 0) codes[r] = base[r];
		else codes[r] = fold[r] === i ? SPLIT_CODE.validation : SPLIT_CODE.train;
	}
	return codes;
}

/** N seeds for "repeat with N seeds": the base seed first, then seeds derived from it. */
export function repeatSeeds(base: number, n: number): number[] {
	return Array.from({ length: n }, (_, i) => (i === 0 ? base : hashSeed(`${base}:repeat:${i}`) % 1_000_000));
}
