// The multi-label bootstrap: the resampled metrics against sklearn's golden vectors, intervals and
// the paired test against bootstrap.ts's single-metric forms for the same seed, a hand-worked
// two-row case, and when two stored multi-label evaluations can be paired.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapCI, pairedBootstrap } from '../../../src/lib/engine/eval/bootstrap';
import { hammingLoss, multilabelPrfAverage, multilabelReport, subsetAccuracy, type Indicator } from '../../../src/lib/engine/eval/multilabel';
import { multilabelIndexedStats, multilabelIntervals, pairedMultiLabel, type MultiLabelExamples, type MultiLabelMetric } from '../../../src/lib/engine/eval/multilabel-bootstrap';
import { multilabelExamples, pairingProblem } from '../../../src/lib/engine/eval/evaluation';
import type { EvaluationResult } from '../../../src/lib/shared/types';

type Golden = { name: string; n_samples: number; n_labels: number; y_true: number[][]; y_pred: number[][]; expected: Record<string, number> };
const GOLDEN = (JSON.parse(readFileSync(join(__dirname, '../../fixtures/metrics/multilabel.json'), 'utf8')) as { cases: Golden[] }).cases;

const flat = (m: number[][]) => Uint8Array.from(m.flat());
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const METRICS: MultiLabelMetric[] = ['subsetAccuracy', 'microF1', 'macroF1', 'hammingLoss'];

/** sklearn's definitions (multilabel.ts, checked by golden.test.ts) on the rows an index array picks. */
function reference(yTrue: Indicator, yPred: Indicator): Record<MultiLabelMetric, (idx: Int32Array) => number> {
	const pick = (m: Indicator, idx: Int32Array) => Array.from(idx, (i) => m[i]);
	return {
		subsetAccuracy: (idx) => subsetAccuracy(pick(yTrue, idx), pick(yPred, idx)),
		microF1: (idx) => multilabelPrfAverage(pick(yTrue, idx), pick(yPred, idx), 'micro').f1,
		macroF1: (idx) => multilabelPrfAverage(pick(yTrue, idx), pick(yPred, idx), 'macro').f1,
		hammingLoss: (idx) => hammingLoss(pick(yTrue, idx), pick(yPred, idx))
	};
}

const examples = (truth: number[][], predicted: number[][]): MultiLabelExamples => ({ rows: all(truth.length), truth: flat(truth), predicted: flat(predicted), labels: truth[0].length });

describe('multilabelIndexedStats', () => {
	it.each(GOLDEN)('on all rows of $name gives sklearn 1.2.1', (c) => {
		const s = multilabelIndexedStats(flat(c.y_true), flat(c.y_pred), c.n_labels);
		const idx = all(c.n_samples);
		expect(s.subsetAccuracy(idx)).toBeCloseTo(c.expected.subset_accuracy, 12);
		expect(s.microF1(idx)).toBeCloseTo(c.expected.f1_micro, 12);
		expect(s.macroF1(idx)).toBeCloseTo(c.expected.f1_macro, 12);
		expect(s.hammingLoss(idx)).toBeCloseTo(c.expected.hamming_loss, 12);
	});

	it('on a resample with repeats gives sklearn on the repeated rows', () => {
		const c = GOLDEN[0];
		const s = multilabelIndexedStats(flat(c.y_true), flat(c.y_pred), c.n_labels);
		const r = reference(c.y_true, c.y_pred);
		const idx = Int32Array.from([3, 3, 0, 7, 6, 6, 6, 1]);
		for (const m of METRICS) expect(s[m](idx), m).toBeCloseTo(r[m](idx), 14);
	});
});

describe('multilabelIntervals', () => {
	const c = GOLDEN[1];
	it('equals bootstrapCI of each metric for the same seed, and brackets the estimate', () => {
		const iv = multilabelIntervals(flat(c.y_true), flat(c.y_pred), c.n_labels, { resamples: 200, seed: 4 });
		const r = reference(c.y_true, c.y_pred);
		for (const m of METRICS) {
			const one = bootstrapCI(c.n_samples, r[m], { resamples: 200, seed: 4 });
			expect(iv[m].estimate, m).toBeCloseTo(one.estimate, 14);
			expect(iv[m].low, m).toBeCloseTo(one.low, 14);
			expect(iv[m].high, m).toBeCloseTo(one.high, 14);
			expect(iv[m].low).toBeLessThanOrEqual(iv[m].estimate);
			expect(iv[m].high).toBeGreaterThanOrEqual(iv[m].estimate);
			expect(iv[m].high).toBeGreaterThan(iv[m].low);
		}
		expect(iv.microF1.estimate).toBeCloseTo(c.expected.f1_micro, 12);
	});

	it('come with the report: estimates are its headline figures, drawn as the caller says', () => {
		const labels = Array.from({ length: c.n_labels }, (_, j) => `l${j}`);
		const rows = Array.from({ length: c.n_samples }, (_, i) => i);
		const report = multilabelReport(flat(c.y_true), flat(c.y_pred), labels, rows, 0.5, { resamples: 300, seed: 2 });
		const ml = report.multiLabel;
		expect(report.bootstrap).toEqual({ resamples: 300, seed: 2, alpha: 0.05 });
		expect(ml.intervals!.subsetAccuracy.estimate).toBe(ml.subsetAccuracy);
		expect(ml.intervals!.microF1.estimate).toBeCloseTo(ml.micro.f1, 15);
		expect(ml.intervals!.macroF1.estimate).toBeCloseTo(ml.macro.f1, 15);
		expect(ml.intervals!.hammingLoss.estimate).toBeCloseTo(ml.hammingLoss, 15);
		expect(ml.intervals).toEqual(multilabelIntervals(flat(c.y_true), flat(c.y_pred), c.n_labels, { resamples: 300, seed: 2 }));
		// defaults: buildEvaluation's
		expect(multilabelReport(flat(c.y_true), flat(c.y_pred), labels, rows, 0.5).bootstrap).toEqual({ resamples: 1000, seed: 0, alpha: 0.05 });
	});
});

