import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
	appendMetrics,
	deleteRun,
	getMetrics,
	getRun,
	listCheckpoints,
	listRuns,
	openDb,
	putRun,
	saveCheckpoint,
	updateRun,
	useDatabase
} from '../../../src/lib/storage';
import { draft, freshDatabase, point, run } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));

describe('runs', () => {
	it('lists a project’s runs newest first', async () => {
		await putRun(run({ id: 'r1', createdAt: 1 }));
		await putRun(run({ id: 'r2', createdAt: 2 }));
		await putRun(run({ id: 'rx', projectId: 'proj_b', createdAt: 3 }));
		expect((await listRuns('proj_a')).map((r) => r.id)).toEqual(['r2', 'r1']);
		expect(await getRun('rx')).toMatchObject({ projectId: 'proj_b' });
	});

	it('updateRun patches fields, keeps the rest, and stamps updatedAt', async () => {
		await putRun(run({ updatedAt: 1 }));
		const updated = await updateRun('run_a', { status: 'running', step: 40, id: 'ignored' });
		expect(updated).toMatchObject({ id: 'run_a', status: 'running', step: 40, totalSteps: 100, name: 'first' });
		expect(updated.updatedAt).toBeGreaterThan(1);
		expect(await getRun('run_a')).toEqual(updated);
		expect(await getRun('ignored')).toBeUndefined();
	});

	it('updateRun on a missing run is a not-found UserError', async () => {
		await expect(updateRun('nope', { step: 1 })).rejects.toMatchObject({ name: 'UserError', code: 'not-found' });
	});

	it('concurrent updates do not lose each other’s fields', async () => {
		await putRun(run());
		await Promise.all([updateRun('run_a', { step: 5 }), updateRun('run_a', { status: 'paused' }), updateRun('run_a', { trainMs: 9 })]);
		expect(await getRun('run_a')).toMatchObject({ step: 5, status: 'paused', trainMs: 9 });
	});

	it('deleteRun removes its metrics and checkpoints, not another run’s', async () => {
		for (const id of ['r1', 'r2']) {
			await putRun(run({ id }));
			await appendMetrics([point({ runId: id, step: 1 }), point({ runId: id, step: 2 })]);
			await saveCheckpoint(draft({ id: `ck_${id}`, runId: id }), [{ name: 'w', shape: [2, 3], data: new Float32Array(6) }], 8);
		}
		await deleteRun('r1');
		expect(await getRun('r1')).toBeUndefined();
		expect(await getMetrics('r1')).toEqual([]);
		expect(await listCheckpoints('r1')).toEqual([]);
		expect(await (await openDb()).count('checkpointChunks')).toBe(3);
		expect(await getMetrics('r2')).toHaveLength(2);
		expect(await listCheckpoints('r2')).toHaveLength(1);
	});
});
