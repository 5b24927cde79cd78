// The fold/seed spread rule (report/spread.ts): groups summarised from stored cross-validations,
// the pooled standard deviation and Welch interval against hand-computed values, "within the
// spread" called exactly when |difference| ≤ spread, and the decision report (JSON and HTML)
// saying so and turning a paired "better" into "inconclusive" when the gain is within the spread.
import { describe, expect, it } from 'vitest';
import { buildEvaluation, pairedComparison } from '../../../src/lib/engine/eval/evaluation';
import type { CvRecord } from '../../../src/lib/experiments/record';
import { runSystem, type System } from '../../../src/lib/report/baselines';
import { buildDecisionReport, decisionHtml, decisionJson } from '../../../src/lib/report/decision';
import { compareGroups, groupSpread, pooledSd, runDiffAgainstSpread, spreadOfRun, welchInterval, type GroupSpread } from '../../../src/lib/report/spread';
import { meanInterval } from '../../../src/lib/experiments/stats';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import type { EvaluationResult } from '../../../src/lib/shared/types';
import { project, run, version } from '../storage/fixtures';

function cv(id: string, kind: 'folds' | 'seeds', acc: (number | undefined)[], name = `${acc.length} ${kind}`): CvRecord {
	return {
		kind,
		id,
		projectId: 'p',
		name,
		createdAt: 0,
		updatedAt: 0,
		datasetVersionId: 'ds_a',
		baseConfig: defaultRunConfig(3),
		k: acc.length,
		seed: 1,
		stratify: 'label',
		maxSteps: 3,
		status: 'done',
		folds: acc.map((a, index) => (a === undefined ? { index, seed: index, state: 'pending' as const } : { index, seed: index, state: 'complete' as const, valAccuracy: a, valLoss: 1 - a }))
	};
}

describe('groups and the spread', () => {
	it('summarises a cross-validation over its finished folds only', () => {
		const g = groupSpread(cv('cv1', 'folds', [0.6, 0.7, 0.8, undefined]));
		expect(g.n).toBe(3);
		expect(g.k).toBe(4);
		expect(g.accuracy!.mean).toBeCloseTo(0.7, 12);
		expect(g.accuracy!.std).toBeCloseTo(0.1, 12);
		// t(0.975, 2) = 4.302653: half-width 4.302653 · 0.1 / √3.
		expect(g.accuracy!.high - g.accuracy!.mean).toBeCloseTo((4.302653 * 0.1) / Math.sqrt(3), 5);
		expect(g.loss!.mean).toBeCloseTo(0.3, 12);
	});

	it('finds the group of a fold or seed run, not of a study trial or a plain run', () => {
		const records = [cv('cv1', 'folds', [0.6, 0.7]), cv('cv2', 'seeds', [0.5, 0.55])];
		const seedRun = run({ experiment: { kind: 'seeds', id: 'cv2', index: 1 } });
		expect(spreadOfRun(seedRun, records)).toMatchObject({ id: 'cv2', kind: 'seeds', member: 2, n: 2 });
		expect(spreadOfRun(run({ experiment: { kind: 'study', id: 'cv1', index: 0 } }), records)).toBeNull();
		expect(spreadOfRun(run({}), records)).toBeNull();
		expect(spreadOfRun(run({ experiment: { kind: 'folds', id: 'gone', index: 0 } }), records)).toBeNull();
	});

	it('pools the standard deviations by degrees of freedom and ignores a side under two runs', () => {
		const a = meanInterval([0.6, 0.7, 0.8]); // sd 0.1, n 3
		const b = meanInterval([0.5, 0.7]); // sd √0.02, n 2
		expect(pooledSd(a, b)).toBeCloseTo(Math.sqrt((2 * 0.01 + 1 * 0.02) / 3), 12);
		expect(pooledSd(a, meanInterval([0.9]))).toBeCloseTo(0.1, 12);
		expect(pooledSd(meanInterval([0.9]))).toBeNull();
	});

	it('Welch interval of the difference of means: se and Welch–Satterthwaite degrees of freedom', () => {
		// diff 0.1, se = sqrt(.01/3 + .02/2) = 0.115470, df = se⁴ / ((.01/3)²/2 + (.02/2)²/1) = 1.68421,
		// so the half-width is t(0.975, 1.684) · se, between t(0.975, 2) = 4.303 and t(0.975, 1) = 12.706 times se.
		const w = welchInterval(meanInterval([0.6, 0.7, 0.8]), meanInterval([0.5, 0.7]))!;
		expect(w.diff).toBeCloseTo(0.1, 12);
		const se = Math.sqrt(0.01 / 3 + 0.02 / 2);
		expect((w.high - w.diff) / se).toBeGreaterThan(4.303);
		expect((w.high - w.diff) / se).toBeLessThan(12.706);
		expect(w.low).toBeCloseTo(2 * w.diff - w.high, 12);
		// Equal sds and sizes: df = 2(n − 1), the pooled t interval.
		const e = welchInterval(meanInterval([1, 2, 3]), meanInterval([0, 1, 2]))!;
		expect((e.high - e.diff) / Math.sqrt(2 / 3)).toBeCloseTo(2.776445, 4); // t(0.975, 4)
	});
});

