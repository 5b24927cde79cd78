import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	DB_VERSION,
	deleteCachedModel,
	getModelFile,
	hasModelFile,
	listCachedModels,
	modelFileKey,
	openDb,
	putModelFile,
	sweepOrphanModelChunks,
	useDatabase
} from '../../../src/lib/storage';
import { freshDatabase } from './fixtures';

let name: string;
beforeEach(() => {
	name = freshDatabase();
	useDatabase(name);
});
afterEach(() => vi.restoreAllMocks());

const A = { repo: 'owner/model-a', revision: 'a'.repeat(40) };
const B = { repo: 'owner/model-a', revision: 'b'.repeat(40) };

function bytes(n: number, seed: number): Uint8Array {
	const out = new Uint8Array(n);
	let s = seed;
	for (let i = 0; i < n; i++) {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		out[i] = s >>> 24;
	}
	return out;
}

async function chunkCount(): Promise<number> {
	return (await openDb()).count('modelChunks');
}

describe('model cache', () => {
	it('round-trips a file larger than one chunk bit-exact', async () => {
		const data = bytes(4567, 1);
		await putModelFile(A, 'model.safetensors', data, 1000);
		expect(await chunkCount()).toBe(5);
		expect(await hasModelFile(A, 'model.safetensors')).toBe(true);
		expect(await hasModelFile(B, 'model.safetensors')).toBe(false);
		const back = await getModelFile(A, 'model.safetensors');
		expect(new Uint8Array(back!)).toEqual(data);
		expect(await getModelFile(A, 'config.json')).toBeUndefined();
	});

	it('stores an empty file, and a replaced file reads back as the new bytes', async () => {
		await putModelFile(A, 'empty.txt', new Uint8Array(0), 16);
		expect((await getModelFile(A, 'empty.txt'))!.byteLength).toBe(0);
		await putModelFile(A, 'config.json', bytes(100, 2), 16);
		await putModelFile(A, 'config.json', bytes(20, 3), 16);
		expect(new Uint8Array((await getModelFile(A, 'config.json'))!)).toEqual(bytes(20, 3));
		expect(await chunkCount()).toBe(2);
	});

	it('lists cached models with their files and bytes', async () => {
		await putModelFile(A, 'config.json', bytes(10, 1));
		await putModelFile(A, 'model.safetensors', bytes(30, 2), 8);
		await putModelFile(B, 'config.json', bytes(5, 3));
		const list = await listCachedModels();
		expect(list).toHaveLength(2);
		const a = list.find((m) => m.revision === A.revision)!;
		expect(a).toMatchObject({ repo: A.repo, bytes: 40 });
		expect(a.files.sort()).toEqual(['config.json', 'model.safetensors']);
		expect(list.find((m) => m.revision === B.revision)).toMatchObject({ files: ['config.json'], bytes: 5 });
	});

	it('deleteCachedModel removes one revision, manifests and chunks, and nothing else', async () => {
		await putModelFile(A, 'config.json', bytes(10, 1), 4);
		await putModelFile(A, 'model.safetensors', bytes(30, 2), 4);
		await putModelFile(B, 'model.safetensors', bytes(12, 3), 4);
		await deleteCachedModel(A);
		expect(await hasModelFile(A, 'config.json')).toBe(false);
		expect(await hasModelFile(A, 'model.safetensors')).toBe(false);
		expect(await chunkCount()).toBe(3);
		expect(new Uint8Array((await getModelFile(B, 'model.safetensors'))!)).toEqual(bytes(12, 3));
	});

	it('sweeps chunks that have no manifest, and only those', async () => {
		await putModelFile(A, 'config.json', bytes(10, 1), 4);
		const orphan = modelFileKey(A, 'model.safetensors');
		const db = await openDb();
		for (let index = 0; index < 3; index++) await db.put('modelChunks', { key: orphan, index, data: new ArrayBuffer(4) });
		expect(await sweepOrphanModelChunks()).toBe(3);
		expect(await chunkCount()).toBe(3);
		expect(new Uint8Array((await getModelFile(A, 'config.json'))!)).toEqual(bytes(10, 1));
		expect(await sweepOrphanModelChunks()).toBe(0);
	});

	it('a full disk is a named error and leaves nothing behind', async () => {
		const put = IDBObjectStore.prototype.put;
		let calls = 0;
		vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
			if (++calls === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return put.apply(this, args);
		});
		const error = await putModelFile(A, 'model.safetensors', bytes(100, 1), 10).catch((e: unknown) => e);
		expect(error).toMatchObject({ name: 'UserError', code: 'quota-exceeded' });
		vi.restoreAllMocks();
		expect(await hasModelFile(A, 'model.safetensors')).toBe(false);
		expect(await chunkCount()).toBe(0);
	});

	it('a file with a missing chunk reads as damaged, not as short bytes', async () => {
		await putModelFile(A, 'model.safetensors', bytes(30, 1), 8);
		await (await openDb()).delete('modelChunks', [modelFileKey(A, 'model.safetensors'), 2]);
		await expect(getModelFile(A, 'model.safetensors')).rejects.toThrow(/damaged.*chunk 3 of 4 is missing/);
	});

	it('upgrades a version-1 database: its one-record-per-file models store becomes manifests and chunks', async () => {
		const v1 = await openDB(name, 1, { upgrade: (db) => void db.createObjectStore('models', { keyPath: 'url' }) });
		await v1.put('models', { url: 'https://huggingface.co/a/b/resolve/main/config.json', bytes: new ArrayBuffer(3) });
		v1.close();
		const db = await openDb();
		expect(db.version).toBe(DB_VERSION);
		expect(db.transaction('models').store.keyPath).toBe('key');
		expect(await db.count('models')).toBe(0);
		await putModelFile(A, 'config.json', bytes(10, 1), 4);
		expect(await chunkCount()).toBe(3);
	});
});
