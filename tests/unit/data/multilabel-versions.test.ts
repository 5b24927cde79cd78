/**
 * Multi-label versions in storage: "keep all labels" stores each row's label set (sorted ids, the
 * first label written as `label` for the split), counts a row once per label, hashes the sets,
 * keeps them through re-splits, cleaning and export, and the label steps refuse such a version
 * with what to do. Single-label versions store and hash exactly as before.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { cleanDataset, compareDatasetVersions, datasetSummary, exportDatasetVersion, importDataset, previewLabels, relabelDataset, resplitDataset, type ImportArgs } from '../../../src/lib/data/pipeline';
import { isMultiLabel, rowLabelNames } from '../../../src/lib/data/labels';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { getDatasetVersion, loadRows, useDatabase } from '../../../src/lib/storage';
import { enc } from './fixtures';

/** 40 rows; the tags cell holds one or two labels, written in varying order. */
function csv(): string {
	const lines = ['text,tags'];
	const tags = ['billing;urgent', 'tech', 'account;tech', 'billing', 'urgent;billing'];
	for (let i = 0; i < 40; i++) lines.push(`Ticket number ${i} about ${['money', 'crash', 'login', 'parcel', 'refund'][i % 5]},${tags[i % 5]}`);
	return lines.join('\n') + '\n';
}
const args = (over: Partial<ImportArgs> = {}): ImportArgs => ({
	projectId: 'p',
	fileName: 'tags.csv',
	bytes: enc(csv()).buffer as ArrayBuffer,
	textColumn: 'text',
	labelColumn: 'tags',
	multiLabel: { delimiter: ';', mode: 'all' },
	split: { ...defaultSplitConfig },
	skipBadRows: false,
	...over
});

describe('multi-label versions', () => {
	beforeEach(() => useDatabase('ml-' + Math.random()));

	it('keeps every row with its label set; label is the first written, counts are per label', async () => {
		const v = await importDataset(args());
		expect(isMultiLabel(v)).toBe(true);
		expect(v.multiLabel).toEqual({ delimiter: ';', mode: 'all', multiRows: 24 });
		expect(v.rowCount).toBe(40);
		expect(v.labels).toEqual(['account', 'billing', 'tech', 'urgent']);
		// billing: rows 0, 3, 4 of every 5 (24); tech: 1, 2 (16); urgent: 0, 4 (16); account: 2 (8)
		expect(v.labelCounts).toEqual([8, 24, 16, 16]);
		const rows = await loadRows(v.id);
		const byText = new Map(rows.map((r) => [r.text, r]));
		const r0 = byText.get("Ticket number 0 about money")!;
		expect(r0.labels).toEqual([1, 3]);
		expect(r0.label).toBe(1);
		// "urgent;billing": the same set, sorted ids; the first written label is urgent
		const r4 = byText.get("Ticket number 4 about refund")!;
		expect(r4.labels).toEqual([1, 3]);
		expect(r4.label).toBe(3);
		expect(rowLabelNames(v.labels, r4)).toEqual(['billing', 'urgent']);
		expect(rows.every((r) => r.labels && r.labels.includes(r.label))).toBe(true);
		const summary = await datasetSummary(v.id);
		// per split, a row counts once for each label
		expect(summary.splitCounts.reduce((s, c) => s.map((x, i) => x + c[i]))).toEqual([8, 24, 16, 16]);
	});

	it('the label sets are part of the content hash; single-label imports hash as before', async () => {
		const all = await importDataset(args());
		const first = await importDataset(args({ multiLabel: { delimiter: ';', mode: 'first' } }));
		expect(all.contentHash).not.toBe(first.contentHash);
		expect((await loadRows(first.id)).some((r) => r.labels)).toBe(false);
		const again = await importDataset(args({ multiLabel: { delimiter: ';', mode: 'first' } }));
		expect(again.contentHash).toBe(first.contentHash);
	});

	it('re-split and cleaning keep the label sets; the source version stays as it was', async () => {
		const v = await importDataset(args());
		const before = await loadRows(v.id);
		const r = await resplitDataset(v.id, { ...defaultSplitConfig, seed: 7 });
		const rs = await loadRows(r.id);
		expect(rs.map((x) => x.labels)).toEqual(before.map((x) => x.labels));
		expect(r.multiLabel).toEqual(v.multiLabel);
		const c = await cleanDataset(v.id, [{ kind: 'normalize', options: { unicode: "NFKC", whitespace: true, stripHtml: false, lowercase: true } }]);
		expect(c.labelCounts).toEqual(v.labelCounts);
		expect((await loadRows(c.id)).map((x) => x.labels)).toEqual(before.map((x) => x.labels));
		expect(await loadRows(v.id)).toEqual(before);
		expect(await getDatasetVersion(v.id)).toEqual(v);
	});

	it('label steps say they are for single-label data and store nothing', async () => {
		const v = await importDataset(args());
		await expect(previewLabels(v.id, [{ kind: 'drop-rare', min: 10 }])).rejects.toThrow(/several labels per row \(multi-label\); the label steps .* are for single-label data/);
		await expect(relabelDataset(v.id, [{ kind: 'rename-label', from: 'tech', to: 'engineering' }])).rejects.toThrow(/for single-label data/);
	});

	it('exports label sets as lists that import back as the same sets; a compare sees a changed set', async () => {
		const v = await importDataset(args());
		const file = await exportDatasetVersion(v.id, 'csv');
		const parsed = Papa.parse<Record<string, string>>(new TextDecoder().decode(file.bytes), { header: true, skipEmptyLines: true }).data;
		expect(JSON.parse(parsed[0].label)).toEqual(rowLabelNames(v.labels, (await loadRows(v.id))[0]));
		const back = await importDataset(args({ fileName: 'back.csv', bytes: file.bytes.buffer as ArrayBuffer, labelColumn: 'label', multiLabel: { delimiter: 'json', mode: 'all' } }));
		const sets = (id: string, labels: string[]) => loadRows(id).then((rows) => rows.map((r) => rowLabelNames(labels, r).join('+')).sort());
		expect(await sets(back.id, back.labels)).toEqual(await sets(v.id, v.labels));
		const first = await importDataset(args({ multiLabel: { delimiter: ';', mode: 'first' } }));
		const diff = await compareDatasetVersions(first.id, v.id);
		// the 24 rows with two labels change from one label to their set
		expect(diff.changed).toBe(24);
	});
});
