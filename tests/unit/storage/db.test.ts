import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { DB_VERSION, newId, openDb, useDatabase } from '../../../src/lib/storage';
import { freshDatabase } from './fixtures';

let name: string;
beforeEach(() => {
	name = freshDatabase();
	useDatabase(name);
});

describe('openDb', () => {
	it('creates every store and index, and reuses one connection', async () => {
		const db = await openDb();
		expect([...db.objectStoreNames].sort()).toEqual(
			['checkpointChunks', 'checkpoints', 'datasets', 'experiments', 'metrics', 'modelChunks', 'models', 'projects', 'rows', 'runs', 'tokenized', 'tokenizers']
		);
		const tx = db.transaction(['datasets', 'tokenizers', 'tokenized', 'runs', 'metrics', 'checkpoints']);
		expect([...tx.objectStore('datasets').indexNames]).toEqual(['byProject']);
		expect([...tx.objectStore('tokenizers').indexNames]).toEqual(['byVersion']);
		expect([...tx.objectStore('tokenized').indexNames]).toEqual(['byVersion']);
		expect([...tx.objectStore('runs').indexNames]).toEqual(['byProject']);
		expect([...tx.objectStore('metrics').indexNames]).toEqual(['byRun']);
		expect([...tx.objectStore('checkpoints').indexNames]).toEqual(['byRun']);
		expect(await openDb()).toBe(db);
	});

	it('steps aside when another tab upgrades, and reconnects afterwards', async () => {
		const first = await openDb();
		// Would stay blocked forever if our connection ignored `versionchange`.
		const newer = await openDB(name, DB_VERSION + 1);
		newer.close();
		// Our cached connection was dropped: the next call reconnects, and fails because this
		// code is now the older version.
		await expect(openDb()).rejects.toThrow();
		expect(() => first.transaction('projects')).toThrow();
	});

	it('opens a fresh database after useDatabase', async () => {
		const first = await openDb();
		useDatabase(freshDatabase());
		expect(await openDb()).not.toBe(first);
	});
});

describe('newId', () => {
	it('prefixes, is unique, and sorts by creation', () => {
		const ids = Array.from({ length: 2000 }, () => newId('run_'));
		expect(new Set(ids).size).toBe(ids.length);
		expect([...ids].sort()).toEqual(ids);
		expect(ids[0]).toMatch(/^run_[0-9a-z]{21}$/);
		expect(newId('ckpt')).toMatch(/^ckpt_[0-9a-z]{21}$/);
	});
});
