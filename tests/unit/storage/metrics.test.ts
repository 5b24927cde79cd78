import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendMetrics, deleteMetricsAfter, getMetrics, useDatabase } from '../../../src/lib/storage';
import { freshDatabase, point } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));

describe('metrics', () => {
	it('returns a run’s points sorted by step (numerically)', async () => {
		await appendMetrics([point({ step: 100 }), point({ step: 9 }), point({ step: 20 })]);
		await appendMetrics([point({ runId: 'other', step: 1 })]);
		expect((await getMetrics('run_a')).map((p) => p.step)).toEqual([9, 20, 100]);
	});

	it('merges a later point for the same step into the stored one', async () => {
		await appendMetrics([point({ step: 40, time: 1, trainLoss: 0.7, lr: 0.003 })]);
		await appendMetrics([point({ step: 40, time: 2, valLoss: 0.8, valAccuracy: 0.6, trainLoss: undefined })]);
		expect(await getMetrics('run_a')).toEqual([
			{ runId: 'run_a', step: 40, epoch: 0, time: 2, trainLoss: 0.7, lr: 0.003, valLoss: 0.8, valAccuracy: 0.6 }
		]);
	});

	it('merges two points for one step sent in the same call', async () => {
		await appendMetrics([point({ step: 5, trainLoss: 1 }), point({ step: 5, valLoss: 2 })]);
		expect(await getMetrics('run_a')).toEqual([point({ step: 5, trainLoss: 1, valLoss: 2 })]);
	});

	it('deleteMetricsAfter drops later steps of that run only', async () => {
		await appendMetrics([0, 5, 10, 15, 20].map((step) => point({ step })));
		await appendMetrics([point({ runId: 'other', step: 20 })]);
		await deleteMetricsAfter('run_a', 10);
		expect((await getMetrics('run_a')).map((p) => p.step)).toEqual([0, 5, 10]);
		expect(await getMetrics('other')).toHaveLength(1);
	});
});
