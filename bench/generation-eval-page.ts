/**
 * The page side of bench/generation-webgpu.ts: the tiny Llama fixture on tfjs's WebGPU backend,
 * test prompts answered one at a time and several per forward pass. Bundled by that script.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/lib/engine/backend';
import { generateBatch, generateStream } from '../src/lib/engine/generate';
import { parseSafetensors } from '../src/lib/engine/io';
import { loadModel } from '../src/lib/engine/models/parity';

export interface BenchRow {
	mode: string;
	ms: number;
	passes: number;
	same: boolean;
}

async function bench(nPrompts: number, maxNewTokens: number, batches: number[]): Promise<{ backend: string; rows: BenchRow[] }> {
	const info = await initBackend(['webgpu']);
	const config = await (await fetch('/fixture/config.json')).json();
	const tensors = parseSafetensors(await (await fetch('/fixture/model.safetensors')).arrayBuffer()).tensors;
	const m = loadModel(config, tensors);
	const prompts = Array.from({ length: nPrompts }, (_, k) => Array.from({ length: 8 + ((k * 13) % 33) }, (_, i) => 3 + ((i * 31 + k * 17) % (m.config.vocabSize - 3))));
	const opts = { maxNewTokens, doSample: false, eosTokenIds: [] as number[] };
	let passes = 0;
	const spec = { ...m.spec, forward: (...a: Parameters<typeof m.spec.forward>) => (passes++, m.spec.forward(...a)) };
	// Compile the kernels of every shape both sides use first, so neither pays for it in the timing.
	for (const b of [1, ...batches]) await generateBatch(spec, m.params, m.config, prompts.slice(0, b), { ...opts, maxNewTokens: 4 }, {}, b);
	await generateBatch(spec, m.params, m.config, prompts, { ...opts, maxNewTokens: 2 }, {}, Math.max(...batches));

	const rows: BenchRow[] = [];
	passes = 0;
	let t = performance.now();
	const reference: number[][] = [];
	for (const p of prompts) reference.push(await generateStream(spec, m.params, m.config, p, opts));
	rows.push({ mode: 'one at a time', ms: performance.now() - t, passes, same: true });
	for (const b of batches) {
		passes = 0;
		t = performance.now();
		const out = await generateBatch(spec, m.params, m.config, prompts, opts, {}, b);
		const same = out.every((o, i) => o.length === reference[i].length && o.every((id, j) => id === reference[i][j]));
		rows.push({ mode: `batched, ${b} per pass`, ms: performance.now() - t, passes, same });
	}
	tf.dispose(Object.values(m.params));
	return { backend: `${info.name} (${info.adapter ?? "?"}${info.isFallbackAdapter ? ", software" : ""})`, rows };
}

(globalThis as { runBench?: typeof bench }).runBench = bench;
