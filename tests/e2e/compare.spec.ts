/**
 * "Is fine-tuning worth it over prompting?" on screen, in the page on WebGPU: train the example
 * briefly, score a zero-shot prompt baseline with an unmodified causal LM (the tiny GPT-2 from the
 * local fake Hub), compare the run against it with paired bootstrap, and download the decision
 * report as HTML and JSON.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { HUB_PORT } from '../../playwright.config';
import { openStudio, setNumber, shot } from './helpers';

test('example: fine-tuned run vs zero-shot baseline, comparison and decision report', async ({ page }) => {
	await openStudio(page, `/?hub=${encodeURIComponent(`http://127.0.0.1:${HUB_PORT}`)}`);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');

	// A short from-scratch run on the example.
	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 32);
	await setNumber(page, 'max-steps', 8);
	await page.getByTestId('start').click();
	const row = page.getByTestId('run-row').first();
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });

	// Put a causal LM in the browser's cache for the baseline.
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill('whetstone-test/tiny-gpt2');
	await page.getByTestId('hub-inspect').click();
	await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });

	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('baseline-model')).toContainText('tiny-gpt2');
	await page.getByTestId('run-baseline').click();
	const systems = page.getByTestId('compare-systems');
	await expect(systems).toContainText('zero-shot', { timeout: 400_000 });
	await expect(systems).toContainText('Majority');
	await page.getByTestId('compare-reference').selectOption({ label: 'zero-shot · tiny-gpt2' });
	await expect(page.getByTestId('compare-table')).toContainText('run 1');
	await shot(page, 'compare-1');

	const [html] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-html').click()]);
	const report = readFileSync((await html.path())!, 'utf8');
	expect(report).toContain('<html');
	expect(report).toContain('zero-shot');
	expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
	const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
	const parsed = JSON.parse(readFileSync((await json.path())!, 'utf8'));
	expect(JSON.stringify(parsed)).toContain('zero-shot');
});
