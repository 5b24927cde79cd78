// Log loss clipping, Brier and ECE bin edges by hand.
import { describe, expect, it } from 'vitest';
import { brierScore, expectedCalibrationError, logLoss } from '../../../src/lib/engine/eval';

describe('log loss', () => {
	it('clips a zero probability on the true class to float64 eps', () => {
		expect(logLoss([0], [[0, 1]])).toBe(-Math.log(Number.EPSILON));
	});

	it('renormalises rows that do not sum to 1', () => {
		expect(logLoss([0], [[0.2, 0.2]])).toBe(Math.LN2);
	});

	it('is the mean of −ln p(true class)', () => {
		expect(logLoss([0, 1, 2], [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]])).toBeCloseTo(Math.LN2, 15);
	});
});

it('Brier score is the mean squared error of the positive-class probability', () => {
	expect(brierScore([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3])).toBeCloseTo((0.01 + 0.01 + 0.04 + 0.09) / 4, 15);
});

describe('expected calibration error', () => {
	it('puts a confidence exactly on an edge in the bin it closes: (0.5, 0.6]', () => {
		const { bins } = expectedCalibrationError([1], [[0.4, 0.6]]);
		expect(bins[5]).toEqual({ lower: 0.5, upper: 0.6, count: 1, accuracy: 1, confidence: 0.6 });
		expect(bins.filter((b) => b.count === 0).every((b) => b.accuracy === null && b.confidence === null)).toBe(true);
	});

	it('weights |accuracy − confidence| by bin size', () => {
		// Bin (0.7, 0.8]: two rows at 0.8, one right → |0.5 − 0.8|·2/3; bin (0.9, 1]: one right at 0.95 → 0.05/3.
		const ece = expectedCalibrationError([0, 0, 1], [[0.8, 0.2], [0.2, 0.8], [0.05, 0.95]]).ece;
		expect(ece).toBeCloseTo((2 / 3) * 0.3 + (1 / 3) * 0.05, 15);
	});

	it('is 0 when every bin is calibrated', () => {
		const yTrue = [0, 0, 0, 0, 1];
		const yProba = Array.from({ length: 5 }, () => [0.8, 0.2]);
		expect(expectedCalibrationError(yTrue, yProba).ece).toBeCloseTo(0, 15);
	});

	it('supports other bin counts', () => {
		expect(expectedCalibrationError([0], [[0.55, 0.45]], 4).bins.map((b) => b.count)).toEqual([0, 0, 1, 0]);
	});
});
