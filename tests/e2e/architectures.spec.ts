/**
 * The newer architectures in the page on WebGPU (SwiftShader), from the local fake Hub: the tiny
 * DistilBERT (an encoder) is looked up, downloaded, checked against transformers' reference on this
 * backend and fine-tuned as the example's classifier for a few steps; the tiny Pythia (GPT-NeoX, a
 * decoder with partial rotary and a parallel residual) and the tiny Mistral (a sliding window shorter than
 * the reference's 10 tokens) are downloaded and their logits, loss, gradient norms and greedy
 * generation checked the same way, and the LoRA form proposes peft's target modules for each. The curated list offers the real checkpoints.
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
		expect(checks.map((c) => c.name).sort()).toEqual(['grad_norm', 'logits', 'loss', 'param grad norms']);
		for (const c of checks) expect(c.pass, `${c.name}: ${c.value}`).toBe(true);
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

	test("tiny Pythia (GPT-NeoX) and tiny Mistral (sliding window): every check against transformers passes on WebGPU; LoRA offers peft's targets", async ({ studioPage: page }) => {
		await page.getByTestId('objective').selectOption('causal-lm');
		for (const [repo, type, targets] of [
			['whetstone-test/tiny-gpt-neox', 'gpt_neox', 'query_key_value'],
			['whetstone-test/tiny-mistral', 'mistral', 'q_proj,v_proj']
		]) {
			const checks = await downloadAndCheck(page, repo, type);
			expect(checks.map((c) => c.name).sort()).toEqual(['generation', 'grad_norm', 'logits', 'loss', 'param grad norms']);
			for (const c of checks) expect(c.pass, `${repo} ${c.name}: ${c.value}`).toBe(true);
			await page.getByTestId('method-lora').check();
			await expect(page.getByTestId('lora-targets')).toHaveValue(targets);
			await expect(page.getByTestId('method-summary')).toContainText('parameters train');
			await shot(page, `architectures-3-${type}`);
			await page.getByTestId('method-full').check();
		}
	});
});
