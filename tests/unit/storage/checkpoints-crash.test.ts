/**
 * The worker dies in the middle of a checkpoint save, after the chunks and before the manifest:
 * its connection goes away and its clean-up never runs. A fresh worker (a fresh copy of the
 * storage module, on the same database) must find the previous checkpoint intact and latest, and
 * its start-up sweep must remove the half-written chunks.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as storage from '../../../src/lib/storage';
import type { TensorData } from '../../../src/lib/storage';
import { draft, freshDatabase } from './fixtures';

let name: string;
beforeEach(() => storage.useDatabase((name = freshDatabase())));
afterEach(() => {
	storage.checkpointHooks.beforeManifest = undefined;
	vi.resetModules();
});

function weights(seed: number): TensorData[] {
	const make = (n: string, shape: number[], s: number) => {
		const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
		for (let i = 0; i < data.length; i++) data[i] = Math.sin(s * 1000 + i) * 10 ** ((i % 5) - 2);
		data[0] = -0;
		return { name: n, shape, data };
	};
	return [make('transformer.wte.weight', [9, 4], seed), make('score.weight', [3, 4], seed + 1), make('optimizer.m.score.weight', [3, 4], seed + 2)];
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

async function chunkCount(db: typeof storage, id: string): Promise<number> {
	return (await db.openDb()).count('checkpointChunks', IDBKeyRange.bound([id, -Infinity], [id, Infinity]));
}

/** A new worker: the module state (open connection, saves in progress) of the dead one is gone. */
async function freshWorker(): Promise<typeof storage> {
	vi.resetModules();
	const fresh = await import('../../../src/lib/storage');
	fresh.useDatabase(name);
	return fresh;
}

describe('a worker killed while saving a checkpoint', () => {
	it('leaves the previous checkpoint intact and latest, and orphan chunks that the sweep removes', async () => {
		const before = weights(1);
		await storage.saveCheckpoint(draft({ id: 'ckpt_10', step: 10 }), before, 32);

		// Die after the chunks are written: the connection is gone, so neither the manifest nor the
		// save's own clean-up reaches the database.
		let chunksWritten = -1;
		storage.checkpointHooks.beforeManifest = async (manifest) => {
			chunksWritten = await chunkCount(storage, manifest.id);
			(await storage.openDb()).close();
		};
		await expect(storage.saveCheckpoint(draft({ id: 'ckpt_20', step: 20 }), weights(2), 32)).rejects.toThrow();
		expect(chunksWritten).toBeGreaterThan(1);

		const next = await freshWorker();
		// The half-written checkpoint's chunks are there, but it does not exist.
		expect(await chunkCount(next, 'ckpt_20')).toBe(chunksWritten);
		expect((await next.listCheckpoints('run_a')).map((c) => c.id)).toEqual(['ckpt_10']);
		expect((await next.latestCheckpoint('run_a'))?.id).toBe('ckpt_10');
		await expect(next.loadCheckpoint('ckpt_20')).rejects.toMatchObject({ code: 'not-found' });

		const { manifest, tensors } = await next.loadCheckpoint('ckpt_10');
		expect(manifest.step).toBe(10);
		for (const t of before) expect(bits(tensors.get(t.name)!.data)).toEqual(bits(t.data));

		expect(await next.sweepOrphanChunks()).toBe(chunksWritten);
		expect(await chunkCount(next, 'ckpt_20')).toBe(0);
		expect(await chunkCount(next, 'ckpt_10')).toBe(manifest.chunkCount);
		expect(await next.sweepOrphanChunks()).toBe(0);
		const again = await next.loadCheckpoint('ckpt_10');
		for (const t of before) expect(bits(again.tensors.get(t.name)!.data)).toEqual(bits(t.data));

		// The next save under a new id goes through as usual.
		await next.saveCheckpoint(draft({ id: 'ckpt_21', step: 20 }), weights(3), 32);
		expect((await next.latestCheckpoint('run_a'))?.id).toBe('ckpt_21');
	});

	it('a worker killed after the manifest committed has saved the checkpoint', async () => {
		await storage.saveCheckpoint(draft({ id: 'ckpt_10', step: 10 }), weights(1), 32);
		const saved = await storage.saveCheckpoint(draft({ id: 'ckpt_20', step: 20 }), weights(2), 32);
		(await storage.openDb()).close();

		const next = await freshWorker();
		expect((await next.latestCheckpoint('run_a'))?.id).toBe('ckpt_20');
		expect(await next.sweepOrphanChunks()).toBe(0);
		expect(await chunkCount(next, 'ckpt_20')).toBe(saved.chunkCount);
	});
});
