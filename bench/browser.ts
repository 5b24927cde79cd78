/**
 * The built studio in headless Chromium with WebGPU (SwiftShader without a GPU), for the browser
 * benchmarks: serves `build/` with vite preview, opens a page and waits for the engine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Page } from '@playwright/test';

export async function openStudio(path: string, port: number): Promise<{ page: Page; close: () => Promise<void> }> {
	const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { stdio: 'ignore', detached: true });
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
		args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
	});
	const close = async () => {
		await browser.close();
		try {
			process.kill(-server.pid!); // the whole group: npx and the vite it started
		} catch {
			server.kill();
		}
	};
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	for (let i = 0; ; i++) {
		try {
			await page.goto(`http://127.0.0.1:${port}${path}`);
			break;
		} catch (e) {
			if (i > 60) {
				await close();
				throw e;
			}
			await new Promise((r) => setTimeout(r, 500));
		}
	}
	try {
		await page.waitForFunction(() => (globalThis as any).whetstone?.engine?.status === 'ready', null, { timeout: 180_000 });
	} catch (e) {
		// Without this the preview server outlives the failed bench and holds the port.
		await close();
		throw e;
	}
	return { page, close };
}
