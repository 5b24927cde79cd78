/**
 * Issue 10: the compiled training step (src/lib/engine/compiled/) replays a traced step's dispatch
 * list in one submit, and must train exactly as the step it replaces: for the from-scratch
 * classifier, GPT-2, BERT and a Llama with LoRA, with dropout, a changing learning rate and batches
 * of changing padding, every window's loss and every weight are bit-equal to the plain fast path.
 */
import { ensureTrainedExample, expect, startRun, test } from './fixtures';
import { setNumber, shot } from './helpers';
import type { CompiledCase as Case } from '../../src/lib/engine/compiled/check';

test('compiled steps replay bit for bit what the fast path computes, in one submit, with and without accumulation', async ({ studioPage: page }) => {
	test.setTimeout(300_000);
	const cases: Case[] = await page.evaluate(async () => {
		const engine = (globalThis as any).whetstone.engine;
		await engine.init();
		return engine.bridge.call((api: any) => api.compiledCheck(12), 280_000);
	});
	for (const c of cases) {
		const s = c.summary;
		console.log(
			`${c.label}, ${c.accum} micro-batch(es) a step: ${s?.replays ?? 0} of ${c.steps * c.accum} micro-batches replayed (${s?.compiled ?? 0} of ${s?.kinds ?? 0} kinds compiled${s?.refused.length ? `; refused: ${s.refused.join('; ')}` : ''}); ` +
				`windows differing ${c.windowsDiffering} of ${c.windows}; max weight difference ${c.maxWeightDiff} over ${c.weightsCompared} values; ` +
				`last step: ${c.compiledDispatches} dispatches in ${c.compiledSubmits} submit(s) compiled, ${c.plainDispatches} in ${c.plainSubmits} plain`
		);
	}
	expect(cases.map((c) => `${c.model}×${c.accum}`)).toEqual(['scratch×1', 'scratch×2', 'gpt2×1', 'gpt2×2', 'bert×1', 'bert×2', 'llama-lora×1', 'llama-lora×2']);
	for (const c of cases) {
		const s = c.summary!;
		expect(s.refused, c.label).toEqual([]);
		// Two traces per kind of micro-batch (and the first update, which lays out the optimizer's
		// arenas, uncompiled); the rest replayed.
		expect(s.replays, c.label).toBeGreaterThanOrEqual(c.steps * c.accum - 2 * s.kinds - c.accum);
		expect(s.replays, c.label).toBeGreaterThan(0);
		expect(c.windowsDiffering, c.label).toBe(0);
		expect(c.maxWeightDiff, c.label).toBe(0);
		expect(c.weightsCompared, c.label).toBeGreaterThan(0);
		// A replay is one submit (per micro-batch) with the same dispatches.
		expect(c.compiledSubmits, c.label).toBe(c.accum);
		expect(c.compiledDispatches, c.label).toBe(c.plainDispatches);
		expect(c.tensorsLeaked, c.label).toBe(0);
	}
});

test('a run in the studio replays its steps from a compiled plan, through checkpoints, and says so in its settings', async ({ studioPage: page }) => {
	test.setTimeout(300_000);
	await ensureTrainedExample(page);
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 16);
	const shape = page.locator('summary', { hasText: 'Model shape' });
	if (!(await page.getByTestId('log-every').isVisible())) await shape.click();
	await setNumber(page, 'log-every', 4);
	await setNumber(page, 'eval-every', 8);
	await setNumber(page, 'checkpoint-every', 4);
	const row = await startRun(page);
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 240_000 });
	await row.click();
	await page.getByTestId('run-settings').locator('summary').first().click();
	const facts = page.getByTestId('run-compiled');
	await expect(facts).toBeVisible();
	// 16 steps, a log point every 4: step 1 adopts the optimizer's arenas, steps 2–3 and 5 are
	// traced, the steps before each log point record the layers; the rest replay, checkpoints
	// every 4 steps notwithstanding (they read the moments from the arenas, which stay).
	expect(Number(await facts.getAttribute('data-steps'))).toBe(16);
	expect(Number(await facts.getAttribute('data-replayed'))).toBeGreaterThanOrEqual(6);
	await expect(facts).toContainText(/of 16 steps replayed from a compiled plan \(\d+ dispatches in one submit\)/);
	await expect(facts).not.toContainText('Not compiled');
	await shot(page, 'compiled-step-run-settings');
});
