// Generation over the key/value cache against the recompute path (`kvCache: false`) and against
// transformers' greedy output, on every hf-tiny decoder: the same tokens, the same logits at every
// step within 1e-5, batched rows equal to rows alone, the context limit as before, no leaked tensors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBatch, generateStream, type GenerateOptions } from '../../../src/lib/engine/generate';
import { KvStep } from '../../../src/lib/engine/models/kv-cache';
import { disposeBatch, type ParityReference } from '../../../src/lib/engine/models/parity';
import type { ArchSpec, HfConfigBase } from '../../../src/lib/engine/models/spec';
import { attention, cachedAttention, captureAttention, NEG } from '../../../src/lib/engine/ops/attention';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const DECODERS = ['gpt2', 'llama', 'qwen2', 'gpt_neox', 'phi3', 'gemma', 'mistral'];

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

/** The tokens and every step's logits of one generation. */
async function run(m: { spec: ArchSpec; params: Fixture['params']; config: HfConfigBase }, prompt: number[], opts: Partial<GenerateOptions>) {
	const logits: Float32Array[] = [];
	const ids = await generateStream(m.spec, m.params, m.config, prompt, opts, { onLogits: (l) => void logits.push(Float32Array.from(l)) });
	return { ids, logits };
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
	expect(a.length).toBe(b.length);
	let d = 0;
	a.forEach((row, i) => row.forEach((x, j) => (d = Math.max(d, Math.abs(x - b[i][j])))));
	return d;
}

const promptOf = (n: number, k = 0) => Array.from({ length: n }, (_, i) => (i * 13 + k * 29 + 5) % 128);

describe('the KV cache gives the recompute path’s tokens and logits', () => {
	for (const arch of DECODERS)
		it(`${arch}: transformers' greedy generation, and every step's logits within 1e-5`, async () => {
			const m = load(arch);
			const gen = (m.reference as ParityReference).generation!;
			const eos = gen.eos_token_id;
			const opts = { maxNewTokens: gen.max_new_tokens, eosTokenIds: eos === null || eos === undefined ? [] : [eos].flat() };
			const cached = await run(m, gen.prompt_ids, opts);
			const recomputed = await run(m, gen.prompt_ids, { ...opts, kvCache: false });
			expect([...gen.prompt_ids, ...cached.ids]).toEqual(gen.output_ids);
			expect(cached.ids).toEqual(recomputed.ids);
			expect(maxDiff(cached.logits, recomputed.logits)).toBeLessThan(1e-5);
		});

	for (const arch of DECODERS)
		it(`${arch}: a longer generation that grows the cache past a length bucket (16 -> 32)`, async () => {
			const m = load(arch);
			const opts = { maxNewTokens: 14, eosTokenIds: [] };
			const cached = await run(m, promptOf(10), opts);
			const recomputed = await run(m, promptOf(10), { ...opts, kvCache: false });
			expect(cached.ids).toHaveLength(14);
			expect(cached.ids).toEqual(recomputed.ids);
			expect(maxDiff(cached.logits, recomputed.logits)).toBeLessThan(1e-5);
		});

	for (const arch of DECODERS)
		it(`${arch}: sampling (temperature, top-k, top-p, repetition penalty, seed) draws the same tokens`, async () => {
			const m = load(arch);
			for (const seed of [3, 17]) {
				const opts = { maxNewTokens: 12, doSample: true, temperature: 0.8, topK: 20, topP: 0.9, repetitionPenalty: 1.2, seed, eosTokenIds: [] };
				const cached = await run(m, promptOf(5, seed), opts);
				const recomputed = await run(m, promptOf(5, seed), { ...opts, kvCache: false });
				expect(cached.ids).toEqual(recomputed.ids);
				expect(maxDiff(cached.logits, recomputed.logits)).toBeLessThan(1e-5);
			}
		});

	it('caches the key/value heads only (grouped-query attention is not repeated), at the bucket capacity', async () => {
		for (const arch of ['llama', 'gemma', 'mistral', 'gpt2']) {
			const m = load(arch);
			const seen: { mode: string; heads: number[]; capacity: number[] }[] = [];
			const spec: ArchSpec = {
				...m.spec,
				forward: (p, c, b, o) => {
					const logits = m.spec.forward(p, c, b, o);
					const kv = o?.kv as KvStep | undefined;
					if (kv) seen.push({ mode: kv.mode, heads: kv.out.map((l) => l.k.shape[1]), capacity: kv.out.map((l) => l.k.shape[2]) });
					return logits;
				}
			};
			await generateStream(spec, m.params, m.config, promptOf(14), { maxNewTokens: 5, eosTokenIds: [] });
			expect(seen.map((s) => s.mode)).toEqual(['prefill', 'decode', 'decode', 'decode', 'decode']);
			for (const s of seen) expect(s.heads).toEqual(new Array(m.config.nLayer).fill(m.config.nKvHead));
			// prompt of 14 in the 16 bucket; positions 14, 15 fit, 16 and 17 grow it to 32
			expect(seen.map((s) => s.capacity[0])).toEqual([16, 16, 16, 32, 32]);
		}
	});
});

