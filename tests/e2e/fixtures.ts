/**
 * Shared e2e fixtures: one browser context per Playwright worker (one worker by default, so one for
 * the whole suite while no test fails), holding the example project with a tiny trained
 * from-scratch run.
 * Specs that only need "a completed classification run" take `studioPage` and call
 * `ensureTrainedExample`, so the run is trained once for all of them instead of once per spec.
 * Specs that test a fresh profile (reloads, crashes, importer errors) keep Playwright's own `page`.
 */
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { HUB_PORT } from '../../playwright.config';
import { openStudio, setNumber } from './helpers';

export const HUB_URL = `http://127.0.0.1:${HUB_PORT}`;

export const test = base.extend<object, { studioPage: Page }>({
	studioPage: [
		async ({ browser }, use) => {
			const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
			const page = await context.newPage();
			await openStudio(page, `/?hub=${encodeURIComponent(HUB_URL)}`);
			await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
			await use(page);
			await context.close();
		},
		{ scope: 'worker', timeout: 300_000 }
	]
});

export { expect };

/** The shared example run's name, set once it is trained in this worker's context. */
let trained: string | null = null;

/**
 * Make sure the example project is open and has a completed tiny from-scratch run (the newest
 * run row); trains it (nano, batch 8, 8 steps, log every 2, eval every 4, checkpoint every 4) the first time.
 * Specs that train more runs in the example project leave this one in place (never delete it).
 * Leaves the page on the Train screen and returns the run's name: other specs add runs to the
 * example project too, so find it by name, not by its place in the list.
 */
export async function ensureTrainedExample(page: Page): Promise<string> {
	await page.getByTestId('nav-projects').click().catch(() => {});
	const card = page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first();
	await expect(card).toBeVisible({ timeout: 60_000 });
	await card.getByRole('button', { name: 'Open' }).click();
	await page.getByTestId('nav-train').click();
	if (trained) return trained;
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 8);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 4);
	await setNumber(page, 'checkpoint-every', 4);
	const row = await startRun(page);
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	trained = (await row.getAttribute('data-name'))!;
	return trained;
}

/**
 * Click Start and return the row of the run it adds. Other specs leave completed runs in the example
 * project, so the new row is found by name, not by its place in the list.
 */
export async function startRun(page: Page): Promise<Locator> {
	const rows = page.getByTestId('run-row');
	const names = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
	const before = new Set(await names());
	await page.getByTestId('start').click();
	await expect.poll(async () => (await names()).filter((n) => !before.has(n)).length, { timeout: 120_000 }).toBe(1);
	const name = (await names()).find((n) => !before.has(n))!;
	return page.locator(`[data-testid="run-row"][data-name="${name}"]`);
}
