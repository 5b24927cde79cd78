/**
 * The Storage screen and a full quota (issue 14, "Storage"), on a fresh profile of its own: the
 * quota is lowered with CDP's `Storage.overrideQuotaForOrigin`, which acts on this context's
 * storage only. Nothing stored yet; a cached Hub model; a full quota during a dataset import (named
 * error with the space needed and the Storage screen, nothing half-stored, the earlier version
 * intact); persistence asked when training first starts, once; the screen during training; a full
 * quota during a checkpoint write (named error, the earlier checkpoint intact, the run resumes
 * once there is space); then every deletion the screen offers, each confirmed (one dismissed), with
 * the numbers measured again; and deleting a run while it trains stops it first.
 */
import { expect, test, type CDPSession, type Page } from '@playwright/test';
import { HUB_PORT } from '../../playwright.config';
import { openStudio, setNumber, shot } from './helpers';

const HUB = `http://127.0.0.1:${HUB_PORT}`;
const REPO = 'whetstone-test/tiny-gpt2';

/** Accept (or dismiss) the confirm() a click opens and return its text (the click returns once it is answered). */
async function answerNext(page: Page, accept: boolean, click: () => Promise<void>): Promise<string> {
	let text = '';
	page.once('dialog', (d) => {
		text = d.message();
		void (accept ? d.accept() : d.dismiss());
	});
	await click();
	await expect.poll(() => text).not.toBe('');
	return text;
}

async function estimate(page: Page): Promise<{ usage: number; quota: number }> {
	return page.evaluate(async () => {
		const { usage = 0, quota = 0 } = await navigator.storage.estimate();
		return { usage, quota };
	});
}

/** Leave `bytes` of free space for this origin (undefined: the browser's own quota again). */
async function setQuota(cdp: CDPSession, page: Page, free?: number): Promise<void> {
	const origin = new URL(page.url()).origin;
	if (free === undefined) await cdp.send('Storage.overrideQuotaForOrigin', { origin });
	else await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (await estimate(page)).usage + free });
}

const allBytes = async (page: Page) => Number(await page.getByTestId('total-all').getAttribute('data-bytes'));

/** A CSV of `n` support tickets, each line ~150 bytes. */
function ticketsCsv(n: number): string {
	const teams = ['billing', 'shipping', 'tech', 'account'];
	const lines = ['text,team'];
	for (let i = 0; i < n; i++) lines.push(`"ticket ${i}: my order ${70000 + i} has a problem with ${teams[i % 4]} and I would like someone to look into it soon, thanks",${teams[i % 4]}`);
	return lines.join('\n') + '\n';
}

