/**
 * Issue 14, defect 7: a project deleted while its run still writes (a metric point, a checkpoint
 * manifest landing after the delete) leaves records whose owner is gone; the start-up sweep
 * removes them, and leaves every record of a live project as it was.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendMetrics, deleteProject, getMetrics, getRun, listCheckpoints, listDatasetVersions, openDb, saveDatasetVersion, putProject, putRun, saveCheckpoint, sweepOrphanChunks, useDatabase } from '../../../src/lib/storage';
import { sweepOrphanRecords } from '../../../src/lib/storage/orphans';
import { project, run, version } from './fixtures';
import { defaultRunConfig } from '../../../src/lib/shared/config';

beforeEach(() => useDatabase('orphans-' + Math.random()));

const draft = (id: string, runId: string, step: number) => ({
	id,
	runId,
	step,
	epoch: 0,
	createdAt: step,
	config: defaultRunConfig(2),
	trainerState: { prngState: 1, epoch: 0, stepInEpoch: step, order: [], optimizerStep: step }
});
const tensors = () => [{ name: 'w', shape: [4], data: Float32Array.from([1, 2, 3, 4]) }];

describe('the start-up sweep of orphan records', () => {
	it('removes the metric points and checkpoint a deleted project’s run wrote after the delete; a live project keeps everything', async () => {
		await putProject(project({ id: 'gone' }));
		await putProject(project({ id: 'kept' }));
		await saveDatasetVersion(version({ id: 'ds_kept', projectId: 'kept' }), []);
		await putRun(run({ id: 'run_gone', projectId: 'gone' }));
		await putRun(run({ id: 'run_kept', projectId: 'kept' }));
		await appendMetrics([{ runId: 'run_kept', step: 1, epoch: 0, time: 1, trainLoss: 1 }]);
		await saveCheckpoint(draft('ckpt_kept', 'run_kept', 1), tensors());

		// The project is deleted while its run trains: the engine's next writes land after it.
		await deleteProject('gone');
		await appendMetrics([{ runId: 'run_gone', step: 2, epoch: 0, time: 2, trainLoss: 1 }]);
		await saveCheckpoint(draft('ckpt_gone', 'run_gone', 2), tensors());
		expect(await getMetrics('run_gone')).toHaveLength(1);
		expect(await listCheckpoints('run_gone')).toHaveLength(1);
		// The chunk sweep alone keeps them: the checkpoint has its manifest.
		expect(await sweepOrphanChunks()).toBe(0);

		expect(await sweepOrphanRecords()).toEqual({ runs: 0, metrics: 1, checkpoints: 1, versions: 0 });
		expect(await getMetrics('run_gone')).toEqual([]);
		expect(await listCheckpoints('run_gone')).toEqual([]);
		const db = await openDb();
		expect(await db.count('checkpointChunks', IDBKeyRange.bound(['ckpt_gone', -Infinity], ['ckpt_gone', Infinity]))).toBe(0);
		// The live project's records are untouched.
		expect(await getRun('run_kept')).toBeDefined();
		expect(await getMetrics('run_kept')).toHaveLength(1);
		expect((await listCheckpoints('run_kept')).map((c) => c.id)).toEqual(['ckpt_kept']);
		expect((await listDatasetVersions('kept')).map((v) => v.id)).toEqual(['ds_kept']);
		expect(await sweepOrphanRecords()).toEqual({ runs: 0, metrics: 0, checkpoints: 0, versions: 0 });
	});

	it('a run or dataset version whose project record is gone goes too, with its metrics and checkpoints', async () => {
		await putProject(project({ id: 'p' }));
		await putRun(run({ id: 'run_orphan', projectId: 'nowhere' }));
		await appendMetrics([{ runId: 'run_orphan', step: 1, epoch: 0, time: 1 }]);
		await saveCheckpoint(draft('ckpt_orphan', 'run_orphan', 1), tensors());
		await saveDatasetVersion(version({ id: 'ds_orphan', projectId: 'nowhere' }), []);
		expect(await sweepOrphanRecords()).toEqual({ runs: 1, metrics: 0, checkpoints: 0, versions: 1 });
		expect(await getRun('run_orphan')).toBeUndefined();
		expect(await getMetrics('run_orphan')).toEqual([]);
		expect(await listCheckpoints('run_orphan')).toEqual([]);
		expect(await listDatasetVersions('nowhere')).toEqual([]);
	});
});
