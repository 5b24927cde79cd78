/**
 * Hugging Face architectures in Node on the tfjs CPU backend: the tiny fixtures, and a
 * GPT-2-small-sized model (124M parameters, random weights) when asked. Prints load time, forward
 * and training-step time per token, kernels per step and peak tfjs memory. The browser figures
 * (WebGPU) come from bench/hf-webgpu.ts; on a machine with a GPU the same engine runs through Dawn.
 *
 *   npm run bench:hf-node -- [--models gpt2,llama,qwen2,bert] [--gpt2-small] [--batch 4] [--seq 32] [--steps 3]
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { parseSafetensors } from '../src/lib/engine/io';
import { benchmarkPretrained, randomCheckpoint, type HfBenchmark } from '../src/lib/engine/bench-hf';
import { resolveConfig } from '../src/lib/engine/models/registry';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('models', 'gpt2,llama,qwen2,bert').split(',').filter(Boolean);
const batchSize = Number(arg('batch', '4'));
const seqLen = Number(arg('seq', '32'));
const steps = Number(arg('steps', '3'));

await tf.setBackend('cpu');
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const row = (name: string, r: HfBenchmark) =>
	console.log(
		`${name} | ${(r.params / 1e6).toFixed(2)} M | ${r.batchSize}×${r.seqLen} | ${r.loadMs.toFixed(0)} ms | ${r.forwardMsPerToken.toFixed(3)} | ${r.trainMsPerToken.toFixed(3)} | ${r.kernelsPerForward} | ${r.kernelsPerStep} | ${mb(r.peakBytes)} | ${r.tensorsLeaked}`
	);

console.log(`backend: ${tf.getBackend()} (Node)`);
console.log('model | params | batch×seq | load | forward ms/token | train ms/token | kernels/forward | kernels/step | peak memory | leaked');
for (const m of models) {
	const dir = new URL(`../tests/fixtures/hf-tiny/${m}/`, import.meta.url);
	const config = JSON.parse(readFileSync(new URL('config.json', dir), 'utf8'));
	const b = readFileSync(new URL('model.safetensors', dir));
	const tensors = parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).tensors;
	row(`tiny ${m}`, await benchmarkPretrained(config, tensors, { batchSize, seqLen, steps }));
}
if (process.argv.includes('--gpt2-small')) {
	const config = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, architectures: ['GPT2LMHeadModel'] };
	const { spec, config: c } = resolveConfig(config);
	row('gpt2-small (random)', await benchmarkPretrained(config, randomCheckpoint(spec.paramShapes(c)), { batchSize: 1, seqLen, steps: 1 }));
}
