import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
	CONVERTED_REVISION,
	hubFileName,
	listHubDataset,
	ownSplitOf,
	previewHubSplit,
	readHubRows,
	rowsAsParquet,
	searchHubDatasets
} from '../../../src/lib/data/hub-dataset';
import { parseParquet } from '../../../src/lib/data/parquet';
import { importDataset } from '../../../src/lib/data/pipeline';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import { getDatasetVersion, listDatasetVersions, useDatabase } from '../../../src/lib/storage';
import { hubDatasetApi } from '../../../workers/hub-dataset-api';
import { HUB_DATASET_ROWS, HUB_DATASET_SHAS, HUB_TEST_TOKEN, HUB_UNACCEPTED_TOKEN, startHubServer, type HubServer } from '../../support/hub-server';

const LABELS = ['account', 'billing', 'bug', 'other'];
const TRAIN = new URL('../../fixtures/hub-datasets/tickets/default/train/0000.parquet', import.meta.url);
const TRAIN_BYTES = readFileSync(TRAIN).byteLength;

let hub: HubServer;
const settings = () => ({ endpoint: hub.url });

beforeAll(async () => {
	hub = await startHubServer();
});
afterAll(() => hub.close());
beforeEach(() => {
	hub.options.ignoreRange = false;
	hub.options.slowBytesPerSec = 0;
	hub.resetStats();
	useDatabase('hub-ds-' + Math.random());
});

async function rejection(p: Promise<unknown>): Promise<UserError> {
	try {
		await p;
	} catch (e) {
		return e as UserError;
	}
	throw new Error('expected a rejection');
}

/** The fixture read whole and locally, ClassLabel ints as names: what a Hub read must equal. */
async function localRows(): Promise<Record<string, string>[]> {
	const t = await parseParquet('train', new Uint8Array(readFileSync(TRAIN)));
	return t.records.map((r) => ({ ...r.values, label: LABELS[Number(r.values.label)] }));
}

describe('listing', () => {
	it('lists the Parquet conversion by config and split, pinned to its commit', async () => {
		const l = await listHubDataset(' whetstone-test/tickets ', settings());
		expect(l.origin).toBe('converted');
		expect(l.revision).toBe(CONVERTED_REVISION);
		expect(l.sha).toBe(HUB_DATASET_SHAS['whetstone-test/tickets'][CONVERTED_REVISION]);
		expect(l.splits.map((s) => `${s.config}/${s.split}`)).toEqual(['default/train', 'default/test', 'short/train', 'short/test']);
		expect(l.splits[0].files).toEqual([{ path: 'default/train/0000.parquet', bytes: TRAIN_BYTES }]);
	});

	it("falls back to the repo's own Parquet files on main when there is no conversion", async () => {
		const l = await listHubDataset('whetstone-test/own-parquet', settings());
		expect(l.origin).toBe('own');
		expect(l.sha).toBe(HUB_DATASET_SHAS['whetstone-test/own-parquet'].main);
		expect(l.splits.map((s) => `${s.config}/${s.split}:${s.files[0].path}`)).toEqual(['default/train:data/train-00000-of-00001.parquet', 'default/test:data/test-00000-of-00001.parquet']);
		const p = await previewHubSplit(l, 'default', 'test', settings());
		expect(p.totalRows).toBe(HUB_DATASET_ROWS.short.test);
	});

	it('groups own files by the patterns datasets uses', () => {
		expect(ownSplitOf('data/train-00000-of-00002.parquet')).toEqual({ config: 'default', split: 'train' });
		expect(ownSplitOf('validation.parquet')).toEqual({ config: 'default', split: 'validation' });
		expect(ownSplitOf('en/test/part-0.parquet')).toEqual({ config: 'en', split: 'test' });
		expect(ownSplitOf('dump.parquet')).toEqual({ config: 'default', split: 'train' });
	});

	it('searches ids by a part of them', async () => {
		expect(await searchHubDatasets('tickets', settings())).toEqual(['whetstone-test/tickets', 'whetstone-test/gated-tickets']);
		expect(await searchHubDatasets('t', settings())).toEqual([]);
	});
});

