/**
 * The Inside view's "Why this label" and "Embeddings" on the shared trained example run, and the
 * Train screen's training internals (per-layer gradient norms and update/weight ratios) and the
 * learning-rate schedule drawn before a run starts. Every control these sections add is used.
 */
import type { Page } from '@playwright/test';
import { test, expect, ensureTrainedExample } from './fixtures';
import { setNumber, shot } from './helpers';

async function selectRun(page: Page, name: string) {
	const row = page.locator(`[data-testid="run-row"][data-name="${name}"]`);
	await row.click();
	await expect(row).toHaveClass(/selected/);
}

test('train: the schedule is drawn before a run starts, and a run shows its per-layer internals', async ({ studioPage: page }) => {
	const name = await ensureTrainedExample(page);
	await page.getByTestId('source-scratch').check();
	const folds = page.getByTestId('advanced-settings');
	await folds.evaluate((d) => ((d as HTMLDetailsElement).open = true));
	const preview = page.getByTestId('schedule-preview');
	const schedule = page.getByTestId('schedule');
	const was = { schedule: await schedule.inputValue(), warmup: await page.getByTestId('warmup-steps').inputValue(), maxSteps: await page.getByTestId('max-steps').inputValue() };
	const lr = Number(await page.getByTestId('lr').inputValue());

	await setNumber(page, 'max-steps', 12);
	await setNumber(page, 'warmup-steps', 3);
	await schedule.selectOption('linear');
	await expect(preview).toHaveAttribute('data-total', '12');
	await expect(preview).toHaveAttribute('data-warmup', '3');
	// linear: update 11 (0-based) of 12 after 3 warmup steps runs at lr × (12 − 11) / (12 − 3)
	await expect.poll(async () => Number(await preview.getAttribute('data-final-lr'))).toBeCloseTo(lr / 9, 10);
	await expect(page.getByTestId('schedule-summary')).toContainText('12 optimizer steps');
	await expect(page.getByTestId('schedule-summary')).toContainText('linear warmup over 3 steps');
	await expect(preview.locator('canvas').first()).toBeVisible();
	await preview.scrollIntoViewIfNeeded();
	await shot(page, 'inside-why-schedule-linear');
	await schedule.selectOption('constant');
	await expect.poll(async () => Number(await preview.getAttribute('data-final-lr'))).toBeCloseTo(lr, 10);
	await expect(page.getByTestId('schedule-summary')).toContainText('then constant');
	await schedule.selectOption('cosine');
	await setNumber(page, 'warmup-steps', 0);
	await expect(preview).toHaveAttribute('data-warmup', /^\d+$/);
	await expect(page.getByTestId('schedule-summary')).toContainText('cosine decay');
	// Leave the shared form as it was for the specs after this one.
	await schedule.selectOption(was.schedule);
	await setNumber(page, 'warmup-steps', Number(was.warmup));
	await setNumber(page, 'max-steps', Number(was.maxSteps));

	await selectRun(page, name);
	const internals = page.getByTestId('training-internals');
	// The shared run logs every 2 of its 8 steps: 4 recorded points, per group.
	await expect(internals).toHaveAttribute('data-points', '4');
	const groups = (await internals.getAttribute('data-groups'))!.split(',');
	expect(groups[0]).toBe('embeddings');
	expect(groups.at(-1)).toBe('head');
	expect(groups.filter((g) => g.startsWith('layer ')).length).toBeGreaterThanOrEqual(1);
	const rows = page.getByTestId('internals-row');
	await expect(rows).toHaveCount(groups.length);
	for (const r of await rows.all()) {
		expect(Number(await r.getAttribute('data-grad-norm'))).toBeGreaterThan(0);
		const ratio = Number(await r.getAttribute('data-update-ratio'));
		expect(ratio).toBeGreaterThan(0);
		expect(ratio).toBeLessThan(1);
	}
	const grad = page.getByTestId('chart-layer-grad');
	await expect(grad).toHaveAttribute('data-log', 'false');
	await page.getByTestId('internals-log-grad').check();
	await expect(grad).toHaveAttribute('data-log', 'true');
	await expect(grad).toContainText('(log₁₀)');
	await expect(page.getByTestId('chart-layer-ratio').locator('canvas').first()).toBeVisible();
	await internals.scrollIntoViewIfNeeded();
	await shot(page, 'inside-why-internals');
	await page.getByTestId('internals-log-grad').uncheck();
	await expect(grad).toHaveAttribute('data-log', 'false');
});

