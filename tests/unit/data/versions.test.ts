/**
 * A version exported as JSONL, CSV and Parquet imports back to the same rows, labels and metadata;
 * pairs keep their responses; comparing a version with its cleaned and re-split versions counts
 * rows added, removed and changed.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { cleanDataset, compareDatasetVersions, exportDatasetVersion, importDataset, resplitDataset } from '../../../src/lib/data/pipeline';
import { readTable } from '../../../src/lib/data/parquet';
import { loadRows, useDatabase } from '../../../src/lib/storage';

beforeEach(() => useDatabase('versions-' + Math.random()));

const ab = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const split = { seed: 42, validation: 0.1, test: 0.15 };

async function messy() {
	const bytes = readFileSync('tests/fixtures/data/tickets-messy.csv');
	return importDataset({ projectId: 'p1', fileName: 'tickets-messy.csv', bytes: ab(bytes), textColumn: 'text', labelColumn: 'label', split, skipBadRows: false });
}

describe('dataset versions out of the studio', () => {
	for (const format of ['jsonl', 'csv', 'parquet'] as const)
		it(`${format}: exports and imports back to the same rows`, async () => {
			const v = await messy();
			const { fileName, bytes } = await exportDatasetVersion(v.id, format);
			expect(fileName).toBe(`tickets-messy.${format}`);
			const table = await readTable(fileName, bytes);
			expect(table.columns).toEqual(['text', 'label', 'split', 'team']);
			const back = await importDataset({ projectId: 'p1', fileName, bytes: ab(bytes), textColumn: 'text', labelColumn: 'label', split, skipBadRows: false });
			expect(back.rowCount).toBe(v.rowCount);
			expect(back.labels).toEqual(v.labels);
			const [a, b] = [await loadRows(v.id), await loadRows(back.id)];
			expect(b.map((r) => [r.text, r.label, r.meta?.team])).toEqual(a.map((r) => [r.text, r.label, r.meta?.team]));
			expect(b.map((r) => r.meta?.split)).toEqual(a.map((r) => ['train', 'validation', 'test'][r.split]));
		});

	it('pairs keep their responses', async () => {
		const bytes = readFileSync('tests/fixtures/data/alpaca-sample.jsonl');
		const v = await importDataset({ projectId: 'p1', fileName: 'a.jsonl', bytes: ab(bytes), kind: 'pairs', textColumn: 'instruction', responseColumn: 'output', split, skipBadRows: false });
		const { bytes: out } = await exportDatasetVersion(v.id, 'jsonl');
		const first = JSON.parse(new TextDecoder().decode(out).split('\n')[0]);
		const rows = await loadRows(v.id);
		expect(first).toMatchObject({ text: rows[0].text, response: rows[0].response, split: expect.any(String) });
		expect(first.label).toBeUndefined();
	});

	it('compares a version with its cleaned and its re-split versions', async () => {
		const v = await messy();
		const cleaned = await cleanDataset(v.id, [{ kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }]);
		const d = await compareDatasetVersions(v.id, cleaned.id);
		// 3 near-duplicates removed; 4 rows redacted count as removed + added
		expect([d.a.rows, d.b.rows, d.removed, d.added, d.changed]).toEqual([25, 22, 7, 4, 0]);
		expect(d.same).toBe(18);
		const resplit = await resplitDataset(v.id, { seed: 7, validation: 0.1, test: 0.15 });
		const r = await compareDatasetVersions(v.id, resplit.id);
		expect([r.added, r.removed]).toEqual([0, 0]);
		expect(r.changed).toBeGreaterThan(0);
		expect(r.same + r.changed).toBe(25);
		expect(r.examples.changed[0].from).toMatch(/^(billing|shipping|technical) · (train|validation|test)$/);
	});
});
