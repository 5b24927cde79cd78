// ROC / PR by hand, including sklearn 1.2.1's curve conventions.
import { describe, expect, it } from 'vitest';
import { averagePrecision, precisionRecallCurve, rocAuc, rocAucOvr, rocCurve } from '../../../src/lib/engine/eval';

describe('the sklearn docs example', () => {
	const yTrue = [0, 0, 1, 1];
	const yScore = [0.1, 0.4, 0.35, 0.8];

	it('roc_curve, thresholds[0] = max + 1 (1.2.1, not +inf)', () => {
		expect(rocCurve(yTrue, yScore)).toEqual({
			fpr: [0, 0, 0.5, 0.5, 1],
			tpr: [0, 0.5, 0.5, 1, 1],
			thresholds: [1.8, 0.8, 0.4, 0.35, 0.1]
		});
	});

	it('AUC and average precision', () => {
		expect(rocAuc(yTrue, yScore)).toBe(0.75);
		// (R 0.5 at P 1) + (R 1 at P 2/3): 0.5·1 + 0.5·2/3
		expect(averagePrecision(yTrue, yScore)).toBeCloseTo(0.5 + 1 / 3, 15);
	});

	it('precision-recall curve ends at (recall 0, precision 1)', () => {
		const pr = precisionRecallCurve(yTrue, yScore);
		expect(pr.recall).toEqual([1, 1, 0.5, 0.5, 0]);
		expect(pr.precision).toEqual([0.5, 2 / 3, 0.5, 1, 1]);
		expect(pr.thresholds).toEqual([0.1, 0.35, 0.4, 0.8]);
	});
});

describe('ties and collinear points', () => {
	it('all-tied scores give one diagonal segment and AUC 0.5', () => {
		const c = rocCurve([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]);
		expect(c).toEqual({ fpr: [0, 1], tpr: [0, 1], thresholds: [1.3, 0.3] });
		expect(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
	});

	it('drop_intermediate removes only points collinear in both fps and tps', () => {
		const yTrue = [1, 1, 0, 0];
		const yScore = [0.9, 0.8, 0.7, 0.6];
		expect(rocCurve(yTrue, yScore)).toEqual({ fpr: [0, 0, 0, 1], tpr: [0, 0.5, 1, 1], thresholds: [1.9, 0.9, 0.8, 0.6] });
		expect(rocCurve(yTrue, yScore, { dropIntermediate: false }).fpr).toEqual([0, 0, 0, 0.5, 1]);
		expect(rocAuc(yTrue, yScore)).toBe(1);
	});
});

describe('undefined cases', () => {
	it('a single class in y_true: null AUC (sklearn raises), NaN rates and AP 0 or 1 (sklearn warns)', () => {
		expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNull();
		expect(rocCurve([0, 0, 0], [0.1, 0.5, 0.9])).toEqual({ fpr: [0, 1 / 3, 1], tpr: [NaN, NaN, NaN], thresholds: [1.9, 0.9, 0.1] });
		expect(averagePrecision([0, 0], [0.2, 0.5])).toBe(-0); // sklearn: -0.0
		expect(averagePrecision([1, 1, 1], [0.1, 0.5, 0.9])).toBe(1);
	});

	it('rejects non-finite scores', () => {
		expect(() => rocCurve([0, 1], [0.5, NaN])).toThrow(RangeError);
	});
});

describe('one-vs-rest multi-class AUC', () => {
	const yTrue = [0, 1, 2, 2];
	const yProba = [
		[0.8, 0.1, 0.1],
		[0.1, 0.8, 0.1],
		[0.2, 0.2, 0.6],
		[0.1, 0.6, 0.3]
	];

	it('macro and prevalence-weighted means of the per-class AUCs', () => {
		// class 0: 1, class 1: 2 of 3 negatives below the positive... computed per class:
		const c0 = rocAuc([1, 0, 0, 0], [0.8, 0.1, 0.2, 0.1])!;
		const c1 = rocAuc([0, 1, 0, 0], [0.1, 0.8, 0.2, 0.6])!;
		const c2 = rocAuc([0, 0, 1, 1], [0.1, 0.1, 0.6, 0.3])!;
		expect(rocAucOvr(yTrue, yProba, 'macro')).toBeCloseTo((c0 + c1 + c2) / 3, 15);
		expect(rocAucOvr(yTrue, yProba, 'weighted')).toBeCloseTo((c0 + c1 + 2 * c2) / 4, 15);
	});

	it('null when a class never occurs in y_true, or rows are not probabilities', () => {
		expect(rocAucOvr([0, 1, 1, 0], yProba)).toBeNull();
		expect(rocAucOvr(yTrue, yProba.map((r) => r.map((p) => p * 2)))).toBeNull();
	});
});