describe('pairedMultiLabel', () => {
	const c = GOLDEN[1];

	it('identical systems: every difference 0, p = 1', () => {
		const e = examples(c.y_true, c.y_pred);
		const cmp = pairedMultiLabel(e, e, { resamples: 200, seed: 1 });
		expect(cmp.metrics.map((m) => m.metric)).toEqual(METRICS);
		for (const m of cmp.metrics) expect([m.diff, m.low, m.high, m.pValue, m.shareNotBetter], m.metric).toEqual([0, 0, 0, 1, 1]);
	});

	it('a system right on every row where the other misses a label: every interval excludes 0, Hamming loss below it', () => {
		const truth = c.y_true.map((r, i) => (r.some(Boolean) ? r : r.map((_, j) => (j === i % r.length ? 1 : 0))));
		const worse = truth.map((r) => {
			const out = [...r];
			out[r.indexOf(1)] = 0;
			return out;
		});
		const cmp = pairedMultiLabel(examples(truth, truth), examples(truth, worse), { resamples: 300, seed: 5 });
		for (const m of cmp.metrics) {
			if (m.metric === 'hammingLoss') expect(m.high, m.metric).toBeLessThan(0);
			else expect(m.low, m.metric).toBeGreaterThan(0);
			expect(m.pValue, m.metric).toBe(0);
			expect(m.shareNotBetter, m.metric).toBe(0);
		}
		expect(cmp.metrics.find((m) => m.metric === 'subsetAccuracy')).toMatchObject({ a: 1, b: 0, diff: 1 });
	});

	it('same seed, same numbers; equal to pairedBootstrap of each metric, both systems drawing the same rows', () => {
		const other = c.y_true.map((r, i) => (i % 3 ? r : r.map((v) => 1 - v)));
		const a = examples(c.y_true, c.y_pred);
		const b = examples(c.y_true, other);
		const cmp = pairedMultiLabel(a, b, { resamples: 250, seed: 11 });
		expect(pairedMultiLabel(a, b, { resamples: 250, seed: 11 })).toEqual(cmp);
		expect(pairedMultiLabel(a, b, { resamples: 250, seed: 12 })).not.toEqual(cmp);
		const ra = reference(c.y_true, c.y_pred);
		const rb = reference(c.y_true, other);
		for (const m of cmp.metrics) {
			const one = pairedBootstrap(c.n_samples, ra[m.metric], rb[m.metric], { resamples: 250, seed: 11 });
			expect(m.diff, m.metric).toBeCloseTo(one.diff, 14);
			expect(m.low, m.metric).toBeCloseTo(one.low, 14);
			expect(m.high, m.metric).toBeCloseTo(one.high, 14);
			expect(m.pValue, m.metric).toBe(one.pValue);
		}
	});

	it('a two-row case worked by hand', () => {
		// Row 0 has label 0, row 1 label 1. A gets both right; B misses row 1's label.
		const truth = [
			[1, 0],
			[0, 1]
		];
		const cmp = pairedMultiLabel(examples(truth, truth), examples(truth, [[1, 0], [0, 0]]), { resamples: 4000, seed: 3 });
		const m = Object.fromEntries(cmp.metrics.map((x) => [x.metric, x]));
		// All rows: subset accuracy 1 vs 1/2; micro F1 1 vs 2/3 (P 1, R 1/2); macro F1 1 vs (1 + 0)/2; Hamming loss 0 vs 1/4.
		expect(m.subsetAccuracy).toMatchObject({ a: 1, b: 0.5, diff: 0.5 });
		expect(m.microF1.a).toBe(1);
		expect(m.microF1.b).toBeCloseTo(2 / 3, 15);
		expect(m.macroF1).toMatchObject({ a: 1, b: 0.5, diff: 0.5 });
		expect(m.hammingLoss).toMatchObject({ a: 0, b: 0.25, diff: -0.25 });
		// A resample is {0,0} (¼), {1,1} (¼) or one of each (½). Subset accuracy: A − B = 0, 1, ½.
		// Macro F1 counts both labels: {0,0} gives A (1 + 0)/2 and B the same, 0; {1,1} gives A ½ and B 0.
		// Hamming loss: 0, −½, −¼. A tie ({0,0}) is "not better" and flips the sign: p ≈ 2 × ¼.
		expect([m.subsetAccuracy.low, m.subsetAccuracy.high]).toEqual([0, 1]);
		expect([m.macroF1.low, m.macroF1.high]).toEqual([0, 0.5]);
		expect([m.hammingLoss.low, m.hammingLoss.high]).toEqual([-0.5, 0]);
		for (const x of cmp.metrics) {
			expect(x.shareNotBetter, x.metric).toBeCloseTo(0.25, 1);
			expect(x.pValue, x.metric).toBeCloseTo(0.5, 1);
		}
	});

	it('refuses different rows or labels', () => {
		const a = examples(c.y_true, c.y_pred);
		expect(() => pairedMultiLabel(a, { ...a, rows: a.rows.slice(1) })).toThrow(RangeError);
		expect(() => pairedMultiLabel(a, { ...a, labels: a.labels - 1 })).toThrow(RangeError);
	});
});

