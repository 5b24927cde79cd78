/**
 * Generation speed with and without the key/value cache (generate.ts `kvCache`), in Node on the
 * tfjs CPU backend: the hf-tiny decoders of tests/fixtures, and a GPT-2-architecture model of the
 * from-scratch transformer's realistic shape (width 128, 4 layers, 4 heads, context 256, vocabulary
 * 512, random weights: the from-scratch transformer is GPT-2's architecture, and generate.ts runs
 * the GPT-2 spec). Prints tokens per second for greedy and sampled decoding (median of `--reps`
 * runs after a warm-up, prefill included), tfjs kernels per generated token once the prompt has run,
 * and whether both paths chose the same tokens.
 *
 *   npm run bench:generate -- [--models gpt2,llama,...] [--prompt 16] [--new 32] [--reps 3] [--no-scratch] [--gpt2-small]
 *
 * `--gpt2-small` adds a 124M-parameter GPT-2 (random weights; slow on the CPU backend).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { randomCheckpoint } from '../src/lib/engine/bench-hf';
import { generateStream, type GenerateOptions } from '../src/lib/engine/generate';
import { parseSafetensors } from '../src/lib/engine/io';
import { loadModel, type LoadedModel } from '../src/lib/engine/models/parity';
import { resolveConfig } from '../src/lib/engine/models/registry';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const models = arg('models', 'gpt2,llama,qwen2,gpt_neox,phi3,gemma,mistral').split(',').filter(Boolean);
const promptLen = Number(arg('prompt', '16'));
const newTokens = Number(arg('new', '32'));
const reps = Number(arg('reps', '3'));

await tf.setBackend('cpu');

const prompt = (vocab: number, n: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) % vocab);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const GREEDY: Partial<GenerateOptions> = { eosTokenIds: [] };
const SAMPLED: Partial<GenerateOptions> = { eosTokenIds: [], doSample: true, temperature: 0.8, topK: 50, topP: 0.95, seed: 7 };

/** tokens/s (median of reps) and the tokens of the last run. */
async function speed(m: LoadedModel, ids: number[], opts: Partial<GenerateOptions>): Promise<{ tps: number; tokens: number[] }> {
	const o = { ...opts, maxNewTokens: newTokens };
	let tokens = await generateStream(m.spec, m.params, m.config, ids, o); // warm-up
	const tps: number[] = [];
	for (let r = 0; r < reps; r++) {
		const t0 = performance.now();
		tokens = await generateStream(m.spec, m.params, m.config, ids, o);
		tps.push(tokens.length / ((performance.now() - t0) / 1000));
	}
	return { tps: median(tps), tokens };
}

/** tfjs kernels per generated token after the first (the prompt's pass left out). */
async function kernelsPerToken(m: LoadedModel, ids: number[], kvCache: boolean): Promise<number> {
	const count = async (n: number) => (await tf.profile(async () => void (await generateStream(m.spec, m.params, m.config, ids, { ...GREEDY, kvCache, maxNewTokens: n })))).kernels.length;
	const n = Math.min(newTokens, 8);
	return (await count(n) - (await count(1))) / (n - 1);
}

async function bench(name: string, m: LoadedModel): Promise<void> {
	const p = Math.min(promptLen, m.config.maxPositions - newTokens);
	const ids = prompt(m.config.vocabSize, p);
	const greedyOn = await speed(m, ids, { ...GREEDY, kvCache: true });
	const greedyOff = await speed(m, ids, { ...GREEDY, kvCache: false });
	const sampledOn = await speed(m, ids, { ...SAMPLED, kvCache: true });
	const sampledOff = await speed(m, ids, { ...SAMPLED, kvCache: false });
	const kOn = await kernelsPerToken(m, ids, true);
	const kOff = await kernelsPerToken(m, ids, false);
	const same = JSON.stringify(greedyOn.tokens) === JSON.stringify(greedyOff.tokens) && JSON.stringify(sampledOn.tokens) === JSON.stringify(sampledOff.tokens);
	const row = [
		name,
		`${p}+${newTokens}`,
		greedyOn.tps.toFixed(1),
		greedyOff.tps.toFixed(1),
		`${(greedyOn.tps / greedyOff.tps).toFixed(2)}×`,
		sampledOn.tps.toFixed(1),
		sampledOff.tps.toFixed(1),
		`${(sampledOn.tps / sampledOff.tps).toFixed(2)}×`,
		kOn.toFixed(0),
		kOff.toFixed(0),
		same ? 'yes' : 'NO'
	].join(' | ');
	console.log(row);
}

console.log(`backend: ${tf.getBackend()} (Node); tokens/s include the prompt's pass; median of ${reps} after a warm-up`);
console.log('model | prompt+new | greedy tok/s cache | no cache | speed-up | sampled tok/s cache | no cache | speed-up | kernels/token cache | no cache | same tokens');
for (const arch of models) {
	const dir = new URL(`../tests/fixtures/hf-tiny/${arch}/`, import.meta.url);
	const config = JSON.parse(readFileSync(new URL('config.json', dir), 'utf8'));
	const b = readFileSync(new URL('model.safetensors', dir));
	const m = loadModel(config, parseSafetensors(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).tensors);
	await bench(`tiny ${arch}`, m);
	tf.dispose(Object.values(m.params));
}

const gpt2Random = async (name: string, hf: Record<string, unknown>) => {
	const { spec, config } = resolveConfig(hf);
	const m = loadModel(hf, randomCheckpoint(spec.paramShapes(config)));
	await bench(name, m);
	tf.dispose(Object.values(m.params));
};
if (!process.argv.includes('--no-scratch'))
	await gpt2Random('scratch shape (gpt2 arch, d128 L4 h4 ctx256 V512)', {
		model_type: 'gpt2',
		vocab_size: 512,
		n_positions: 256,
		n_embd: 128,
		n_layer: 4,
		n_head: 4,
		architectures: ['GPT2LMHeadModel']
	});
if (process.argv.includes('--gpt2-small'))
	await gpt2Random('gpt2-small (124M, random)', { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, architectures: ['GPT2LMHeadModel'] });
