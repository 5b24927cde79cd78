import { describe, expect, it } from 'vitest';
import { foldSplitCodes, groupKFold, kFold, repeatSeeds, stratifiedKFold } from '../../../src/lib/experiments/kfold';
import { meanInterval, tQuantile } from '../../../src/lib/experiments/stats';
import { Prng } from '../../../src/lib/shared/prng';

function checkPartition(fold: Int32Array, k: number, include: (i: number) => boolean) {
	const sizes = new Array(k).fill(0);
	fold.forEach((f, i) => {
		if (include(i)) {
			expect(f).toBeGreaterThanOrEqual(0);
			expect(f).toBeLessThan(k);
			sizes[f]++;
		} else expect(f).toBe(-1);
	});
	return sizes;
}

describe('k-fold splits', () => {
	it('KFold: every row in exactly one fold, folds within one row of each other, reproducible from the seed', () => {
		const f = kFold(103, 5, 1);
		const sizes = checkPartition(f, 5, () => true);
		expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
		expect(kFold(103, 5, 1)).toEqual(f);
		expect(kFold(103, 5, 2)).not.toEqual(f);
	});

	it('StratifiedKFold: each fold keeps the class proportions, test rows stay out', () => {
		const rng = new Prng(5);
		// 3 classes at 60/30/10 %, 500 rows; 15 % are test.
		const labels = Array.from({ length: 500 }, () => {
			const u = rng.next();
			return u < 0.6 ? 'a' : u < 0.9 ? 'b' : 'c';
		});
		const isTest = labels.map(() => rng.next() < 0.15);
		const include = isTest.map((t) => !t);
		const k = 4;
		const f = stratifiedKFold(labels, k, 3, include);
		const sizes = checkPartition(f, k, (i) => include[i]);
		expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
		for (const c of ['a', 'b', 'c']) {
			const inClass = labels.map((l, i) => l === c && include[i]);
			const total = inClass.filter(Boolean).length;
			for (let j = 0; j < k; j++) {
				const n = inClass.filter((x, i) => x && f[i] === j).length;
				// Dealt round the folds: each fold gets ⌊total/k⌋ or ⌈total/k⌉ of the class.
				expect(Math.abs(n - total / k)).toBeLessThanOrEqual(1);
			}
		}
		// The train/validation codes of a fold: its rows validate, the rest train, the test rows stay test.
		const base = isTest.map((t) => (t ? 2 : 0));
		const codes = foldSplitCodes(f, 2, base);
		codes.forEach((c, i) => expect(c).toBe(isTest[i] ? 2 : f[i] === 2 ? 1 : 0));
		// Across the k folds each row validates exactly once.
		const validated = new Array(500).fill(0);
		for (let j = 0; j < k; j++) foldSplitCodes(f, j, base).forEach((c, i) => (validated[i] += c === 1 ? 1 : 0));
		validated.forEach((v, i) => expect(v).toBe(include[i] ? 1 : 0));
	});

	it('GroupKFold: no group in two folds, folds balanced by rows', () => {
		const groups = Array.from({ length: 200 }, (_, i) => `customer-${i % 23}`);
		const f = groupKFold(groups, 5);
		checkPartition(f, 5, () => true);
		const foldOfGroup = new Map<string, number>();
		groups.forEach((g, i) => {
			if (foldOfGroup.has(g)) expect(f[i]).toBe(foldOfGroup.get(g));
			else foldOfGroup.set(g, f[i]);
		});
		const sizes = [0, 1, 2, 3, 4].map((j) => f.filter((x) => x === j).length);
		expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(9); // at most one group's rows
	});

	it('too many folds is a message saying what to do', () => {
		expect(() => kFold(3, 5, 1)).toThrow(/Use fewer folds/);
		expect(() => groupKFold(['a', 'a', 'b'], 3)).toThrow(/3 folds need at least 3 distinct groups; there are 2/);
		expect(() => kFold(10, 1, 1)).toThrow(/at least 2 folds/);
	});

	it('repeated seeds: the base seed first, all distinct', () => {
		const s = repeatSeeds(42, 5);
		expect(s[0]).toBe(42);
		expect(new Set(s).size).toBe(5);
		expect(repeatSeeds(42, 5)).toEqual(s);
	});
});

describe('intervals', () => {
	it("Student's t quantiles match the tables", () => {
		expect(tQuantile(0.975, 1)).toBeCloseTo(12.706, 2);
		expect(tQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
		expect(tQuantile(0.975, 4)).toBeCloseTo(2.776, 3);
		expect(tQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
		expect(tQuantile(0.95, 9)).toBeCloseTo(1.833, 3);
	});

	it('mean ± t interval on the standard error (scipy.stats.t.interval(0.95, n−1, mean, sem))', () => {
		// Mean 0.8, sample sd √(0.0016/4) = 0.02, sem 0.02/√5 = 0.0089443, t(0.975, 4) = 2.7764:
		// half-width 0.024833.
		const iv = meanInterval([0.78, 0.81, 0.79, 0.83, 0.79]);
		expect(iv.mean).toBeCloseTo(0.8, 10);
		expect(iv.std).toBeCloseTo(0.02, 10);
		expect(iv.low).toBeCloseTo(0.8 - 0.024833, 5);
		expect(iv.high).toBeCloseTo(0.8 + 0.024833, 5);
		const one = meanInterval([0.5]);
		expect([one.low, one.high]).toEqual([0.5, 0.5]);
	});
});
