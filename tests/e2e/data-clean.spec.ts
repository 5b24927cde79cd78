/**
 * Check and clean on the Data screen, in a new project: a messy file imported (exact duplicate,
 * near-duplicates by case and punctuation, a conflicting label, personal data of five kinds),
 * nothing checked yet, the check with its counts and clusters, steps unticked and ticked, the
 * cleaned version created and used, and a second check on it that finds nothing left to change;
 * the source and the cleaned version compared, the cleaned one downloaded as Parquet and JSONL;
 * then a pattern of the user's own (a bad one refused first) finds and redacts what the built-in
 * kinds do not; a Parquet file imported like a CSV; and a re-split by a group column.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from './fixtures';
import { shot } from './helpers';

const MESSY = fileURLToPath(new URL('../fixtures/data/tickets-messy.csv', import.meta.url));

test('data screen: check a version for near-duplicates, personal data and leakage, and clean it as a new version', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Clean ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('file-input').setInputFiles(MESSY);
	await expect(page.getByTestId('import-button')).toHaveText('Import 25 rows');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('dataset-overview')).toBeVisible();

	// Nothing checked yet.
	const panel = page.getByTestId('clean');
	await panel.locator('summary').click();
	await expect(page.getByTestId('clean-results')).toHaveCount(0);
	await expect(page.getByTestId('clean-check')).toHaveText('Check this version');

	// A threshold outside (0, 1] is named, not run.
	await page.getByTestId('clean-threshold').fill('1.5');
	await page.getByTestId('clean-check').click();
	await expect(panel.getByRole('alert')).toContainText('between 0 and 1');
	await page.getByTestId('clean-threshold').fill('0.8');

	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-near-count')).toHaveText('3 clusters; keeping the first row of each removes 3 rows');
	await expect(page.getByTestId('clean-pii-count')).toHaveText('4 rows; redacting replaces each match with its kind');
	await expect(page.getByTestId('clean-pii-row')).toHaveCount(5);
	await expect(panel).toContainText('jane.doe@example.com');
	await expect(page.getByTestId('clean-leakage-count')).toContainText('nearly repeat a training row');
	await expect(page.getByTestId('clean-check')).toHaveText('Check again');
	await shot(page, 'data-clean-check');
	await expect(page.getByTestId('clean-normalize-count')).toHaveText('no row changes');
	await expect(page.getByTestId('clean-normalize')).toBeDisabled();
	await expect(page.getByTestId('clean-length-count')).toHaveText('every row in range');

	// Lowercasing and a shortest length are previewed before anything applies; then back to the defaults.
	await page.getByTestId('clean-lowercase').check();
	await page.getByTestId('clean-min').fill('60');
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-normalize-count')).toHaveText(/^changes \d+ rows$/);
	await expect(panel).toContainText('→ my parcel never arrived');
	await expect(page.getByTestId('clean-length-count')).toContainText('outside 60–∞ characters');
	await expect(page.getByTestId('clean-length')).toBeChecked();
	await page.getByTestId('clean-lowercase').uncheck();
	await page.getByTestId('clean-min').fill('0');
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-normalize-count')).toHaveText('no row changes');

	// Unticking every step leaves nothing to apply; ticking near-duplicates and PII back.
	for (const id of ['clean-near', 'clean-pii', 'clean-leakage']) {
		const box = page.getByTestId(id);
		if (await box.isEnabled()) await box.uncheck();
	}
	await expect(page.getByTestId('clean-apply')).toBeDisabled();
	await page.getByTestId('clean-near').check();
	await page.getByTestId('clean-pii').check();
	await page.getByTestId('clean-apply').click();
	await expect(page.getByTestId('clean-done')).toContainText('22 rows');
	const active = page.locator('[data-testid="version-row"][data-active="true"]');
	await expect(active.getByTestId('version-name')).toContainText('cleaned: near-duplicates dropped (Jaccard ≥ 0.8), PII redacted');
	await expect(active).toContainText('cleaned from “tickets-messy.csv”');
	await expect(page.getByTestId('version-row')).toHaveCount(2);

	// Compare the source with the cleaned version; download the cleaned one as Parquet and JSONL.
	await page.getByTestId('version-compare').locator('summary').click();
	await expect(page.getByTestId('compare-to')).toHaveValue(await active.getAttribute('data-version-id') as string);
	await page.getByTestId('compare-versions').click();
	await expect(page.getByTestId('version-diff')).toHaveText('25 → 22 rows: 18 the same, 4 added, 7 removed, 0 changed (label or split)');
	await page.getByTestId('compare-from').selectOption({ index: 0 });
	await expect(page.getByTestId('compare-versions')).toBeDisabled();
	for (const [format, ext] of [['parquet', 'parquet'], ['jsonl', 'jsonl']]) {
		await page.getByTestId('version-format').selectOption(format);
		const [download] = await Promise.all([page.waitForEvent('download'), active.getByTestId('download-version').click()]);
		expect(download.suggestedFilename()).toMatch(new RegExp(`cleaned.*\\.${ext}$`));
		if (ext === 'jsonl') {
			const text = readFileSync((await download.path())!, 'utf8');
			expect(text.trim().split('\n')).toHaveLength(22);
			expect(text).toContain('[EMAIL]');
		}
	}
	await expect(page.getByTestId('versions-message')).toContainText('(22 rows)');

	// The cleaned version: nothing left to drop or redact.
	await page.getByTestId('clean').locator('summary').click().catch(() => {});
	if (!(await page.getByTestId('clean-check').isVisible())) await page.getByTestId('clean').locator('summary').click();
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-near-count')).toHaveText('0 clusters; keeping the first row of each removes 0 rows');
	await expect(page.getByTestId('clean-pii-count')).toHaveText('none found');
	await expect(page.getByTestId('clean-near')).toBeDisabled();
	await shot(page, 'data-clean-after');
	// The user's own pattern: a bad one is refused with the reason; removed; then ERROR_CODE finds
	// the row the built-in kinds do not, and redacting it makes a version whose name says so.
	await page.getByTestId('pii-pattern-add').click();
	await page.getByTestId('pii-pattern-name').fill('bad');
	await page.getByTestId('pii-pattern-regex').fill('(');
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean').getByRole('alert')).toContainText('The pattern for bad is not a valid regular expression');
	await page.getByTestId('pii-pattern-remove').click();
	await expect(page.getByTestId('pii-pattern-name')).toHaveCount(0);
	await page.getByTestId('pii-pattern-add').click();
	await page.getByTestId('pii-pattern-name').fill('ERROR_CODE');
	await page.getByTestId('pii-pattern-regex').fill('error code \\d+');
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-pii-count')).toHaveText('1 row; redacting replaces each match with its kind');
	await expect(page.getByTestId('clean-pii-row')).toHaveText(['[ERROR_CODE]11error code 500']);
	await shot(page, 'data-clean-own-pattern');
	await expect(page.getByTestId('clean-pii')).toBeChecked();
	await page.getByTestId('clean-apply').click();
	await expect(page.getByTestId('clean-done')).toContainText('22 rows');
	await expect(active.getByTestId('version-name')).toContainText('PII redacted (with ERROR_CODE)');
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-pii-count')).toHaveText('none found');
});

const PARQUET = fileURLToPath(new URL('../fixtures/data/tickets-messy.parquet', import.meta.url));

test('data screen: a Parquet file imports like a CSV (columns, kind guess, duplicates, version)', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Parquet ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('file-input').setInputFiles(PARQUET);
	await expect(page.getByTestId('inspection')).toContainText('tickets-messy.parquet · PARQUET · 27 readable rows · 4 columns');
	await expect(page.getByTestId('text-column')).toHaveValue('text');
	await expect(page.getByTestId('label-column')).toHaveValue('label');
	await expect(page.getByTestId('import-summary')).toContainText('1 exact duplicate');
	await page.getByTestId('import-button').click();
	const active = page.locator('[data-testid="version-row"][data-active="true"]');
	await expect(active.getByTestId('version-name')).toHaveText('tickets-messy.parquet');
	await expect(active).toContainText('25');
	await expect(page.getByTestId('dataset-overview')).toContainText('PARQUET');
	await shot(page, 'data-parquet');
});

const GROUPED = fileURLToPath(new URL('../fixtures/data/tickets-grouped.csv', import.meta.url));

test('data screen: re-split by a group column (no customer in two splits)', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Groups ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await page.getByTestId('file-input').setInputFiles(GROUPED);
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('dataset-overview')).toBeVisible();
	const resplit = page.getByTestId('resplit');
	await resplit.locator('summary').click();
	await expect(page.getByTestId('resplit-button')).toBeDisabled();
	await page.getByTestId('resplit-by').selectOption('group:customer');
	await page.getByTestId('resplit-test').fill('0.25');
	await page.getByTestId('resplit-button').click();
	await expect(page.getByTestId('resplit-done')).toContainText('Created');
	const active = page.locator('[data-testid="version-row"][data-active="true"]');
	await expect(active).toContainText('by group “customer”');
	// every customer's rows sit in one split of the new version
	const versionId = (await active.getAttribute('data-version-id'))!;
	const spans = await page.evaluate(async (id) => {
		const open = indexedDB.open('whetstone');
		const db: IDBDatabase = await new Promise((res, rej) => ((open.onsuccess = () => res(open.result)), (open.onerror = () => rej(open.error))));
		const chunks: { rows: { split: number; meta?: Record<string, string> }[] }[] = await new Promise((res, rej) => {
			const req = db.transaction('rows').objectStore('rows').getAll(IDBKeyRange.bound([id, 0], [id, Infinity]));
			req.onsuccess = () => res(req.result);
			req.onerror = () => rej(req.error);
		});
		db.close();
		const splits = new Map<string, Set<number>>();
		for (const c of chunks) for (const r of c.rows) splits.set(r.meta!.customer, (splits.get(r.meta!.customer) ?? new Set()).add(r.split));
		return [...splits.values()].map((s) => s.size);
	}, versionId);
	expect(spans.length).toBe(8);
	expect(spans.every((n) => n === 1)).toBe(true);
	await shot(page, 'data-split-by-group');
});

/**
 * `n` tickets of seeded random words in three classes, every 50th a near-copy of the one before
 * (one word changed): enough rows that a check takes seconds, not a blink.
 */
