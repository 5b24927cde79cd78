import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../../src/lib/shared/errors';
import {
	deleteCheckpoint,
	latestCheckpoint,
	listCheckpoints,
	loadCheckpoint,
	openDb,
	pruneCheckpoints,
	saveCheckpoint,
	sweepOrphanChunks,
	useDatabase,
	type TensorData
} from '../../../src/lib/storage';
import { draft, freshDatabase } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));
afterEach(() => vi.restoreAllMocks());

/** Random floats plus the values that break lossy paths: ±0, subnormal-ish, ±Infinity, NaN. */
function tensor(name: string, shape: number[], seed: number): TensorData {
	const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
	let s = seed;
	for (let i = 0; i < data.length; i++) {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		data[i] = (s / 2 ** 32 - 0.5) * 10 ** ((s % 7) - 3);
	}
	const special = [-0, 0, 1e-38, -1e-38, 1e-45, Infinity, -Infinity, NaN, 3.4028234e38];
	special.slice(0, data.length).forEach((v, i) => (data[i] = v));
	return { name, shape, data };
}

function bits(a: Float32Array): Uint32Array {
	return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

async function chunksOf(id: string) {
	return (await openDb()).getAll('checkpointChunks', IDBKeyRange.bound([id, -Infinity], [id, Infinity]));
}

async function save(id: string, step: number, runId = 'run_a') {
	return saveCheckpoint(draft({ id, step, runId }), [tensor('w', [3, 5], step)], 16);
}

describe('checkpoints', () => {
	it('round-trip bit-exact, tensors spanning chunk boundaries', async () => {
		const tensors = [
			tensor('transformer.wte.weight', [7, 5], 1),
			tensor('transformer.h.0.ln_1.bias', [5], 2),
			tensor('score.scalar', [], 3),
			tensor('transformer.h.0.attn.c_attn.weight', [5, 15], 4),
			tensor('empty', [0, 4], 5)
		];
		// A NaN with a payload, in a view that does not start at its buffer's start.
		const backing = new Float32Array(20);
		new Uint32Array(backing.buffer)[3] = 0x7fc00123;
		tensors.push({ name: 'view', shape: [4, 4], data: backing.subarray(2, 18) });

		const written: [number, number][] = [];
		const manifest = await saveCheckpoint(draft(), tensors, 64, (done, of) => void written.push([done, of]));
		const total = 35 + 5 + 1 + 75 + 0 + 16;
		// Progress after each write transaction, ending at every chunk written.
		expect(written.at(-1)).toEqual([manifest.chunkCount, manifest.chunkCount]);
		expect(manifest.bytes).toBe(total * 4);
		expect(manifest.chunkCount).toBe(Math.ceil(total / 16));
		expect(manifest.tensors.map((t) => [t.name, t.offset, t.length])).toEqual([
			['transformer.wte.weight', 0, 35],
			['transformer.h.0.ln_1.bias', 35, 5],
			['score.scalar', 40, 1],
			['transformer.h.0.attn.c_attn.weight', 41, 75],
			['empty', 116, 0],
			['view', 116, 16]
		]);

		const { manifest: back, tensors: loaded } = await loadCheckpoint('ckpt_a');
		expect(back).toEqual(manifest);
		expect([...loaded.keys()]).toEqual(tensors.map((t) => t.name));
		for (const t of tensors) {
			const got = loaded.get(t.name)!;
			expect(got.shape).toEqual(t.shape);
			expect(got.data).toBeInstanceOf(Float32Array);
			expect(bits(got.data)).toEqual(bits(t.data));
		}
		expect(Object.is(loaded.get('transformer.wte.weight')!.data[0], -0)).toBe(true);
	});

	it('stores plain ArrayBuffers of exactly each chunk’s length, copied from the caller', async () => {
		const t = tensor('w', [10, 10], 9);
		await saveCheckpoint(draft(), [t], 64);
		const chunks = await chunksOf('ckpt_a');
		expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
		for (const c of chunks) expect(c.data).toBeInstanceOf(ArrayBuffer);
		expect(chunks.map((c) => c.data.byteLength)).toEqual([64, 64, 64, 64, 64, 64, 16]);
		t.data.fill(0); // changing the caller's array afterwards changes nothing stored
		expect(bits((await loadCheckpoint('ckpt_a')).tensors.get('w')!.data)).toEqual(bits(tensor('w', [10, 10], 9).data));
	});

	it('checks shapes, names and chunk size', async () => {
		await expect(saveCheckpoint(draft(), [{ name: 'w', shape: [2, 2], data: new Float32Array(5) }])).rejects.toThrow(/shape/);
		const w = tensor('w', [2], 1);
		await expect(saveCheckpoint(draft(), [w, w])).rejects.toThrow(/twice/);
		await expect(saveCheckpoint(draft(), [w], 2)).rejects.toThrow(RangeError);
		expect(await listCheckpoints('run_a')).toEqual([]);
	});

	it('refuses to overwrite an existing checkpoint and leaves it intact', async () => {
		await save('c1', 10);
		await expect(save('c1', 20)).rejects.toThrow(/already exists/);
		expect((await loadCheckpoint('c1')).manifest.step).toBe(10);
	});

	it('loading a missing checkpoint is a not-found UserError', async () => {
		const error = await loadCheckpoint('nope').catch((e: unknown) => e);
		expect(error).toBeInstanceOf(UserError);
		expect((error as UserError).code).toBe('not-found');
	});

	it('loading with a chunk missing or cut short says the checkpoint is damaged', async () => {
		await save('c1', 10);
		const db = await openDb();
		await db.delete('checkpointChunks', ['c1', 0]);
		await expect(loadCheckpoint('c1')).rejects.toThrow(/damaged: chunk 1 of 4 is missing/);

		await save('c2', 20);
		await db.put('checkpointChunks', { checkpointId: 'c2', index: 3, data: new ArrayBuffer(0) });
		await expect(loadCheckpoint('c2')).rejects.toThrow(/damaged: its chunks hold 48 bytes, the manifest lists 60/);
	});

	it('lists by step, and latest is the highest step', async () => {
		await save('c30', 30);
		await save('c10', 10);
		await save('c20', 20);
		await save('other', 99, 'run_b');
		expect((await listCheckpoints('run_a')).map((c) => c.step)).toEqual([10, 20, 30]);
		expect((await latestCheckpoint('run_a'))?.id).toBe('c30');
		expect(await latestCheckpoint('run_none')).toBeUndefined();
	});

	it('chunks without a manifest are invisible and swept; complete checkpoints survive', async () => {
		await save('c1', 10);
		await save('c2', 20, 'run_b');
		// A save that died before its manifest: chunks only.
		const db = await openDb();
		for (let index = 0; index < 3; index++)
			await db.put('checkpointChunks', { checkpointId: 'crashed', index, data: new Float32Array(4).buffer });
		await db.put('checkpointChunks', { checkpointId: 'a-crashed-earlier', index: 0, data: new ArrayBuffer(8) });

		expect((await listCheckpoints('run_a')).map((c) => c.id)).toEqual(['c1']);
		expect((await latestCheckpoint('run_a'))?.id).toBe('c1');
		await expect(loadCheckpoint('crashed')).rejects.toMatchObject({ code: 'not-found' });

		expect(await sweepOrphanChunks()).toBe(4);
		expect(await chunksOf('crashed')).toEqual([]);
		expect(await chunksOf('a-crashed-earlier')).toEqual([]);
		expect(await db.count('checkpointChunks')).toBe(8);
		expect(bits((await loadCheckpoint('c1')).tensors.get('w')!.data)).toEqual(bits(tensor('w', [3, 5], 10).data));
		expect((await loadCheckpoint('c2')).manifest.step).toBe(20);
		expect(await sweepOrphanChunks()).toBe(0);
	});

	it('a save that fails partway leaves no manifest and no chunks', async () => {
		const put = IDBObjectStore.prototype.put;
		let calls = 0;
		vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
			if (++calls === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return put.apply(this, args);
		});
		const error = await saveCheckpoint(draft(), [tensor('w', [10, 10], 1)], 64).catch((e: unknown) => e);
		expect(error).toMatchObject({ name: 'UserError', code: 'quota-exceeded' });
		vi.restoreAllMocks();
		expect(await listCheckpoints('run_a')).toEqual([]);
		expect(await (await openDb()).count('checkpointChunks')).toBe(0);
	});

	it('deleteCheckpoint removes the manifest and its chunks', async () => {
		await save('c1', 10);
		await save('c2', 20);
		await deleteCheckpoint('c1');
		expect((await listCheckpoints('run_a')).map((c) => c.id)).toEqual(['c2']);
		expect(await chunksOf('c1')).toEqual([]);
		expect(await chunksOf('c2')).toHaveLength(4);
	});

	it('prune keeps the newest N and the protected ones', async () => {
		for (const step of [10, 20, 30, 40, 50, 60]) await save(`c${step}`, step);
		await save('other', 5, 'run_b');
		const deleted = await pruneCheckpoints('run_a', 2, ['c20']);
		expect(deleted).toEqual(['c10', 'c30', 'c40']);
		expect((await listCheckpoints('run_a')).map((c) => c.id)).toEqual(['c20', 'c50', 'c60']);
		expect(await listCheckpoints('run_b')).toHaveLength(1);
		expect(await chunksOf('c10')).toEqual([]);
		expect(await sweepOrphanChunks()).toBe(0);
		expect(await pruneCheckpoints('run_a', 10)).toEqual([]);
	});
});
