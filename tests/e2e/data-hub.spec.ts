/**
 * A dataset from the (fake) Hugging Face Hub on the Data screen: a gated id is refused with what to
 * do, a search finds the id, a config and split are previewed from the Parquet footers, a read cut
 * off by Cancel stores nothing, and a read of two columns is mapped and imported as a version that
 * records its source (dataset, config, split, commit, rows read). Its own profile: the import
 * becomes the project's dataset, which the shared example project must keep.
 */
import { expect, test } from '@playwright/test';
import { HUB_URL } from './fixtures';
import { openStudio, setNumber, shot } from './helpers';

const SHA = 'c0417e3a'; // whetstone-test/tickets at refs/convert/parquet (tests/support/hub-server.ts)

async function hubOptions(options: Record<string, unknown>) {
	const res = await fetch(`${HUB_URL}/__options`, { method: 'POST', body: JSON.stringify(options) });
	expect(res.ok).toBe(true);
}

test('import a Hub dataset: gated error, search, preview, cancel, import with its source', async ({ page }) => {
	await hubOptions({ slowBytesPerSec: 0 });
	await openStudio(page, `/?hub=${encodeURIComponent(HUB_URL)}`);
	await page.getByTestId('nav-data').click();
	const card = page.getByTestId('hub-dataset-import');
	const versions = page.getByTestId('version-row');
	await expect(versions).toHaveCount(1);

	// A gated dataset without a token: refused at the look-up, saying what to do.
	await card.getByTestId('hub-dataset-id').fill('whetstone-test/gated-tickets');
	await card.getByTestId('hub-dataset-lookup').click();
	const alert = card.getByRole('alert');
	await expect(alert).toContainText('whetstone-test/gated-tickets is gated');
	await expect(alert).toContainText('access token');
	await alert.getByRole('button', { name: 'Dismiss' }).click();
	await expect(alert).toHaveCount(0);

	// Search by a part of the id, pick the suggestion: the first config's first split is previewed.
	await card.getByTestId('hub-dataset-id').fill('tickets');
	await card.getByTestId('hub-dataset-suggestion').filter({ hasText: /^whetstone-test\/tickets$/ }).click();
	await expect(card.getByTestId('hub-dataset-listing')).toContainText(`whetstone-test/tickets · the Hub's Parquet conversion · commit ${SHA} · 4 splits`);
	await expect(card.getByTestId('hub-dataset-total')).toContainText('default / train: 400 rows');
	await card.getByTestId('hub-dataset-split').selectOption({ label: 'short / train' });
	const total = card.getByTestId('hub-dataset-total');
	await expect(total).toContainText('short / train: 160 rows');
	await expect(total).toContainText('4 columns');
	const preview = card.getByTestId('hub-dataset-preview');
	await expect(preview.locator('tbody tr')).toHaveCount(5);
	await expect(preview.locator('thead')).toContainText('label');
	// ClassLabel ints are shown as their names.
	await expect(preview.locator('tbody')).toContainText(/account|billing|bug|other/);

	// Cancel mid-read: the slowed Hub keeps the read going; nothing is stored.
	await hubOptions({ slowBytesPerSec: 4000 });
	await card.getByTestId('hub-dataset-read').click();
	await expect(card.getByTestId('hub-dataset-progress')).toContainText(/Reading the footers…|of 160 rows/);
	await card.getByTestId('hub-dataset-cancel').click();
	await expect(alert).toContainText('cancelled; nothing was stored');
	await hubOptions({ slowBytesPerSec: 0 });
	await expect(versions).toHaveCount(1);
	await expect(card.getByTestId('hub-dataset-mapping')).toHaveCount(0);

	// Read two of the four columns, 120 rows; discard once, read again.
	await card.getByTestId('hub-dataset-column').and(page.locator('[value="notes"]')).uncheck();
	await card.getByTestId('hub-dataset-column').and(page.locator('[value="source"]')).uncheck();
	await setNumber(page, 'hub-dataset-limit', 120);
	await expect(card.getByTestId('hub-dataset-read')).toHaveText('Read 120 rows of 2 columns');
	await card.getByTestId('hub-dataset-read').click();
	const mapping = card.getByTestId('hub-dataset-mapping');
	await expect(mapping.getByTestId('hub-dataset-read-summary')).toContainText('Read 120 rows of text, label');
	await mapping.getByTestId('hub-dataset-discard').click();
	await expect(mapping).toHaveCount(0);
	await card.getByTestId('hub-dataset-read').click();
	await expect(mapping).toBeVisible();

	// The mapping guesses text + label; switching kind changes the pickers; duplicates kept or dropped.
	await expect(mapping.getByTestId('hub-dataset-kind')).toHaveValue('classification');
	await expect(mapping.getByTestId('hub-dataset-text-column')).toHaveValue('text');
	await expect(mapping.getByTestId('hub-dataset-label-column')).toHaveValue('label');
	await mapping.getByTestId('hub-dataset-kind').selectOption('text');
	await expect(mapping.getByTestId('hub-dataset-label-column')).toHaveCount(0);
	await mapping.getByTestId('hub-dataset-kind').selectOption('classification');
	await mapping.getByTestId('hub-dataset-label-column').selectOption('label');
	await mapping.getByTestId('hub-dataset-text-column').selectOption('text');
	await mapping.getByTestId('hub-dataset-keep-duplicates').check();
	await expect(mapping.getByTestId('hub-dataset-plan')).toContainText('120 rows read · 0 exact duplicates kept');
	await mapping.getByTestId('hub-dataset-keep-duplicates').uncheck();
	await expect(mapping.getByTestId('hub-dataset-plan')).toContainText('exact duplicates dropped');
	await expect(mapping.getByTestId('hub-dataset-import-button')).toHaveText('Import 120 rows');
	await mapping.getByTestId('hub-dataset-import-button').click();

	await expect(card.getByTestId('hub-dataset-done')).toContainText(`Imported 120 rows of whetstone-test/tickets (short/train, commit ${SHA})`);
	await expect(versions).toHaveCount(2);
	const row = versions.filter({ hasText: 'whetstone-test/tickets · short/train' });
	await expect(row).toHaveAttribute('data-active', 'true');
	await expect(row).toContainText(`from the Hub: whetstone-test/tickets, short/train at commit ${SHA}, 120 rows read (text, label)`);
	await expect(row.getByTestId('version-rows')).toHaveText('120');
	await expect(page.getByTestId('dataset-overview')).toContainText('whetstone-test/tickets · short/train');
	await shot(page, 'data-hub');
});
