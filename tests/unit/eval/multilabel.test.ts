// Multi-label metrics by hand, including the zero_division=0 conventions for empty rows.
import { describe, expect, it } from 'vitest';
import { hammingLoss, jaccardPerLabel, jaccardScore, multilabelPrf, multilabelPrfAverage, subsetAccuracy } from '../../../src/lib/engine/eval';

// Label 2 is missed in row 0 and a false alarm in row 1; row 2 is empty on both sides.
const Y = [
	[1, 0, 1],
	[0, 1, 0],
	[0, 0, 0]
];
const P = [
	[1, 0, 0],
	[0, 1, 1],
	[0, 0, 0]
];

describe('multi-label', () => {
	it('per label', () => {
		expect(multilabelPrf(Y, P)).toEqual({ precision: [1, 1, 0], recall: [1, 1, 0], f1: [1, 1, 0], support: [1, 1, 1] });
	});

	it('micro and macro', () => {
		expect(multilabelPrfAverage(Y, P, 'micro').precision).toBe(2 / 3);
		expect(multilabelPrfAverage(Y, P, 'macro').f1).toBe(2 / 3);
	});

	it('samples: an empty row scores 0, not 1', () => {
		const s = multilabelPrfAverage(Y, P, 'samples');
		expect(s.precision).toBe(0.5);
		expect(s.f1).toBeCloseTo(4 / 9, 15);
		expect(jaccardScore(Y, P, 'samples')).toBeCloseTo(1 / 3, 15);
	});

	it('Jaccard per label, macro and micro', () => {
		expect(jaccardPerLabel(Y, P)).toEqual([1, 1, 0]);
		expect(jaccardScore(Y, P, 'macro')).toBe(2 / 3);
		expect(jaccardScore(Y, P, 'micro')).toBe(0.5);
	});

	it('Hamming loss and subset accuracy', () => {
		expect(hammingLoss(Y, P)).toBe(2 / 9);
		expect(subsetAccuracy(Y, P)).toBe(1 / 3);
	});

	it('weighted averages with no true labels at all are 0', () => {
		const none = [
			[0, 0],
			[0, 0]
		];
		expect(multilabelPrfAverage(none, [[1, 0], [0, 0]], 'weighted')).toEqual({ precision: 0, recall: 0, f1: 0 });
	});

	it('rejects non-indicator values and ragged rows', () => {
		expect(() => hammingLoss([[2]], [[1]])).toThrow(RangeError);
		expect(() => hammingLoss([[1, 0]], [[1]])).toThrow(RangeError);
	});
});
