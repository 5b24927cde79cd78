/**
 * Training-step throughput in headless Chromium on WebGPU (SwiftShader where there is no GPU):
 * serves the built site, opens it, and asks the page's engine to time the training step of each
 * model preset. Prints ms per step, tokens per second and GPU kernel dispatches per step.
 *
 *   npm run build && npx tsx bench/webgpu-step.ts [--presets nano,tiny] [--steps 5] [--seq 32]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from '@playwright/test';
import { defaultRunConfig, modelPresets, type ModelPreset } from '../src/lib/shared/config';
import type { StepBenchmark } from '../src/lib/engine/bench';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const presets = arg('presets', 'nano,tiny,small').split(',') as ModelPreset[];
const steps = Number(arg('steps', '5'));
const seq = Number(arg('seq', '32'));
const batch = Number(arg('batch', '32'));
const port = 4391;

const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { stdio: 'ignore' });
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
	args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
});
try {
	const page = await browser.newPage();
	for (let i = 0; ; i++) {
		try {
			await page.goto(`http://127.0.0.1:${port}/train`);
			break;
		} catch (e) {
			if (i > 50) throw e;
			await new Promise((r) => setTimeout(r, 300));
		}
	}
	await page.waitForFunction(() => (globalThis as any).whetstone?.engine?.status === 'ready', null, { timeout: 180_000 });
	const backend = await page.evaluate(() => (globalThis as any).whetstone.engine.backend);
	console.log(`backend: ${backend.name} · ${backend.adapter}${backend.isFallbackAdapter ? ' (software adapter)' : ''}`);
	console.log('preset | params | batch×seq | warm-up s | ms/step | tokens/s | kernels/step | leaked tensors');
	for (const name of presets) {
		const cfg = defaultRunConfig(5);
		Object.assign(cfg.model, modelPresets[name]);
		cfg.train.batchSize = batch;
		const r: StepBenchmark = await page.evaluate(([c, s, n]) => (globalThis as any).whetstone.engine.benchmark(c, s, n), [cfg, seq, steps] as const);
		console.log(`${name} | ${(r.params / 1e6).toFixed(2)} M | ${r.batchSize}×${r.seqLen} | ${(r.warmupMs / 1000).toFixed(1)} | ${r.msPerStep.toFixed(0)} | ${r.tokensPerSec.toFixed(0)} | ${r.kernelsPerStep} | ${r.tensorsLeaked}`);
	}
} finally {
	await browser.close();
	server.kill();
}
