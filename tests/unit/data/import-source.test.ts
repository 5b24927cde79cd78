/**
 * The worker's import from chosen files (a FileSource): read as a stream once by inspectSource,
 * kept for the counts and the import, and dropped after it; several files stored as one version
 * with each row's file in its metadata.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { importDataset, inspectSource, planImport } from '../../../src/lib/data/pipeline';
import { loadRows } from '../../../src/lib/storage';
import type { ReadProgress } from '../../../src/lib/data/stream';

const labels = ['billing', 'tech', 'shipping'];
const csv = (from: number, n: number) => 'text,label\n' + Array.from({ length: n }, (_, i) => `ticket ${from + i} about something,${labels[(from + i) % 3]}`).join('\n') + '\n';

describe('import from chosen files', () => {
	it('inspects with progress, counts and imports several files as one version with source_file', async () => {
		const source = { files: [new File([csv(0, 30)], 'jan.csv'), new File([csv(30, 20)], 'feb.csv')], key: 'two-months' };
		const progress: ReadProgress[] = [];
		const info = await inspectSource('jan.csv + 1 more', source, (p) => progress.push(p));
		expect(info.rowCount).toBe(50);
		expect(info.columns).toEqual(['text', 'label', 'source_file']);
		expect(info.guess).toEqual({ text: 'text', label: 'label' });
		expect(progress.at(-1)).toMatchObject({ files: 2, fileIndex: 1, rows: 50 });

		const args = { projectId: 'p1', fileName: 'jan.csv + 1 more', source, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: false };
		expect(await planImport(args)).toMatchObject({ read: 50, rows: 50 });
		const v = await importDataset(args);
		expect(v).toMatchObject({ rowCount: 50, name: 'jan.csv + 1 more', source: { fileName: 'jan.csv + 1 more', format: 'csv' } });
		const rows = await loadRows(v.id);
		expect(rows.filter((r) => r.meta?.source_file === 'feb.csv')).toHaveLength(20);
		expect(rows.find((r) => r.text === 'ticket 31 about something')?.meta?.source_file).toBe('feb.csv');
	});

	it('a file whose rows cannot all be read is refused whole, then imported with its bad rows skipped', async () => {
		const source = { files: [new File([csv(0, 12) + '"unclosed,tech\n'], 'bad.csv')], key: 'bad' };
		const args = { projectId: 'p1', fileName: 'bad.csv', source, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: false };
		await expect(importDataset(args)).rejects.toMatchObject({ code: 'parse-error' });
		expect((await importDataset({ ...args, skipBadRows: true })).rowCount).toBe(12);
	});
});
