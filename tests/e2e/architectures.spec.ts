/**
 * The newer architectures in the page on WebGPU (SwiftShader), from the local fake Hub: the tiny
 * DistilBERT (an encoder) is looked up, downloaded, checked against transformers' reference on this
 * backend and fine-tuned as the example's classifier for a few steps; the tiny Pythia (GPT-NeoX, a
 * decoder with partial rotary and a parallel residual) is downloaded and its logits, loss and
 * greedy generation checked the same way (every check is logged). The curated list offers the real checkpoints.
 */
import type { Page } from '@playwright/test';
import { expect, HUB_URL, test } from './fixtures';
import { setNumber, shot } from './helpers';

type Check = { name: string; value: unknown; pass: boolean };

/** Look up and download a fake-Hub repo in the picker, then run the parity checks in the page's engine. */
async function downloadAndCheck(page: Page, repo: string, modelType: string): Promise<Check[]> {
	await page.getByTestId('hub-repo').fill(repo);
	await page.getByTestId('hub-inspect').click();
	await expect(page.getByTestId('hub-inspection')).toContainText(modelType);
	await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });
	const revision = await page.evaluate(() => (window as any).whetstone.hub.inspection.revision);
	const reference = await (await page.request.get(`${HUB_URL}/${repo}/resolve/main/reference.json`)).json();
	const checks: Check[] = await page.evaluate(([r, rev, ref]) => (window as any).whetstone.engine.checkModel({ repo: r, revision: rev }, ref), [repo, revision, reference] as const);
	console.log(`${repo} on WebGPU:`, checks.map((c) => `${c.name}=${c.value} ${c.pass ? 'PASS' : 'FAIL'}`).join(', '));
	return checks;
}

const passed = (checks: Check[], name: string) => checks.find((c) => c.name === name)?.pass;

test.describe('newer architectures from the Hub', () => {
	test.beforeEach(async ({ studioPage: page }) => {
		await page.getByTestId('nav-projects').click();
		const card = page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first();
		await expect(card).toBeVisible({ timeout: 60_000 });
		await card.getByRole('button', { name: 'Open' }).click();
		await page.getByTestId('nav-train').click();
		await page.getByTestId('source-pretrained').check();
	});

	test('tiny DistilBERT: the curated list offers DistilBERT and RoBERTa; parity on WebGPU; a 6-step classifier fine-tune', async ({ studioPage: page }) => {
		await page.getByTestId('objective').selectOption('classification');
		const picker = page.getByTestId('model-picker');
		await expect(picker).toContainText('distilbert-base-uncased');
		await expect(picker).toContainText('roberta-base');
		await expect(picker).toContainText('pythia-70m');

		const checks = await downloadAndCheck(page, 'whetstone-test/tiny-distilbert', 'distilbert');
		for (const name of ['logits', 'loss']) expect(passed(checks, name), name).toBe(true);
		await shot(page, 'architectures-1-distilbert');

		await setNumber(page, 'hf-context', 32);
		await setNumber(page, 'batch-size', 8);
		await setNumber(page, 'epochs', 1);
		await page.locator('summary', { hasText: 'Optimizer' }).click();
		await setNumber(page, 'max-steps', 6);
		await setNumber(page, 'log-every', 2);
		await setNumber(page, 'eval-every', 6);
		await setNumber(page, 'checkpoint-every', 6);
		await setNumber(page, 'lr', 0.003);
		await page.getByTestId('start').click();
		const row = page.getByTestId('run-row').first();
		await expect(row).toContainText('tiny-distilbert');
		await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
		expect(Number(await row.getAttribute('data-step'))).toBe(6);
		await shot(page, 'architectures-2-distilbert-trained');
	});

	test('tiny Pythia (GPT-NeoX): logits, loss and greedy generation match transformers on WebGPU', async ({ studioPage: page }) => {
		await page.getByTestId('objective').selectOption('causal-lm');
		const checks = await downloadAndCheck(page, 'whetstone-test/tiny-gpt-neox', 'gpt_neox');
		for (const name of ['logits', 'loss', 'generation']) expect(passed(checks, name), name).toBe(true);
		await shot(page, 'architectures-3-pythia');
	});
});