describe('batched generation over the cache', () => {
	// 1 to 21 tokens: rows in the 16 and 32 buckets, decoding at different positions in one pass
	const prompts = [3, 11, 1, 17, 6, 21, 9].map((n, k) => promptOf(n, k));
	// gpt2 (learned positions), gpt_neox (partial rotary), mistral (grouped-query heads, sliding window)
	for (const arch of ['gpt2', 'gpt_neox', 'mistral'])
		it(`${arch}: each row equals generating it alone (greedy and sampled), with rows finishing and refilled`, async () => {
			const m = load(arch);
			for (const opts of [
				{ maxNewTokens: 8, eosTokenIds: [] as number[] },
				{ maxNewTokens: 8, doSample: true, temperature: 0.9, topK: 30, topP: 0.95, seed: 4, eosTokenIds: [] as number[] }
			]) {
				// Alone over its own cache, which the tests above hold to the recompute path (about 8× the
				// time on the CPU): batching is what this test checks.
				const alone: number[][] = [];
				for (const p of prompts) alone.push(await generateStream(m.spec, m.params, m.config, p, opts));
				// an EOS some rows emit early, so their rows free up for the next prompts
				const eos = [alone[1][2]];
				const aloneEos: number[][] = [];
				for (const p of prompts) aloneEos.push(await generateStream(m.spec, m.params, m.config, p, { ...opts, eosTokenIds: eos }));
				expect(await generateBatch(m.spec, m.params, m.config, prompts, opts, {}, 4)).toEqual(alone);
				expect(await generateBatch(m.spec, m.params, m.config, prompts, { ...opts, eosTokenIds: eos }, {}, 3)).toEqual(aloneEos);
			}
		});
});

describe('the context limit with the cache', () => {
	for (const arch of ['gpt2', 'llama', 'gpt_neox', 'mistral'])
		it(`${arch}: a prompt longer than the context, and a generation that reaches it, as the recompute path`, async () => {
			const m = load(arch);
			const config = { ...m.config, maxPositions: 20 };
			const small = { ...m, config };
			const opts = { maxNewTokens: 9, eosTokenIds: [] };
			// reaches the limit: 14 + 9 > 20, the window starts sliding at step 7 (three steps slide)
			const reach = await run(small, promptOf(14), opts);
			const reachRef = await run(small, promptOf(14), { ...opts, kvCache: false });
			expect(reach.ids).toEqual(reachRef.ids);
			expect(maxDiff(reach.logits, reachRef.logits)).toBeLessThan(1e-5);
			// longer than the context from the start
			const over = await run(small, promptOf(26), opts);
			const overRef = await run(small, promptOf(26), { ...opts, kvCache: false });
			expect(over.ids).toEqual(overRef.ids);
			expect(maxDiff(over.logits, overRef.logits)).toBeLessThan(1e-5);
			// batched, rows on both sides of the limit, each equal to itself alone (over its cache, held to the recompute path just above)
			const prompts = [promptOf(3), promptOf(14, 1), promptOf(26, 2), promptOf(19, 3)];
			const alone: number[][] = [];
			for (const p of prompts) alone.push(await generateStream(m.spec, m.params, config, p, opts));
			expect(await generateBatch(m.spec, m.params, config, prompts, opts, {}, 4)).toEqual(alone);
		});

	it('gpt2 at its full n_positions (64): the learned positions run to the last one', async () => {
		const m = load('gpt2');
		const opts = { maxNewTokens: 10, eosTokenIds: [] };
		const cached = await run(m, promptOf(58), opts);
		const recomputed = await run(m, promptOf(58), { ...opts, kvCache: false });
		expect(cached.ids).toEqual(recomputed.ids);
		expect(maxDiff(cached.logits, recomputed.logits)).toBeLessThan(1e-5);
	});
});

