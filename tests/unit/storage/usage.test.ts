/**
 * The Storage screen's numbers come from the stored records: each checkpoint's floats and manifest,
 * each run's metric points, each dataset version's row chunks and tokenized caches, each cached
 * model's files. Its deletions leave the rest as it was: a checkpoint deleted mends its run's
 * pointers, and clearing tokenized caches keeps those a stored run reads.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
	appendMetrics,
	deleteCachedModel,
	deleteRun,
	getRun,
	getTokenized,
	listCheckpoints,
	loadCheckpoint,
	putModelFile,
	putProject,
	putRun,
	putTokenized,
	putTokenizer,
	saveCheckpoint,
	saveDatasetVersion,
	useDatabase
} from '../../../src/lib/storage';
import { clearUnusedTokenized, deleteCheckpointOfRun, measureUsage, recordBytes } from '../../../src/lib/storage/usage';
import { draft, freshDatabase, point, project, rows, run, tokenized, version } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));

const floats = (n: number, v = 1) => [{ name: 'w', shape: [n], data: new Float32Array(n).fill(v) }];

/** One project with a dataset version (10 rows, one tokenized cache a run reads, one no run reads), a run with three checkpoints and four metric points, and a cached model. */
async function seed() {
	await putProject(project({ id: 'p1', name: 'Reviews' }));
	await saveDatasetVersion(version({ id: 'ds1', projectId: 'p1', rowCount: 10 }), rows(10), 4);
	await putTokenized(tokenized('ds1', 'tokA'));
	await putTokenized({ ...tokenized('ds1', 'tokB'), ids: new Int32Array(100) });
	await putTokenizer({ hash: 'tokA', datasetVersionId: 'ds1', config: { kind: 'hub', repo: 'x/y', revision: 'abc' }, json: '{"model":{}}', createdAt: 1 });
	await putRun(run({ id: 'r1', projectId: 'p1', datasetVersionId: 'ds1', tokenizerHash: 'tokA', status: 'paused', step: 30, bestCheckpointId: 'c2', bestValAccuracy: 0.8, lastCheckpointId: 'c3' }));
	await saveCheckpoint({ ...draft({ id: 'c1', runId: 'r1' }), step: 10, valAccuracy: 0.5, best: true }, floats(100, 1));
	await saveCheckpoint({ ...draft({ id: 'c2', runId: 'r1' }), step: 20, valAccuracy: 0.8, best: true }, floats(100, 2));
	await saveCheckpoint({ ...draft({ id: 'c3', runId: 'r1' }), step: 30, valAccuracy: 0.7 }, floats(100, 3));
	await appendMetrics([1, 2, 3, 4].map((step) => point({ runId: 'r1', step, trainLoss: 1 / step })));
	await putModelFile({ repo: 'hf/tiny', revision: 'a'.repeat(40) }, 'model.safetensors', new Uint8Array(5000), 2048);
	await putModelFile({ repo: 'hf/tiny', revision: 'a'.repeat(40) }, 'config.json', new Uint8Array(300));
}

describe('recordBytes', () => {
	it('counts typed arrays and buffers by their bytes, strings by their characters, numbers as 8', () => {
		expect(recordBytes(new Float32Array(10))).toBe(40);
		expect(recordBytes(new ArrayBuffer(7))).toBe(7);
		expect(recordBytes('abc')).toBe(3);
		expect(recordBytes('ab→')).toBe(6); // a character past Latin-1 makes the string two-byte
		expect(recordBytes(1.5)).toBe(8);
		expect(recordBytes({ a: 1, bb: 'xy', c: [1, 2] })).toBe(1 + 8 + 2 + 2 + 1 + 16);
	});
});

