// The full evaluation built from a probability matrix: every number equals the metric library's
// on a small hand case; bootstrap intervals are seeded; slices and the paired comparison are right.
import { describe, expect, it } from 'vitest';
import {
	accuracy,
	averagePrecision,
	balancedAccuracy,
	bootstrapCI,
	brierScore,
	cohenKappa,
	expectedCalibrationError,
	logLoss,
	matthewsCorrcoef,
	pairedBootstrap,
	precisionRecallF1Average,
	rocAuc,
	rocAucOvr
} from '../../../src/lib/engine/eval';
import { buildEvaluation, exampleLosses, pairedComparison, pairingProblem } from '../../../src/lib/engine/eval/evaluation';
import { classificationReport, sliceReport, wilsonInterval } from '../../../src/lib/engine/eval/report';
import type { EvaluationResult } from '../../../src/lib/shared/types';

// Multiples of 1/16: exact in float32, so the library sees the same numbers the builder stores.
const P3 = [
	[12, 2, 2], [10, 4, 2], [4, 10, 2], [2, 2, 12], [8, 6, 2], [2, 12, 2],
	[6, 8, 2], [2, 4, 10], [4, 4, 8], [14, 1, 1], [2, 6, 8], [9, 5, 2]
].map((r) => r.map((v) => v / 16));
const Y3 = [0, 0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 0];
const labels3 = ['a', 'b', 'c'];
const argmax = (r: number[]) => r.indexOf(Math.max(...r));

function build3(opts = {}) {
	return buildEvaluation({ labels: labels3, rows: Y3.map((_, i) => 100 + i), yTrue: Y3, probs: P3.flat(), datasetVersionId: 'v1', datasetHash: 'h' }, { resamples: 200, seed: 3, ...opts });
}

