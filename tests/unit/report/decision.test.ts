// The decision report: a fixed input gives the expected numbers, verdict and caveats, and an HTML
// page with everything inline (no external URLs or assets).
import { describe, expect, it } from 'vitest';
import { buildEvaluation, pairedComparison } from '../../../src/lib/engine/eval/evaluation';
import { runSystem, type System } from '../../../src/lib/report/baselines';
import { buildDecisionReport, decisionHtml, decisionJson } from '../../../src/lib/report/decision';
import { countParams, defaultRunConfig } from '../../../src/lib/shared/config';
import type { EvaluationResult } from '../../../src/lib/shared/types';
import { project, run, version } from '../storage/fixtures';

const labels = ['a', 'b', 'c'];
const n = 60;
const yTrue = Array.from({ length: n }, (_, i) => i % 3);
const rows = yTrue.map((_, i) => 200 + i);
// The candidate is right on 50 rows (p = 0.75 on the true class), wrong on every sixth.
const candProbs = yTrue.flatMap((y, i) => {
	const k = i % 6 === 5 ? (y + 1) % 3 : y;
	return labels.map((_, c) => (c === k ? 0.75 : 0.125));
});
const refProbs = yTrue.flatMap(() => [0.5, 0.25, 0.25]);
const meta = yTrue.map((_, i) => ({ region: i < 30 ? 'EU' : 'NA' }));
const head = (checkpointId: string, step: number) => ({ split: 'test' as const, checkpointId, step, createdAt: 0 });
const evalOf = (probs: number[]) => buildEvaluation({ labels, rows, yTrue, probs, meta, datasetVersionId: 'ds_a', datasetHash: 'abc' }, { resamples: 300, seed: 1 });

const candEval: EvaluationResult = { ...head('ckpt_1', 300), ...evalOf(candProbs) };
const refEval: EvaluationResult = { ...head('', 0), ...evalOf(refProbs) };
const config = defaultRunConfig(3);
const candidate = runSystem(
	run({
		name: 'micro, 12 epochs',
		status: 'completed',
		config,
		evaluation: candEval,
		trainMs: 192_000,
		step: 300,
		epoch: 12,
		backend: { name: 'webgpu', adapter: 'SwiftShader', isFallbackAdapter: true }
	})
)!;
const reference: System = { id: 'majority:ds_a:test', name: 'Majority class', kind: 'majority', baseline: { kind: 'majority', description: 'always “a”' }, datasetVersionId: 'ds_a', evaluation: refEval };
const dataset = version({
	labels,
	labelCounts: [100, 100, 100],
	rowCount: 300,
	split: { seed: 42, validation: 0.1, test: 0.2, sizes: { train: 210, validation: 30, test: 60 } },
	dropped: [
		{ line: 4, reason: 'empty text' },
		{ line: 9, reason: 'duplicate' },
		{ line: 12, reason: 'empty text' }
	]
});
const comparison = pairedComparison(candEval.examples!, refEval.examples!, 3, { resamples: 500, seed: 1 });
const input = {
	project: project({ name: 'Tickets <b> & co', description: 'Route tickets.' }),
	dataset,
	reference,
	candidate,
	comparison,
	generatedAt: Date.UTC(2025, 0, 2)
};

describe('buildDecisionReport', () => {
	const report = buildDecisionReport(input);

	it('carries the numbers of both evaluations and of the paired difference', () => {
		expect(report.candidate.accuracy).toEqual(candEval.intervals!.accuracy);
		expect(report.candidate.accuracy.estimate).toBeCloseTo(50 / 60, 15);
		expect(report.reference.accuracy.estimate).toBeCloseTo(20 / 60, 15);
		const acc = report.difference!.metrics.find((m) => m.metric === 'accuracy')!;
		expect(acc.diff).toBeCloseTo(0.5, 15);
		expect(acc.low).toBeGreaterThan(0);
		expect(report.difference!.n).toBe(60);
		expect(report.verdict.kind).toBe('better');
		expect(report.verdict.text).toContain('+50.0 pts');
		expect(report.generatedAt).toBe('2025-01-02T00:00:00.000Z');
	});

	it('describes the data, the cost and the caveats', () => {
		expect(report.data.dropped).toEqual({ count: 3, reasons: [{ reason: 'empty text', count: 2 }, { reason: 'duplicate', count: 1 }] });
		expect(report.data.splitSizes).toEqual({ train: 210, validation: 30, test: 60 });
		expect(report.cost.parametersTrained).toBe(countParams(config.model));
		expect(report.cost.trainTime).toBe('3 min 12 s');
		expect(report.cost.softwareAdapter).toBe(true);
		const caveats = report.caveats.join('\n');
		expect(caveats).toMatch(/Small test set: 60 rows/);
		expect(caveats).toMatch(/3 row\(s\) were dropped at import/);
		expect(caveats).toMatch(/software GPU adapter \(SwiftShader\)/);
		expect(report.slices.map((s) => s.column)).toEqual(['region']);
	});

	it('round-trips through JSON', () => {
		expect(JSON.parse(decisionJson(report))).toEqual(JSON.parse(JSON.stringify(report)));
	});

	it('says so when the two cannot be paired', () => {
		const r = buildDecisionReport({ ...input, comparison: null, pairingProblem: 'They were scored on different splits.' });
		expect(r.verdict.kind).toBe('unpaired');
		expect(r.verdict.text).toContain('different splits');
		expect(r.difference).toBeNull();
	});
});

describe('decisionHtml', () => {
	const html = decisionHtml(buildDecisionReport(input));

	it('is one self-contained page: no URLs, scripts, links or external assets', () => {
		expect(html.startsWith('<!doctype html>')).toBe(true);
		expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
		expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|url\(|@import/i);
		expect(html).toContain('<svg');
		expect(html).toContain('<style>');
	});

	it('shows the headline numbers with their intervals and escapes user text', () => {
		const iv = candEval.intervals!.accuracy;
		expect(html).toContain(`83.3% [${(iv.low * 100).toFixed(1)}–${(iv.high * 100).toFixed(1)}]`);
		expect(html).toContain('+50.0 pts');
		expect(html).toContain('Tickets &lt;b&gt; &amp; co');
		expect(html).not.toContain('<b> & co');
	});

	it('carries its own CSP: nothing in it can load or run, even if an escape were missed', () => {
		expect(html).toMatch(/^<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
	});
});
