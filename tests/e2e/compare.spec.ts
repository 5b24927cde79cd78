/**
 * "Is fine-tuning worth it over prompting?" on screen, in the page on WebGPU: on the shared trained
 * example (fixtures.ts), score a zero-shot prompt baseline with an unmodified causal LM (the tiny
 * GPT-2 from the local fake Hub), compare the run against it with paired bootstrap, and download
 * the decision report as HTML and JSON; every control of the classification Compare screen is
 * used once: the baseline's fields and Cancel, the reference picker, the system checkboxes, the
 * report's run picker and both downloads.
 */
import { readFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { setNumber, shot } from './helpers';

async function downloaded(page: Page, testId: string): Promise<string> {
	const [d] = (await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()])) as [Download, unknown];
	return readFileSync((await d.path())!, 'utf8');
}

test('example: fine-tuned run vs zero-shot baseline, comparison and decision report', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	const runName = (await page.locator('[data-testid="run-row"][data-status="completed"][data-step="8"]').last().getAttribute('data-name'))!;

	// Put a causal LM in the browser's cache for the baseline.
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill('whetstone-test/tiny-gpt2');
	await page.getByTestId('hub-inspect').click();
	const download = page.getByTestId('hub-download');
	const ready = page.getByTestId('hub-ready');
	await expect(download.or(ready)).toBeVisible({ timeout: 60_000 });
	if (await download.isVisible()) await download.click();
	await expect(ready).toBeVisible({ timeout: 120_000 });
	await page.getByTestId('source-scratch').check();

	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('baseline-model')).toContainText('tiny-gpt2');
	const systems = page.getByTestId('compare-systems');
	await expect(systems).toContainText('Majority');
	const baselinesBefore = await systems.getByText('zero-shot').count();

	// Cancel a baseline: it stops and says so; nothing is stored.
	await page.getByTestId('run-baseline').click();
	await page.getByTestId('cancel-baseline').click();
	await expect(page.getByTestId('baseline-cancelled')).toContainText('nothing was stored', { timeout: 120_000 });
	await expect(systems.getByText('zero-shot')).toHaveCount(baselinesBefore);

	// The baseline's fields, edited; they stay as typed after the run.
	await page.getByTestId('baseline-model').selectOption({ index: 0 });
	const word = page.getByTestId('baseline-word').first();
	await word.fill(await word.inputValue());
	await setNumber(page, 'baseline-shots', 0);
	await setNumber(page, 'baseline-seed', 2);
	const template = page.getByTestId('baseline-template');
	const edited = `${await template.inputValue()}`.replace('Text:', 'Ticket:');
	await template.fill(edited);
	await page.getByTestId('run-baseline').click();
	await expect(systems.getByText('zero-shot')).toHaveCount(baselinesBefore + 1, { timeout: 400_000 });
	await expect(template).toHaveValue(edited);
	await expect(page.getByTestId('baseline-seed')).toHaveValue('2');

	// The reference picker and the systems' checkboxes.
	const reference = page.getByTestId('compare-reference');
	const zeroShot = await reference.locator('option').evaluateAll((o) => (o as HTMLOptionElement[]).filter((x) => x.text.includes('zero-shot')).map((x) => x.value).at(-1)!);
	await reference.selectOption(zeroShot);
	const table = page.getByTestId('compare-table');
	await expect(table.locator('tr.ref')).toContainText('zero-shot');
	await expect(table).toContainText(runName);
	await expect(table).toContainText('Majority');
	const majority = systems.locator('li').filter({ hasText: 'Majority' }).getByRole('checkbox');
	await majority.uncheck();
	await expect(table).not.toContainText('Majority');
	await majority.check();
	await expect(table).toContainText('Majority');
	await shot(page, 'compare-1');

	await expect(page.getByTestId('compare-curves')).toBeVisible();
	// Settings that differ, under the forms' labels, when two trained runs are selected.
	const diff = page.getByTestId('config-diff');
	if (await diff.count()) await expect(diff).not.toContainText(/\b(model|train)\.[a-z]/);

	const candidate = page.getByTestId('report-candidate');
	await candidate.selectOption({ label: runName });
	await expect(page.getByTestId('verdict')).toContainText(runName);
	const report = await downloaded(page, 'download-html');
	expect(report).toContain('<html');
	expect(report).toContain('zero-shot');
	expect(report).toContain('macro F1');
	expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
	// The example has no metadata columns with repeated values: no identifier or date offered as a slice.
	expect(report).not.toMatch(/<td>(ticket_id|created)<\/td>/);
	const parsed = JSON.parse(await downloaded(page, 'download-json'));
	expect(parsed.reference.name).toContain('zero-shot');
	expect(parsed.candidate.name).toBe(runName);
	expect(parsed.difference.n).toBe(parsed.candidate.count);
});
