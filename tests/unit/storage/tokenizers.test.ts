import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultTokenizerConfig } from '../../../src/lib/shared/config';
import { DB_VERSION, findTrainedTokenizer, getTokenized, getTokenizer, openDb, putTokenized, putTokenizer, tokenizedKey, useDatabase } from '../../../src/lib/storage';
import { freshDatabase, tokenized } from './fixtures';

let name: string;
beforeEach(() => useDatabase((name = freshDatabase())));

describe('tokenizers and tokenized caches', () => {
	it('round-trip, typed arrays included', async () => {
		const record = { hash: 'h1', datasetVersionId: 'ds_a', config: defaultTokenizerConfig, json: '{"model":{}}', createdAt: 1 };
		await putTokenizer(record);
		expect(await getTokenizer('h1')).toEqual(record);
		expect(await getTokenizer('h2')).toBeUndefined();

		const key = tokenizedKey('ds_a', 'h1');
		expect(key).toBe('ds_a:h1');
		const cache = tokenized('ds_a', 'h1');
		await putTokenized(cache);
		const back = await getTokenized(key);
		expect(back).toEqual(cache);
		expect(back?.ids).toBeInstanceOf(Int32Array);
		expect(back?.splits).toBeInstanceOf(Uint8Array);
	});
});

describe('findTrainedTokenizer', () => {
	const bpe = (vocabSize: number, lowercase = true) => ({ kind: 'bpe-bytelevel' as const, vocabSize, lowercase });

	it('finds the tokenizer trained on the same version with the same settings, whatever their key order', async () => {
		await putTokenizer({ hash: 'h512', datasetVersionId: 'ds_a', config: bpe(512), json: '{}', createdAt: 1 });
		await putTokenizer({ hash: 'h1024', datasetVersionId: 'ds_a', config: bpe(1024), json: '{}', createdAt: 2 });
		await putTokenizer({ hash: 'hb', datasetVersionId: 'ds_b', config: bpe(512), json: '{}', createdAt: 3 });
		expect((await findTrainedTokenizer('ds_a', bpe(512)))?.hash).toBe('h512');
		expect((await findTrainedTokenizer('ds_a', { lowercase: true, vocabSize: 1024, kind: 'bpe-bytelevel' }))?.hash).toBe('h1024');
		expect((await findTrainedTokenizer('ds_b', bpe(512)))?.hash).toBe('hb');
	});

	it('misses on other settings or another dataset version, and ignores Hub tokenizers', async () => {
		await putTokenizer({ hash: 'h512', datasetVersionId: 'ds_a', config: bpe(512), json: '{}', createdAt: 1 });
		await putTokenizer({ hash: 'hub', datasetVersionId: 'ds_a', config: { kind: 'hub', repo: 'a/b', revision: 'c' }, json: '{}', createdAt: 2 });
		expect(await findTrainedTokenizer('ds_a', bpe(512, false))).toBeUndefined();
		expect(await findTrainedTokenizer('ds_a', bpe(256))).toBeUndefined();
		expect(await findTrainedTokenizer('ds_c', bpe(512))).toBeUndefined();
	});

	it('works on a database upgraded from version 2, which had no index on tokenizers', async () => {
		const v2 = await openDB(name, 2, {
			upgrade: (db) => {
				db.createObjectStore('tokenizers', { keyPath: 'hash' });
				for (const s of ['projects', 'datasets', 'runs', 'checkpoints']) db.createObjectStore(s, { keyPath: 'id' });
				db.createObjectStore('tokenized', { keyPath: 'key' }).createIndex('byVersion', 'datasetVersionId');
				db.createObjectStore('rows', { keyPath: ['versionId', 'index'] });
				db.createObjectStore('metrics', { keyPath: ['runId', 'step'] });
				db.createObjectStore('checkpointChunks', { keyPath: ['checkpointId', 'index'] });
				db.createObjectStore('models', { keyPath: 'key' });
				db.createObjectStore('modelChunks', { keyPath: ['key', 'index'] });
			}
		});
		await v2.put('tokenizers', { hash: 'old', datasetVersionId: 'ds_a', config: bpe(512), json: '{}', createdAt: 1 });
		v2.close();
		expect((await openDb()).version).toBe(DB_VERSION);
		expect((await findTrainedTokenizer('ds_a', bpe(512)))?.hash).toBe('old');
	});
});