test('storage screen: empty, a cached model, full quota on import and on a checkpoint write, persistence, every deletion', async ({ page }) => {
	await openStudio(page, `/?hub=${encodeURIComponent(HUB)}`);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	const cdp = await page.context().newCDPSession(page);

	// Nothing stored yet but the example's dataset: no runs, no caches, no models; persistence not asked.
	await page.getByTestId('nav-storage').click();
	await expect(page.getByTestId('nav-storage')).toHaveAttribute('aria-current', 'page');
	const project = page.getByTestId('storage-project').filter({ hasText: 'Support ticket routing' });
	await expect(project.getByTestId('storage-dataset')).toHaveCount(1);
	await expect(project.getByTestId('no-runs')).toBeVisible();
	await expect(page.getByTestId('no-models')).toBeVisible();
	await expect(page.getByTestId('total-checkpoints')).toHaveText('0 B');
	await expect(page.getByTestId('storage-tokenized')).toContainText('No tokenized caches');
	await expect(page.getByTestId('clear-tokenized')).toBeDisabled();
	await expect(page.getByTestId('persistence')).toHaveAttribute('data-asked', 'never');
	await expect(page.getByTestId('persistence')).toContainText('asked for when you first start training');
	await expect(page.getByTestId('storage-estimate')).toContainText('The browser counts');
	const datasetOnly = await allBytes(page);
	expect(datasetOnly).toBeGreaterThan(100_000); // the example's 2,000-odd tickets
	await shot(page, 'storage-1-empty');

	// A model from the (local) Hub is cached: listed with its revision and size.
	await page.getByTestId('nav-train').click();
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill(REPO);
	await page.getByTestId('hub-inspect').click();
	await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });
	await page.getByTestId('source-scratch').check();
	// The header's meter opens the Storage screen too.
	await page.getByTestId('storage').click();
	await expect(page).toHaveURL(/\/storage$/);
	const model = page.getByTestId('storage-model').filter({ hasText: REPO });
	await expect(model).toHaveCount(1);
	expect((await model.getAttribute('data-revision'))!).toMatch(/^[0-9a-f]{40}$/);
	await expect(model.getByTestId('model-bytes')).toHaveText(/kB|MB/);
	expect(await allBytes(page)).toBeGreaterThan(datasetOnly);

	// A nano run; persistence is asked when it starts. It is paused at its first checkpoints.
	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 8);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 2);
	await setNumber(page, 'checkpoint-every', 2);
	await page.getByTestId('start').click();
	const list = page.getByTestId('checkpoint-list');
	await expect(list).toHaveAttribute('data-count', /^[1-9]/, { timeout: 120_000 });
	const row = page.getByTestId('run-row').first();
	await page.getByTestId('pause').click();
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
	const remembered = await page.evaluate(() => localStorage.getItem('whetstone.persistAsked'));
	expect(remembered).toBeTruthy();

	// The quota is lowered to leave room for metric points and run updates, not for a checkpoint
	// or a dataset. Chromium's IndexedDB trusts the free space it last read from the quota manager
	// for up to 30 s (BucketContext::kBucketSpaceCacheTimeLimit), so the writes that must fail
	// come after that; the quota is set again from the usage just before each of them, since the
	// database's compaction (of the pruned checkpoints) lowers the usage meanwhile.
	const pausedAt = Number(await row.getAttribute('data-step'));
	const steps = () => page.getByTestId('checkpoint-row').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.step)));
	await expect.poll(async () => Math.max(...(await steps()))).toBe(pausedAt);
	await page.getByTestId('nav-storage').click();
	const ckptBytes = Number(await project.getByTestId('storage-checkpoint').first().getAttribute('data-bytes'));
	expect(ckptBytes).toBeGreaterThan(10_000);
	const margin = Math.min(40_000, Math.floor(ckptBytes / 3));
	await setQuota(cdp, page, margin);
	const lowered = Date.now();
	const quotaTrusted = () => page.waitForTimeout(Math.max(0, lowered + 31_000 - Date.now()));

	// (b) The quota fills during a dataset import: named error, nothing half-stored, the example intact.
	await page.getByTestId('nav-data').click();
	const versions = page.getByTestId('version-row');
	await expect(versions).toHaveCount(1);
	const exampleVersion = await versions.getAttribute('data-version-id');
	await page.getByTestId('file-input').setInputFiles({ name: 'tickets-big.csv', mimeType: 'text/csv', buffer: Buffer.from(ticketsCsv(3000)) });
	await expect(page.getByTestId('import-button')).toHaveText('Import 3,000 rows');
	await quotaTrusted();
	await setQuota(cdp, page, margin);
	await page.getByTestId('import-button').click();
	const importError = page.getByRole('alert').filter({ hasText: 'could not be imported' });
	await expect(importError).toContainText(
		/Browser storage is full, so the dataset “\u2068tickets-big.csv\u2069” \([\d.]+ [kM]B needed\) was not saved\. Delete old runs or projects, checkpoints, cached models or tokenized caches on the Storage screen, then import the file again; everything saved before is intact\./,
		{ timeout: 60_000 }
	);
	await shot(page, 'storage-2-import-quota');
	await expect(versions).toHaveCount(1);
	await expect(versions.first()).toHaveAttribute('data-version-id', exampleVersion!);
	await expect(versions.first()).toHaveAttribute('data-active', 'true');

	// (a) The quota fills during the next checkpoint write of the paused run, resumed.
	await page.getByTestId('nav-train').click();
	await setQuota(cdp, page, margin);
	await page.getByTestId('resume').click();
	const full = page.getByRole('alert').filter({ has: page.getByTestId('open-storage') });
	await expect(full).toContainText(
		/Browser storage is full, so the checkpoint at step \d+ \([\d.]+ [kM]B needed\) was not saved\. Delete old runs or projects, checkpoints, cached models or tokenized caches on the Storage screen, then resume the run: it continues from its last saved checkpoint; everything saved before is intact\./,
		{ timeout: 120_000 }
	);
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 30_000 });
	expect(Math.max(...(await steps()))).toBe(pausedAt);
	await shot(page, 'storage-4-checkpoint-quota');
	// The error's link opens the Storage screen: the earlier checkpoint is there, the latest.
	await full.getByTestId('open-storage').click();
	await expect(page).toHaveURL(/\/storage$/);
	await expect(project.locator(`[data-testid="storage-checkpoint"][data-latest="true"]`)).toHaveAttribute('data-step', String(pausedAt));
	// Space is freed (the browser's own quota back), and the run resumes from that checkpoint to the end.
	await setQuota(cdp, page);
	await page.getByTestId('nav-train').click();
	await page.getByTestId('resume').click();
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 180_000 });
	expect(Math.max(...(await steps()))).toBe(8);

	// With a run, its checkpoints and a model: every deletion, confirmed, and the numbers measured again.
	await page.getByTestId('nav-storage').click();
	const run = project.getByTestId('storage-run').first();
	await expect(run).toHaveAttribute('data-status', 'completed');
	await expect(run).toHaveAttribute('data-training', '');
	const checkpoints = project.getByTestId('storage-checkpoint');
	await expect(checkpoints.first()).toHaveAttribute('data-latest', 'true');
	await expect(project.locator('[data-testid="storage-checkpoint"][data-best="true"]')).toHaveCount(1);
	const count = await checkpoints.count();
	expect(count).toBeGreaterThanOrEqual(2);
	await expect(page.getByTestId('storage-tokenized')).toContainText('every one is read by a run');
	await expect(page.getByTestId('clear-tokenized')).toBeDisabled();
	await shot(page, 'storage-5-runs');

	// A checkpoint that is not the best: asked, deleted, the total smaller by its size.
	const plain = project.locator('[data-testid="storage-checkpoint"][data-best="false"]').last();
	const plainId = (await plain.getAttribute('data-id'))!;
	const plainBytes = Number(await plain.getAttribute('data-bytes'));
	let before = await allBytes(page);
	const plainText = await answerNext(page, true, () => plain.getByTestId('delete-checkpoint').click());
	expect(plainText).toMatch(/^Delete the checkpoint at step \d+ of “.+” \([\d.]+ [kM]B\)\?/);
	expect(plainText).not.toContain('BEST');
	await expect(page.getByTestId('storage-notice')).toContainText('was deleted');
	await expect(project.locator(`[data-testid="storage-checkpoint"][data-id="${plainId}"]`)).toHaveCount(0);
	await expect.poll(() => allBytes(page)).toBe(before - plainBytes);

	// The best one: the question says so; dismissed, it stays; accepted, another takes its place.
	const best = project.locator('[data-testid="storage-checkpoint"][data-best="true"]');
	const bestId = (await best.getAttribute('data-id'))!;
	const bestText = await answerNext(page, false, () => best.getByTestId('delete-checkpoint').click());
	expect(bestText).toContain("It is this run's BEST checkpoint");
	await expect(project.locator(`[data-testid="storage-checkpoint"][data-id="${bestId}"]`)).toHaveCount(1);
	before = await allBytes(page);
	await answerNext(page, true, () => best.getByTestId('delete-checkpoint').click());
	await expect(project.locator(`[data-testid="storage-checkpoint"][data-id="${bestId}"]`)).toHaveCount(0);
	await expect(checkpoints).toHaveCount(count - 2);
	expect(await allBytes(page)).toBeLessThan(before);
	await page.getByTestId('nav-train').click();
	await expect(page.locator(`[data-testid="checkpoint-row"][data-id="${bestId}"]`)).toHaveCount(0);
	await page.getByTestId('nav-storage').click();

	// The cached model.
	before = await allBytes(page);
	const modelText = await answerNext(page, true, () => model.getByTestId('delete-model').click());
	expect(modelText).toContain(`Delete the cached model ${REPO}`);
	await expect(page.getByTestId('no-models')).toBeVisible();
	await expect(page.getByTestId('total-models')).toHaveText('0 B');
	expect(await allBytes(page)).toBeLessThan(before);

	// The run, with its checkpoints and metrics; its tokenized cache is then no run's, and is cleared.
	before = await allBytes(page);
	const runBytes = Number(await run.getAttribute('data-bytes'));
	const runText = await answerNext(page, true, () => run.getByTestId('delete-run').click());
	expect(runText).toMatch(/^Delete run “.+” with its \d+ checkpoints? and \d+ metric points, [\d.]+ [kM]B in all\? This cannot be undone\.$/);
	await expect(project.getByTestId('no-runs')).toBeVisible();
	await expect(page.getByTestId('total-checkpoints')).toHaveText('0 B');
	await expect(page.getByTestId('total-metrics')).toHaveText('0 B');
	await expect.poll(() => allBytes(page)).toBe(before - runBytes);
	const clear = page.getByTestId('clear-tokenized');
	await expect(clear).toBeEnabled();
	await expect(page.getByTestId('storage-tokenized')).toContainText('no run reads');
	const clearText = await answerNext(page, true, () => clear.click());
	expect(clearText).toMatch(/^Delete 1 tokenized cache no run reads \([\d.]+ [kM]B\)\? A new run tokenizes its data again\.$/);
	await expect(page.getByTestId('storage-notice')).toContainText('1 tokenized cache was deleted');
	await expect(page.getByTestId('total-tokenized')).toHaveText('0 B');
	await expect(clear).toBeDisabled();
	await shot(page, 'storage-6-deleted');

	// During training: the run says so and its checkpoints cannot be deleted; persistence was asked
	// once, when the first run started (this second start did not ask again).
	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 30);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 400);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 100);
	await setNumber(page, 'checkpoint-every', 2);
	await page.getByTestId('start').click();
	await expect(list).toHaveAttribute('data-count', /^[1-9]/, { timeout: 120_000 });
	expect(await page.evaluate(() => localStorage.getItem('whetstone.persistAsked'))).toBe(remembered);
	await page.getByTestId('nav-storage').click();
	const live = project.getByTestId('storage-run').first();
	await expect(live).toHaveAttribute('data-training', 'here');
	await expect(live).toContainText('training');
	await expect(project.getByTestId('storage-checkpoint').first()).toBeVisible();
	await expect(project.getByTestId('delete-checkpoint').first()).toBeDisabled();
	await expect(project.getByTestId('training-note')).toBeVisible();
	const asked = page.getByTestId('persistence');
	await expect(asked).toHaveAttribute('data-asked', /granted|declined/);
	const persisted = await page.evaluate(() => navigator.storage.persisted());
	await expect(asked).toHaveAttribute('data-persisted', String(persisted));
	await expect(asked).toContainText('asked for when you first started training');
	await shot(page, 'storage-7-training');

	// Deleting a run while it trains: the question says it is stopped first, and it is.
	const liveText = await answerNext(page, true, () => live.getByTestId('delete-run').click());
	expect(liveText).toContain('It is training now: the training is stopped first.');
	await expect(page.getByTestId('storage-notice')).toContainText('was stopped first; then the run was deleted', { timeout: 60_000 });
	await expect(project.getByTestId('no-runs')).toBeVisible();
	await page.getByTestId('nav-train').click();
	await expect(page.getByTestId('run-row')).toHaveCount(0);
	await expect(page.getByTestId('start')).toBeEnabled();

	// On a phone the screen does not scroll sideways.
	await page.setViewportSize({ width: 390, height: 844 });
	await page.getByTestId('nav-storage').click();
	await expect(page.locator('main h1')).toHaveText('Storage');
	expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
	await shot(page, 'storage-8-phone');
});
