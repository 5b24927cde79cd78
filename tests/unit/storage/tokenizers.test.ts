import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { defaultTokenizerConfig } from '../../../src/lib/shared/config';
import { getTokenized, getTokenizer, putTokenized, putTokenizer, tokenizedKey, useDatabase } from '../../../src/lib/storage';
import { freshDatabase, tokenized } from './fixtures';

beforeEach(() => useDatabase(freshDatabase()));

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
