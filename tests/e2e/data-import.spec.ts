/**
 * Streaming import on the Data screen, in a new project: two CSV files dropped at once become one
 * version with each row's file in `source_file` (files with other columns are refused, named);
 * text pasted from the clipboard becomes a version; plain text files are one document each, or one
 * example per line; a 20 MB file shows its progress, Cancel
 * stores nothing, and then it imports whole.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { shot } from './helpers';

const csvA = 'text,label\nMy card was charged twice,billing\nThe app crashes on start,tech\nWhere is my parcel,shipping\nThe discount code is refused,billing\nNotifications never arrive,tech\n';
const csvB = 'label,text\nbilling,Refund has not arrived\ntech,Cannot log in since the update\nshipping,Box arrived damaged\nbilling,Invoice shows the wrong VAT\nshipping,Tracking number does not work\ntech,Dark mode resets itself\n';

/** Drops files on the importer's drop zone, as a drag from the desktop does. */
async function drop(page: Page, files: { name: string; body: string }[]) {
	const dataTransfer = await page.evaluateHandle((files) => {
		const dt = new DataTransfer();
		for (const f of files) dt.items.add(new File([f.body], f.name, { type: 'text/csv' }));
		return dt;
	}, files);
	await page.getByTestId('importer').getByRole('region', { name: 'File drop zone' }).dispatchEvent('drop', { dataTransfer });
}

/** The stored rows of the active version, read from IndexedDB. */
function storedRows(page: Page, name: string) {
	return page.evaluate(async (name) => {
		const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
		const req = <T,>(r: IDBRequest<T>) => new Promise<T>((ok, ko) => Object.assign(r, { onsuccess: () => ok(r.result), onerror: () => ko(r.error) }));
		const tx = db.transaction(['datasets', 'rows']);
		const all = (await req(tx.objectStore('datasets').getAll())) as { id: string; name: string }[];
		const chunks = (await req(tx.objectStore('rows').getAll())) as { versionId: string; rows: { text: string; meta?: Record<string, string> }[] }[];
		db.close();
		const ids = new Set(all.filter((v) => v.name === name).map((v) => v.id));
		return chunks.filter((c) => ids.has(c.versionId)).flatMap((c) => c.rows.map((r) => ({ text: r.text, file: r.meta?.source_file ?? '' })));
	}, name);
}

test('streaming import: several files at once, pasted text, progress and Cancel on a 20 MB file', async ({ studioPage: page }) => {
	const name = `Streaming import ${Date.now()}`;
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	const inspection = page.getByTestId('inspection');
	const alert = page.getByRole('alert');
	const versions = page.getByTestId('version-row');

	// Two files with other columns: refused, both named; nothing is stored.
	await drop(page, [
		{ name: 'a.csv', body: csvA },
		{ name: 'notes.csv', body: 'body,team\nhello,x\n' }
	]);
	await expect(alert).toContainText('These files do not have the same columns: a.csv has (text, label), notes.csv has (body, team)');
	await expect(inspection).toHaveCount(0);

	// Two files with the same columns (in another order), dropped together: one table, each row's file kept.
	await drop(page, [
		{ name: 'a.csv', body: csvA },
		{ name: 'b.csv', body: csvB }
	]);
	await expect(inspection).toContainText('a.csv + 1 more · CSV');
	await expect(inspection).toContainText('11 readable rows · 3 columns');
	await expect(page.getByTestId('import-source')).toContainText('2 files read as one table, 11 rows (a.csv: 5, b.csv: 6); each row\'s file is in the column "source_file"');
	await expect(page.getByTestId('text-column')).toHaveValue('text');
	await expect(page.getByTestId('label-column')).toHaveValue('label');
	await shot(page, 'data-import-two-files');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported 11 examples in 3 classes');
	await expect(versions).toHaveCount(1);
	await expect(versions.first()).toContainText('a.csv + 1 more');
	const rows = await storedRows(page, 'a.csv + 1 more');
	expect(rows.map((r) => `${r.file}: ${r.text}`).sort()).toEqual(
		[...csvA.split('\n').slice(1, -1).map((l) => `a.csv: ${l.split(',')[0]}`), ...csvB.split('\n').slice(1, -1).map((l) => `b.csv: ${l.split(',')[1]}`)].sort()
	);

	// Pasted TSV text: the same path as a file.
	await page.getByTestId('paste-open').click();
	await expect(page.getByTestId('paste-read')).toBeDisabled();
	const pasted = ['text\tlabel', ...Array.from({ length: 12 }, (_, i) => `Pasted ticket ${i} about ${['a refund', 'a crash', 'a parcel'][i % 3]}\t${['billing', 'tech', 'shipping'][i % 3]}`)];
	await page.getByTestId('paste-text').fill(pasted.join('\n'));
	await page.getByTestId('paste-read').click();
	await expect(page.getByTestId('paste-text')).toHaveCount(0);
	await expect(inspection).toContainText('pasted.tsv · CSV');
	await expect(inspection).toContainText('12 readable rows · 2 columns');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported 12 examples in 3 classes');
	await expect(versions).toHaveCount(2);

	// Several plain text files: one document per file by default, or one example per line.
	await drop(page, [
		{ name: 'first.txt', body: 'A first document.\nIt has two lines.\n' },
		{ name: 'second.txt', body: 'A second one, of three lines.\n\nThe last line.\n' }
	]);
	await expect(page.getByTestId('text-mode-document')).toBeChecked();
	await expect(page.getByTestId('import-source')).toContainText('2 files read as one table, 2 rows (first.txt: 1, second.txt: 1)');
	await page.getByTestId('text-mode-lines').check();
	await expect(page.getByTestId('import-source')).toContainText('2 files read as one table, 4 rows (first.txt: 2, second.txt: 2)');
	await expect(page.getByTestId('text-mode-lines')).toBeChecked();
	await page.getByTestId('import-cancel').click();
	await expect(inspection).toHaveCount(0);

	// A 20 MB file: progress while it is read; Cancel stores nothing; then it imports whole.
	const labels = ['billing', 'tech', 'shipping', 'account'];
	const lines = ['text,label'];
	for (let i = 0; lines.length < 400_001; i++) lines.push(`ticket ${i} about order ${(i * 7919) % 1000003},${labels[i % 4]}`);
	const big = Buffer.from(lines.join('\n') + '\n');
	expect(big.length).toBeGreaterThan(15e6);
	const pickBig = () => page.getByTestId('file-input').setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: big });
	await pickBig();
	const progress = page.getByTestId('read-progress');
	await expect(progress).toContainText(/big\.csv: [\d.]+ (KB|MB) of \d+\.\d MB · [\d,]+ rows/);
	await page.getByTestId('read-cancel').click();
	await expect(page.getByTestId('import-cancelled')).toContainText('Cancelled: nothing was stored');
	await expect(progress).toHaveCount(0);
	await expect(inspection).toHaveCount(0);
	await expect(versions).toHaveCount(2);

	await pickBig();
	await expect(inspection).toContainText('big.csv · CSV', { timeout: 120_000 });
	await expect(inspection).toContainText('400,000 readable rows · 2 columns');
	await expect(page.getByTestId('import-button')).toHaveText('Import 400,000 rows', { timeout: 120_000 });
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported 400000 examples in 4 classes', { timeout: 180_000 });
	await expect(versions).toHaveCount(3);
	await shot(page, 'data-import-big');
});