describe('measureUsage', () => {
	it('is empty with nothing stored', async () => {
		const usage = await measureUsage();
		expect(usage.projects).toEqual([]);
		expect(usage.models).toEqual([]);
		expect(usage.totals).toEqual({ datasets: 0, tokenized: 0, checkpoints: 0, metrics: 0, models: 0, all: 0 });
	});

	it('lists per project its versions with their caches and its runs with their checkpoints, best and latest marked', async () => {
		await seed();
		const usage = await measureUsage();
		expect(usage.projects).toHaveLength(1);
		const [p] = usage.projects;
		expect(p.name).toBe('Reviews');

		const [ds] = p.datasets;
		expect(ds.rowCount).toBe(10);
		expect(ds.rowBytes).toBeGreaterThan(10 * 'row 0'.length);
		expect(ds.tokenized.map((c) => [c.key, c.usedBy, c.rows])).toEqual([
			['ds1:tokA', ['first'], 2],
			['ds1:tokB', [], 2]
		]);
		// ids (3 or 100 int32) + offsets (3) + labels (2) int32 + splits (2) bytes, plus the record's fields.
		const [a, b] = ds.tokenized;
		expect(b.bytes - a.bytes).toBe(97 * 4);
		expect(a.bytes).toBeGreaterThanOrEqual(3 * 4 + 3 * 4 + 2 * 4 + 2);
		expect(ds.tokenizerBytes).toBeGreaterThan('{"model":{}}'.length);

		const [r] = p.runs;
		expect(r.checkpoints.map((c) => [c.id, c.step, c.best, c.latest])).toEqual([
			['c1', 10, false, false],
			['c2', 20, true, false],
			['c3', 30, false, true]
		]);
		// Each checkpoint holds 100 floats plus its manifest.
		for (const c of r.checkpoints) expect(c.bytes).toBeGreaterThan(400);
		expect(r.checkpoints[0].bytes).toBe(r.checkpoints[2].bytes - recordBytes(0.7) + recordBytes(0.5) + recordBytes(true) + 'best'.length);
		expect(r.checkpointBytes).toBe(r.checkpoints.reduce((s, c) => s + c.bytes, 0));
		expect(r.metricPoints).toBe(4);
		expect(r.bytes).toBeGreaterThan(r.checkpointBytes + r.metricBytes);

		expect(usage.models).toEqual([expect.objectContaining({ repo: 'hf/tiny', bytes: 5300, files: expect.arrayContaining(['model.safetensors', 'config.json']) })]);
		expect(usage.totals.models).toBe(5300);
		expect(usage.totals.checkpoints).toBe(r.checkpointBytes);
		expect(usage.totals.tokenized).toBe(a.bytes + b.bytes);
		expect(usage.totals.all).toBe(p.bytes + 5300);
	});

	it('each deletion lowers the numbers by what it removed', async () => {
		await seed();
		const before = await measureUsage();
		await deleteCachedModel({ repo: 'hf/tiny', revision: 'a'.repeat(40) });
		const noModel = await measureUsage();
		expect(noModel.models).toEqual([]);
		expect(noModel.totals.all).toBe(before.totals.all - 5300);

		await deleteRun('r1');
		const noRun = await measureUsage();
		expect(noRun.projects[0].runs).toEqual([]);
		expect(noRun.totals.checkpoints).toBe(0);
		expect(noRun.totals.metrics).toBe(0);
		expect(noRun.totals.all).toBe(noModel.totals.all - before.projects[0].runs[0].bytes);
		// Its cache is no run's now.
		expect(noRun.projects[0].datasets[0].tokenized.every((c) => c.usedBy.length === 0)).toBe(true);
	});
});

describe('deleteCheckpointOfRun', () => {
	it('deleting the best points the run at the best-scoring one left; the others load as before', async () => {
		await seed();
		await deleteCheckpointOfRun('c2');
		expect((await listCheckpoints('r1')).map((c) => c.id)).toEqual(['c1', 'c3']);
		const r = (await getRun('r1'))!;
		expect(r.bestCheckpointId).toBe('c1');
		expect(r.bestValAccuracy).toBe(0.5);
		expect(r.lastCheckpointId).toBe('c3');
		expect(r.step).toBe(30);
		expect([...(await loadCheckpoint('c3')).tensors.get('w')!.data.slice(0, 2)]).toEqual([3, 3]);
		const usage = await measureUsage();
		expect(usage.projects[0].runs[0].checkpoints.map((c) => [c.id, c.best, c.latest])).toEqual([
			['c1', true, false],
			['c3', false, true]
		]);
	});

	it('deleting the latest of a paused run makes it resume from the one before', async () => {
		await seed();
		await deleteCheckpointOfRun('c3');
		const r = (await getRun('r1'))!;
		expect(r.lastCheckpointId).toBe('c2');
		expect(r.step).toBe(20);
		expect(r.bestCheckpointId).toBe('c2');
		await deleteCheckpointOfRun('c2');
		await deleteCheckpointOfRun('c1');
		const bare = (await getRun('r1'))!;
		expect([bare.lastCheckpointId, bare.bestCheckpointId, bare.step]).toEqual([undefined, undefined, 0]);
		expect((await measureUsage()).totals.checkpoints).toBe(0);
	});

	it('does nothing for a checkpoint that is not stored', async () => {
		await seed();
		await deleteCheckpointOfRun('nope');
		expect((await listCheckpoints('r1')).length).toBe(3);
	});
});

describe('clearUnusedTokenized', () => {
	it('deletes the caches no run reads and keeps a run’s own', async () => {
		await seed();
		const out = await clearUnusedTokenized();
		expect(out.deleted).toBe(1);
		expect(out.kept).toBe(1);
		expect(out.bytes).toBeGreaterThan(400);
		expect(await getTokenized('ds1:tokB')).toBeUndefined();
		expect(await getTokenized('ds1:tokA')).toBeDefined();
		// A Hub run names its cache by its own key.
		await putTokenized({ ...tokenized('ds1', 'hub'), key: 'ds1:hub:instruction:64' });
		await putRun(run({ id: 'r2', projectId: 'p1', datasetVersionId: 'ds1', tokenizerHash: 'hub', tokenizedKey: 'ds1:hub:instruction:64' }));
		expect(await clearUnusedTokenized()).toEqual({ deleted: 0, bytes: 0, kept: 2 });
		await deleteRun('r1');
		expect((await clearUnusedTokenized()).deleted).toBe(1);
		expect(await getTokenized('ds1:tokA')).toBeUndefined();
		expect(await getTokenized('ds1:hub:instruction:64')).toBeDefined();
	});
});
