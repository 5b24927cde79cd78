/**
 * The whole flow in the page, on WebGPU (SwiftShader): open the example, train a tiny model for a
 * few steps, see the loss chart move, pause, reload and find the run paused with its metrics,
 * resume, reload mid-training and find it paused at its last checkpoint, resume to the end,
 * evaluate, and predict a typed text.
 */
import { expect, test } from '@playwright/test';
import { openStudio, setNumber, shot } from './helpers';

test('example project: train, pause, reload, resume, evaluate, predict on WebGPU', async ({ page }) => {
	await openStudio(page);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	await shot(page, '1-projects');

	await page.getByTestId('nav-data').click();
	await expect(page.getByTestId('dataset-overview')).toContainText('support tickets');
	await expect(page.getByTestId('dataset-overview')).toContainText('5');
	await shot(page, '2-data');

	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	// Room after the second resume: with faster steps, 16 could all be done before the reload below.
	await setNumber(page, 'max-steps', 40);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 6);
	await setNumber(page, 'checkpoint-every', 4);
	await page.getByTestId('start').click();

	// The loss chart moves: at least two logged points.
	const charts = page.getByTestId('charts');
	const row = page.getByTestId('run-row').first();
	await expect(charts).toHaveAttribute('data-points', /^([2-9]|\d\d+)$/, { timeout: 300_000 });
	await expect(page.getByTestId('progress')).toBeVisible();
	await shot(page, '3-training');

	await page.getByTestId('pause').click();
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
	const pointsBefore = Number(await charts.getAttribute('data-points'));
	const pausedAt = Number(await row.getAttribute('data-step'));
	expect(pointsBefore).toBeGreaterThanOrEqual(2);

	// Reload: the run is still there, paused, with its metrics.
	await page.reload();
	await page.getByTestId('nav-train').click();
	await expect(row).toHaveAttribute('data-status', 'paused');
	await expect(charts).toHaveAttribute('data-points', String(pointsBefore));

	// Resume, then reload while it is training: the run comes back paused at its last checkpoint.
	await page.getByTestId('resume').click();
	await expect(row).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
	await expect.poll(async () => Number(await row.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(pausedAt + 5);
	await page.reload();
	await page.getByTestId('nav-train').click();
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
	expect(Number(await row.getAttribute('data-step'))).toBeGreaterThan(pausedAt);

	await page.getByTestId('resume').click();
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	await expect(row).toContainText('%');
	expect(Number(await charts.getAttribute('data-points'))).toBeGreaterThan(pointsBefore);
	await shot(page, '4-trained');

	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-results')).toContainText('accuracy');
	await expect(page.getByTestId('class-table')).toContainText('billing');
	await page.getByTestId('predict').click();
	await expect(page.getByTestId('predicted-label')).toContainText(/billing|technical|account|shipping|product_feedback/, { timeout: 120_000 });
	await shot(page, '5-evaluate');

	// The same settings again, uninterrupted: the paused, reloaded and resumed run's loss series
	// must match it within float tolerance on WebGPU (a pause lands on a log step; resume restores
	// weights, optimizer moments, PRNG and data cursor).
	await page.getByTestId('nav-train').click();
	await page.getByTestId('run-settings').locator('summary').first().click();
	await page.getByTestId('copy-run').click();
	await page.getByTestId('start').click();
	await expect(page.getByTestId('run-row')).toHaveCount(2, { timeout: 120_000 });
	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	const series = await page.evaluate(async () => {
		const db: IDBDatabase = await new Promise((ok, err) => {
			const r = indexedDB.open('whetstone');
			r.onsuccess = () => ok(r.result);
			r.onerror = () => err(r.error);
		});
		const points: { runId: string; step: number; trainLoss?: number }[] = await new Promise((ok) => {
			const req = db.transaction('metrics').objectStore('metrics').getAll();
			req.onsuccess = () => ok(req.result);
		});
		db.close();
		const byRun: Record<string, [number, number][]> = {};
		for (const p of points) if (p.trainLoss !== undefined) (byRun[p.runId] ??= []).push([p.step, p.trainLoss]);
		return Object.values(byRun).map((s) => s.sort((a, b) => a[0] - b[0]));
	});
	expect(series).toHaveLength(2);
	const [a, b] = series;
	expect(a.map((p) => p[0])).toEqual(b.map((p) => p[0]));
	for (let i = 0; i < a.length; i++) expect(Math.abs(a[i][1] - b[i][1])).toBeLessThan(1e-4 * Math.max(1, Math.abs(a[i][1])));
});
