/**
 * Training-step throughput in headless Chromium on WebGPU (SwiftShader where there is no GPU):
 * serves the built site, opens it, and asks the page's engine to time the training step of each
 * model preset. Prints ms per step, tokens per second and GPU kernel dispatches per step.
 *
 *   npm run bench:webgpu -- [--presets nano,micro,tiny] [--steps 5] [--seq 32] [--batch 32]
 */
import { defaultRunConfig, modelPresets, type ModelPreset } from '../src/lib/shared/config';
import type { StepBenchmark } from '../src/lib/engine/bench';
import { openStudio } from './browser';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const presets = arg('presets', 'nano,micro,tiny').split(',') as ModelPreset[];
const steps = Number(arg('steps', '5'));
const seq = Number(arg('seq', '32'));
const batch = Number(arg('batch', '32'));

const { page, close } = await openStudio('/train', 4391);
try {
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
	await close();
}
