import { describe, expect, it } from 'vitest';
import { emaSmooth } from '../../../src/routes/train/smoothing';

describe('emaSmooth (TensorBoard)', () => {
	it('debiases the moving average: the first point is itself, then weighted means of what came before', () => {
		const out = emaSmooth([1, 2, 3], 0.5) as number[];
		expect(out[0]).toBeCloseTo(1, 12);
		// last = 0.75 after two points, debiased by 1 - 0.25
		expect(out[1]).toBeCloseTo((0.25 * 1 + 0.5 * 2) / 0.75, 12);
		expect(out[2]).toBeCloseTo((0.125 * 1 + 0.25 * 2 + 0.5 * 3) / 0.875, 12);
	});

	it('passes gaps, non-finite values and constant series through; weight 0 is the raw series', () => {
		expect(emaSmooth([null, 2, null, 4], 0.5)).toEqual([null, 2, null, (0.25 * 2 + 0.5 * 4) / 0.75]);
		expect(emaSmooth([1, NaN, 3], 0.5)[1]).toBeNaN();
		expect(emaSmooth([5, 5, 5], 0.9)).toEqual([5, 5, 5]);
		expect(emaSmooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
	});
});
