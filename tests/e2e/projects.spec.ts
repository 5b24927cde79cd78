/**
 * The Projects screen: create a project (it opens on the Data screen), open another, delete one
 * after a confirmation (Cancel keeps it); and every screen on a phone-sized window (390 × 844):
 * the page never scrolls sideways, every screen stays reachable from the header, wide tables
 * scroll inside their own box.
 */
import type { Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { shot } from './helpers';

/** Every screen in the header, in its order. */
const SCREENS = ['projects', 'data', 'train', 'evaluate', 'compare', 'experiments'];

const card = (page: Page, name: string) => page.getByTestId('project-card').filter({ hasText: name });

test('projects: create, open, delete with confirmation', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	const name = `Clause tagging ${Date.now()}`;
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data/);
	await page.getByTestId('nav-projects').click();
	await expect(card(page, name)).toHaveCount(1);
	await expect(card(page, name)).toContainText('open');
	await expect(page.getByLabel('Project name')).toHaveValue('');

	// Open the example: it becomes the open project and the Train screen shows it.
	await card(page, 'Support ticket routing').first().getByRole('button', { name: 'Open' }).click();
	await expect(page).toHaveURL(/\/train/);
	await expect(page.locator('h1')).toContainText('Support ticket routing');
	await page.getByTestId('nav-projects').click();
	await expect(card(page, 'Support ticket routing').first()).toContainText('open');
	await expect(card(page, name)).not.toContainText('open');

	// Delete asks first: Cancel keeps the project, OK deletes it.
	let asked = '';
	page.once('dialog', (d) => {
		asked = d.message();
		void d.dismiss();
	});
	await card(page, name).getByRole('button', { name: 'Delete' }).click();
	expect(asked).toContain(name);
	expect(asked).toContain('cannot be undone');
	await expect(card(page, name)).toHaveCount(1);
	page.once('dialog', (d) => void d.accept());
	await card(page, name).getByRole('button', { name: 'Delete' }).click();
	await expect(card(page, name)).toHaveCount(0);
	await expect(card(page, 'Support ticket routing').first()).toContainText('open');
	await shot(page, 'projects-1');
});

test('every screen works at phone width (390 × 844): no sideways page scroll, the nav reachable', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	await page.setViewportSize({ width: 390, height: 844 });
	try {
		for (const screen of SCREENS) {
			const link = page.getByTestId(`nav-${screen}`);
			await link.click();
			await expect(link).toHaveAttribute('aria-current', 'page');
			await expect(page.locator('main h1, main h2').first()).toBeVisible({ timeout: 60_000 });
			// Let the screen's late parts (charts, tables) render before measuring.
			await page.waitForLoadState('networkidle').catch(() => {});
			const width = await page.evaluate(() => document.documentElement.scrollWidth);
			expect(width, `${screen} is ${width} px wide`).toBeLessThanOrEqual(390);
			// Every screen's link is inside the window, none fell off the header.
			for (const other of SCREENS) {
				const box = (await page.getByTestId(`nav-${other}`).boundingBox())!;
				expect(box.x + box.width, `${other} link on ${screen}`).toBeLessThanOrEqual(390);
			}
			await shot(page, `phone-${screen}`);
		}
		// The Runs table and Compare's results table are wider than a phone: each scrolls inside its own box.
		for (const [screen, table] of [['train', 'run-list'], ['compare', 'compare-table']]) {
			await page.getByTestId(`nav-${screen}`).click();
			const scroller = page.getByTestId(table).locator('xpath=..');
			const sizes = await scroller.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, overflow: getComputedStyle(el).overflowX }));
			expect(sizes.client, table).toBeLessThanOrEqual(390);
			expect(sizes.scroll, table).toBeGreaterThan(sizes.client);
			expect(sizes.overflow, table).toBe('auto');
		}
	} finally {
		await page.setViewportSize({ width: 1280, height: 900 });
	}
});
