/**
 * LoRA in the page on WebGPU: the tiny Llama from the local fake Hub gets rank-4 adapters on its
 * attention projections and a new classification head for the example's five teams; the run is
 * paused, the page reloaded, and the run resumed to the end from its adapter-only checkpoint.
 */
import { expect, test } from '@playwright/test';
import { HUB_PORT } from '../../playwright.config';
import { openStudio, setNumber, shot } from './helpers';

test('LoRA fine-tune of the tiny Llama: pause, reload, resume, evaluate', async ({ page }) => {
	await openStudio(page, `/?hub=${encodeURIComponent(`http://127.0.0.1:${HUB_PORT}`)}`);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	await page.getByTestId('nav-train').click();
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill('whetstone-test/tiny-llama');
	await page.getByTestId('hub-inspect').click();
	await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });

	await page.getByTestId('objective').selectOption('classification');
	await page.getByTestId('method-lora').check();
	await setNumber(page, 'lora-rank', 4);
	await expect(page.getByTestId('method-summary')).toContainText('parameters train');
	await setNumber(page, 'hf-context', 32);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'max-steps', 10);
	await setNumber(page, 'lr', 0.003);
	await page.locator('summary', { hasText: 'Optimizer' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 4);
	await setNumber(page, 'checkpoint-every', 2);
	await shot(page, 'lora-1-form');
	await page.getByTestId('start').click();

	const row = page.getByTestId('run-row').first();
	await expect(row).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
	await expect.poll(async () => Number(await row.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(2);
	await page.getByTestId('pause').click();
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
	const pausedAt = Number(await row.getAttribute('data-step'));
	expect(pausedAt).toBeLessThan(10);

	// A LoRA checkpoint holds the adapter and the head, not the base weights.
	const names: string[] = await page.evaluate(async () => {
		const db: IDBDatabase = await new Promise((ok, err) => {
			const r = indexedDB.open('whetstone');
			r.onsuccess = () => ok(r.result);
			r.onerror = () => err(r.error);
		});
		const all: { tensors: { name: string }[] }[] = await new Promise((ok) => {
			const req = db.transaction('checkpoints').objectStore('checkpoints').getAll();
			req.onsuccess = () => ok(req.result);
		});
		db.close();
		return all.flatMap((m) => m.tensors.map((t) => t.name));
	});
	expect(names.some((n) => n.includes('lora_A'))).toBe(true);
	expect(names.some((n) => n === 'model.embed_tokens.weight')).toBe(false);

	await page.reload();
	await page.getByTestId('nav-train').click();
	await expect(row).toHaveAttribute('data-status', 'paused');
	await page.getByTestId('resume').click();
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	expect(Number(await row.getAttribute('data-step'))).toBe(10);
	await shot(page, 'lora-2-trained');

	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-results')).toContainText('accuracy');
	await expect(page.getByTestId('export-adapter')).toBeVisible();
});
