/**
 * The Evaluate screen's Inside view (WebGPU on SwiftShader), every control of its first half: the
 * Results/Inside tabs, the model picker, and on the shared trained example run (a from-scratch
 * classifier) the attention maps (layer, head, head average, rollout, hover) and the sections that
 * say they need a language model; then on the tiny GPT-2 from the local fake Hub, as a cached base
 * model and as a run fine-tuned from it: next-token probabilities (example picker, hover, the base
 * model beside the fine-tuned one), generation with alternatives (greedy and sampled, the
 * temperature/top-k/top-p chart following its settings) and the causal attention mask.
 */
import type { Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { setNumber, shot } from './helpers';

const REPO = 'whetstone-test/tiny-gpt2';

async function pickRun(page: Page, name: string) {
	const select = page.getByTestId('eval-run');
	const value = await select.locator('option').filter({ hasText: new RegExp(`^${name} · `) }).first().getAttribute('value');
	await select.selectOption(value!);
}

/** Set a number field of the Train form, opening the <details> around it if another spec closed it. */
async function setField(page: Page, testId: string, value: number) {
	await page.getByTestId(testId).evaluate((el) => {
		for (let d = el.closest('details'); d; d = d.parentElement?.closest('details') ?? null) d.open = true;
	});
	await setNumber(page, testId, value);
}

const cells = (page: Page) => page.getByTestId('inside-attention-map').locator('rect[role="presentation"]');
const hatched = (page: Page) => cells(page).and(page.locator('[fill="url(#hatch)"]')).count();

test('Inside view on the example run: attention maps of a from-scratch classifier', async ({ studioPage: page }) => {
	const name = await ensureTrainedExample(page);
	await page.getByTestId('nav-evaluate').click();
	await pickRun(page, name);
	await page.getByTestId('eval-tab-inside').click();
	await expect(page.getByTestId('eval-tab-inside')).toHaveAttribute('aria-selected', 'true');
	await expect(page.getByTestId('inside-info')).toHaveAttribute('data-task', 'classification', { timeout: 60_000 });
	await expect(page.getByTestId('inside-info')).toHaveAttribute('data-model-type', 'scratch');
	await expect(page.getByTestId('inside-next-not-lm')).toBeVisible();
	await expect(page.getByTestId('inside-generate-not-lm')).toBeVisible();

	const attention = page.getByTestId('inside-attention');
	const example = page.getByTestId('inside-attention-example');
	await example.selectOption({ index: 2 });
	const text = await page.getByTestId('inside-attention-text').inputValue();
	expect(text.length).toBeGreaterThan(0);
	await page.getByTestId('inside-attention-run').click();
	const caption = page.getByTestId('inside-attention-caption');
	await expect(caption).toContainText('layer 1, head 1');
	// a short text: padded to its length bucket, so the padding shows
	await page.getByTestId('inside-attention-text').fill('please refund me');
	await page.getByTestId('inside-attention-run').click();
	await expect(caption).toContainText('padding');
	// a bidirectional classifier: only the padding of the length bucket is masked, every column of it
	const count = await cells(page).count();
	const tokens = Number((await caption.innerText()).match(/(\d+) tokens/)![1]);
	const padding = Number((await caption.innerText()).match(/\+ (\d+) padding/)?.[1] ?? 0);
	expect(count).toBe((tokens + padding) ** 2);
	expect(padding).toBeGreaterThan(0);
	expect(await hatched(page)).toBe((tokens + padding) * padding);
	await page.getByTestId('inside-attention-head').selectOption({ index: 1 });
	await expect(caption).toContainText('layer 1, head 2');
	await page.getByTestId('inside-attention-mode').selectOption('average');
	await expect(caption).toContainText('average of 2 heads');
	await page.getByTestId('inside-attention-mode').selectOption('rollout');
	await expect(caption).toContainText('rollout through layer 1');
	await expect(page.getByTestId('inside-attention-layer').locator('option')).toHaveCount(1);
	await cells(page).nth(1).hover();
	await expect(page.getByTestId('inside-attention-hover')).toContainText('→');
	await attention.scrollIntoViewIfNeeded();
	await shot(page, 'inside-1-example-attention');

	await page.getByTestId('eval-tab-results').click();
	await expect(page.getByTestId('inside')).toHaveCount(0);
	await expect(page.getByTestId('eval-tab-results')).toHaveAttribute('aria-selected', 'true');
});

test('Inside view on a tiny pretrained GPT-2: next tokens, alternatives, causal attention, base beside fine-tuned', async ({ studioPage: page }) => {
	await ensureTrainedExample(page); // the example project is open
	// Download the tiny GPT-2 from the local Hub and fine-tune it one step (no warm-up, so it moves) as a language model.
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill(REPO);
	await page.getByTestId('hub-inspect').click();
	// another spec in this browser context may have cached it already
	await expect(page.getByTestId('hub-download').or(page.getByTestId('hub-ready'))).toBeVisible();
	if (await page.getByTestId('hub-download').isVisible()) await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });
	await page.getByTestId('objective').selectOption('causal-lm');
	for (const [id, v] of [['hf-context', 32], ['batch-size', 8], ['epochs', 1], ['max-steps', 1], ['log-every', 1], ['eval-every', 1], ['checkpoint-every', 1], ['warmup-steps', 0], ['warmup-ratio', 0], ['lr', 0.01]] as const)
		await setField(page, id, v);
	const rows = page.getByTestId('run-row');
	const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))));
	await page.getByTestId('start').click();
	await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).filter((n) => !before.has(n)).length, { timeout: 60_000 }).toBe(1);
	const tuned = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).find((n) => !before.has(n))!;
	await expect(page.locator(`[data-testid="run-row"][data-name="${tuned}"]`)).toHaveAttribute('data-status', 'completed', { timeout: 300_000 });

	await page.getByTestId('nav-evaluate').click();
	await pickRun(page, tuned);
	await page.getByTestId('eval-tab-inside').click();
	const info = page.getByTestId('inside-info');

	// The cached base model first.
	const picker = page.getByTestId('inside-model');
	await picker.selectOption({ label: `Base model ${REPO}` });
	await expect(info).toHaveAttribute('data-model-type', 'gpt2', { timeout: 60_000 });
	await expect(info).toHaveAttribute('data-task', 'causal-lm');
	await expect(page.getByTestId('inside-next-compare')).toHaveCount(0); // a base model has no base

	// Next tokens: an example text, coloured tokens, the top 10 after the focused token.
	await page.getByTestId('inside-next-example').selectOption({ index: 1 });
	await page.getByTestId('inside-next-run').click();
	const single = page.getByTestId('inside-next-model');
	const toks = single.getByTestId('inside-next-token');
	await expect(toks.first()).toBeVisible();
	const n = await toks.count();
	expect(n).toBeGreaterThan(2);
	expect(await toks.first().getAttribute('data-lp')).toBe('');
	expect(Number(await toks.nth(1).getAttribute('data-lp'))).toBeLessThan(0);
	await toks.nth(1).hover();
	await expect(single.getByTestId('inside-next-top')).toContainText('(token 2)');
	await expect(single.getByTestId('inside-next-top').locator('li')).toHaveCount(10);
	await toks.nth(2).focus();
	await expect(single.getByTestId('inside-next-top')).toContainText('(token 3)');

	// Generation: greedy, then sampled; the chart follows the warpers.
	await page.getByTestId('inside-generate-text').fill('My order');
	await setNumber(page, 'inside-max-new', 5);
	await page.getByTestId('inside-generate-run').click();
	await expect(page.getByTestId('inside-generate-run')).toHaveText('Generate');
	const generated = page.getByTestId('inside-generated-token');
	await expect(generated).toHaveCount(5);
	await generated.nth(2).hover();
	await expect(page.getByTestId('inside-alternatives')).toHaveAttribute('data-step', '2');
	await expect(page.getByTestId('inside-alternatives').locator('tbody tr')).toHaveCount(10);
	await expect(page.getByTestId('inside-alternatives').locator('tbody tr').first()).toHaveClass(/chosen/); // greedy: the chosen one is the likeliest
	await page.getByTestId('inside-generate-mode').selectOption({ label: 'sampled' });
	await setNumber(page, 'inside-temperature', 2);
	await setNumber(page, 'inside-top-k', 5);
	await setNumber(page, 'inside-top-p', 0.9);
	await setNumber(page, 'inside-seed', 3);
	await page.getByTestId('inside-generate-run').click();
	await expect(page.getByTestId('inside-generate-run')).toHaveText('Generate');
	await expect(generated).toHaveCount(5);
	const chart = page.getByTestId('inside-reshape-chart');
	await expect(chart).toHaveAttribute('data-kept', /^128,128,5,[1-5]$/);
	await setNumber(page, 'inside-top-k', 3);
	await expect(chart).toHaveAttribute('data-kept', /^128,128,3,[1-3]$/);
	await generated.nth(4).click();
	await expect(page.getByTestId('inside-alternatives')).toHaveAttribute('data-step', '4');
	await shot(page, 'inside-2-base-generate');

	// Causal attention: everything above the diagonal is masked.
	await page.getByTestId('inside-attention-text').fill('My order arrived late');
	await page.getByTestId('inside-attention-run').click();
	const caption = page.getByTestId('inside-attention-caption');
	await expect(caption).toContainText('layer 1, head 1');
	const real = Number((await caption.innerText()).match(/(\d+) tokens/)![1]);
	const pad = Number((await caption.innerText()).match(/\+ (\d+) padding/)?.[1] ?? 0);
	const t = real + pad;
	// keys after the query (causal) and padding keys at or before it
	expect(await hatched(page)).toBe((t * (t - 1)) / 2 + (pad * (pad + 1)) / 2);
	await page.getByTestId('inside-attention-layer').selectOption({ index: 1 });
	await page.getByTestId('inside-attention-head').selectOption({ index: 3 });
	await expect(caption).toContainText('layer 2, head 4');

	// The fine-tuned run beside its base model.
	await picker.selectOption((await picker.locator('option').filter({ hasText: new RegExp(`^Run ${tuned} · `) }).first().getAttribute('value'))!);
	await expect(info).toHaveAttribute('data-model-type', 'gpt2', { timeout: 60_000 });
	await expect(page.getByTestId('inside-next-compare')).toBeChecked();
	await page.getByTestId('inside-next-text').fill('My card was charged twice for the same order.');
	await page.getByTestId('inside-next-run').click();
	await expect(page.getByTestId('inside-next-base').getByTestId('inside-next-token')).not.toHaveCount(0);
	await expect(page.getByTestId('inside-next-model').getByTestId('inside-next-token')).toHaveCount(await page.getByTestId('inside-next-base').getByTestId('inside-next-token').count());
	await expect(page.getByTestId('inside-next-changed')).toContainText('points');
	expect(await page.getByTestId('inside-next-model').locator('.tok.changed').count()).toBeGreaterThan(0);
	await page.getByTestId('inside-next-compare').uncheck();
	await page.getByTestId('inside-next-run').click();
	await expect(page.getByTestId('inside-next-base')).toHaveCount(0);
	await page.getByTestId('inside-next-compare').check();
	await page.getByTestId('inside-next-run').click();
	await expect(page.getByTestId('inside-next-base')).toBeVisible();
	await page.getByTestId('inside-next').scrollIntoViewIfNeeded();
	await shot(page, 'inside-3-tuned-vs-base');
});
