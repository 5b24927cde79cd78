/**
 * Checkpoints in the page, on WebGPU (SwiftShader), with the nano model: the engine worker is
 * terminated in the middle of a checkpoint write (after its chunks, before its manifest); after a
 * reload the run is paused at the previous checkpoint, the half-written one's chunks have been swept
 * at start-up, and training resumes from there to the end. Then "Evaluate this" opens Evaluate on a
 * chosen checkpoint, and "Resume from here" branches the run from an older checkpoint into a new run
 * that shows its lineage.
 */
import { expect, test, type Page } from '@playwright/test';
import { openStudio, setNumber, shot } from './helpers';

/** How many chunks a checkpoint has in the page's IndexedDB, and whether its manifest exists. */
function stored(page: Page, id: string): Promise<{ chunks: number; manifest: boolean }> {
	return page.evaluate(
		(id) =>
			new Promise((resolve, reject) => {
				const open = indexedDB.open('whetstone');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const tx = db.transaction(['checkpoints', 'checkpointChunks']);
					const chunks = tx.objectStore('checkpointChunks').count(IDBKeyRange.bound([id, -Infinity], [id, Infinity]));
					const manifest = tx.objectStore('checkpoints').count(id);
					tx.oncomplete = () => {
						db.close();
						resolve({ chunks: chunks.result, manifest: manifest.result > 0 });
					};
					tx.onerror = () => {
						db.close();
						reject(tx.error);
					};
				};
			}),
		id
	);
}

async function checkpointSteps(page: Page): Promise<number[]> {
	return page.getByTestId('checkpoint-row').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.step)));
}

test('a worker killed mid-checkpoint resumes from the previous one; evaluate this; resume from here', async ({ page }) => {
	await openStudio(page);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	await page.getByTestId('nav-train').click();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 12);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 3);
	await setNumber(page, 'checkpoint-every', 3);
	await page.getByTestId('start').click();

	const row = page.getByTestId('run-row').first();
	const list = page.getByTestId('checkpoint-list');

	// After the first checkpoint, arm the crash: the next save dies between its chunks and its manifest.
	await expect(list).toHaveAttribute('data-count', /^[1-9]/, { timeout: 300_000 });
	const crashed: { id: string; step: number } = await page.evaluate(() => (globalThis as any).whetstone.engine.crashDuringNextSaveForTest());
	await expect(page.getByRole('alert').filter({ hasText: 'terminated by a test' })).toBeVisible();
	const half = await stored(page, crashed.id);
	expect(half.manifest).toBe(false);
	expect(half.chunks).toBeGreaterThan(0);
	await expect.poll(async () => Math.max(0, ...(await checkpointSteps(page)))).toBeGreaterThan(0);
	const previous = Math.max(...(await checkpointSteps(page)));
	expect(previous).toBeLessThan(crashed.step);
	await shot(page, 'checkpoints-1-crashed');

	// Reload: the engine's start-up sweep removes the orphan chunks; the run is paused at the previous checkpoint.
	await page.reload();
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', /.+/, { timeout: 180_000 });
	await page.getByTestId('nav-train').click();
	await expect(row).toHaveAttribute('data-status', 'paused', { timeout: 60_000 });
	expect(Number(await row.getAttribute('data-step'))).toBe(previous);
	await expect.poll(() => stored(page, crashed.id), { timeout: 60_000 }).toEqual({ chunks: 0, manifest: false });
	await expect(page.locator(`[data-testid="checkpoint-row"][data-id="${crashed.id}"]`)).toHaveCount(0);
	expect(Math.max(...(await checkpointSteps(page)))).toBe(previous);

	await page.getByTestId('resume').click();
	await expect(row).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	expect(Number(await row.getAttribute('data-step'))).toBeGreaterThanOrEqual(crashed.step);
	const parentName = (await row.locator('td').first().innerText()).trim();

	// Evaluate this: the Evaluate screen opens on that run and checkpoint.
	const oldest = page.getByTestId('checkpoint-row').last();
	const oldestId = (await oldest.getAttribute('data-id'))!;
	const oldestStep = Number(await oldest.getAttribute('data-step'));
	const oldestRow = page.locator(`[data-testid="checkpoint-row"][data-id="${oldestId}"]`);
	await oldestRow.getByTestId('checkpoint-evaluate').click();
	await expect(page).toHaveURL(/\/evaluate/);
	await expect(page.getByTestId('eval-checkpoint')).toHaveValue(oldestId);
	await page.getByTestId('nav-train').click();

	// Resume from here: a new run continues from the oldest checkpoint; the completed run stays as it was.
	await oldestRow.getByTestId('checkpoint-resume').click();
	await expect(page.getByTestId('run-row')).toHaveCount(2, { timeout: 60_000 });
	const branch = page.getByTestId('run-row').first();
	await expect(branch.getByTestId('run-lineage-line')).toContainText(`from ${parentName} @ step ${oldestStep}`);
	await expect(branch).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
	await expect(page.getByTestId('run-row').nth(1)).toHaveAttribute('data-status', 'completed');
	await page.getByTestId('run-settings').locator('summary').first().click();
	await expect(page.getByTestId('run-lineage')).toContainText(`step ${oldestStep}`);
	await shot(page, 'checkpoints-2-branched');
});