describe('buildEvaluation', () => {
	const ev = build3();
	const pred = P3.map(argmax);

	it('equals the metric library on a three-class hand case', () => {
		expect(ev.accuracy).toBe(accuracy(Y3, pred));
		expect(ev.accuracy).toBe(9 / 12); // wrong at rows 4, 6 and 10
		expect(ev.macroF1).toBe(precisionRecallF1Average(Y3, pred, 3, 'macro').f1);
		expect(ev.averages!.micro.f1).toBe(precisionRecallF1Average(Y3, pred, 3, 'micro').f1);
		expect(ev.averages!.weighted.f1).toBe(precisionRecallF1Average(Y3, pred, 3, 'weighted').f1);
		expect(ev.balancedAccuracy).toBe(balancedAccuracy(Y3, pred));
		expect(ev.mcc).toBe(matthewsCorrcoef(Y3, pred));
		expect(ev.kappa).toBe(cohenKappa(Y3, pred));
		expect(ev.logLoss).toBeCloseTo(logLoss(Y3, P3), 14);
		expect(ev.loss).toBe(ev.logLoss);
		expect(ev.rocAuc!.macro).toBe(rocAucOvr(Y3, P3, 'macro'));
		expect(ev.rocAuc!.weighted).toBe(rocAucOvr(Y3, P3, 'weighted'));
		expect(ev.roc!.map((c) => c.auc)).toEqual([0, 1, 2].map((c) => rocAuc(Y3, P3.map((r) => r[c]), c)));
		expect(ev.averagePrecision).toBeCloseTo([0, 1, 2].map((c) => averagePrecision(Y3, P3.map((r) => r[c]), c)).reduce((a, b) => a + b) / 3, 14);
		const cal = expectedCalibrationError(Y3, P3, 10);
		expect(ev.ece).toBe(cal.ece);
		expect(ev.reliability).toEqual(cal.bins);
		const brier = P3.reduce((s, r, i) => s + r.reduce((t, p, c) => t + (p - (Y3[i] === c ? 1 : 0)) ** 2, 0), 0) / 12;
		expect(ev.brier).toBeCloseTo(brier, 14);
		const rep = classificationReport(Y3, pred, labels3);
		expect(ev.perClass).toEqual(rep.perClass);
		expect(ev.confusion).toEqual(rep.confusion);
		expect(ev.count).toBe(12);
	});

	it('keeps every example: row, label, prediction, float32 probabilities and loss', () => {
		const x = ev.examples!;
		expect(Array.from(x.row)).toEqual(Y3.map((_, i) => 100 + i));
		expect(Array.from(x.label)).toEqual(Y3);
		expect(Array.from(x.pred)).toEqual(pred);
		expect(Array.from(x.probs)).toEqual(P3.flat());
		expect(x.loss[0]).toBeCloseTo(-Math.log(12 / 16), 6);
		expect(ev.datasetVersionId).toBe('v1');
	});

	it('gives seeded bootstrap intervals equal to bootstrapCI over the library metrics', () => {
		const opts = { resamples: 200, seed: 3 };
		const gather = (v: number[], idx: Int32Array) => Array.from(idx, (i) => v[i]);
		const acc = bootstrapCI(12, (idx) => accuracy(gather(Y3, idx), gather(pred, idx)), opts);
		const f1 = bootstrapCI(12, (idx) => precisionRecallF1Average(gather(Y3, idx), gather(pred, idx), 3, 'macro').f1, opts);
		expect(ev.intervals!.accuracy).toEqual(acc);
		expect(ev.intervals!.macroF1).toEqual(f1);
		expect(ev.intervals!.logLoss.low).toBeLessThanOrEqual(ev.logLoss!);
		expect(ev.bootstrap).toEqual({ resamples: 200, seed: 3, alpha: 0.05 });
		expect(build3().intervals).toEqual(ev.intervals);
		expect(build3({ seed: 4 }).intervals).not.toEqual(ev.intervals);
	});

	it('matches the binary metrics for two classes', () => {
		const y = [0, 0, 1, 1, 1, 0, 1, 0];
		const p1 = [1, 6, 10, 13, 7, 9, 15, 2].map((v) => v / 16);
		const ev2 = buildEvaluation({ labels: ['neg', 'pos'], rows: y.map((_, i) => i), yTrue: y, probs: p1.flatMap((p) => [1 - p, p]) }, { resamples: 50 });
		expect(ev2.rocAuc!.macro).toBe(rocAuc(y, p1));
		expect(ev2.roc).toHaveLength(1);
		expect(ev2.roc![0].label).toBe('pos');
		expect(ev2.averagePrecision).toBe(averagePrecision(y, p1));
		expect(ev2.brier).toBe(brierScore(y, p1));
		expect(ev2.slices).toBeUndefined();
	});

	it('rejects a probability matrix of the wrong size', () => {
		expect(() => buildEvaluation({ labels: labels3, rows: [0], yTrue: [0], probs: [1, 0] })).toThrow(RangeError);
	});
});

describe('sliceReport', () => {
	const yTrue = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0];
	const yPred = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1];
	const region = ['EU', 'EU', 'EU', 'EU', 'EU', 'EU', 'NA', 'NA', 'NA', 'NA', 'NA', 'NA', 'X', 'Y'];
	const meta = region.map((r, i) => ({ region: r, id: String(i), ...(i === 0 ? {} : { channel: i % 2 ? 'chat' : 'email' }) }));

	it('gives per-value accuracy, macro F1, Wilson intervals, grouping and the gap', () => {
		const cols = sliceReport(yTrue, yPred, 2, meta, { minCount: 3, maxValues: 10 });
		const r = cols.find((c) => c.column === 'region')!;
		expect(r.slices.map((s) => [s.value, s.count])).toEqual([['EU', 6], ['NA', 6], ['(other)', 2]]);
		const eu = r.slices[0];
		const na = r.slices[1];
		expect(eu.accuracy).toBe(1);
		expect(na.accuracy).toBeCloseTo(2 / 6, 15);
		expect(na.macroF1).toBe(precisionRecallF1Average([0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 0, 1], 2, 'macro').f1);
		expect([na.low, na.high]).toEqual(Object.values(wilsonInterval(2, 6)));
		expect(r.slices[2]).toMatchObject({ value: '(other)', values: ['X', 'Y'], small: true, accuracy: 0.5 });
		expect(r.gap).toBeCloseTo(1 - 2 / 6, 15);
		expect([r.best, r.worst]).toEqual(['EU', 'NA']);
		expect(r.notable).toBe(na.high < eu.low);
	});

	it('counts a missing value, and skips identifier-like columns', () => {
		const cols = sliceReport(yTrue, yPred, 2, meta, { minCount: 1, maxValues: 10 });
		expect(cols.find((c) => c.column === 'channel')!.slices.map((s) => s.value)).toContain('(missing)');
		const id = cols.find((c) => c.column === 'id')!;
		expect(id.slices).toEqual([]);
		expect(id.skipped).toMatch(/14 distinct values/);
	});

	it('is part of the evaluation when metadata is given', () => {
		const ev = buildEvaluation({ labels: ['a', 'b'], rows: yTrue.map((_, i) => i), yTrue, probs: yPred.flatMap((p) => (p ? [0.25, 0.75] : [0.75, 0.25])), meta }, { resamples: 20, minCount: 3, maxValues: 10 });
		expect(ev.slices!.find((c) => c.column === 'region')!.gap).toBeCloseTo(1 - 2 / 6, 15);
	});

	it('gives a Wilson interval that matches the closed form', () => {
		// statsmodels proportion_confint(8, 10, method='wilson') = (0.4901625, 0.9433178)
		const w = wilsonInterval(8, 10);
		expect(w.low).toBeCloseTo(0.4901625, 6);
		expect(w.high).toBeCloseTo(0.9433178, 6);
	});
});

