/** Re-splitting a stored version: a new immutable version of the same rows, nothing read from the file again. */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { importDataset, resplitDataset, resplitName, splitByText } from '../../../src/lib/data/pipeline';
import { stratifiedSplit } from '../../../src/lib/data/split';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import { getDatasetVersion, listDatasetVersions, loadRows, useDatabase } from '../../../src/lib/storage';
import { enc, sampleFile, ticketsCsv } from './fixtures';

beforeEach(() => useDatabase('resplit-' + Math.random()));

async function imported() {
	const bytes = enc(ticketsCsv(80)).buffer as ArrayBuffer;
	return importDataset({ projectId: 'p1', fileName: 'tickets.csv', bytes, textColumn: 'text', labelColumn: 'team', split: { ...defaultSplitConfig }, skipBadRows: false });
}

describe('resplitDataset', () => {
	it('stores the same rows with a new split as a new version, leaving the source as it was', async () => {
		const v = await imported();
		const before = await loadRows(v.id);
		const w = await resplitDataset(v.id, { seed: 7, validation: 0.2, test: 0.2 });
		expect(w.id).not.toBe(v.id);
		expect(w).toMatchObject({ projectId: 'p1', resplitOf: v.id, rowCount: 80, labels: v.labels, labelCounts: v.labelCounts, dedupe: v.dedupe, dropped: v.dropped, source: v.source });
		expect(w.name).toBe('tickets.csv · split seed 7, 20% validation, 20% test');
		expect(w.split).toEqual({ seed: 7, validation: 0.2, test: 0.2, sizes: { train: 48, validation: 16, test: 16 } });
		expect(w.contentHash).not.toBe(v.contentHash);
		const after = await loadRows(w.id);
		expect(after.map(({ split, ...r }) => r)).toEqual(before.map(({ split, ...r }) => r));
		expect(after.map((r) => r.split)).not.toEqual(before.map((r) => r.split));
		// Stratified as at import: each of the 4 teams gives 20% of its 20 rows to test.
		for (let label = 0; label < 4; label++) expect(after.filter((r) => r.label === label && r.split === 2)).toHaveLength(4);
		expect(await getDatasetVersion(v.id)).toEqual(v);
		expect(await loadRows(v.id)).toEqual(before);
		expect((await listDatasetVersions('p1')).map((x) => x.id).sort()).toEqual([v.id, w.id].sort());
	});

	it('splits the same way as importing with that split', async () => {
		const v = await imported();
		const w = await resplitDataset(v.id, { seed: 9, validation: 0.1, test: 0.3 });
		const direct = await importDataset({ projectId: 'p1', fileName: 'tickets.csv', bytes: enc(ticketsCsv(80)).buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'team', split: { seed: 9, validation: 0.1, test: 0.3 }, skipBadRows: false });
		expect(w.contentHash).toBe(direct.contentHash);
	});

	it('re-splits a re-split under the original name, and a text dataset too', async () => {
		const v = await imported();
		const w = await resplitDataset(v.id, { seed: 7, validation: 0.2, test: 0.2 });
		const x = await resplitDataset(w.id, { seed: 8, validation: 0.2, test: 0.2 });
		expect(x.name).toBe('tickets.csv · split seed 8, 20% validation, 20% test');
		expect(resplitName('a.csv', { seed: 1, validation: 0.125, test: 0.05 })).toBe('a.csv · split seed 1, 12.5% validation, 5% test');

		const text = await importDataset({ projectId: 'p1', kind: 'text', fileName: 'domain-text.jsonl', bytes: sampleFile('domain-text.jsonl'), textColumn: 'text', split: { ...defaultSplitConfig }, skipBadRows: false });
		const t2 = await resplitDataset(text.id, { seed: 1, validation: 0.2, test: 0.2 });
		expect(t2).toMatchObject({ kind: 'text', rowCount: text.rowCount, split: { sizes: { train: 18, validation: 6, test: 6 } } });
	});

	it('refuses an unchanged split or a bad one, storing nothing', async () => {
		const v = await imported();
		const same = resplitDataset(v.id, { ...defaultSplitConfig });
		await expect(same).rejects.toBeInstanceOf(UserError);
		await expect(resplitDataset(v.id, { ...defaultSplitConfig })).rejects.toThrow(/already split with seed 42.*Change the seed or a fraction/);
		await expect(resplitDataset(v.id, { seed: 1, validation: 0.5, test: 0.5 })).rejects.toThrow(/leave some rows for training/);
		await expect(resplitDataset(v.id, { seed: 1.5, validation: 0.1, test: 0.1 })).rejects.toThrow(/whole number/);
		await expect(resplitDataset('gone', { seed: 1, validation: 0.1, test: 0.1 })).rejects.toThrow(/not stored/);
		expect(await listDatasetVersions('p1')).toHaveLength(1);
	});
});

describe('splitByText', () => {
	it('equals the stratified split when texts are distinct, and keeps copies together', () => {
		const rows = Array.from({ length: 60 }, (_, i) => ({ text: `t${i}`, label: i % 3 }));
		const cfg = { seed: 5, validation: 0.2, test: 0.2 };
		expect(splitByText(rows, cfg)).toEqual(stratifiedSplit(rows.map((r) => r.label), cfg));
		const withCopies = [...rows, ...rows.slice(0, 20).map((r) => ({ ...r })), { text: 't1', label: 2 }];
		const codes = splitByText(withCopies, cfg);
		expect(Array.from(codes.slice(0, 60))).toEqual(Array.from(stratifiedSplit(rows.map((r) => r.label), cfg)));
		for (let i = 0; i < 20; i++) expect(codes[60 + i]).toBe(codes[i]);
		expect(codes[80]).toBe(codes[1]);
	});
});
