// The decision report for multi-label systems: a trained run against a prompt baseline on the same
// rows, paired by label sets, judged on micro F1 with the other three differences and their p-values.
import { describe, expect, it } from 'vitest';
import { multilabelExamples, pairingProblem } from '../../../src/lib/engine/eval/evaluation';
import { multilabelReport } from '../../../src/lib/engine/eval/multilabel';
import { pairedMultiLabel } from '../../../src/lib/engine/eval/multilabel-bootstrap';
import { runSystem, type System } from '../../../src/lib/report/baselines';
import { buildMultiLabelReport, kindDecisionHtml } from '../../../src/lib/report/decision-kinds';
import type { EvaluationResult } from '../../../src/lib/shared/types';
import { project, run, version } from '../storage/fixtures';

const labels = ['billing', 'refund', 'urgent'];
const n = 60;
// Row i's true set: billing on even rows, refund on every third, urgent on every fifth (at least one each).
const truth = Array.from({ length: n }, (_, i) => [i % 2 === 0 ? 1 : 0, i % 3 === 0 ? 1 : 0, i % 5 === 0 || (i % 2 && i % 3) ? 1 : 0]);

function evaluation(probs: number[][], threshold: number): EvaluationResult {
	const t = Uint8Array.from(truth.flat());
	const p = Float32Array.from(probs.flat());
	const rows = Int32Array.from({ length: n }, (_, i) => 200 + i);
	const predicted = Uint8Array.from(p, (x) => (x >= threshold ? 1 : 0));
	const r = multilabelReport(t, predicted, labels, rows, threshold, { resamples: 300, seed: 0 });
	return {
		split: 'test',
		checkpointId: '',
		step: 12,
		createdAt: 1,
		accuracy: r.multiLabel.subsetAccuracy,
		macroF1: r.multiLabel.macro.f1,
		loss: 0.3,
		perClass: r.perClass,
		confusion: [],
		labels,
		count: n,
		datasetVersionId: 'ds_ml',
		multiLabel: { ...r.multiLabel, scores: { truth: t, probs: p, rows } },
		bootstrap: r.bootstrap
	};
}

// The run: right on every row but every seventh, where it adds a wrong label. The baseline: one
// softmax over the words, high on the first true label only, chosen at 1/3.
const runEval = evaluation(truth.map((t, i) => t.map((v, j) => (v ? 0.9 : i % 7 === 0 && j === 2 ? 0.6 : 0.1))), 0.5);
const baseEval = evaluation(truth.map((t) => t.map((_, j) => (j === t.indexOf(1) ? 0.8 : 0.1))), 1 / 3);
const trained = runSystem(run({ id: 'run_ml', name: 'multi-label run', datasetVersionId: 'ds_ml', evaluation: runEval, multiLabelThreshold: 0.5 }))!;
const baseline: System = {
	...runSystem(run({ id: 'run_zs', name: 'zero-shot · tiny-gpt2', datasetVersionId: 'ds_ml', evaluation: baseEval }))!,
	kind: 'zero-shot',
	baseline: { kind: 'zero-shot', description: 'tiny-gpt2, prompt "Text: {text}⏎Tags: {label}", 0 examples; multi-label: a label is chosen at 1/3' }
};
const dataset = version({ id: 'ds_ml', labels, labelCounts: [30, 20, 30] });

describe('multi-label decision report', () => {
	it('pairs the run with the prompt baseline on the same rows and judges on micro F1', () => {
		expect(pairingProblem(trained.evaluation, baseline.evaluation)).toBeNull();
		const comparison = pairedMultiLabel(multilabelExamples(trained.evaluation)!, multilabelExamples(baseline.evaluation)!, { resamples: 400, seed: 1 });
		const r = buildMultiLabelReport({ project: project({ name: 'Tickets' }), dataset, reference: baseline, candidate: trained, comparison, generatedAt: Date.UTC(2026, 0, 1) });
		expect(r.kind).toBe('multi-label');
		expect(r.difference!.metrics.map((m) => m.metric)).toEqual(['micro F1', 'macro F1', 'subset accuracy', 'Hamming loss']);
		const micro = comparison.metrics.find((m) => m.metric === 'microF1')!;
		expect(r.difference!.metrics[0]).toMatchObject({ diff: micro.diff, low: micro.low, high: micro.high, pValue: micro.pValue, higherIsBetter: true });
		expect(r.difference!.metrics[3].higherIsBetter).toBe(false);
		expect(micro.low).toBeGreaterThan(0);
		expect(r.verdict.kind).toBe('better');
		expect(r.verdict.text).toMatch(/^multi-label run beats zero-shot · tiny-gpt2: \+0\.\d{3} micro F1 \(95% CI \+0\.\d{3} to \+0\.\d{3}, paired on the same 60 test rows\)\.$/);
		// Each figure with its interval; each system at its own threshold.
		const subset = r.results.find((m) => m.metric === 'subset accuracy')!;
		expect(subset.candidate).toBe(trained.evaluation.accuracy);
		expect(subset.candidateInterval).toEqual([runEval.multiLabel!.intervals!.subsetAccuracy.low, runEval.multiLabel!.intervals!.subsetAccuracy.high]);
		expect(r.results.find((m) => m.metric.startsWith('threshold'))).toMatchObject({ reference: 1 / 3, candidate: 0.5 });
		expect(r.caveats.some((c) => c.startsWith('The two decide at different thresholds'))).toBe(true);
		expect(r.caveats.some((c) => c.includes('saved on the Evaluate screen (0.5)'))).toBe(true);
		const html = kindDecisionHtml(r);
		expect(html).toContain('Multi-label classification: zero-shot · tiny-gpt2 vs multi-label run');
		expect(html).toContain('two-sided p');
		expect(html).toContain('Hamming loss (lower is better)');
		expect(html).toContain('Each resample draws rows with their whole label sets');
		expect(html).toContain('60 test rows');
		expect(html).not.toMatch(/(src|href)=["']https?:/);
	});

	it('without a paired test it says why', () => {
		const r = buildMultiLabelReport({ project: project(), dataset, reference: baseline, candidate: trained, comparison: null, pairingProblem: 'They were scored on different splits (test and validation).', generatedAt: 0 });
		expect(r.verdict.kind).toBe('unpaired');
		expect(r.verdict.text).toContain('different splits');
		expect(r.caveats[0]).toMatch(/^No paired test: They were scored on different splits/);
		expect(kindDecisionHtml(r)).toContain('No paired difference');
	});
});
