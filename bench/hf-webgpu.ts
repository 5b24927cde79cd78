/**
 * Hugging Face architectures in headless Chromium on WebGPU (SwiftShader without a GPU): starts
 * the fake Hub (tests/support/hub-server.ts) and the built studio, downloads each tiny fixture
 * model through the page's Hub worker, then times, from the browser's model cache: reading the
 * files, loading them onto the device, the forward pass and the training step per token, the
 * kernels each dispatches, and peak tfjs memory.
 *
 *   npm run bench:hf-webgpu -- [--models gpt2,llama,qwen2,bert] [--batch 4] [--seq 32] [--steps 3]
 */
import { spawn } from 'node:child_process';
import { openStudio } from './browser';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('models', 'gpt2,llama,qwen2,bert').split(',');
const opts = { batchSize: Number(arg('batch', '4')), seqLen: Number(arg('seq', '32')), steps: Number(arg('steps', '3')) };
const HUB_PORT = 4393;
const hubUrl = `http://127.0.0.1:${HUB_PORT}`;

const hub = spawn('npx', ['tsx', 'tests/support/hub-server.ts', '--port', String(HUB_PORT)], { stdio: 'ignore', detached: true });
const { page, close } = await openStudio(`/train?hub=${encodeURIComponent(hubUrl)}`, 4392);
try {
	const backend = await page.evaluate(() => (globalThis as any).whetstone.engine.backend);
	console.log(`backend: ${backend.name} · ${backend.adapter}${backend.isFallbackAdapter ? ' (software adapter)' : ''}`);
	console.log('model | params | batch×seq | download | cache read | load | warm-up s | forward ms/token | train ms/token | kernels/forward | kernels/step | peak memory | leaked');
	for (const m of models) {
		const repo = `whetstone-test/tiny-${m}`;
		const t0 = Date.now();
		const ref = await page.evaluate(async (r) => {
			const hub = (globalThis as any).whetstone.hub;
			const insp = await hub.inspect(r, 'main');
			if (!insp) throw new Error(hub.error);
			return insp.cached ? { repo: insp.repo, revision: insp.revision } : await hub.download();
		}, repo);
		const downloadMs = Date.now() - t0;
		const r = await page.evaluate(([ref, o]) => (globalThis as any).whetstone.engine.benchmarkModel(ref, o), [ref, opts] as const);
		console.log(
			`tiny ${m} | ${(r.params / 1e6).toFixed(3)} M | ${r.batchSize}×${r.seqLen} | ${downloadMs} ms | ${r.cacheMs.toFixed(0)} ms | ${r.loadMs.toFixed(0)} ms | ${(r.warmupMs / 1000).toFixed(1)} | ${r.forwardMsPerToken.toFixed(2)} | ${r.trainMsPerToken.toFixed(2)} | ${r.kernelsPerForward} | ${r.kernelsPerStep} | ${(r.peakBytes / 2 ** 20).toFixed(1)} MiB | ${r.tensorsLeaked}`
		);
	}
} finally {
	await close();
	try {
		process.kill(-hub.pid!);
	} catch {
		hub.kill();
	}
}
