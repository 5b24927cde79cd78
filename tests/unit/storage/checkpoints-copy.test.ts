/**
 * Copying a checkpoint to another run (a branch's first checkpoint) and a run's metric points up
 * to a step: bit-exact, new ids, the source untouched, and nothing left behind when it fails.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	appendMetrics,
	copyCheckpoint,
	copyMetrics,
	getMetrics,
	listCheckpoints,
	loadCheckpoint,
	openDb,
	saveCheckpoint,
	sweepOrphanChunks,
	useDatabase
} from '../../../src/lib/storage';
import { draft, freshDatabase, point } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));
afterEach(() => vi.restoreAllMocks());

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function tensor(name: string, n: number, seed: number) {
	const data = Float32Array.from({ length: n }, (_, i) => Math.cos(seed + i * 0.37) * 3);
	data[1] = NaN;
	data[2] = -0;
	return { name, shape: [n], data };
}

describe('copyCheckpoint', () => {
	it('copies manifest and chunks to another run under a new id, bit-exact; the source stays', async () => {
		const tensors = [tensor('a', 37, 1), tensor('optimizer.m.a', 37, 2)];
		const source = await saveCheckpoint(draft({ valAccuracy: 0.5, best: true }), tensors, 40);
		const copy = await copyCheckpoint(source.id, 'run_b');

		expect(copy.id).not.toBe(source.id);
		expect(copy.runId).toBe('run_b');
		const { id: _a, runId: _b, createdAt: _c, ...same } = copy;
		const { id: _d, runId: _e, createdAt: _f, ...orig } = source;
		expect(same).toEqual(orig);
		expect((await listCheckpoints('run_b')).map((c) => c.id)).toEqual([copy.id]);
		expect((await listCheckpoints('run_a')).map((c) => c.id)).toEqual([source.id]);

		const loaded = await loadCheckpoint(copy.id);
		expect(loaded.manifest).toEqual(copy);
		for (const t of tensors) expect(bits(loaded.tensors.get(t.name)!.data)).toEqual(bits(t.data));
		expect(bits((await loadCheckpoint(source.id)).tensors.get('a')!.data)).toEqual(bits(tensors[0].data));
		expect(await sweepOrphanChunks()).toBe(0);
	});

	it('a missing source is a not-found UserError', async () => {
		await expect(copyCheckpoint('nope', 'run_b')).rejects.toMatchObject({ code: 'not-found' });
	});

	it('a copy that fails partway leaves no manifest and no chunks, and the source intact', async () => {
		const source = await saveCheckpoint(draft(), [tensor('a', 100, 3)], 64);
		const put = IDBObjectStore.prototype.put;
		let calls = 0;
		vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
			if (++calls === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return put.apply(this, args);
		});
		await expect(copyCheckpoint(source.id, 'run_b')).rejects.toMatchObject({ code: 'quota-exceeded' });
		vi.restoreAllMocks();
		expect(await listCheckpoints('run_b')).toEqual([]);
		expect(await (await openDb()).count('checkpointChunks')).toBe(source.chunkCount);
		expect(bits((await loadCheckpoint(source.id)).tensors.get('a')!.data)).toEqual(bits(tensor('a', 100, 3).data));
	});
});

describe('copyMetrics', () => {
	it('copies the points up to and including a step to another run', async () => {
		await appendMetrics([10, 20, 30, 40].map((step) => point({ step, trainLoss: step / 10 })));
		await appendMetrics([point({ runId: 'run_x', step: 5 })]);
		expect(await copyMetrics('run_a', 'run_b', 30)).toBe(3);
		expect((await getMetrics('run_b')).map((p) => [p.runId, p.step, p.trainLoss])).toEqual([
			['run_b', 10, 1],
			['run_b', 20, 2],
			['run_b', 30, 3]
		]);
		expect(await getMetrics('run_a')).toHaveLength(4);
	});
});
