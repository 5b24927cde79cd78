import { describe, expect, it } from 'vitest';
import { splitSizes, stratifiedSplit } from '../../../src/lib/data/split';
import type { SplitConfig } from '../../../src/lib/shared/config';

/** Class sizes 200, 57, 13, 3, 2, 1, interleaved the way rows of a file are. */
function labels(): number[] {
	const sizes = [200, 57, 13, 3, 2, 1];
	const out: number[] = [];
	const left = sizes.slice();
	while (left.some((n) => n > 0)) left.forEach((n, c) => n > 0 && (out.push(c), left[c]--));
	return out;
}

const cfg: SplitConfig = { seed: 42, validation: 0.1, test: 0.15 };

function perClass(ls: number[], codes: Uint8Array): number[][] {
	const k = Math.max(...ls) + 1;
	const out = Array.from({ length: k }, () => [0, 0, 0]);
	ls.forEach((c, i) => out[c][codes[i]]++);
	return out;
}

describe('stratifiedSplit', () => {
	const ls = labels();
	const codes = stratifiedSplit(ls, cfg);

	it('keeps each class within one row of the configured proportions', () => {
		for (const [train, val, test] of perClass(ls, codes).slice(0, 3)) {
			const n = train + val + test;
			expect(Math.abs(test - n * cfg.test)).toBeLessThanOrEqual(1);
			expect(Math.abs(val - n * cfg.validation)).toBeLessThanOrEqual(1);
		}
	});

	it('puts every class with 3+ examples in each split, and every class in train', () => {
		const counts = perClass(ls, codes);
		counts.forEach(([train, val, test], c) => {
			expect(train).toBeGreaterThanOrEqual(1);
			if (train + val + test >= 3) {
				expect(val, `class ${c}`).toBeGreaterThanOrEqual(1);
				expect(test, `class ${c}`).toBeGreaterThanOrEqual(1);
			}
		});
		expect(counts[3]).toEqual([1, 1, 1]);
		expect(counts[4]).toEqual([2, 0, 0]);
		expect(counts[5]).toEqual([1, 0, 0]);
	});

	it('is identical for the same seed and different for another', () => {
		expect(stratifiedSplit(ls, { ...cfg })).toEqual(codes);
		const other = stratifiedSplit(ls, { ...cfg, seed: 7 });
		expect(other).not.toEqual(codes);
		// Same sizes, different rows.
		expect(splitSizes(other)).toEqual(splitSizes(codes));
	});

	it('counts split sizes', () => {
		const sizes = splitSizes(codes);
		expect(sizes.train + sizes.validation + sizes.test).toBe(ls.length);
		expect(splitSizes(Uint8Array.from([0, 0, 1, 2, 2, 2]))).toEqual({ train: 2, validation: 1, test: 3 });
	});

	it('honours a zero fraction and refuses fractions that leave nothing to train on', () => {
		const noTest = stratifiedSplit(ls, { ...cfg, test: 0 });
		expect(splitSizes(noTest).test).toBe(0);
		expect(() => stratifiedSplit(ls, { seed: 1, validation: 0.5, test: 0.5 })).toThrow(/leave some rows/);
	});
});
