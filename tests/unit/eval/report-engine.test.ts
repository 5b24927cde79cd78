/**
 * The full evaluation through the engine API in Node (tfjs CPU, fake-indexeddb): a trained run is
 * scored with intervals, per-example records on the dataset's row indices and slices by the CSV's
 * extra columns; it pairs with the majority baseline computed in the page from the same rows; a
 * cancelled evaluation leaves the stored one as it was.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { createTicketRun } from '../engine/api-fixtures';
import { getDatasetVersion, getRun, loadRows, useDatabase } from '../../../src/lib/storage';
import { SPLIT_CODE } from '../../../src/lib/shared/types';
import { pairedComparison, pairingProblem } from '../../../src/lib/engine/eval/evaluation';
import { majorityBaseline } from '../../../src/lib/report/baselines';


async function trainedRun() {
	const { run, version } = await createTicketRun({ epochs: 2, logEvery: 4, evalEvery: 100, checkpointEvery: 100, warmupSteps: 2 }, { test: 0.3, region: true });
	await api.train(run.id, () => {});
	return { run: (await getRun(run.id))!, version };
}

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('report-engine-' + Math.random()));

describe('api.evaluate (full evaluation)', () => {
	it('stores intervals, per-example records, slices, and pairs with the majority baseline', async () => {
		const { run, version } = await trainedRun();
		const progress: number[] = [];
		const e = await api.evaluate(run.id, undefined, 'test', (done) => progress.push(done), { resamples: 100, seed: 2 });
		const rows = await loadRows(version.id);
		const testRows = rows.flatMap((r, i) => (r.split === SPLIT_CODE.test ? [i] : []));
		expect(Array.from(e.examples!.row)).toEqual(testRows);
		expect(Array.from(e.examples!.label)).toEqual(testRows.map((i) => rows[i].label));
		expect(e.examples!.probs.length).toBe(testRows.length * 3);
		expect(e.count).toBe(testRows.length);
		expect(progress.at(-1)).toBe(testRows.length);
		expect(e.intervals!.accuracy.estimate).toBe(e.accuracy);
		expect(e.intervals!.accuracy.low).toBeLessThanOrEqual(e.accuracy);
		expect(e.bootstrap).toEqual({ resamples: 100, seed: 2, alpha: 0.05 });
		expect(e.datasetVersionId).toBe(version.id);
		const region = e.slices!.find((c) => c.column === 'region')!;
		expect(region.slices.map((s) => s.count).reduce((a, b) => a + b)).toBe(testRows.length);
		expect((await getRun(run.id))!.evaluation!.createdAt).toBe(e.createdAt);

		const baseline = majorityBaseline((await getDatasetVersion(version.id))!, rows, 'test', { resamples: 50 });
		expect(pairingProblem(e, baseline.evaluation)).toBeNull();
		// A multi-label result is not paired with a single-label one, and the reason says so (not "evaluate it again").
		const multi = { ...e, multiLabel: { threshold: 0.5 } as NonNullable<typeof e.multiLabel> };
		expect(pairingProblem(multi, baseline.evaluation)).toMatch(/^One of them decides a set of labels per row \(multi-label\) and the other one class per row/);
		const cmp = pairedComparison(e.examples!, baseline.evaluation.examples!, 3, { resamples: 100 });
		expect(cmp.metrics[0].diff).toBeCloseTo(e.accuracy - baseline.evaluation.accuracy, 12);
	}, 120_000);

	it('stops when asked and leaves the stored evaluation as it was', async () => {
		const { run } = await trainedRun();
		const before = (await getRun(run.id))!.evaluation!;
		await expect(api.evaluate(run.id, undefined, 'test', undefined, {}, async () => true)).rejects.toMatchObject({ code: 'cancelled' });
		expect((await getRun(run.id))!.evaluation).toEqual(before);
	}, 120_000);
});
