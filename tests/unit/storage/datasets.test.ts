import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../../src/lib/shared/errors';
import type { StoredRow } from '../../../src/lib/shared/types';
import {
	deleteDatasetVersion,
	getDatasetVersion,
	getTokenized,
	listDatasetVersions,
	loadRows,
	openDb,
	putProject,
	putRun,
	putTokenized,
	runsUsingVersion,
	saveDatasetVersion,
	useDatabase
} from '../../../src/lib/storage';
import { freshDatabase, project, rows, run, tokenized, version } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));
afterEach(() => vi.restoreAllMocks());

async function storedCounts() {
	const db = await openDb();
	return { versions: await db.count('datasets'), chunks: await db.count('rows') };
}

describe('dataset versions', () => {
	it('round-trips rows in order across chunks', async () => {
		const data = rows(2500);
		const saved = await saveDatasetVersion(version({ rowCount: 2500 }), data, 1000);
		expect(saved.chunkCount).toBe(3);
		expect(await getDatasetVersion('ds_a')).toEqual(saved);
		expect(await storedCounts()).toEqual({ versions: 1, chunks: 3 });
		expect(await loadRows('ds_a')).toEqual(data);
	});

	it('stores a version with no rows', async () => {
		const saved = await saveDatasetVersion(version(), []);
		expect(saved.chunkCount).toBe(0);
		expect(await loadRows('ds_a')).toEqual([]);
	});

	it('orders chunks numerically, not as strings (chunk 10 after chunk 9)', async () => {
		const data = rows(12);
		await saveDatasetVersion(version(), data, 1);
		expect(await loadRows('ds_a')).toEqual(data);
	});

	it('lists a project’s versions newest first', async () => {
		await saveDatasetVersion(version({ id: 'v1', createdAt: 1 }), rows(1));
		await saveDatasetVersion(version({ id: 'v3', createdAt: 3 }), rows(1));
		await saveDatasetVersion(version({ id: 'v2', createdAt: 2 }), rows(1));
		await saveDatasetVersion(version({ id: 'other', projectId: 'proj_b' }), rows(1));
		expect((await listDatasetVersions('proj_a')).map((v) => v.id)).toEqual(['v3', 'v2', 'v1']);
	});

	it('a save that fails partway stores nothing', async () => {
		const data: StoredRow[] = rows(2500);
		// Functions cannot be cloned into IndexedDB: the third chunk's put throws.
		data[2400] = { ...data[2400], meta: { bad: (() => 0) as unknown as string } };
		await expect(saveDatasetVersion(version(), data, 1000)).rejects.toThrow();
		expect(await getDatasetVersion('ds_a')).toBeUndefined();
		expect(await storedCounts()).toEqual({ versions: 0, chunks: 0 });
	});

	it('a full disk gives a quota-exceeded UserError and stores nothing', async () => {
		const put = IDBObjectStore.prototype.put;
		let calls = 0;
		vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
			if (++calls === 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return put.apply(this, args);
		});
		const error = await saveDatasetVersion(version(), rows(2500), 1000).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(UserError);
		expect((error as UserError).code).toBe('quota-exceeded');
		expect(await storedCounts()).toEqual({ versions: 0, chunks: 0 });
	});

	it('re-saving a version under the same id leaves no stale chunks', async () => {
		await saveDatasetVersion(version(), rows(30), 10);
		await saveDatasetVersion(version(), rows(5), 10);
		expect(await loadRows('ds_a')).toEqual(rows(5));
		expect((await storedCounts()).chunks).toBe(1);
	});

	it('loading rows of a missing version is a not-found UserError', async () => {
		await expect(loadRows('nope')).rejects.toMatchObject({ name: 'UserError', code: 'not-found' });
	});

	it('loading rows with a chunk gone says the version is damaged', async () => {
		await saveDatasetVersion(version(), rows(30), 10);
		await (await openDb()).delete('rows', ['ds_a', 1]);
		await expect(loadRows('ds_a')).rejects.toThrow(/damaged/);
	});

	it('deleting a version removes its chunks and tokenized caches only', async () => {
		await saveDatasetVersion(version({ id: 'v1' }), rows(30), 10);
		await saveDatasetVersion(version({ id: 'v2' }), rows(30), 10);
		await putTokenized(tokenized('v1', 'tok'));
		await putTokenized(tokenized('v2', 'tok'));
		await deleteDatasetVersion('v1');
		expect(await getDatasetVersion('v1')).toBeUndefined();
		expect(await getTokenized('v1:tok')).toBeUndefined();
		expect(await storedCounts()).toEqual({ versions: 1, chunks: 3 });
		expect(await loadRows('v2')).toEqual(rows(30));
		expect(await getTokenized('v2:tok')).toBeDefined();
	});

	it('refuses to delete the version the project uses, or one a run was trained on, and keeps it whole', async () => {
		await putProject(project({ datasetVersionId: 'v1' }));
		await saveDatasetVersion(version({ id: 'v1', name: 'tickets.csv' }), rows(30), 10);
		await saveDatasetVersion(version({ id: 'v2', name: 'tickets.csv · split seed 7' }), rows(30), 10);
		await putTokenized(tokenized('v2', 'tok'));
		await putRun(run({ id: 'r1', name: 'run 1', datasetVersionId: 'v2', createdAt: 1 }));
		await putRun(run({ id: 'r2', name: 'run 2', datasetVersionId: 'v2', createdAt: 2 }));
		await putRun(run({ id: 'r3', name: 'other project', projectId: 'proj_b', datasetVersionId: 'v1' }));

		await expect(deleteDatasetVersion('v1')).rejects.toThrow('"tickets.csv" is the version this project uses for new runs, so it was not deleted. Switch to another version first.');
		const used = deleteDatasetVersion('v2');
		await expect(used).rejects.toBeInstanceOf(UserError);
		await expect(deleteDatasetVersion('v2')).rejects.toThrow(
			'"tickets.csv · split seed 7" was not deleted: 2 runs "run 1", "run 2" were trained on it, and evaluating or resuming them needs its rows. Delete those runs first.'
		);
		expect(await runsUsingVersion({ id: 'v2', projectId: 'proj_a' })).toEqual(['run 1', 'run 2']);
		expect(await loadRows('v2')).toEqual(rows(30));
		expect(await getTokenized('v2:tok')).toBeDefined();
		expect(await storedCounts()).toEqual({ versions: 2, chunks: 6 });

		// Once the project uses another version and no run needs it, it goes.
		await putProject(project({ datasetVersionId: 'v2' }));
		await deleteDatasetVersion('v1');
		expect(await getDatasetVersion('v1')).toBeUndefined();
		expect(await storedCounts()).toEqual({ versions: 1, chunks: 3 });
		await deleteDatasetVersion('v1'); // already gone: nothing to do
	});
});