describe('pairedComparison', () => {
	const a = build3();
	// B: a worse system on the same rows (uniform-ish probabilities that favour class 0).
	const pb = Y3.flatMap(() => [8 / 16, 4 / 16, 4 / 16]);
	const b = buildEvaluation({ labels: labels3, rows: Y3.map((_, i) => 100 + i), yTrue: Y3, probs: pb, datasetVersionId: 'v1' }, { resamples: 50 });
	const evA = { ...a, split: 'test', checkpointId: 'c', step: 1, createdAt: 0 } as EvaluationResult;
	const evB = { ...b, split: 'test', checkpointId: '', step: 0, createdAt: 0 } as EvaluationResult;

	it('equals pairedBootstrap for the same seed, and says how often A is not better', () => {
		const cmp = pairedComparison(a.examples!, b.examples!, 3, { resamples: 300, seed: 9 });
		const acc = cmp.metrics.find((m) => m.metric === 'accuracy')!;
		const ref = pairedBootstrap(
			12,
			(idx) => Array.from(idx).filter((i) => a.examples!.pred[i] === Y3[i]).length / idx.length,
			(idx) => Array.from(idx).filter((i) => b.examples!.pred[i] === Y3[i]).length / idx.length,
			{ resamples: 300, seed: 9 }
		);
		expect(acc.diff).toBeCloseTo(ref.diff, 15);
		expect([acc.low, acc.high, acc.pValue]).toEqual([ref.low, ref.high, ref.pValue]);
		expect(acc.a).toBe(a.accuracy);
		expect(acc.b).toBe(b.accuracy);
		expect(acc.shareNotBetter).toBeGreaterThanOrEqual(0);
		expect(acc.shareNotBetter).toBeLessThanOrEqual(acc.pValue);
		const ll = cmp.metrics.find((m) => m.metric === 'logLoss')!;
		expect(ll.a).toBeCloseTo(a.logLoss!, 14);
		expect(ll.diff).toBeLessThan(0);
		expect(pairedComparison(a.examples!, b.examples!, 3, { resamples: 300, seed: 9 })).toEqual(cmp);
	});

	it('says why two evaluations cannot be paired', () => {
		expect(pairingProblem(evA, evB)).toBeNull();
		expect(pairingProblem(evA, { ...evB, split: 'validation' })).toMatch(/different splits/);
		expect(pairingProblem(evA, { ...evB, datasetVersionId: 'v2' })).toMatch(/different dataset versions/);
		expect(pairingProblem(evA, { ...evB, examples: undefined })).toMatch(/evaluate it again/);
		const moved = { ...b.examples!, row: b.examples!.row.map((r) => r + 1) };
		expect(pairingProblem(evA, { ...evB, examples: moved })).toMatch(/different rows/);
	});

	it('computes per-example losses as sklearn log_loss does', () => {
		const l = exampleLosses(P3.flat(), Y3, 3);
		expect(l.reduce((s, v) => s + v, 0) / 12).toBeCloseTo(logLoss(Y3, P3), 14);
	});
});
