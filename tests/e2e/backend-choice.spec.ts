/**
 * Backend choice (issue 10) on the software WebGPU adapter (SwiftShader), in a fresh profile with
 * the Backend setting on Automatic: a nano run's start times two steps on WebGPU, WebGL and the
 * CPU, names the fastest with its figures in the page and with the run, and trains on it to the
 * end. The setting then pins WebGPU: it is used at once, and the next run trains on it without a
 * probe. Pinned to the CPU, the choice survives a reload.
 */
import { expect, test, type Page } from '@playwright/test';
import { openStudio, setNumber, shot } from './helpers';

const NAMES: Record<string, string> = { webgpu: 'WebGPU', webgl: 'WebGL', cpu: 'CPU' };

/** A nano run of two steps, started from the Train screen; returns its row. */
async function startNano(page: Page) {
	const rows = page.getByTestId('run-row');
	const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))));
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 4); // small steps: the probe times six of them on three backends
	await setNumber(page, 'max-steps', 2);
	await page.getByTestId('start').click();
	await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).filter((n) => !before.has(n)).length, { timeout: 60_000 }).toBe(1);
	const name = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).find((n) => !before.has(n))!;
	return page.locator(`[data-testid="run-row"][data-name="${name}"]`);
}

test('Automatic times the backends on a software adapter and trains on the fastest; the setting pins one', async ({ page }) => {
	await openStudio(page, '/', null);
	const badge = page.getByTestId('backend');
	await expect(badge).toHaveAttribute('data-backend', 'webgpu');
	await expect(badge).toContainText('(software)');
	await page.getByTestId('nav-train').click();
	const mode = page.getByTestId('backend-mode');
	await expect(mode).toHaveValue('auto');

	// 1. Automatic: the run's start probes, names the fastest with every figure, and trains on it.
	const first = await startNano(page);
	const choice = page.getByTestId('backend-choice');
	await expect(choice).toHaveAttribute('data-how', 'probe', { timeout: 240_000 });
	await expect(choice).toContainText(/— fastest here: [\w ()]+ [\d,]+ ms\/step/);
	for (const name of ['WebGPU (software adapter)', 'WebGL', 'CPU']) await expect(choice).toContainText(name);
	const chosen = (await choice.getAttribute('data-backend'))!;
	expect(Object.keys(NAMES)).toContain(chosen);
	await expect(choice).toContainText(new RegExp(`^${NAMES[chosen]} — fastest here: ${NAMES[chosen].replace(/[()]/g, '\\$&')}`));
	await expect(badge).toHaveAttribute('data-backend', chosen);
	await expect(badge).toHaveAttribute('data-choice', 'probe');
	await expect(badge).toContainText('fastest here');
	await shot(page, 'backend-choice-1-probe');
	await expect(first).toHaveAttribute('data-status', 'completed', { timeout: 240_000 });
	await expect(first).toContainText(chosen);
	// The run's facts keep the figures.
	await first.click();
	await page.getByTestId('run-settings').locator('summary').first().click();
	const facts = page.getByTestId('run-backend-choice');
	await expect(facts).toHaveAttribute('data-how', 'probe');
	await expect(facts).toContainText(`${NAMES[chosen]} — fastest here`);
	await expect(facts).toContainText('ms/step');

	// 2. Pinned to WebGPU: used at once; the next run trains on it without a probe.
	await mode.selectOption('webgpu');
	await expect(badge).toHaveAttribute('data-backend', 'webgpu');
	await expect(badge).toHaveAttribute('data-choice', 'override');
	const second = await startNano(page);
	await expect(second).toHaveAttribute('data-status', 'completed', { timeout: 240_000 });
	await expect(second).toContainText('webgpu');
	await expect(choice).toHaveAttribute('data-how', 'override');
	await expect(choice).toContainText('WebGPU: set in Backend');
	await expect(choice).not.toContainText('ms/step');

	// 3. Pinned to the CPU: used at once, and kept across a reload (the engine starts on it).
	await mode.selectOption('cpu');
	await expect(badge).toHaveAttribute('data-backend', 'cpu');
	await page.reload();
	await expect(badge).toHaveAttribute('data-backend', 'cpu', { timeout: 120_000 });
	await page.getByTestId('nav-train').click();
	await expect(mode).toHaveValue('cpu');
	await shot(page, 'backend-choice-2-pinned');
});
