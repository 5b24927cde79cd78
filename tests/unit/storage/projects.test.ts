import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
	appendMetrics,
	deleteProject,
	getDatasetVersion,
	getMetrics,
	getProject,
	getRun,
	getTokenized,
	listCheckpoints,
	listProjects,
	openDb,
	putProject,
	putRun,
	putTokenized,
	saveCheckpoint,
	saveDatasetVersion,
	useDatabase
} from '../../../src/lib/storage';
import { draft, freshDatabase, point, project, rows, run, tokenized, version } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));

describe('projects', () => {
	it('puts, gets, lists newest-updated first, and deletes', async () => {
		await putProject(project({ id: 'p1', updatedAt: 10 }));
		await putProject(project({ id: 'p2', updatedAt: 30 }));
		await putProject(project({ id: 'p3', updatedAt: 20 }));
		expect((await listProjects()).map((p) => p.id)).toEqual(['p2', 'p3', 'p1']);
		await putProject(project({ id: 'p1', name: 'renamed', updatedAt: 40 }));
		expect(await getProject('p1')).toMatchObject({ name: 'renamed' });
		expect((await listProjects())[0].id).toBe('p1');
		await deleteProject('p2');
		expect(await getProject('p2')).toBeUndefined();
		expect(await listProjects()).toHaveLength(2);
	});

	it('deleting a project removes everything it owns and nothing else', async () => {
		for (const p of ['pa', 'pb']) {
			await putProject(project({ id: p }));
			await saveDatasetVersion(version({ id: `ds_${p}`, projectId: p }), rows(30), 10);
			await putTokenized(tokenized(`ds_${p}`, 'tok'));
			await putRun(run({ id: `run_${p}`, projectId: p, datasetVersionId: `ds_${p}` }));
			await appendMetrics([point({ runId: `run_${p}`, step: 1, trainLoss: 1 })]);
			await saveCheckpoint(draft({ id: `ck_${p}`, runId: `run_${p}` }), [{ name: 'w', shape: [40], data: new Float32Array(40) }], 64);
		}
		await deleteProject('pa');

		expect(await getProject('pa')).toBeUndefined();
		expect(await getDatasetVersion('ds_pa')).toBeUndefined();
		expect(await getTokenized('ds_pa:tok')).toBeUndefined();
		expect(await getRun('run_pa')).toBeUndefined();
		expect(await getMetrics('run_pa')).toEqual([]);
		expect(await listCheckpoints('run_pa')).toEqual([]);

		const db = await openDb();
		expect(await db.count('rows')).toBe(3); // pb's chunks only
		expect(await db.count('checkpointChunks')).toBe(3); // 40 floats in 16-float chunks
		expect((await db.getAllKeys('checkpointChunks')).every(([id]) => id === 'ck_pb')).toBe(true);
		expect(await getProject('pb')).toBeDefined();
		expect(await getTokenized('ds_pb:tok')).toBeDefined();
		expect(await getMetrics('run_pb')).toHaveLength(1);
		expect(await listCheckpoints('run_pb')).toHaveLength(1);
	});
});
