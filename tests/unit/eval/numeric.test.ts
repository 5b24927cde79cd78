// Summation order of the references (numpy pairwise, Python fsum), Python whitespace, perplexity.
import { describe, expect, it } from 'vitest';
import { fsum, npMean, npSum } from '../../../src/lib/engine/eval/numeric';
import { pyRstrip, pySplit, pyStrip } from '../../../src/lib/engine/eval/pystr';
import { bitsPerToken, perplexity } from '../../../src/lib/engine/eval';

describe('numpy pairwise sum', () => {
	it('differs from a left-to-right sum exactly as numpy does', () => {
		const tenths = new Array(10).fill(0.1);
		expect(tenths.reduce((a, b) => a + b, 0)).toBe(0.9999999999999999);
		expect(npSum(tenths)).toBe(1); // np.sum([0.1]*10)
		const ramp = Array.from({ length: 199 }, (_, i) => 0.1 * (i + 1));
		expect(npSum(ramp)).toBe(1990); // np.sum, numpy 1.24 / 2.x
		expect(npMean([1, 2])).toBe(1.5);
	});
});

it('fsum is correctly rounded', () => {
	expect(fsum(new Array(10).fill(0.1))).toBe(1);
	expect(fsum([1e100, 1, -1e100])).toBe(1);
	expect(fsum([])).toBe(0);
});

it('Python str.split / strip whitespace', () => {
	expect(pySplit('  a\u00a0b\x1cc\u3000 ')).toEqual(['a', 'b', 'c']);
	expect(pyStrip('\u2028 x \x85')).toBe('x');
	expect(pyRstrip(' x\ufeff')).toBe(' x\ufeff');
});

it('perplexity and bits per token', () => {
	expect(perplexity(Math.log(50) * 7, 7)).toBeCloseTo(50, 12);
	expect(bitsPerToken(Math.LN2 * 3, 3)).toBeCloseTo(1, 15);
	expect(perplexity(1, 0)).toBeNaN();
});
