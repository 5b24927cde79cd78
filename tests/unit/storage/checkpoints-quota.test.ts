/**
 * Issue 14, storage: the quota fills during a checkpoint write. The save fails with a named error
 * that says how much space it needed and what to delete; the earlier checkpoint is intact and still
 * the latest; no chunk of the failed one is left.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestCheckpoint, listCheckpoints, loadCheckpoint, openDb, saveCheckpoint, useDatabase } from '../../../src/lib/storage';
import { draft } from './fixtures';

beforeEach(() => useDatabase('quota-' + Math.random()));
const realPut = IDBObjectStore.prototype.put;
afterEach(() => {
	IDBObjectStore.prototype.put = realPut;
});

const tensors = (v: number) => [
	{ name: 'w', shape: [64], data: Float32Array.from({ length: 64 }, (_, i) => v + i) },
	{ name: 'b', shape: [8], data: Float32Array.from({ length: 8 }, (_, i) => v - i) }
];

describe('a full quota during a checkpoint write', () => {
	it('names the error with the space needed, keeps the earlier checkpoint, leaves no chunk', async () => {
		await saveCheckpoint({ ...draft({ id: 'ckpt_1', runId: 'run_a' }), step: 10 }, tensors(1), 64);
		// The disk fills after two more chunks of the next save.
		let puts = 0;
		IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
			if (this.name === 'checkpointChunks' && ++puts > 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return realPut.apply(this, args);
		};
		const err = await saveCheckpoint({ ...draft({ id: 'ckpt_2', runId: 'run_a' }), step: 20 }, tensors(2), 64).catch((e) => e);
		IDBObjectStore.prototype.put = realPut;
		expect(err.code).toBe('quota-exceeded');
		expect(err.message).toMatch(/Browser storage is full, so the checkpoint at step 20 \(288 B needed\) was not saved\. Delete old runs or projects/);
		expect(err.message).toMatch(/everything saved before is intact/);
		expect((await listCheckpoints('run_a')).map((c) => c.id)).toEqual(['ckpt_1']);
		expect((await latestCheckpoint('run_a'))!.id).toBe('ckpt_1');
		const { tensors: back } = await loadCheckpoint('ckpt_1');
		expect([...back.get('w')!.data]).toEqual([...tensors(1)[0].data]);
		expect([...back.get('b')!.data]).toEqual([...tensors(1)[1].data]);
		const db = await openDb();
		expect(await db.count('checkpointChunks', IDBKeyRange.bound(['ckpt_2', -Infinity], ['ckpt_2', Infinity]))).toBe(0);
	});
});