describe('pairing two stored multi-label evaluations', () => {
	const c = GOLDEN[0];
	const labels = ['a', 'b', 'c', 'd'];
	const probs = (m: number[][]) => Float32Array.from(m.flat(), (v) => (v ? 0.8 : 0.1));
	function stored(pred: number[][], over: Partial<EvaluationResult> = {}, rows = Int32Array.from({ length: c.n_samples }, (_, i) => 10 + i)): EvaluationResult {
		const report = multilabelReport(flat(c.y_true), flat(pred), labels, rows, 0.5, { resamples: 50 });
		return {
			split: 'test',
			checkpointId: '',
			step: 0,
			createdAt: 0,
			accuracy: report.multiLabel.subsetAccuracy,
			macroF1: report.multiLabel.macro.f1,
			loss: 0,
			perClass: report.perClass,
			confusion: [],
			labels,
			count: c.n_samples,
			datasetVersionId: 'v1',
			multiLabel: { ...report.multiLabel, scores: { truth: flat(c.y_true), probs: probs(pred), rows } },
			...over
		};
	}

	it('pairs the same rows, decided at each one its own threshold', () => {
		const a = stored(c.y_pred);
		const b = stored(c.y_true, { multiLabel: { ...stored(c.y_true).multiLabel!, threshold: 0.05 } });
		expect(pairingProblem(a, b)).toBeNull();
		const ea = multilabelExamples(a)!;
		expect(Array.from(ea.predicted)).toEqual(c.y_pred.flat());
		// At 0.05 every probability (0.1 or 0.8) is a label.
		expect(Array.from(multilabelExamples(b)!.predicted).every((v) => v === 1)).toBe(true);
		const cmp = pairedMultiLabel(ea, multilabelExamples(a)!, { resamples: 20 });
		expect(cmp.metrics[0].a).toBe(a.accuracy);
	});

	it('says why not: another kind, another version, split, label names, rows or truth, or rows not kept', () => {
		const a = stored(c.y_pred);
		const b = stored(c.y_true);
		const single = { ...b, multiLabel: undefined };
		expect(pairingProblem(a, single)).toMatch(/multi-label\) and the other one class per row/);
		expect(pairingProblem(single, a)).toMatch(/multi-label\) and the other one class per row/);
		expect(pairingProblem(a, { ...b, datasetVersionId: 'v2' })).toMatch(/different dataset versions/);
		expect(pairingProblem(a, { ...b, split: 'validation' })).toMatch(/different splits \(test and validation\)/);
		expect(pairingProblem(a, { ...b, labels: ['a', 'b', 'c', 'e'] })).toMatch(/label names differ/);
		expect(pairingProblem(a, stored(c.y_true, {}, Int32Array.from({ length: c.n_samples }, (_, i) => 20 + i)))).toMatch(/different rows/);
		const flipped = flat(c.y_true);
		flipped[0] ^= 1;
		expect(pairingProblem(a, { ...b, multiLabel: { ...b.multiLabel!, scores: { ...b.multiLabel!.scores!, truth: flipped } } })).toMatch(/true label sets of their rows differ/);
		const noScores = { ...b, multiLabel: { ...b.multiLabel!, scores: undefined } };
		expect(pairingProblem(a, noScores)).toMatch(/evaluate it again/);
	});

	it('an evaluation stored before the rows were kept pairs while its examples name every row, and asks to be evaluated again otherwise', () => {
		const a = stored(c.y_pred);
		const b = stored(c.y_true);
		const old = { ...b, multiLabel: { ...b.multiLabel!, scores: { truth: b.multiLabel!.scores!.truth, probs: b.multiLabel!.scores!.probs } } };
		expect(pairingProblem(a, old)).toBeNull();
		expect(Array.from(multilabelExamples(old)!.rows)).toEqual(Array.from(a.multiLabel!.scores!.rows!));
		const cut = { ...old, multiLabel: { ...old.multiLabel, examples: old.multiLabel.examples.slice(0, 3) } };
		expect(multilabelExamples(cut)).toBeNull();
		expect(pairingProblem(a, cut)).toBe("One of them was evaluated before every row's label decisions were kept: evaluate it again.");
	});
});
