/**
 * Issue 14, storage: a full quota during a dataset import or a checkpoint write gives the named
 * error with the space the write needed and where to free it (the Storage screen), and leaves the
 * earlier records, and the usage measured from them, as they were.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listCheckpoints, listDatasetVersions, loadRows, putProject, saveCheckpoint, saveDatasetVersion, useDatabase } from '../../../src/lib/storage';
import { measureUsage, recordBytes } from '../../../src/lib/storage/usage';
import { formatBytes } from '../../../src/lib/storage/quota';
import { draft, freshDatabase, project, rows, version } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));
const realPut = IDBObjectStore.prototype.put;
afterEach(() => {
	IDBObjectStore.prototype.put = realPut;
});

/** The disk fills: every put into `store` after the first `allowed` throws the browser's quota error. */
function fillAfter(store: string, allowed: number) {
	let puts = 0;
	IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
		if (this.name === store && ++puts > allowed) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
		return realPut.apply(this, args);
	};
}

describe('a full quota', () => {
	it('during an import: named, with the space needed and the Storage screen; nothing half-stored; the earlier version intact', async () => {
		await putProject(project());
		await saveDatasetVersion(version({ id: 'ds_old', name: 'old.csv' }), rows(30), 10);
		const before = await measureUsage();
		fillAfter('rows', 1);
		const big = rows(2500);
		const next = version({ id: 'ds_new', name: 'new.csv', createdAt: 2 });
		const err = await saveDatasetVersion(next, big, 1000).catch((e) => e);
		IDBObjectStore.prototype.put = realPut;
		expect(err.code).toBe('quota-exceeded');
		const need = formatBytes(recordBytes({ ...next, chunkCount: 3 }) + recordBytes(big));
		expect(err.message).toBe(
			`Browser storage is full, so the dataset “\u2068new.csv\u2069” (${need} needed) was not saved. Delete old runs or projects, checkpoints, cached models or tokenized caches on the Storage screen, then import the file again; everything saved before is intact.`
		);
		expect((await listDatasetVersions('proj_a')).map((v) => v.id)).toEqual(['ds_old']);
		expect(await loadRows('ds_old')).toEqual(rows(30));
		expect(await measureUsage()).toEqual(before);
	});

	it('during a checkpoint write: says to resume after freeing space; the earlier checkpoint stays the latest', async () => {
		const tensors = (v: number) => [{ name: 'w', shape: [256], data: new Float32Array(256).fill(v) }];
		await saveCheckpoint({ ...draft({ id: 'c1', runId: 'run_a' }), step: 4 }, tensors(1), 256);
		fillAfter('checkpointChunks', 1);
		const err = await saveCheckpoint({ ...draft({ id: 'c2', runId: 'run_a' }), step: 8 }, tensors(2), 256).catch((e) => e);
		IDBObjectStore.prototype.put = realPut;
		expect(err.code).toBe('quota-exceeded');
		expect(err.message).toBe(
			'Browser storage is full, so the checkpoint at step 8 (1.0 kB needed) was not saved. Delete old runs or projects, checkpoints, cached models or tokenized caches on the Storage screen, then resume the run: it continues from its last saved checkpoint; everything saved before is intact.'
		);
		expect((await listCheckpoints('run_a')).map((c) => c.step)).toEqual([4]);
	});
});
