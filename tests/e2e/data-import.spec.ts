/**
 * Streaming import on the Data screen, in a new project: two CSV files dropped at once become one
 * version with each row's file in `source_file` (files with other columns are refused, named);
 * text pasted from the clipboard becomes a version; plain text files are one document each, or one
 * example per line; a 20 MB file shows its progress, Cancel
 * stores nothing, and then it imports whole. After the read, the import's stages (building rows,
 * duplicates, hashing, storing) keep a bar and Cancel up; Cancel while the version's chunks are
 * being written (held there by a worker-side hook) stores nothing, the earlier version stays
 * whole, and the same choices import again.
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
	await expect(page.getByTestId('import-cancelled')).toContainText('Reading the files was cancelled; nothing was stored. Choose the files again');
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

/** Every version in IndexedDB (id, name, rows; `mine`: the current project's) and the version id of every stored row chunk. */
function stored(page: Page) {
	return page.evaluate(async () => {
		const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
		const req = <T,>(r: IDBRequest<T>) => new Promise<T>((ok, ko) => Object.assign(r, { onsuccess: () => ok(r.result), onerror: () => ko(r.error) }));
		const tx = db.transaction(['datasets', 'rows']);
		const versions = (await req(tx.objectStore('datasets').getAll())) as { id: string; projectId: string; name: string; rowCount: number; chunkCount: number }[];
		const keys = (await req(tx.objectStore('rows').getAllKeys())) as [string, number][];
		db.close();
		const project = localStorage.getItem('whetstone.currentProject');
		const brief = (v: (typeof versions)[number]) => ({ id: v.id, name: v.name, rowCount: v.rowCount, chunkCount: v.chunkCount });
		return { versions: versions.map(brief), mine: versions.filter((v) => v.projectId === project).map(brief), chunkOwners: keys.map(([id]) => id) };
	});
}

test('Cancel while the version is stored: no version, no chunk, the earlier version whole, then it imports', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Import stages ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	const inspection = page.getByTestId('inspection');
	const versions = page.getByTestId('version-row');
	const labels = ['billing', 'tech', 'shipping', 'account'];
	const csv = (name: string, n: number) => ({
		name,
		mimeType: 'text/csv',
		buffer: Buffer.from(['text,label', ...Array.from({ length: n }, (_, i) => `${name} ticket ${i} about order ${(i * 7919) % 100003},${labels[i % 4]}`)].join('\n') + '\n')
	});

	// An earlier version, which the cancelled import must leave as it is.
	await page.getByTestId('file-input').setInputFiles(csv('earlier.csv', 40));
	await expect(page.getByTestId('import-button')).toHaveText('Import 40 rows');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported 40 examples in 4 classes');
	await expect(versions).toHaveCount(1);
	const before = await stored(page);
	expect(before.mine).toEqual([expect.objectContaining({ name: 'earlier.csv', rowCount: 40, chunkCount: 1 })]);

	// 3,500 rows: 4 chunks. The worker's next save holds, its transaction open, after 2 of them.
	await page.getByTestId('file-input').setInputFiles(csv('later.csv', 3500));
	await expect(page.getByTestId('import-button')).toHaveText('Import 3,500 rows');
	await page.evaluate(() => (window as unknown as { whetstone: { data: { holdNextSaveForTest(n: number): Promise<void> } } }).whetstone.data.holdNextSaveForTest(2));
	await page.getByTestId('import-button').click();
	const stage = page.getByTestId('import-stage');
	expect(await page.evaluate(() => (window as unknown as { whetstone: { data: { heldSaveForTest: Promise<unknown> } } }).whetstone.data.heldSaveForTest)).toEqual({ done: 2, total: 4 });
	await expect(stage.getByTestId('phase-name')).toHaveText('Storing the version');
	await expect(stage.getByTestId('phase-count')).toHaveText('2 / 4 chunks');
	await expect(stage.getByTestId('phase-cancel')).toBeEnabled();
	await shot(page, 'data-import-storing-cancel');

	await stage.getByTestId('phase-cancel').click();
	await expect(page.getByTestId('import-cancelled')).toContainText('The import was cancelled (storing the version); nothing was stored, and the versions stored before are as they were. Import again when you are ready.');
	await expect(stage).toHaveCount(0);
	await expect(page.getByTestId('import-busy')).toHaveCount(0);
	await expect(versions).toHaveCount(1);
	await expect(versions.first()).toContainText('earlier.csv');
	// In IndexedDB, of every project: the versions and row chunks there were, nothing of the cancelled one.
	const after = await stored(page);
	expect(after.versions).toEqual(before.versions);
	expect(after.chunkOwners).toEqual(before.chunkOwners);

	// The choices are kept: Import again (a new worker reads the file anew) stores it whole.
	await expect(inspection).toContainText('later.csv · CSV');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported 3500 examples in 4 classes', { timeout: 120_000 });
	await expect(versions).toHaveCount(2);
	const last = await stored(page);
	const later = last.mine.find((v) => v.name === 'later.csv');
	expect(later).toMatchObject({ rowCount: 3500, chunkCount: 4 });
	expect(last.chunkOwners.filter((id) => id === later!.id)).toHaveLength(4);
	expect(last.mine).toContainEqual(before.mine[0]);
});