describe('the rule: a difference below the spread is called so', () => {
	const a = groupSpread(cv('a', 'seeds', [0.7, 0.8, 0.9], 'lr 3e-3 × 3 seeds')); // sd 0.1
	const b = groupSpread(cv('b', 'seeds', [0.65, 0.75, 0.85], 'lr 1e-3 × 3 seeds')); // sd 0.1
	const far = groupSpread(cv('c', 'seeds', [0.3, 0.32, 0.34], 'tiny lr × 3 seeds'));

	it('two groups: within when |Δ mean| ≤ pooled sd, with the means and Welch interval', () => {
		const v = compareGroups(a, b)!;
		expect(v.diff).toBeCloseTo(0.05, 12);
		expect(v.spread).toBeCloseTo(0.1, 12);
		expect(v.within).toBe(true);
		expect(v.text).toContain('within the seed spread (sd 10.0 pts)');
		expect(v.text).toContain('do not tell the two configurations apart');
		expect(v.text).toContain('includes zero');
		const w = compareGroups(a, far)!;
		expect(w.within).toBe(false);
		expect(w.text).toContain('larger than the seed spread');
		expect(w.means!.low).toBeGreaterThan(0);
	});

	it('on the loss as well, in nats', () => {
		const v = compareGroups(a, b, 'valLoss')!;
		expect(v.diff).toBeCloseTo(-0.05, 12);
		expect(v.within).toBe(true);
		expect(v.text).toContain('validation loss');
	});

	it('says folds, seeds, or fold/seed by what varies', () => {
		const folds = groupSpread(cv('f', 'folds', [0.7, 0.8, 0.9]));
		expect(compareGroups(folds, b)!.text).toContain('fold/seed spread');
		expect(runDiffAgainstSpread(0.01, folds, null)!.text).toContain('fold spread');
	});

	it('a single run against a reference: the test difference against the group sd, at the boundary', () => {
		expect(runDiffAgainstSpread(0.099, a, null)!.within).toBe(true);
		expect(runDiffAgainstSpread(-0.099, a, null)!.within).toBe(true);
		// Equal values with no spread at all are not a difference.
		const flat = groupSpread(cv('z', 'seeds', [0.4, 0.4]));
		expect(runDiffAgainstSpread(0, flat, null)!.within).toBe(true);
		expect(runDiffAgainstSpread(0.01, flat, null)!.within).toBe(false);
		expect(runDiffAgainstSpread(0.101, a, null)!.within).toBe(false);
		expect(runDiffAgainstSpread(0.2, null, a)!.within).toBe(false);
		expect(runDiffAgainstSpread(0.2, null, null)).toBeNull();
	});

	it('no spread under two finished runs, said plainly', () => {
		const one: GroupSpread = groupSpread(cv('o', 'folds', [0.7, undefined, undefined], '3-fold CV'));
		const v = runDiffAgainstSpread(0.05, one, null)!;
		expect(v.within).toBeNull();
		expect(v.text).toContain('fewer than two finished folds');
		expect(compareGroups(one, groupSpread(cv('p', 'folds', [0.6])))!.within).toBeNull();
	});
});