describe('the cache frees its tensors', () => {
	it('after many generations, streamed and batched', async () => {
		const m = load('qwen2');
		const before = tf.memory().numTensors;
		for (let i = 0; i < 6; i++) {
			await generateStream(m.spec, m.params, m.config, promptOf(4 + 3 * i, i), { maxNewTokens: 12, eosTokenIds: [], doSample: i % 2 === 1, seed: i });
			await generateBatch(m.spec, m.params, m.config, [promptOf(2, i), promptOf(15, i), promptOf(30, i)], { maxNewTokens: 6, eosTokenIds: [] }, {}, 2);
		}
		expect(tf.memory().numTensors).toBe(before);
	});

	it('when generation is stopped, or throws midway (in a callback or in the model)', async () => {
		const m = load('llama');
		const before = tf.memory().numTensors;
		let n = 0;
		await generateStream(m.spec, m.params, m.config, promptOf(6), { maxNewTokens: 10 }, { onToken: () => void n++, shouldStop: () => n >= 3 });
		await expect(
			generateStream(m.spec, m.params, m.config, promptOf(6), { maxNewTokens: 10 }, {
				onToken: (_, i) => {
					if (i === 3) throw new Error('callback failed');
				}
			})
		).rejects.toThrow('callback failed');
		let calls = 0;
		const failing: ArchSpec = {
			...m.spec,
			forward: (p, c, b, o) => {
				if (++calls === 4) throw new Error('forward failed');
				return m.spec.forward(p, c, b, o);
			}
		};
		await expect(generateStream(failing, m.params, m.config, promptOf(6), { maxNewTokens: 10 })).rejects.toThrow('forward failed');
		calls = 0;
		await expect(generateBatch(failing, m.params, m.config, [promptOf(6), promptOf(20)], { maxNewTokens: 10 })).rejects.toThrow('forward failed');
		expect(tf.memory().numTensors).toBe(before);
	});

	it('an architecture whose forward pass keeps no cache falls back to recomputing', async () => {
		const m = load('gpt2');
		const shapes: number[] = [];
		// a wrapper that drops the cache option, as a model without one would ignore it
		const plain: ArchSpec = { ...m.spec, forward: (p, c, b, o) => (shapes.push(b.inputIds.shape[1]), m.spec.forward(p, c, b, { ...o, kv: undefined })) };
		const before = tf.memory().numTensors;
		const out = await generateStream(plain, m.params, m.config, promptOf(5), { maxNewTokens: 6, eosTokenIds: [] });
		expect(out).toEqual(await generateStream(m.spec, m.params, m.config, promptOf(5), { maxNewTokens: 6, eosTokenIds: [], kvCache: false }));
		expect(shapes).toEqual(new Array(6).fill(16));
		expect(tf.memory().numTensors).toBe(before);
	});
});

describe('cachedAttention', () => {
	it('equals the last row of causal attention, grouped-query heads included, whatever the unfilled slots hold', () => {
		tf.tidy(() => {
			const [b, nh, nkv, t, c, hs] = [2, 6, 2, 7, 16, 8];
			const q = tf.randomNormal([b, nh, t, hs], 0, 1, 'float32', 1) as tf.Tensor4D;
			const k = tf.randomNormal([b, nkv, t, hs], 0, 1, 'float32', 2) as tf.Tensor4D;
			const v = tf.randomNormal([b, nkv, t, hs], 0, 1, 'float32', 3) as tf.Tensor4D;
			const full = attention(q, k, v, { causal: true }).slice([0, 0, t - 1, 0], [-1, -1, 1, -1]); // (B, nh, 1, hs)
			// the cache: the t keys, then garbage in the slots not yet written
			const junk = (s: number) => tf.randomNormal([b, nkv, c - t, hs], 0, 100, 'float32', s);
			const kc = tf.concat([k, junk(4)], 2) as tf.Tensor4D;
			const vc = tf.concat([v, junk(5)], 2) as tf.Tensor4D;
			const bias = tf.tensor4d(Float32Array.from({ length: c }, (_, j) => (j < t ? 0 : NEG)), [1, 1, 1, c]);
			const qLast = q.slice([0, 0, t - 1, 0], [-1, -1, 1, -1]) as tf.Tensor4D;
			let captured: number[] = [];
			const cached = captureAttention(
				(a) => (captured = a.weights.shape),
				() => cachedAttention(qLast, kc, vc, bias)
			);
			expect(captured).toEqual([b, nh, 1, c]);
			expect(tf.max(tf.abs(cached.sub(full))).dataSync()[0]).toBeLessThan(1e-6);
		});
	});
});