describe('preview and range reads', () => {
	it('previews columns, total rows and the first rows, ClassLabel ints as their names', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		const p = await previewHubSplit(l, 'default', 'train', settings());
		expect(p.columns).toEqual([
			{ name: 'text', type: 'string' },
			{ name: 'label', type: 'ClassLabel (4 names)' },
			{ name: 'source', type: 'string' },
			{ name: 'notes', type: 'string' }
		]);
		expect(p.totalRows).toBe(HUB_DATASET_ROWS.default.train);
		expect(p.rows).toEqual((await localRows()).slice(0, 20));
		expect(hub.stats().fullBodies).toEqual({});
	});

	it('reads only the chosen columns of the row groups the limit reaches: a fraction of the file', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		hub.resetStats();
		const seen: number[] = [];
		const r = await readHubRows(l, 'default', 'train', settings(), { columns: ['label', 'text'], limit: 150, onProgress: (p) => seen.push(p.rows) });
		expect(r.columns).toEqual(['text', 'label']);
		expect(r.rows).toEqual((await localRows()).slice(0, 150).map(({ text, label }) => ({ text, label })));
		// 150 rows are the first two row groups of 100; the long notes column is never fetched.
		expect(seen).toEqual([0, 100, 150]);
		expect(r.bytesFetched).toBeLessThan(TRAIN_BYTES / 8);
		const stats = hub.stats();
		expect(stats.fullBodies).toEqual({});
		expect(Object.keys(stats.requests)).toEqual([`/datasets/whetstone-test/tickets/resolve/${l.sha}/default/train/0000.parquet`]);
		expect(r.source).toEqual({
			dataset: 'whetstone-test/tickets',
			config: 'default',
			split: 'train',
			origin: 'converted',
			revision: CONVERTED_REVISION,
			sha: l.sha,
			files: ['default/train/0000.parquet'],
			columns: ['text', 'label'],
			rows: 150,
			limit: 150,
			totalRows: 400
		});
		expect(hubFileName(r.source)).toBe(`hf://datasets/whetstone-test/tickets@${l.sha.slice(0, 8)}/default/train`);
	});

	it('reads every row when the limit is above the split, and the same rows from a server that ignores Range', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		const ranged = await readHubRows(l, 'default', 'train', settings(), { limit: 10_000 });
		expect(ranged.rows).toEqual(await localRows());
		hub.options.ignoreRange = true;
		const whole = await readHubRows(l, 'default', 'train', settings(), { columns: ['text'], limit: 30 });
		expect(whole.rows).toEqual(ranged.rows.slice(0, 30).map(({ text }) => ({ text })));
	});

	it('refuses a column the split does not have, and a limit that is not a whole number', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		expect((await rejection(readHubRows(l, 'default', 'train', settings(), { columns: ['txt'] }))).message).toMatch(/no column "txt".*text, label, source, notes/);
		expect((await rejection(readHubRows(l, 'default', 'train', settings(), { limit: 0 }))).code).toBe('invalid-config');
		expect((await rejection(previewHubSplit(l, 'default', 'dev', settings()))).code).toBe('not-found');
	});
});

