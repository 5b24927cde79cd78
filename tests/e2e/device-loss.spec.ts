/**
 * Device loss (issue 14), on WebGPU (SwiftShader) with the nano model and a checkpoint every 2
 * steps: the engine's GPU device is destroyed mid-run (`device.destroy()`, through the engine's
 * test hook). The page says the device was lost and what to do; the run is paused at its last
 * complete checkpoint. Resume continues from there on a new WebGPU device (the backend removed and
 * registered again). The device is then lost once more with the new device refused, and Resume
 * continues on WebGL, the page saying so. The run completes with one metric point per step, the
 * points up to each checkpoint as they were, and the steps replayed on the new WebGPU device equal
 * to those the lost device had logged. Uses a fresh profile: a lost device is not shared state.
 */
import { expect, test, type Page } from '@playwright/test';
import { openStudio, setNumber, shot } from './helpers';

interface Point {
	step: number;
	trainLoss?: number;
}

/** The run's stored metric series, in step order, from the page's IndexedDB. */
function series(page: Page, runId: string): Promise<Point[]> {
	return page.evaluate(
		(runId) =>
			new Promise<Point[]>((resolve, reject) => {
				const open = indexedDB.open('whetstone');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const req = db.transaction('metrics').objectStore('metrics').index('byRun').getAll(runId);
					req.onsuccess = () => {
						db.close();
						resolve((req.result as Point[]).map((p) => ({ step: p.step, trainLoss: p.trainLoss })).sort((a, b) => a.step - b.step));
					};
					req.onerror = () => {
						db.close();
						reject(req.error);
					};
				};
			}),
		runId
	);
}

const lastCheckpoint = async (page: Page) => Math.max(0, ...(await page.getByTestId('checkpoint-row').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.step)))));

/**
 * Lose the device right after the first logged step past `from` that takes no checkpoint (a
 * worker-side hook: the page's view of the progress lags the worker, which could otherwise reach
 * the next checkpoint first), so the run has a checkpoint at or after `from` and a step past it.
 */
async function loseDeviceAfterCheckpoint(page: Page, from: number, refuseNewDevice: boolean): Promise<void> {
	await page.evaluate(([step, refuse]) => (globalThis as any).whetstone.engine.loseDeviceAfterNextLogForTest(step, refuse), [from + 1, refuseNewDevice] as const);
}

test('a lost GPU device pauses at the last checkpoint; resume on a new device, then on WebGL', async ({ page }) => {
	await openStudio(page);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 8);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 1);
	await setNumber(page, 'eval-every', 8);
	await setNumber(page, 'checkpoint-every', 2);
	await page.getByTestId('start').click();
	const row = page.getByTestId('run-row').first();
	await expect(row).toHaveAttribute('data-status', 'running', { timeout: 60_000 });
	const runId = await page.evaluate(() => (globalThis as any).whetstone.engine.live?.runId as string);

	// 1. Lost mid-run: the page says what happened and what to do; paused at the last complete checkpoint.
	await loseDeviceAfterCheckpoint(page, 2, false);
	const alert = page.getByRole('alert').filter({ hasText: 'The GPU device was lost' });
	await expect(alert).toBeVisible({ timeout: 60_000 });
	await expect(alert).toContainText('Resume continues from it on a new GPU device');
	await expect(row).toHaveAttribute('data-status', 'paused');
	const first = await lastCheckpoint(page);
	expect(Number(await row.getAttribute('data-step'))).toBe(first);
	const before = await series(page, runId);
	await shot(page, 'device-loss-1-lost');

	// 2. Resume on a new WebGPU device, from that checkpoint.
	await page.getByTestId('resume').click();
	await expect(alert).toHaveCount(0);
	await expect(page.getByTestId('backend-recovered')).toContainText('started a new WebGPU device');
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');

	// 3. Lost again, and no new device comes: Resume continues on WebGL.
	await loseDeviceAfterCheckpoint(page, first + 2, true);
	await expect(alert).toBeVisible({ timeout: 60_000 });
	await expect(row).toHaveAttribute('data-status', 'paused');
	const second = await lastCheckpoint(page);
	const middle = await series(page, runId);
	await page.getByTestId('resume').click();
	await expect(page.getByTestId('backend-recovered')).toContainText('now runs on WebGL');
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgl');
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
	await shot(page, 'device-loss-2-webgl');

	// One point per step, 1…8; what each resume started from is as it was stored; the steps the first
	// device logged past its checkpoint were replayed on the new WebGPU device to the same losses.
	const after = await series(page, runId);
	expect(after.map((p) => p.step)).toEqual(Array.from({ length: 8 }, (_, i) => i + 1));
	expect(after.every((p) => Number.isFinite(p.trainLoss))).toBe(true);
	const upTo = (s: Point[], step: number) => s.filter((p) => p.step <= step);
	expect(upTo(after, first)).toEqual(upTo(before, first));
	expect(upTo(after, second)).toEqual(upTo(middle, second));
	const replayed = before.filter((p) => p.step > first);
	expect(replayed.length).toBeGreaterThan(0);
	for (const p of replayed) expect(after.find((q) => q.step === p.step)!.trainLoss!).toBeCloseTo(p.trainLoss!, 4);
});
