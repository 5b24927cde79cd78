/**
 * A GPT-2-small-sized model (124M parameters, random weights) on whatever tfjs backend Node has:
 * time to build it and one forward pass per token. Training steps at this size are not practical
 * on a CPU backend (or on a software WebGPU adapter); this gives the forward figure and the
 * parameter count the memory estimate uses.
 *
 *   npx tsx bench/gpt2-small-forward.ts [--seq 16]
 */
import * as tf from '@tensorflow/tfjs';
import { resolveConfig } from '../src/lib/engine/models/registry';
import { randomCheckpoint } from '../src/lib/engine/bench-hf';
import { paramsFromCheckpoint } from '../src/lib/engine/models/load';

const i = process.argv.indexOf('--seq');
const seq = i > 0 ? Number(process.argv[i + 1]) : 16;
await tf.setBackend('cpu');
const json = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, architectures: ['GPT2LMHeadModel'] };
const { spec, config } = resolveConfig(json);
let t = performance.now();
const { params } = paramsFromCheckpoint(spec, config, randomCheckpoint(spec.paramShapes(config)));
const loadMs = performance.now() - t;
const n = Object.values(params).reduce((s, p) => s + p.size, 0);
const ids = tf.tensor2d([Array.from({ length: seq }, (_, k) => (k * 997) % 50257)], [1, seq], 'int32');
const run = async () => {
	const out = tf.tidy(() => spec.forward(params, config, { inputIds: ids }).sum());
	await out.data();
	out.dispose();
};
t = performance.now();
await run();
const firstMs = performance.now() - t;
t = performance.now();
await run();
const ms = performance.now() - t;
console.log(`gpt2-small (random) | ${(n / 1e6).toFixed(1)} M params | build ${(loadMs / 1000).toFixed(1)} s | first forward 1×${seq} ${(firstMs / 1000).toFixed(1)} s | forward ${(ms / seq).toFixed(0)} ms/token | tfjs memory ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB`);
