/**
 * Answering the test prompts of an instruction run, one prompt at a time (`generateStream`, as
 * scoring did before) against several prompts per forward pass (`generateBatch`), on the tfjs CPU
 * backend in Node: wall time, forward passes, and whether every prompt got the same tokens.
 * Greedy, no EOS (every prompt runs to the token limit: the worst case).
 *
 *   npx tsx bench/generation-eval.ts [--prompts 20] [--tokens 48] [--batches 1,4,8] [--models tiny-llama,small-llama]
 *
 * tiny-llama is tests/fixtures/hf-tiny/llama (2 layers, width 32, vocabulary 128); small-llama has
 * random weights, 4 layers, width 128, vocabulary 2048. Figures only; nothing passes or fails.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { generateBatch, generateStream } from '../src/lib/engine/generate';
import { parseSafetensors } from '../src/lib/engine/io';
import { loadModel } from '../src/lib/engine/models/parity';
import { resolveConfig } from '../src/lib/engine/models/registry';
import { randomCheckpoint } from '../src/lib/engine/bench-hf';
import { paramsFromCheckpoint } from '../src/lib/engine/models/load';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : fallback;
};
const nPrompts = Number(arg('prompts', '20'));
const maxNewTokens = Number(arg('tokens', '48'));
const batches = arg('batches', '1,4,8').split(',').map(Number);
const models = arg('models', 'tiny-llama,small-llama').split(',');

await tf.setBackend('cpu');

interface Model {
	spec: ArchSpec;
	config: HfConfigBase;
	params: Params;
}

function load(name: string): Model {
	if (name === 'tiny-llama') {
		const dir = new URL('../tests/fixtures/hf-tiny/llama/', import.meta.url);
		const bytes = readFileSync(new URL('model.safetensors', dir));
		const tensors = parseSafetensors(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).tensors;
		return loadModel(JSON.parse(readFileSync(new URL('config.json', dir), 'utf8')), tensors);
	}
	if (name === 'small-llama') {
		const json = { model_type: 'llama', vocab_size: 2048, hidden_size: 128, intermediate_size: 344, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, architectures: ['LlamaForCausalLM'] };
		const { spec, config } = resolveConfig(json);
		return { spec, config, params: paramsFromCheckpoint(spec, config, randomCheckpoint(spec.paramShapes(config))).params };
	}
	throw new Error(`unknown model ${name}; use tiny-llama or small-llama`);
}

/** Prompts of 8 to 40 tokens, as chat-formatted test prompts of a small dataset run. */
function prompts(vocab: number): number[][] {
	return Array.from({ length: nPrompts }, (_, k) => Array.from({ length: 8 + ((k * 13) % 33) }, (_, i) => 3 + ((i * 31 + k * 17) % (vocab - 3))));
}

function counting(m: Model): { spec: ArchSpec; passes: () => number } {
	let n = 0;
	return { spec: { ...m.spec, forward: (...a: Parameters<ArchSpec['forward']>) => (n++, m.spec.forward(...a)) }, passes: () => n };
}

console.log(`${nPrompts} prompts, ${maxNewTokens} new tokens each, greedy, tfjs CPU backend`);
for (const name of models) {
	const m = load(name);
	const ps = prompts(m.config.vocabSize);
	const opts = { maxNewTokens, doSample: false, eosTokenIds: [] as number[] };
	// One short run first, so neither side pays the first-call costs.
	await generateBatch(m.spec, m.params, m.config, ps.slice(0, 2), { ...opts, maxNewTokens: 2 });

	const one = counting(m);
	let t = performance.now();
	const reference: number[][] = [];
	for (const p of ps) reference.push(await generateStream(one.spec, m.params, m.config, p, opts));
	const oneMs = performance.now() - t;
	console.log(`${name.padEnd(12)} one at a time        ${(oneMs / 1000).toFixed(2).padStart(7)} s  ${String(one.passes()).padStart(5)} forward passes`);

	for (const b of batches) {
		const c = counting(m);
		t = performance.now();
		const out = await generateBatch(c.spec, m.params, m.config, ps, opts, {}, b);
		const ms = performance.now() - t;
		const same = out.every((o, i) => o.length === reference[i].length && o.every((id, j) => id === reference[i][j]));
		console.log(
			`${name.padEnd(12)} batched, ${String(b).padStart(2)} per pass  ${(ms / 1000).toFixed(2).padStart(7)} s  ${String(c.passes()).padStart(5)} forward passes  ${(oneMs / ms).toFixed(2)}× faster  same tokens: ${same ? 'yes' : 'NO'}`
		);
	}
	tf.dispose(Object.values(m.params));
}
