/**
 * Fitting a run to memory on the Train screen (WebGPU on SwiftShader): the GPU memory budget, the
 * activation checkpointing switch and "Plan to fit", in the states a user meets them: a
 * from-scratch run whose batch fits whole, one that must be split into micro-batches, one that
 * needs checkpointing, one where nothing fits, and a pretrained model's; a short run trained with
 * checkpointing on, its settings saying so; and checkpointing against none on WebGPU's fast path
 * through the engine (train/checkpoint-check.ts): the same losses and weights, a lower peak.
 */
import type { Page } from '@playwright/test';
import { expect, startRun, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

async function openExampleTrain(page: Page) {
	await page.getByTestId('nav-projects').click().catch(() => {});
	const card = page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first();
	await expect(card).toBeVisible({ timeout: 60_000 });
	await card.getByRole('button', { name: 'Open' }).click();
	await page.getByTestId('nav-train').click();
}

/** The estimate's parts as the status line carries them. */
async function parts(page: Page) {
	const s = page.getByTestId('memory-status');
	const num = async (a: string) => Number(await s.getAttribute(a));
	return { total: await num('data-bytes'), fixed: await num('data-fixed'), plain: await num('data-per-example'), checkpointed: await num('data-per-example-checkpointed') };
}

async function openFolds(page: Page) {
	const folds = page.getByTestId('advanced-settings');
	if (!(await folds.evaluate((d) => (d as HTMLDetailsElement).open))) await folds.locator('summary').click();
}

/** Set the budget in decimal GB to `bytes`. */
const setBudget = (page: Page, bytes: number) => setNumber(page, 'memory-budget', bytes / 1e9);

test('Plan to fit: the batch whole, split into micro-batches, with checkpointing, or a message; the checkpointing switch', async ({ studioPage: page }) => {
	await openExampleTrain(page);
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('tiny'); // 2 layers: checkpointing saves something
	await setNumber(page, 'batch-size', 32);
	const defaultBudget = await page.getByTestId('memory-budget').inputValue();
	const status = page.getByTestId('memory-status');
	const ckpt = page.getByTestId('activation-checkpointing');
	const result = page.getByTestId('plan-result');
	await expect(status).toContainText(/This run needs about [\d.]+ [kMG]?B of the [\d.]+ [kMG]?B budget/);
	await expect(ckpt).not.toBeChecked();
	const p = await parts(page);
	expect(p.total).toBe(p.fixed + 32 * p.plain);
	expect(p.checkpointed).toBeLessThan(p.plain);

	// The checkbox itself: the estimate counts checkpointing, and drops.
	await ckpt.check();
	await expect(status).toContainText('(with activation checkpointing)');
	await expect.poll(async () => (await parts(page)).total).toBe(p.fixed + 32 * p.checkpointed);
	await ckpt.uncheck();
	await expect(status).not.toContainText('checkpointing');

	// A budget the whole batch fits: kept as it is.
	await setBudget(page, p.fixed + 40 * p.plain);
	await expect(status).not.toContainText('over it');
	await page.getByTestId('plan-fit').click();
	await expect(result).toHaveAttribute('data-fits', 'true');
	await expect(result).toContainText(/^Planned: batch 32 in one micro-batch: about [\d.]+ [kMG]?B of [\d.]+ [kMG]?B\.$/);
	await expect(page.getByTestId('batch-size')).toHaveValue('32');

	// Room for 8 examples at a time: batch 32 as 4 micro-batches of 8, written to the form.
	await setBudget(page, p.fixed + 8.5 * p.plain);
	await expect(status).toContainText('over it. Plan to fit splits the batch.');
	await page.getByTestId('plan-fit').click();
	await expect(result).toContainText('Planned: batch 32 as 4 micro-batches of 8:');
	await expect(page.getByTestId('batch-size')).toHaveValue('8');
	await openFolds(page);
	await expect(page.getByTestId('grad-accum')).toHaveValue('4');
	await expect(status).not.toContainText('over it');
	await expect(ckpt).not.toBeChecked();
	await shot(page, 'memory-fit-1-split');

	// Not even one example without checkpointing: it comes on, the effective batch stays 32.
	await setBudget(page, p.fixed + 0.99 * p.plain);
	await page.getByTestId('plan-fit').click();
	await expect(result).toContainText(/^Planned: batch 32 as \d+ micro-batches of \d+ with activation checkpointing: about/);
	await expect(ckpt).toBeChecked();
	const micro = Number(await page.getByTestId('batch-size').inputValue());
	expect(micro * Number(await page.getByTestId('grad-accum').inputValue())).toBe(32);
	expect(p.fixed + micro * p.checkpointed).toBeLessThanOrEqual(p.fixed + 0.99 * p.plain);
	await expect(status).toContainText('(with activation checkpointing)');
	await shot(page, 'memory-fit-2-checkpointing');

	// Nothing fits: the plan says what to change and the form is left as it was.
	await setBudget(page, p.fixed / 2);
	await page.getByTestId('plan-fit').click();
	await expect(result).toHaveAttribute('data-fits', 'false');
	await expect(result).toContainText('alone need about');
	await expect(result).toContainText('pick a smaller model, or LoRA');
	await expect(page.getByTestId('batch-size')).toHaveValue(String(micro));

	// Back to the studio's defaults for the specs that follow in this browser.
	await ckpt.uncheck();
	await setNumber(page, 'grad-accum', 1);
	await page.getByTestId('memory-budget').fill(defaultBudget);
	await page.getByTestId('memory-budget').blur();
});

test('a pretrained model: its method’s estimate is the one planned', async ({ studioPage: page }) => {
	await openExampleTrain(page);
	await downloadHubModel(page, 'whetstone-test/tiny-gpt2');
	const status = page.getByTestId('memory-status');
	await expect(status).toBeVisible({ timeout: 60_000 });
	await setNumber(page, 'batch-size', 8);
	const defaultBudget = await page.getByTestId('memory-budget').inputValue();
	const p = await parts(page);
	expect(p.total).toBe(p.fixed + 8 * p.plain);
	// the figure the method form shows is the one planned
	await expect(status).toContainText(`needs about ${(await page.getByTestId('method-memory').innerText()).trim()} of the`);
	await setBudget(page, p.fixed + 2.5 * p.plain);
	await page.getByTestId('plan-fit').click();
	await expect(page.getByTestId('plan-result')).toContainText('Planned: batch 8 as 4 micro-batches of 2:');
	await expect(page.getByTestId('batch-size')).toHaveValue('2');
	await openFolds(page);
	await expect(page.getByTestId('grad-accum')).toHaveValue('4');
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'grad-accum', 1);
	await page.getByTestId('memory-budget').fill(defaultBudget);
	await page.getByTestId('memory-budget').blur();
	await page.getByTestId('source-scratch').check();
});