describe('errors', () => {
	it('a missing dataset and a malformed id are not-found', async () => {
		const missing = await rejection(listHubDataset('whetstone-test/nope', settings()));
		expect(missing.code).toBe('not-found');
		expect(missing.message).toMatch(/No dataset "whetstone-test\/nope"/);
		expect((await rejection(listHubDataset('not an id', settings()))).code).toBe('not-found');
	});

	it('a gated dataset says what to do: without a token (401), and with a token whose account has not accepted (403)', async () => {
		const none = await rejection(listHubDataset('whetstone-test/gated-tickets', settings()));
		expect(none.code).toBe('unauthorized');
		expect(none.message).toMatch(/gated.*accept its conditions.*access token/);
		const unaccepted = { endpoint: hub.url, token: HUB_UNACCEPTED_TOKEN };
		const l = await listHubDataset('whetstone-test/gated-tickets', unaccepted);
		const forbidden = await rejection(previewHubSplit(l, 'default', 'train', unaccepted));
		expect(forbidden.code).toBe('unauthorized');
		expect(forbidden.message).toMatch(/is gated: accept its conditions on .*\/datasets\/whetstone-test\/gated-tickets/);
		const ok = { endpoint: hub.url, token: HUB_TEST_TOKEN };
		expect((await previewHubSplit(await listHubDataset('whetstone-test/gated-tickets', ok), 'short', 'test', ok)).totalRows).toBe(40);
		const bad = await rejection(listHubDataset('whetstone-test/tickets', { endpoint: hub.url, token: 'hf_wrong' }));
		expect(bad.code).toBe('unauthorized');
		expect(bad.message).toMatch(/did not accept your access token/);
	});

	it('an unreachable Hub is a network error', async () => {
		const off = await rejection(listHubDataset('whetstone-test/tickets', { endpoint: 'http://127.0.0.1:9' }));
		expect(off.code).toBe('network');
		expect(off.message).toMatch(/Could not reach the Hub at http:\/\/127\.0\.0\.1:9/);
	});

	it('Cancel mid-read stops with a cancelled error', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		// Paced in 5 kB slices: the 100th row comes at about a third of the file, long before its end.
		hub.options.slowBytesPerSec = 100_000;
		const ctl = new AbortController();
		const read = readHubRows(l, 'default', 'train', settings(), { limit: 400, signal: ctl.signal, onProgress: (p) => p.rows >= 100 && ctl.abort() });
		const e = await rejection(read);
		expect(e.code).toBe('cancelled');
		expect(e.message).toMatch(/nothing was stored/);
		const before = new AbortController();
		before.abort();
		expect((await rejection(previewHubSplit(l, 'default', 'train', settings(), before.signal))).code).toBe('cancelled');
	});
});

describe('the data worker', () => {
	it('reads rows as a Parquet file for the file import, and cancelHub aborts a read under way', async () => {
		const l = await hubDatasetApi.listHubDataset('whetstone-test/tickets', settings());
		const r = await hubDatasetApi.readHubRows(l, 'default', 'test', settings(), { columns: ['text'], limit: 7 });
		expect(r.fileName).toBe(`hf://datasets/whetstone-test/tickets@${l.sha.slice(0, 8)}/default/test`);
		const t = await parseParquet(r.fileName, r.bytes);
		expect(t.columns).toEqual(['text']);
		expect(t.records.map((x) => x.values.text)).toHaveLength(7);
		hub.options.slowBytesPerSec = 100_000;
		const read = hubDatasetApi.readHubRows(l, 'default', 'train', settings(), { limit: 400 }, (p) => p.rows >= 100 && hubDatasetApi.cancelHub());
		expect((await rejection(read)).code).toBe('cancelled');
	});
});

describe('import', () => {
	it('rows read from the Hub import through the file path and the version records its source', async () => {
		const l = await listHubDataset('whetstone-test/tickets', settings());
		const r = await readHubRows(l, 'short', 'train', settings(), { columns: ['text', 'label', 'source'], limit: 120 });
		const bytes = rowsAsParquet(r);
		const v = await importDataset({
			projectId: 'p1',
			fileName: hubFileName(r.source),
			bytes: bytes.buffer as ArrayBuffer,
			textColumn: 'text',
			labelColumn: 'label',
			split: { ...defaultSplitConfig },
			skipBadRows: false,
			name: 'tickets short',
			hub: r.source
		});
		expect(v.rowCount).toBe(120);
		expect(v.labels).toEqual(LABELS);
		expect(v.source.format).toBe('parquet');
		expect((await getDatasetVersion(v.id))?.source.hub).toEqual({ ...r.source, rows: 120, config: 'short' });
		expect(await listDatasetVersions('p1')).toHaveLength(1);
	});
});
