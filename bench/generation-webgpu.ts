/**
 * bench/generation-eval.ts in headless Chromium on tfjs's WebGPU backend (SwiftShader without a
 * GPU, as the e2e tests run): the tiny Llama fixture answers test prompts one at a time and
 * several per forward pass. Prints wall time, forward passes and whether the tokens agree.
 *
 *   npx tsx bench/generation-webgpu.ts [--prompts 20] [--tokens 48] [--batches 4,8]
 */
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { chromium } from '@playwright/test';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const nPrompts = Number(arg('prompts', '20'));
const maxNewTokens = Number(arg('tokens', '48'));
const batches = arg('batches', '4,8').split(',').map(Number);

const bundle = await build({ entryPoints: [new URL('./generation-eval-page.ts', import.meta.url).pathname], bundle: true, format: 'esm', write: false, platform: 'browser', target: 'es2022', logLevel: 'error' });
const script = bundle.outputFiles[0].text;
const fixture = new URL('../tests/fixtures/hf-tiny/llama/', import.meta.url);
const server = createServer((req, res) => {
	const url = req.url ?? '/';
	if (url === '/') return res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>');
	if (url === '/bench.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
	if (url.startsWith('/fixture/')) return res.end(readFileSync(new URL(url.slice('/fixture/'.length), fixture)));
	res.writeHead(404).end();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
	args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
});
try {
	const page = await browser.newPage();
	await page.goto(`http://127.0.0.1:${port}/`);
	await page.waitForFunction(() => 'runBench' in globalThis);
	const out = await page.evaluate(
		([n, t, b]) => (globalThis as unknown as { runBench: (n: number, t: number, b: number[]) => Promise<{ backend: string; rows: { mode: string; ms: number; passes: number; same: boolean }[] }> }).runBench(n, t, b),
		[nPrompts, maxNewTokens, batches] as const
	);
	console.log(`tiny-llama on ${out.backend}: ${nPrompts} prompts, ${maxNewTokens} new tokens each, greedy`);
	const base = out.rows[0].ms;
	for (const r of out.rows)
		console.log(`${r.mode.padEnd(22)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${String(r.passes).padStart(5)} forward passes  ${(base / r.ms).toFixed(2)}× faster  same tokens: ${r.same ? 'yes' : 'NO'}`);
} finally {
	await browser.close();
	server.close();
}
