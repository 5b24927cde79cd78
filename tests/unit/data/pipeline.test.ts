import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
	datasetSummary,
	importDataset,
	importExample,
	inspectFile,
	prepareTokens,
	type ImportArgs
} from '../../../src/lib/data/pipeline';
import { TextTokenizer } from '../../../src/lib/data/tokenizer';
import { trainBpe } from '../../../src/lib/data/bpe';
import { defaultSplitConfig, defaultTokenizerConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import {
	getDatasetVersion,
	getTokenized,
	getTokenizer,
	listDatasetVersions,
	loadRows,
	useDatabase
} from '../../../src/lib/storage';
import { enc, ticketsCsv } from './fixtures';

const buf = (s: string) => enc(s).buffer as ArrayBuffer;

function args(csv: string, over: Partial<ImportArgs> = {}): ImportArgs {
	return {
		projectId: 'p1',
		fileName: 'tickets.csv',
		bytes: buf(csv),
		textColumn: 'text',
		labelColumn: 'team',
		split: { ...defaultSplitConfig },
		skipBadRows: false,
		...over
	};
}

async function rejection(p: Promise<unknown>): Promise<UserError> {
	try {
		await p;
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

beforeEach(() => useDatabase('test-' + Math.random()));

describe('inspectFile', () => {
	it('previews the file and guesses the columns', async () => {
		const csv = ticketsCsv(60).replace('\nT-5,', '\nT-5,broken row\nT-5,');
		const info = await inspectFile('tickets.csv', buf(csv));
		expect(info).toMatchObject({ fileName: 'tickets.csv', format: 'csv', rowCount: 60, problemCount: 1 });
		expect(info.columns).toEqual(['id', 'text', 'team', 'channel', 'region', 'priority']);
		expect(info.preview).toHaveLength(20);
		expect(info.problems[0].line).toBe(7);
		expect(info.guess).toEqual({ text: 'text', label: 'team' });
	});
});

describe('importDataset', () => {
	it('stores nothing when the file has bad rows and skipping is off', async () => {
		const csv = ticketsCsv(60) + 'T-x,"only, two"\nT-y,a,b,c,d,e,f\n';
		const e = await rejection(importDataset(args(csv)));
		expect(e.code).toBe('parse-error');
		expect(e.lines).toEqual([62, 63]);
		expect(e.message).toMatch(/^2 rows could not be read: line 62: 2 fields, expected 6 .*; line 63: 7 fields.*'Skip bad rows' to import the 60 rows/);
		expect(await listDatasetVersions('p1')).toEqual([]);

		// Errors after parsing store nothing either.
		expect((await rejection(importDataset(args(ticketsCsv(60), { labelColumn: 'id' })))).code).toBe('no-label-column');
		expect(await listDatasetVersions('p1')).toEqual([]);
	});

	it('imports the good rows when skipping, recording the bad ones as dropped', async () => {
		const csv = ticketsCsv(60) + 'T-x,"only, two"\n';
		const v = await importDataset(args(csv, { skipBadRows: true, name: 'Tickets v1' }));
		expect(v.name).toBe('Tickets v1');
		expect(v.rowCount).toBe(60);
		expect(v.dropped).toEqual([{ line: 62, reason: expect.stringMatching(/^2 fields, expected 6/) }]);
		expect(await listDatasetVersions('p1')).toHaveLength(1);
	});

	it('stores a version whose rows, labels, splits and hash agree', async () => {
		const v = await importDataset(args(ticketsCsv(200)));
		expect(v.id).toMatch(/^ds_/);
		expect(v.name).toBe('tickets.csv');
		expect(v.source).toEqual({ fileName: 'tickets.csv', format: 'csv', bytes: enc(ticketsCsv(200)).length });
		expect(v.labels).toEqual(['account', 'billing', 'shipping', 'tech']);
		expect(v.labelCounts).toEqual([50, 50, 50, 50]);
		expect(v.chunkCount).toBeGreaterThan(0);
		expect(v.contentHash).toMatch(/^[0-9a-f]{64}$/);
		// Per class of 50: round(7.5) = 8 test, 5 validation.
		expect(v.split.sizes).toEqual({ train: 148, validation: 20, test: 32 });
		expect(await getDatasetVersion(v.id)).toEqual(v);

		const rows = await loadRows(v.id);
		expect(rows).toHaveLength(200);
		expect(rows[0]).toMatchObject({ label: 1, meta: { id: 'T-0' } }); // T-0 is billing
		expect(v.labels[rows[0].label]).toBe('billing');

		// Same file, same seed: same content hash; another seed moves rows between splits.
		const again = await importDataset(args(ticketsCsv(200)));
		expect(again.id).not.toBe(v.id);
		expect(again.contentHash).toBe(v.contentHash);
		const reseeded = await importDataset(args(ticketsCsv(200), { split: { ...defaultSplitConfig, seed: 1 } }));
		expect(reseeded.contentHash).not.toBe(v.contentHash);
	});

	it('imports the built-in example and summarizes it', async () => {
		const v = await importExample('p2', ticketsCsv(120));
		expect(v.textColumn).toBe('text');
		expect(v.labelColumn).toBe('team');
		const s = await datasetSummary(v.id);
		expect(s.version).toEqual(v);
		expect(s.splitCounts.map((r) => r.reduce((a, b) => a + b))).toEqual([v.split.sizes.train, v.split.sizes.validation, v.split.sizes.test]);
		s.splitCounts.forEach((perLabel) => perLabel.forEach((n) => expect(n).toBeGreaterThan(0)));
		expect(s.sample).toHaveLength(20);
		expect(s.sample[0]).toEqual({ text: expect.any(String), label: expect.any(String), split: expect.stringMatching(/^(train|validation|test)$/) });
		expect((await datasetSummary(v.id)).sample).toEqual(s.sample);
		expect((await rejection(datasetSummary('ds_missing'))).code).toBe('not-found');
	});
});

describe('prepareTokens', () => {
	it('stores a tokenizer and a cache whose offsets, ids, labels and splits agree with the rows', async () => {
		const v = await importDataset(args(ticketsCsv(200)));
		const cfg = { ...defaultTokenizerConfig, vocabSize: 400 };
		const maxLength = 8;
		const out = await prepareTokens(v.id, cfg, maxLength);
		expect(out.key).toBe(`${v.id}:${out.tokenizerHash}`);

		const rec = await getTokenizer(out.tokenizerHash);
		expect(rec).toMatchObject({ hash: out.tokenizerHash, datasetVersionId: v.id, config: cfg });
		const tok = await TextTokenizer.fromJson(rec!.json);
		expect(tok.vocabSize).toBe(out.vocabSize);

		const cache = (await getTokenized(out.key))!;
		const rows = await loadRows(v.id);
		expect(cache.maxLength).toBe(maxLength);
		expect(cache.offsets).toHaveLength(rows.length + 1);
		expect(cache.offsets[0]).toBe(0);
		expect(cache.offsets[rows.length]).toBe(cache.ids.length);
		expect(Array.from(cache.labels)).toEqual(rows.map((r) => r.label));
		expect(Array.from(cache.splits)).toEqual(rows.map((r) => r.split));
		let truncated = 0;
		rows.forEach((r, i) => {
			const ids = Array.from(cache.ids.subarray(cache.offsets[i], cache.offsets[i + 1]));
			const full = tok.encode(r.text);
			expect(ids).toEqual(full.slice(0, maxLength));
			if (full.length > maxLength) truncated++;
		});
		expect(truncated).toBeGreaterThan(0);
		for (const id of cache.ids) expect(id).toBeLessThan(out.vocabSize);

		// Same data and settings: the same tokenizer and the stored cache are reused.
		const again = await prepareTokens(v.id, cfg, maxLength);
		expect(again).toEqual({ ...out, reused: { tokenizer: true, tokens: true } });
		expect((await getTokenized(out.key))!.createdAt).toBe(cache.createdAt);
		// Another length redoes the cache under the same key.
		await prepareTokens(v.id, cfg, 64);
		expect((await getTokenized(out.key))!.maxLength).toBe(64);
	});

	it('trains the tokenizer on the train split only', async () => {
		const v = await importDataset(args(ticketsCsv(200)));
		const rows = await loadRows(v.id);
		const cfg = { ...defaultTokenizerConfig, vocabSize: 600 };
		const out = await prepareTokens(v.id, cfg, 64);
		const json = (await getTokenizer(out.tokenizerHash))!.json;
		expect(json).toBe(trainBpe(rows.filter((r) => r.split === 0).map((r) => r.text), cfg));
		expect(json).not.toBe(trainBpe(rows.map((r) => r.text), cfg));
	});
});