describe('the decision report with fold/seed spread', () => {
	const labels = ['a', 'b', 'c'];
	const n = 60;
	const yTrue = Array.from({ length: n }, (_, i) => i % 3);
	const rows = yTrue.map((_, i) => i);
	// The candidate is right on 50 rows, the reference on 44: +10 points.
	const probsRightUnless = (wrong: (i: number) => boolean) =>
		yTrue.flatMap((y, i) => {
			const k = wrong(i) ? (y + 1) % 3 : y;
			return labels.map((_, c) => (c === k ? 0.8 : 0.1));
		});
	const evalOf = (probs: number[]): EvaluationResult => ({
		split: 'test',
		checkpointId: 'c',
		step: 3,
		createdAt: 0,
		...buildEvaluation({ labels, rows, yTrue, probs, datasetVersionId: 'ds_a', datasetHash: 'h' }, { resamples: 200, seed: 1 })
	});
	const candEval = evalOf(probsRightUnless((i) => i % 6 === 5));
	const refEval = evalOf(probsRightUnless((i) => i % 4 === 3));
	const config = defaultRunConfig(3);
	const candidate = runSystem(run({ id: 'run_c', name: 'seed run B', status: 'completed', config, evaluation: candEval, experiment: { kind: 'seeds', id: 'b', index: 0 } }))!;
	const reference = runSystem(run({ id: 'run_r', name: 'seed run A', status: 'completed', config, evaluation: refEval, experiment: { kind: 'seeds', id: 'a', index: 2 } }))! as System;
	const comparison = pairedComparison(candEval.examples!, refEval.examples!, 3, { resamples: 400, seed: 2 });
	const dataset = version({ labels, labelCounts: [100, 100, 100], rowCount: 300, split: { seed: 1, validation: 0.1, test: 0.2, sizes: { train: 210, validation: 30, test: 60 } } });
	const base = { project: project({ name: 'P' }), dataset, reference, candidate, comparison, generatedAt: 0 };
	const acc = comparison.metrics.find((m) => m.metric === 'accuracy')!;

	it('without groups: no spread section, the paired verdict stands', () => {
		const r = buildDecisionReport(base);
		expect(r.spread).toBeNull();
		expect(decisionHtml(r)).not.toContain('Fold and seed spread');
	});

	it('a gain smaller than the seed spread is called so: verdict, caveat, JSON and HTML', () => {
		const wide = [spreadOfRun(candidate.run, [cv('b', 'seeds', [0.5, 0.7, 0.9], 'B × 3 seeds')])!, spreadOfRun(reference.run, [cv('a', 'seeds', [0.45, 0.65, 0.85], 'A × 3 seeds')])!];
		const r = buildDecisionReport({ ...base, spread: { candidate: wide[0], reference: wide[1] } });
		expect(acc.diff).toBeCloseTo(50 / 60 - 45 / 60, 12);
		expect(r.spread!.verdict!.spread).toBeCloseTo(0.2, 12);
		expect(r.spread!.verdict!.within).toBe(true);
		expect(r.verdict.kind).toBe('inconclusive');
		expect(r.verdict.text).toMatch(/^No real difference between the configurations: The test accuracy difference, \+8\.3 pts, is within the seed spread/);
		expect(r.caveats[0]).toMatch(/^Within the seed spread: /);
		const json = JSON.parse(decisionJson(r));
		expect(json.spread.candidate).toMatchObject({ name: 'B × 3 seeds', kind: 'seeds', n: 3, member: 1 });
		expect(json.spread.reference.member).toBe(3);
		expect(json.spread.verdict.within).toBe(true);
		expect(json.spread.rule).toContain('standard deviation');
		const html = decisionHtml(r);
		expect(html).toContain('<h2>Fold and seed spread</h2>');
		expect(html).toContain('class="spread within"');
		expect(html).toContain('B × 3 seeds, seed 1');
		expect(html).toContain('70.0% ± ');
		expect(html).toContain('95% t interval over 3 seeds, sd 20.0 pts');
	});

	it('a gain larger than the spread keeps the paired verdict and says it is larger', () => {
		const tight = spreadOfRun(candidate.run, [cv('b', 'seeds', [0.8, 0.81, 0.82])])!;
		const r = buildDecisionReport({ ...base, spread: { candidate: tight, reference: null } });
		expect(r.spread!.verdict!.within).toBe(false);
		expect(r.verdict.text).not.toContain('No real difference');
		expect(r.spread!.verdict!.text).toContain('larger than the seed spread');
		expect(decisionHtml(r)).toContain('a single run (no folds or seeds)');
	});
});
