// Small hand-computed cases for the label metrics (sklearn 1.2.1 semantics, zero_division=0).
import { describe, expect, it } from 'vitest';
import {
	accuracy,
	balancedAccuracy,
	cohenKappa,
	confusionMatrix,
	matthewsCorrcoef,
	precisionRecallF1,
	precisionRecallF1Average
} from '../../../src/lib/engine/eval';

describe('three classes, one of each kind of error', () => {
	const yTrue = [0, 0, 1, 1, 2, 2];
	const yPred = [0, 1, 1, 1, 0, 2];

	it('confusion matrix: rows = true class, columns = predicted', () => {
		expect(confusionMatrix(yTrue, yPred, 3)).toEqual([
			[1, 1, 0],
			[0, 2, 0],
			[1, 0, 1]
		]);
	});

	it('accuracy', () => expect(accuracy(yTrue, yPred)).toBe(4 / 6));

	it('per class precision / recall / F1 / support', () => {
		const r = precisionRecallF1(yTrue, yPred, 3);
		expect(r.precision).toEqual([0.5, 2 / 3, 1]);
		expect(r.recall).toEqual([0.5, 1, 0.5]);
		expect(r.f1[0]).toBe(0.5);
		expect(r.f1[1]).toBeCloseTo(0.8, 15);
		expect(r.f1[2]).toBeCloseTo(2 / 3, 15);
		expect(r.support).toEqual([2, 2, 2]);
	});

	it('macro, micro and weighted averages', () => {
		expect(precisionRecallF1Average(yTrue, yPred, 3, 'macro').precision).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 15);
		const micro = precisionRecallF1Average(yTrue, yPred, 3, 'micro');
		expect(micro.precision).toBe(4 / 6);
		expect(micro.recall).toBe(4 / 6);
		// Equal supports: weighted == macro.
		expect(precisionRecallF1Average(yTrue, yPred, 3, 'weighted').recall).toBeCloseTo(2 / 3, 15);
	});

	it('binary average refuses more than two classes', () => {
		expect(() => precisionRecallF1Average(yTrue, yPred, 3, 'binary')).toThrow(RangeError);
	});
});

describe('zero division and absent classes', () => {
	it('a class never predicted has precision 0, not NaN', () => {
		const r = precisionRecallF1([0, 1, 1], [0, 0, 0], 2);
		expect(r.precision).toEqual([1 / 3, 0]);
		expect(r.f1[1]).toBe(0);
		expect(precisionRecallF1Average([0, 1, 1], [0, 0, 0], 2, 'binary')).toEqual({ precision: 0, recall: 0, f1: 0 });
	});

	it('balanced accuracy ignores a class that only appears in y_pred', () => {
		expect(balancedAccuracy([0, 0, 1, 1], [0, 2, 1, 1])).toBe(0.75);
	});

	it('macro average still counts a class absent from both (labels = 0..K-1)', () => {
		expect(precisionRecallF1Average([0, 1], [0, 1], 3, 'macro').f1).toBeCloseTo(2 / 3, 15);
	});

	it('rejects class ids outside 0..K-1 and length mismatches', () => {
		expect(() => confusionMatrix([0, 3], [0, 1], 3)).toThrow(RangeError);
		expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(RangeError);
	});
});

describe('agreement coefficients', () => {
	// tp=2, fn=1, fp=1, tn=1
	const yTrue = [1, 0, 1, 0, 1];
	const yPred = [1, 0, 0, 1, 1];

	it('binary MCC = (tp·tn − fp·fn) / sqrt(...)', () => {
		expect(matthewsCorrcoef(yTrue, yPred)).toBeCloseTo((2 * 1 - 1 * 1) / Math.sqrt(3 * 3 * 2 * 2), 15);
	});

	it("Cohen's kappa = (po − pe) / (1 − pe)", () => {
		const po = 3 / 5;
		const pe = (3 / 5) * (3 / 5) + (2 / 5) * (2 / 5);
		expect(cohenKappa(yTrue, yPred)).toBeCloseTo((po - pe) / (1 - pe), 15);
	});

	it('perfect, inverted and constant predictions', () => {
		expect(matthewsCorrcoef([0, 1, 2, 0], [0, 1, 2, 0])).toBe(1);
		expect(matthewsCorrcoef([0, 1, 0, 1], [1, 0, 1, 0])).toBe(-1);
		expect(matthewsCorrcoef([0, 1, 2, 1], [1, 1, 1, 1])).toBe(0);
		expect(cohenKappa([0, 1, 2, 0], [0, 1, 2, 0])).toBe(1);
	});
});
