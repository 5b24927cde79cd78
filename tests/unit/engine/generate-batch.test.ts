// Batched generation (many prompts per forward pass) against one-at-a-time generateStream on the
// hf-tiny fixtures: the same tokens, prompt by prompt, for greedy and sampled decoding.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBatch, generateStream, type GenerateOptions } from '../../../src/lib/engine/generate';
import { disposeBatch } from '../../../src/lib/engine/models/parity';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

type Fixture = ReturnType<typeof fixtureModel>;
const loaded = new Map<string, Fixture>();
function load(arch: string): Fixture {
	if (!loaded.has(arch)) loaded.set(arch, fixtureModel(arch));
	return loaded.get(arch)!;
}
afterAll(() => {
	for (const m of loaded.values()) {
		disposeBatch(m.batch, m.labels);
		tf.dispose(Object.values(m.params));
	}
});

/** Prompts of 1 to 21 tokens: rows of one batch fall in different length buckets (16, 32). */
const prompts = [3, 11, 1, 17, 6, 21, 9].map((n, k) => Array.from({ length: n }, (_, i) => (i * 13 + k * 29 + 5) % 128));

async function oneAtATime(m: Fixture, opts: Partial<GenerateOptions>): Promise<number[][]> {
	const out: number[][] = [];
	for (const p of prompts) out.push(await generateStream(m.spec, m.params, m.config, p, opts));
	return out;
}

describe('generateBatch equals one-at-a-time generateStream', () => {
	for (const arch of ['gpt2', 'llama', 'qwen2'])
		it(`${arch}: greedy, token for token, with rows finishing at EOS and refilled`, async () => {
			const m = load(arch);
			const alone = await oneAtATime(m, { maxNewTokens: 12, eosTokenIds: [] });
			// An EOS that some prompts emit early, so rows finish at different steps and new prompts take their place.
			const eos = [alone[1][2], alone[4][0]];
			const opts = { maxNewTokens: 12, eosTokenIds: eos };
			const expected = await oneAtATime(m, opts);
			expect(new Set(expected.map((e) => e.length)).size).toBeGreaterThan(1);
			const order: number[] = [];
			const batched = await generateBatch(m.spec, m.params, m.config, prompts, opts, { onDone: (i) => void order.push(i) }, 3);
			expect(batched).toEqual(expected);
			expect([...order].sort((a, b) => a - b)).toEqual(prompts.map((_, i) => i));
			// and all seven prompts in one pass
			expect(await generateBatch(m.spec, m.params, m.config, prompts, opts, {}, 8)).toEqual(expected);
		});

	it('sampled: each prompt draws from its own PRNG with the seed, as a call of its own does', async () => {
		const m = load('llama');
		const opts: Partial<GenerateOptions> = { maxNewTokens: 8, doSample: true, temperature: 1.3, topK: 0, topP: 0.95, repetitionPenalty: 1.2, seed: 5, eosTokenIds: [] };
		expect(await generateBatch(m.spec, m.params, m.config, prompts, opts, {}, 4)).toEqual(await oneAtATime(m, opts));
	});

	it('past the context window each row keeps its own last maxPositions tokens', async () => {
		const m = load('gpt2');
		const config = { ...m.config, maxPositions: 16 };
		const opts = { maxNewTokens: 6, eosTokenIds: [] };
		const expected: number[][] = [];
		for (const p of prompts) expected.push(await generateStream(m.spec, m.params, config, p, opts));
		expect(await generateBatch(m.spec, m.params, config, prompts, opts, {}, 4)).toEqual(expected);
	});

	it('runs several prompts per forward pass', async () => {
		const m = load('qwen2');
		const shapes: number[] = [];
		const spec = { ...m.spec, forward: (...a: Parameters<typeof m.spec.forward>) => (shapes.push(a[2].inputIds.shape[0]), m.spec.forward(...a)) };
		await generateBatch(spec, m.params, m.config, prompts, { maxNewTokens: 4, eosTokenIds: [] }, {}, 8);
		// Seven prompts of 1 to 21 tokens (+ up to 3 new): each step one pass per length bucket, the
		// five within 16 tokens and the two of 17 and 21 (bucket 32), never padded to a longer row's.
		expect(shapes).toEqual([5, 2, 5, 2, 5, 2, 5, 2]);
	});

	it('stops when asked, each prompt keeping its tokens so far, and leaks no tensors', async () => {
		const m = load('gpt2');
		const before = tf.memory().numTensors;
		let steps = 0;
		const out = await generateBatch(m.spec, m.params, m.config, prompts, { maxNewTokens: 10, eosTokenIds: [] }, { shouldStop: () => steps++ >= 3 }, 4);
		// The four shortest prompts (of 1, 3, 6 and 9 tokens) went first; the rest never started.
		expect(out.map((o) => o.length)).toEqual([3, 0, 3, 0, 3, 0, 3]);
		expect(tf.memory().numTensors).toBe(before);
	});

	it('tells the tokens decided after each step, a prompt ended by EOS counting as all its tokens', async () => {
		const m = load('gpt2');
		const alone = await oneAtATime(m, { maxNewTokens: 6, eosTokenIds: [] });
		const steps: [number, number][] = [];
		await generateBatch(m.spec, m.params, m.config, prompts, { maxNewTokens: 6, eosTokenIds: [alone[0][1]] }, { onStep: (d, max) => void steps.push([d, max]) }, 3);
		expect(steps.every(([, max]) => max === 7 * 6)).toBe(true);
		expect(steps.map(([d]) => d)).toEqual([...steps.map(([d]) => d)].sort((a, b) => a - b));
		expect(steps.at(-1)![0]).toBe(42);
	});

	it('refuses an empty prompt and a bad batch size', async () => {
		const m = load('gpt2');
		await expect(generateBatch(m.spec, m.params, m.config, [[1], []])).rejects.toThrow(/prompt/);
		await expect(generateBatch(m.spec, m.params, m.config, [[1]], {}, {}, 0)).rejects.toThrow(/per batch/);
	});
});
