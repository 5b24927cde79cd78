// The majority-class baseline: training label frequencies for every test row, scored like a run.
import { describe, expect, it } from 'vitest';
import { majorityBaseline, runSystem, trainLabelCounts } from '../../../src/lib/report/baselines';
import { UserError } from '../../../src/lib/shared/errors';
import type { StoredRow } from '../../../src/lib/shared/types';
import { run, version } from '../storage/fixtures';

const labels = ['a', 'b', 'c'];
const row = (label: number, split: number, region = 'EU'): StoredRow => ({ text: `t${label}`, label, split, meta: { region } });
// train: a×3, b×5, c×2; validation: c×1; test: a×2, b×3, c×1
const rows: StoredRow[] = [
	...[0, 0, 0, 1, 1, 1, 1, 1, 2, 2].map((l) => row(l, 0)),
	row(2, 1),
	row(0, 2, 'EU'), row(1, 2, 'NA'), row(1, 2, 'EU'), row(2, 2, 'NA'), row(1, 2, 'EU'), row(0, 2, 'NA')
];
const v = version({ labels, labelCounts: [5, 8, 4], rowCount: rows.length });

describe('majorityBaseline', () => {
	const sys = majorityBaseline(v, rows, 'test', { resamples: 100, minCount: 1 });
	const e = sys.evaluation;

	it('counts the training labels only', () => {
		expect(trainLabelCounts(labels, rows)).toEqual([3, 5, 2]);
	});

	it('predicts the most frequent training label with the training frequencies', () => {
		expect(sys.kind).toBe('majority');
		expect(sys.id).toBe('majority:ds_a:test');
		expect(sys.baseline!.description).toContain('“b” (50.0% of training rows)');
		expect(Array.from(e.examples!.pred)).toEqual([1, 1, 1, 1, 1, 1]);
		expect(Array.from(e.examples!.row)).toEqual([11, 12, 13, 14, 15, 16]);
		expect(Array.from(e.examples!.probs.slice(0, 3))).toEqual([0.3, 0.5, 0.2].map(Math.fround));
		expect(e.accuracy).toBe(0.5);
		expect(e.count).toBe(6);
		expect(e.datasetVersionId).toBe('ds_a');
		const ll = -(2 * Math.log(Math.fround(0.3)) + 3 * Math.log(0.5) + Math.log(Math.fround(0.2))) / 6;
		expect(e.logLoss).toBeCloseTo(ll, 6);
		expect(e.rocAuc!.macro).toBe(0.5);
		expect(e.mcc).toBe(0);
		expect(e.kappa).toBe(0);
		expect(e.perClass.map((p) => p.recall)).toEqual([0, 1, 0]);
	});

	it('slices the baseline by metadata as well', () => {
		const region = e.slices!.find((c) => c.column === 'region')!;
		expect(region.slices.map((s) => [s.value, s.accuracy])).toEqual([['EU', 2 / 3], ['NA', 1 / 3]]);
	});

	it('fails with a named error when the split or the training split is empty', () => {
		expect(() => majorityBaseline(v, rows.filter((r) => r.split !== 2), 'test')).toThrow(UserError);
		expect(() => majorityBaseline(v, rows.filter((r) => r.split !== 0), 'test')).toThrow(/training split is empty/);
	});
});

describe('runSystem', () => {
	it('wraps an evaluated run, and skips one without an evaluation', () => {
		const e = majorityBaseline(v, rows, 'test', { resamples: 10 }).evaluation;
		expect(runSystem(run())).toBeNull();
		expect(runSystem(run({ evaluation: e }))).toMatchObject({ id: 'run_a', kind: 'run', datasetVersionId: 'ds_a' });
		const prompted = { ...run({ evaluation: e }), baseline: { kind: 'zero-shot' as const, description: 'SmolLM2 zero-shot' } };
		expect(runSystem(prompted)).toMatchObject({ kind: 'zero-shot', baseline: { description: 'SmolLM2 zero-shot' } });
	});
});