test('evaluate inside: why this label (integrated gradients, completeness, occlusion) and embeddings before and after', async ({ studioPage: page }) => {
	const name = await ensureTrainedExample(page);
	await selectRun(page, name);
	await page.getByTestId('nav-evaluate').click();
	await page.getByTestId('eval-tab-inside').click();
	const pickModel = page.getByTestId('inside-model');
	const value = await pickModel.locator('option', { hasText: `Run ${name} ` }).first().getAttribute('value');
	await pickModel.selectOption(value!);
	await expect(page.getByTestId('inside-info')).toHaveAttribute('data-task', 'classification', { timeout: 60_000 });

	const why = page.getByTestId('why-label');
	await page.getByTestId('why-text').fill('I was charged twice for my order, please refund the second payment.');
	// One Riemann step from the pad baseline: too coarse, or not, the check says which and what to do.
	await setNumber(page, 'why-steps', 1);
	await page.getByTestId('why-rule').selectOption('riemann');
	await page.getByTestId('why-baseline').selectOption('pad');
	await page.getByTestId('why-explain').click();
	const result = page.getByTestId('why-result');
	await expect(result).toHaveAttribute('data-steps', '1', { timeout: 60_000 });
	await expect(result).toHaveAttribute('data-rule', 'riemann');
	await expect(result).toHaveAttribute('data-baseline', 'pad');
	const coarse = await result.getAttribute('data-complete');
	await expect(page.getByTestId('why-raise-steps')).toHaveCount(coarse === 'true' ? 0 : 1);
	await expect(page.getByTestId('why-completeness')).toContainText('relative error');

	// Enough trapezoid steps from zero embeddings: the attributions add up to the logit's change.
	await setNumber(page, 'why-steps', 64);
	await page.getByTestId('why-rule').selectOption('trapezoid');
	await page.getByTestId('why-baseline').selectOption('zero');
	await page.getByTestId('why-explain').click();
	await expect(result).toHaveAttribute('data-steps', '64', { timeout: 60_000 });
	await expect(result).toHaveAttribute('data-complete', 'true');
	expect(Number(await result.getAttribute('data-rel-error'))).toBeLessThan(0.05);
	await expect(page.getByTestId('why-raise-steps')).toHaveCount(0);
	const tokens = page.getByTestId('why-token');
	const n = await tokens.count();
	expect(n).toBeGreaterThan(5);
	await expect(page.getByTestId('why-occ-token')).toHaveCount(n);
	const attrs = await tokens.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-attr'))));
	expect(attrs.some((a) => a !== 0)).toBe(true);
	const predicted = await result.getAttribute('data-predicted');
	await expect(result).toHaveAttribute('data-target', predicted!);
	await why.locator('summary', { hasText: 'Per token' }).click();
	await expect(page.getByTestId('why-table').locator('tbody tr')).toHaveCount(n);
	await why.scrollIntoViewIfNeeded();
	await shot(page, 'inside-why-label');

	// Another class: its attributions explain that class's logit.
	const classPick = page.getByTestId('why-class');
	const labels = await classPick.locator('option').evaluateAll((o) => o.map((x) => x.textContent!.trim()));
	const other = labels.slice(1).find((l) => l !== predicted)!;
	await classPick.selectOption({ label: other });
	await page.getByTestId('why-explain').click();
	await expect(result).toHaveAttribute('data-target', other, { timeout: 60_000 });
	await expect(result).toHaveAttribute('data-predicted', predicted!);

	// Embeddings: the test examples before and after training, coloured, hovered.
	const emb = page.getByTestId('inside-embeddings');
	await page.getByTestId('embeddings-project').click();
	const panels = page.getByTestId('embeddings-panel');
	await expect(panels).toHaveCount(2, { timeout: 60_000 });
	const points = Number(await panels.first().getAttribute('data-points'));
	expect(points).toBeGreaterThan(10);
	await expect(panels.nth(1)).toHaveAttribute('data-points', String(points));
	await expect(panels.first()).toHaveAttribute('data-which', 'before');
	await expect(emb.getByTestId('embedding-point')).toHaveCount(2 * points);
	await expect(page.getByTestId('embeddings-legend')).toContainText(`${points}`);
	await expect(page.getByTestId('embedding-hover')).toContainText('Hover a point');
	await panels.nth(1).getByTestId('embedding-point').nth(3).hover();
	await expect(page.getByTestId('embedding-hover')).toContainText('“');
	await expect(page.getByTestId('embedding-hover')).toContainText('(after)');
	await page.getByTestId('embeddings-color').selectOption('correct');
	await expect(page.getByTestId('embeddings-legend')).toContainText('wrong');
	await emb.scrollIntoViewIfNeeded();
	await shot(page, 'inside-why-embeddings');
	await page.getByTestId('embeddings-color').selectOption('label');
	await expect(page.getByTestId('embeddings-legend')).not.toContainText('wrong');
	await page.getByTestId('embeddings-project').click();
	await expect(page.getByTestId('embeddings-project')).toHaveText('Project again', { timeout: 60_000 });
	await page.getByTestId('eval-tab-results').click();
});
