/**
 * The Data screen, every control on it, in a new project (the example project is left alone): no
 * data yet; a file chosen (an Excel-style CSV: BOM, CRLF, quoted multi-line fields, emoji, a
 * `Body Text` column) with its preview, column pickers, kind selector, the duplicate notice and
 * its choices, the split settings, Cancel; importing; imported; a second file with a bad row
 * (skip-bad-rows) and kept duplicates; several versions: re-split, switch, delete. No training.
 */
import type { Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { ensureTrainedExample, expect, test } from './fixtures';
import { setNumber, shot } from './helpers';

const EXCEL = fileURLToPath(new URL('../fixtures/data/tickets-excel.csv', import.meta.url));

/** 2,000 tickets in 4 teams, 3 of them repeated, and one ragged line (line 6). */
function bigCsv(): string {
	const teams = ['billing', 'shipping', 'tech', 'account'];
	const lines = ['text,team'];
	for (let i = 0; i < 2000; i++) lines.push(`"ticket ${i}: something about ${teams[i % 4]}, order ${7000 + i}",${teams[i % 4]}`);
	lines.splice(5, 0, 'a ragged line,billing,EXTRA');
	lines.push(lines[1], lines[2], lines[3]);
	return lines.join('\n') + '\n';
}

/** Every text the busy line shows from now on (an import can be quicker than a poll). */
async function recordBusy(page: Page) {
	await page.evaluate(() => {
		const w = window as unknown as { busySeen: string[] };
		w.busySeen = [];
		new MutationObserver(() => {
			const t = document.querySelector('[data-testid="import-busy"]')?.textContent ?? '';
			const input = document.querySelector<HTMLInputElement>('[data-testid="file-input"]');
			if (t && w.busySeen.at(-1) !== t) w.busySeen.push(`${t}${input?.disabled ? ' (file input disabled)' : ''}`);
		}).observe(document.body, { subtree: true, childList: true, characterData: true });
	});
}
const busySeen = (page: Page) => page.evaluate(() => (window as unknown as { busySeen: string[] }).busySeen);

test('data screen: import with the duplicate choice, versions, re-split, switch and delete', async ({ studioPage: page }) => {
	const name = `Data screen ${Date.now()}`;
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);

	// No data yet: the screen says so and offers only the importer.
	await expect(page.getByRole('heading', { name: /Data/ })).toContainText(name);
	await expect(page.getByTestId('no-dataset')).toContainText('This project has no data yet');
	await expect(page.getByTestId('dataset-versions')).toHaveCount(0);
	await expect(page.getByTestId('dataset-overview')).toHaveCount(0);
	await expect(page.getByTestId('inspection')).toHaveCount(0);

	// A file chosen, then cancelled.
	const input = page.getByTestId('file-input');
	await input.setInputFiles(EXCEL);
	const inspection = page.getByTestId('inspection');
	await expect(inspection).toContainText('tickets-excel.csv · CSV · 30 readable rows · 4 columns');
	await page.getByTestId('import-cancel').click();
	await expect(inspection).toHaveCount(0);

	// Chosen again: the BOM is not in the first column's name, multi-line fields are one row each, emoji intact.
	await input.setInputFiles(EXCEL);
	await expect(inspection).toContainText('30 readable rows');
	const textColumn = page.getByTestId('text-column');
	const labelColumn = page.getByTestId('label-column');
	await expect(textColumn).toHaveValue('Body Text');
	expect(await textColumn.locator('option').allTextContents()).toEqual(['Body Text', 'Team', 'Ticket ID', 'Created']);
	await expect(labelColumn).toHaveValue('Team');
	await expect(page.getByTestId('kind-classification')).toBeChecked();
	await expect(page.getByTestId('kind-why')).toContainText('"Team" looks like a label for the text in "Body Text"');
	const preview = inspection.locator('table');
	await expect(preview.locator('tbody tr')).toHaveCount(10);
	await expect(preview.locator('tbody tr').nth(1).locator('td').first()).toHaveText('My parcel 📦 has not arrived.\nTracking says "delivered" but nothing is at my door.');
	await expect(preview.locator('tbody tr').nth(1).locator('td').nth(2)).toHaveText('T-1002');
	await expect(preview).toContainText('thanks 🙂👍🏽');

	// The duplicate notice, before importing, and the button's real count.
	const summary = page.getByTestId('import-summary');
	const importButton = page.getByTestId('import-button');
	await expect(summary).toHaveText('30 rows read · 4 exact duplicates · 2 rows in 1 text with conflicting labels · 1 empty');
	await expect(importButton).toHaveText('Import 25 rows');
	await expect(page.getByTestId('dedupe-drop')).toBeChecked();
	await expect(page.getByTestId('conflicts-keep')).toBeChecked();
	await expect(page.getByTestId('conflict-list')).toContainText('Where is my order? It left the warehouse a week ago 🚚: "shipping" and "tech" (lines 7, 26)');
	await page.getByText('Show the duplicates').click();
	await expect(page.getByTestId('duplicate-list').locator('li')).toHaveCount(4);
	await expect(page.getByTestId('duplicate-list')).toContainText('line 17 repeats line 2');
	await shot(page, 'data-import-duplicates');

	await page.getByTestId('dedupe-keep').check();
	await expect(importButton).toHaveText('Import 29 rows');
	await page.getByTestId('conflicts-drop').check();
	await expect(importButton).toHaveText('Import 27 rows');
	await page.getByTestId('dedupe-drop').check();
	await expect(importButton).toHaveText('Import 23 rows');
	await page.getByTestId('conflicts-keep').check();
	await expect(importButton).toHaveText('Import 25 rows');
	await expect(summary).toHaveText('30 rows read · 4 exact duplicates · 2 rows in 1 text with conflicting labels · 1 empty');

	// Column pickers: the count follows the columns; a column that cannot be a label is named before importing.
	await labelColumn.selectOption('Ticket ID');
	await expect(page.getByTestId('plan-error')).toContainText('Column "Ticket ID" has 30 different values in 30 rows');
	await expect(importButton).toHaveText('Import');
	await labelColumn.selectOption('Team');
	await textColumn.selectOption('Ticket ID');
	await expect(importButton).toHaveText('Import 30 rows');
	await expect(page.getByTestId('dedupe')).toHaveCount(0);
	await textColumn.selectOption('Body Text');
	await expect(importButton).toHaveText('Import 25 rows');

	// Kind selector: language modelling counts every repeated text as a duplicate; prompt/response shows its layout and an example.
	await page.getByTestId('kind-text').check();
	await expect(page.getByTestId('label-column')).toHaveCount(0);
	await expect(summary).toHaveText('30 rows read · 5 exact duplicates · 1 empty');
	await expect(importButton).toHaveText('Import 24 rows');
	await expect(page.getByTestId('conflicts')).toHaveCount(0);
	await page.getByTestId('kind-pairs').check();
	await expect(page.getByTestId('pairs-format')).toHaveValue('columns');
	await page.getByTestId('response-column').selectOption('Team');
	await expect(inspection.getByRole('heading', { name: 'One example' })).toBeVisible();
	await expect(importButton).toHaveText('Import 25 rows');
	await page.getByTestId('pairs-format').selectOption('chat');
	await expect(page.getByTestId('response-column')).toHaveCount(0);
	await expect(page.getByTestId('plan-error')).toContainText('does not hold chat messages');
	await page.getByTestId('pairs-format').selectOption('columns');
	await page.getByTestId('kind-classification').check();
	await expect(textColumn).toHaveValue('Body Text');
	await labelColumn.selectOption('Team');
	await expect(importButton).toHaveText('Import 25 rows');

	// Split settings: a share that leaves nothing to train on is refused before importing.
	await setNumber(page, 'split-validation', 0.6);
	await setNumber(page, 'split-test', 0.5);
	await expect(page.getByTestId('plan-error')).toContainText('leave some rows for training');
	await setNumber(page, 'split-validation', 0.2);
	await setNumber(page, 'split-test', 0.2);
	await setNumber(page, 'split-seed', 7);
	await expect(importButton).toHaveText('Import 25 rows');

	// Importing, then imported: the version says what was done with the duplicates.
	await recordBusy(page);
	await importButton.click();
	await expect(page.getByTestId('import-done')).toHaveText('Imported 25 examples in 3 classes. 4 exact duplicates dropped. New runs use this version.');
	expect(await busySeen(page)).toContain('Importing… (file input disabled)');
	const overview = page.getByTestId('dataset-overview');
	await expect(overview.getByRole('heading', { name: 'tickets-excel.csv' })).toBeVisible();
	await expect(page.getByTestId('dataset-cleaning')).toHaveText(
		'30 rows read · 1 empty dropped · 4 exact duplicates dropped · 2 rows in 1 text with conflicting labels kept'
	);
	await expect(overview).toContainText('stratified, seed 7');
	const versions = page.getByTestId('dataset-versions');
	const rows = versions.getByTestId('version-row');
	await expect(rows).toHaveCount(1);
	await expect(rows.first()).toHaveAttribute('data-active', 'true');
	await expect(rows.first().getByTestId('version-rows')).toHaveText('25');
	await expect(rows.first()).toContainText('seed 7 · 20% / 20%');
	await expect(rows.first().getByTestId('delete-version')).toHaveCount(0);
	await expect(rows.first().getByTestId('use-version')).toHaveCount(0);
	await expect(inspection).toHaveCount(0);

	// A second file: a ragged line, and duplicates the user keeps.
	await input.setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.from(bigCsv()) });
	await expect(inspection).toContainText('big.csv · CSV · 2,003 readable rows · 2 columns');
	await expect(inspection).toContainText('line 6: 3 fields, expected 2');
	await expect(summary).toHaveText('2,003 rows read · 1 unreadable · 3 exact duplicates · 0 empty');
	await page.getByTestId('dedupe-keep').check();
	await expect(importButton).toHaveText('Import 2,003 rows');
	await importButton.click();
	await expect(page.getByRole('alert')).toContainText('line 6');
	await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
	await page.getByTestId('skip-bad-rows').check();
	await recordBusy(page);
	await importButton.click();
	await expect(page.getByTestId('import-done')).toHaveText('Imported 2003 examples in 4 classes. 3 exact duplicates kept. New runs use this version.');
	expect(await busySeen(page)).toContain('Importing… (file input disabled)');
	await expect(page.getByTestId('dataset-cleaning')).toHaveText('2,003 rows read · 1 unreadable skipped · 3 exact duplicates kept');
	await expect(rows).toHaveCount(2);
	await expect(rows.first().getByTestId('version-name')).toHaveText('big.csv');
	await expect(rows.first()).toHaveAttribute('data-active', 'true');

	// Re-split the active version without importing again.
	await page.getByText('Re-split these rows').click();
	const resplit = page.getByTestId('resplit-button');
	await expect(resplit).toBeDisabled();
	// The form starts from the version's split (the importer kept seed 7 and 20% / 20% for the second file).
	await expect(page.getByTestId('resplit-seed')).toHaveValue('7');
	await expect(page.getByTestId('resplit-validation')).toHaveValue('0.2');
	await setNumber(page, 'resplit-seed', 3);
	await setNumber(page, 'resplit-test', 0.25);
	await resplit.click();
	await expect(page.getByTestId('resplit-done')).toContainText('Created “big.csv · split seed 3, 20% validation, 25% test”');
	await expect(rows).toHaveCount(3);
	await expect(rows.first().getByTestId('version-name')).toHaveText('big.csv · split seed 3, 20% validation, 25% test');
	await expect(rows.first()).toHaveAttribute('data-active', 'true');
	await expect(rows.first().getByTestId('version-rows')).toHaveText('2,003');
	await expect(rows.first()).toContainText('re-split of “big.csv”');
	await expect(overview.getByRole('heading', { name: 'big.csv · split seed 3, 20% validation, 25% test' })).toBeVisible();
	await expect(resplit).toBeDisabled();
	await shot(page, 'data-versions');

	// Switch the version new runs use, then delete one nothing uses.
	const excelRow = rows.filter({ has: page.getByTestId('version-name').getByText('tickets-excel.csv', { exact: true }) });
	await excelRow.getByTestId('use-version').click();
	await expect(page.getByTestId('versions-message')).toHaveText('New runs now use “tickets-excel.csv”.');
	await expect(excelRow).toHaveAttribute('data-active', 'true');
	await expect(overview.getByRole('heading', { name: 'tickets-excel.csv' })).toBeVisible();
	await expect(overview).toContainText('stratified, seed 7');
	const bigRow = rows.filter({ has: page.getByTestId('version-name').getByText('big.csv', { exact: true }) });
	await bigRow.getByTestId('delete-version').click();
	await expect(page.getByTestId('versions-message')).toHaveText('Deleted “big.csv”.');
	await expect(rows).toHaveCount(2);
	// The re-split of the deleted version still says where it came from.
	await expect(rows.first()).toContainText('re-split of “a deleted version”');

	// The choice of version is stored: it survives a reload.
	await page.reload();
	await page.getByTestId('nav-data').click();
	await expect(page.getByTestId('version-row')).toHaveCount(2);
	await expect(page.getByTestId('version-row').filter({ hasText: 'tickets-excel.csv' }).first()).toHaveAttribute('data-active', 'true');

	// Leave the suite's projects as they were.
	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
});

test('data screen: the example version shows the runs trained on it and cannot be deleted while in use', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	await expect(page.getByTestId('run-row').first()).toBeVisible();
	const trained = await page.getByTestId('run-row').count();
	await page.getByTestId('nav-data').click();
	const row = page.getByTestId('version-row').filter({ hasText: 'Example: support tickets' });
	await expect(row).toHaveAttribute('data-active', 'true');
	// Baselines count too (they were scored on this version), so at least the runs Train lists.
	await expect(row.getByTestId('version-runs')).toHaveText(/^\d+ runs?$/);
	expect(parseInt((await row.getByTestId('version-runs').textContent())!)).toBeGreaterThanOrEqual(trained);
	expect(trained).toBeGreaterThanOrEqual(1);
	await expect(row.getByTestId('version-rows')).toHaveText('789');
	await expect(row).toContainText('from example.csv');
	// Only versions nothing depends on can be deleted; the one in use offers no Delete.
	await expect(row.getByTestId('delete-version')).toHaveCount(0);
	await expect(page.getByTestId('dataset-cleaning')).toContainText('789 rows read');
});
