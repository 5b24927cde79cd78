import { expect, type Page } from '@playwright/test';

/**
 * Open the studio on a fresh profile and wait until the example project and the engine are up.
 * The Backend setting is pinned to WebGPU (`?backend=webgpu`, remembered by the page), so no run
 * starts with a backend probe on the software adapter; pass `backend: null` for Automatic.
 */
export async function openStudio(page: Page, path = '/', backend: 'webgpu' | 'webgl' | 'cpu' | null = 'webgpu') {
	page.on('pageerror', (e) => console.log('[pageerror]', e.message));
	page.on('console', (m) => m.type() === 'error' && console.log('[console]', m.text()));
	await page.goto(backend ? `${path}${path.includes('?') ? '&' : '?'}backend=${backend}` : path);
	await expect(page.getByTestId('project-card').first()).toBeVisible({ timeout: 120_000 });
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', /.+/, { timeout: 180_000 });
}

/** Fill a number field by its test id. */
export async function setNumber(page: Page, testId: string, value: number) {
	const input = page.getByTestId(testId);
	await input.fill(String(value));
	await input.blur();
}

export async function shot(page: Page, name: string) {
	// With two pages open (tabs, faults), a full-page screenshot of the one behind waited up to two
	// minutes for a frame, the machine idle meanwhile; in front, it takes a second.
	await page.bringToFront();
	await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}