test('a run trained with activation checkpointing on completes, and its settings say so', async ({ studioPage: page }) => {
	await openExampleTrain(page);
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 4);
	await page.getByTestId('activation-checkpointing').check();
	const row = await startRun(page);
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	await row.click();
	await page.getByTestId('run-settings').locator('summary').first().click();
	await expect(page.getByTestId('run-settings')).toContainText(/Activation checkpointing\s*on/);
	await page.getByTestId('activation-checkpointing').uncheck();
});

interface CheckpointRun {
	losses: number[];
	peakStepBytes: number;
	peakBytes: number;
}

test('checkpointing on the WebGPU fast path: the same losses and weights, a lower peak inside the step', async ({ studioPage: page }) => {
	test.setTimeout(300_000);
	const r: { backend: string; fastPath: boolean; shape: string; plain: CheckpointRun; checkpointed: CheckpointRun; lossMaxRel: number; paramMaxRel: number; tensorsLeaked: number } = await page.evaluate(async () => {
		const engine = (globalThis as any).whetstone.engine;
		await engine.init();
		return engine.bridge.call((api: any) => api.checkpointTrainingCheck({ layers: 6, seq: 32 }), 280_000);
	});
	const mb = (b: number) => (b / 1e6).toFixed(2);
	console.log(
		`checkpointing (${r.shape}, ${r.backend}, fast path ${r.fastPath}): losses ${r.plain.losses.map((l) => l.toFixed(5)).join(' ')}; max rel loss ${r.lossMaxRel.toExponential(2)}, weights ${r.paramMaxRel.toExponential(2)}; peak in step above its start ${mb(r.plain.peakStepBytes)} MB without, ${mb(r.checkpointed.peakStepBytes)} MB with (in use ${mb(r.plain.peakBytes)} / ${mb(r.checkpointed.peakBytes)} MB)`
	);
	expect(r.backend).toBe('webgpu');
	expect(r.fastPath).toBe(true);
	expect(r.plain.losses.every(Number.isFinite)).toBe(true);
	expect(r.lossMaxRel).toBeLessThanOrEqual(1e-5);
	expect(r.paramMaxRel).toBeLessThanOrEqual(1e-5);
	expect(r.checkpointed.peakStepBytes).toBeLessThan(r.plain.peakStepBytes);
	expect(r.checkpointed.peakBytes).toBeLessThan(r.plain.peakBytes);
	expect(r.tensorsLeaked).toBe(0);
});
