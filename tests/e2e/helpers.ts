import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

const TYPES: Record<string, string> = { js: 'text/javascript', wasm: 'application/wasm', json: 'application/json', html: 'text/html', md: 'text/markdown' };

/**
 * The folder served by a plain static server (node:http mapping paths to the files) and opened in
 * a new page that fails any request off that server.
 */
export async function openDemo(newPage: () => Promise<Page>, files: Record<string, Uint8Array | string>) {
	const server: Server = createServer((req, res) => {
		const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1) || 'index.html';
		const body = files[path];
		if (body === undefined) return res.writeHead(404).end('not found');
		res.writeHead(200, { 'content-type': TYPES[path.split('.').pop()!] ?? 'application/octet-stream' }).end(typeof body === 'string' ? body : Buffer.from(body));
	});
	await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
	const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	const demo = await newPage();
	const elsewhere: string[] = [];
	const errors: string[] = [];
	demo.on('pageerror', (e) => errors.push(e.message));
	await demo.route('**/*', (route) => {
		if (new URL(route.request().url()).origin === origin) return route.continue();
		elsewhere.push(route.request().url());
		return route.abort();
	});
	await demo.goto(`${origin}/`);
	// `server.close` alone waits for every open connection to end; a connection Chromium keeps
	// (pooled per context, not per page) held a run for the whole 10-minute test timeout after the
	// test's last check. Closing them all ends it at once.
	const close = async () => {
		await demo.close();
		const closed = new Promise((ok) => server.close(ok));
		server.closeAllConnections();
		await closed;
	};
	return { demo, elsewhere, errors, close };
}

/**
 * On the Train screen: the pretrained source, then `repo` looked up on the (fake) Hub and
 * downloaded, unless this browser's model cache has it already (another spec in the worker may
 * have fetched it); waits until it is ready.
 */
export async function downloadHubModel(page: Page, repo: string, timeouts = { inspect: 60_000, download: 120_000 }): Promise<void> {
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill(repo);
	await page.getByTestId('hub-inspect').click();
	const download = page.getByTestId('hub-download');
	const ready = page.getByTestId('hub-ready');
	await expect(download.or(ready)).toBeVisible({ timeout: timeouts.inspect });
	if (await download.isVisible()) await download.click();
	await expect(ready).toBeVisible({ timeout: timeouts.download });
}