function manyTickets(n: number): string {
	let seed = 7;
	const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
	const words = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}`);
	const lines = ['text,label'];
	let previous: string[] = [];
	for (let i = 0; i < n; i++) {
		const text = i % 50 === 49 ? previous.map((w, k) => (k === 3 ? 'changed' : w)) : Array.from({ length: 12 + Math.floor(next() * 20) }, () => words[Math.floor(next() * words.length)]);
		previous = text;
		lines.push(`Ticket ${text.join(' ')},${['billing', 'shipping', 'technical'][i % 3]}`);
	}
	return lines.join('\n');
}

test('data screen: a long check and a long cleaning show their stages with a count and Cancel; cancelled, nothing changes', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Long check ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('file-input').setInputFiles({ name: 'many-tickets.csv', mimeType: 'text/csv', buffer: Buffer.from(manyTickets(40_000)) });
	await expect(page.getByTestId('import-button')).toHaveText('Import 40,000 rows', { timeout: 60_000 });
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('dataset-overview')).toBeVisible({ timeout: 120_000 });
	const versions = page.getByTestId('version-row');
	await expect(versions).toHaveCount(1);
	const panel = page.getByTestId('clean');
	await panel.locator('summary').click();

	// The check, cancelled while it works: said by name, no results, the version as it was.
	const stage = panel.getByTestId('phase');
	await page.getByTestId('clean-check').click();
	await expect(stage.getByTestId('phase-name')).toHaveText(/Hashing rows for near-duplicates|Measuring lengths and Unicode|Comparing near-duplicate candidates|Looking for personal data/);
	await shot(page, 'data-clean-checking');
	await stage.getByTestId('phase-cancel').click();
	await expect(panel.getByRole('alert')).toContainText('The check was cancelled; nothing was changed.');
	await expect(stage).toHaveCount(0);
	await expect(page.getByTestId('clean-results')).toHaveCount(0);
	await expect(page.getByTestId('clean-check')).toBeEnabled();

	// Checked again (a new data worker): it runs to the end.
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-results')).toBeVisible({ timeout: 120_000 });
	await expect(page.getByTestId('clean-pii-count')).toHaveText('none found');

	await expect(page.getByTestId('clean-near-count')).toHaveText(/^[\d,]+ clusters; keeping the first row of each removes [\d,]+ rows$/);
	await expect(page.getByTestId('clean-near')).toBeChecked();

	// The cleaning (lowercase, then near-duplicates dropped), cancelled: no new version.
	await page.getByTestId('clean-lowercase').check();
	await page.getByTestId('clean-check').click();
	await expect(page.getByTestId('clean-normalize-count')).toHaveText('changes 40000 rows', { timeout: 120_000 });
	await expect(page.getByTestId('clean-normalize')).toBeChecked();
	await page.getByTestId('clean-apply').click();
	await expect(stage.getByTestId('phase-name')).toBeVisible();
	await stage.getByTestId('phase-cancel').click();
	await expect(panel.getByRole('alert')).toContainText('Cleaning was cancelled; no new version was stored');
	await expect(versions).toHaveCount(1);
	await expect(page.getByTestId('clean-done')).toHaveCount(0);
});
