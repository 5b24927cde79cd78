import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

/**
 * e2e tests run the built static site in headless Chromium with WebGPU on SwiftShader (DESIGN.md).
 * The browser is the system's Chromium (CHROMIUM_PATH, else /usr/bin/chromium), or Playwright's
 * own where neither exists.
 */
const executablePath = process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
const PORT = Number(process.env.E2E_PORT || 4319);
export const HUB_PORT = Number(process.env.E2E_HUB_PORT || 4320);

export default defineConfig({
	testDir: 'tests/e2e',
	timeout: 10 * 60_000,
	expect: { timeout: 30_000 },
	// One browser at a time. Two (E2E_WORKERS=2: each its own browser, profile and shared example
	// run) pass, but their e2e tier took 30.1 min on an idle 2-core machine where CI's whole run with
	// one took 29: SwiftShader does not get twice the work from two cores.
	workers: Number(process.env.E2E_WORKERS || 1),
	retries: 0,
	reporter: [['list']],
	outputDir: 'test-results',
	use: {
		baseURL: `http://127.0.0.1:${PORT}`,
		viewport: { width: 1280, height: 900 },
		launchOptions: {
			executablePath,
			args: [
				'--enable-unsafe-webgpu',
				'--enable-features=Vulkan',
				'--use-webgpu-adapter=swiftshader',
				'--no-sandbox',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
				'--no-first-run'
			]
		}
	},
	webServer: [
		{
			command: `npx vite preview --host 127.0.0.1 --port ${PORT} --strictPort`,
			url: `http://127.0.0.1:${PORT}`,
			reuseExistingServer: false,
			timeout: 60_000
		},
		{
			// A fake Hugging Face Hub serving tests/fixtures in the Hub's URL layout: no test touches the internet.
			command: `npx tsx tests/support/hub-server.ts --port ${HUB_PORT}`,
			url: `http://127.0.0.1:${HUB_PORT}/`,
			reuseExistingServer: false,
			timeout: 60_000
		}
	]
});
