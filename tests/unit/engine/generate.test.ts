// Generation against transformers' greedy output on the hf-tiny fixtures, and the logits
// processors against hand-computed cases.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	applyTopK,
	argmax,
	generateStream,
	nextToken,
	processLogits,
	sampleIndex,
	softmax,
	type GenerateOptions,
	type SamplingOptions
} from '../../../src/lib/engine/generate';
import { disposeBatch, type ParityReference } from '../../../src/lib/engine/models/parity';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

type Fixture = ReturnType<typeof fixtureModel>;
const loaded: Fixture[] = [];
function load(arch: string): Fixture {
	const m = fixtureModel(arch);
	loaded.push(m);
	return m;
}
afterAll(() => {
	for (const m of loaded) {
		disposeBatch(m.batch, m.labels);
		tf.dispose(Object.values(m.params));
	}
});

/** A PRNG whose every draw is `u`, to pick a sample deterministically in hand-computed cases. */
const fixed = (u: number) => Object.assign(new Prng(0), { next: () => u });
const sampling = (o: Partial<SamplingOptions>): SamplingOptions => ({ doSample: true, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, ...o });
const kept = (scores: ArrayLike<number>) => Array.from(scores, (s, i) => (s > -Infinity ? i : -1)).filter((i) => i >= 0);
const logs = (p: number[]) => Float32Array.from(p, Math.log);

describe('generateStream reproduces transformers greedy generate()', () => {
	for (const arch of ['gpt2', 'llama', 'qwen2'])
		it(arch, async () => {
			const m = load(arch);
			const gen = (m.reference as ParityReference).generation!;
			const eos = gen.eos_token_id;
			const streamed: [number, number][] = [];
			const out = await generateStream(
				m.spec,
				m.params,
				m.config,
				gen.prompt_ids,
				{ maxNewTokens: gen.max_new_tokens, eosTokenIds: eos === null || eos === undefined ? [] : [eos].flat() },
				{ onToken: (id, i) => void streamed.push([id, i]) }
			);
			expect([...gen.prompt_ids, ...out]).toEqual(gen.output_ids);
			expect(streamed).toEqual(out.map((id, i) => [id, i]));
		});
});

describe('generateStream', () => {
	const prompt = [75, 54, 82, 84];

	it('samples with top-k 1 exactly as greedy decodes', async () => {
		const m = load('qwen2');
		const greedy = await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 8 });
		const topK1 = await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 8, doSample: true, topK: 1, temperature: 0.7, seed: 9 });
		expect(topK1).toEqual(greedy);
	});

	it('replays a seed exactly; another seed gives other tokens', async () => {
		const m = load('qwen2');
		const opts = (seed: number): Partial<GenerateOptions> => ({ maxNewTokens: 10, doSample: true, topK: 0, temperature: 1.5, seed });
		const a = await generateStream(m.spec, m.params, m.config, prompt, opts(1));
		const b = await generateStream(m.spec, m.params, m.config, prompt, opts(1));
		const c = await generateStream(m.spec, m.params, m.config, prompt, opts(2));
		expect(a).toHaveLength(10);
		expect(b).toEqual(a);
		expect(c).not.toEqual(a);
	});

	it('stops after emitting an EOS token, which it returns', async () => {
		const m = load('gpt2'); // greedy continues 84, 84, …
		expect(await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 8, eosTokenIds: [84] })).toEqual([84]);
		expect(await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 3, eosTokenIds: [7, 9] })).toEqual([84, 84, 84]);
	});

	it('uses the config EOS when none is given', async () => {
		const m = load('gpt2');
		const out = await generateStream(m.spec, m.params, { ...m.config, eosTokenIds: [84] }, prompt, { maxNewTokens: 8 });
		expect(out).toEqual([84]);
	});

	it('stops when shouldStop says so', async () => {
		const m = load('qwen2');
		let n = 0;
		const out = await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 8 }, { onToken: () => void n++, shouldStop: async () => n >= 3 });
		expect(out).toHaveLength(3);
	});

	it('keeps only the last maxPositions tokens once the sequence outgrows the context', async () => {
		const m = load('qwen2');
		const config = { ...m.config, maxPositions: 6 };
		const out = await generateStream(m.spec, m.params, config, prompt, { maxNewTokens: 6 });
		expect(out).toHaveLength(6);
		const ids = [...prompt];
		for (const id of out) {
			// each step is the greedy token for the window the model saw
			expect(await generateStream(m.spec, m.params, m.config, ids.slice(-6), { maxNewTokens: 1 })).toEqual([id]);
			ids.push(id);
		}
		// gpt2's forward refuses more than n_positions (64) tokens; the window keeps it under
		const g = load('gpt2');
		const long = Array.from({ length: 62 }, (_, i) => (i * 7) % 128);
		expect(await generateStream(g.spec, g.params, g.config, long, { maxNewTokens: 5 })).toHaveLength(5);
	});

	it('refuses options transformers refuses', async () => {
		const m = load('gpt2');
		await expect(generateStream(m.spec, m.params, m.config, prompt, { doSample: true, temperature: 0 })).rejects.toThrow(/Temperature/);
		await expect(generateStream(m.spec, m.params, m.config, prompt, { doSample: true, topP: 1.5 })).rejects.toThrow(/Top-p/);
		await expect(generateStream(m.spec, m.params, m.config, [], {})).rejects.toThrow(/prompt/);
	});

	it('feeds the model a few bucketed lengths, not one shape per step', async () => {
		const m = load('qwen2');
		const lengths = new Set<number>();
		const spec = { ...m.spec, forward: (...a: Parameters<typeof m.spec.forward>) => (lengths.add(a[2].inputIds.shape[1]), m.spec.forward(...a)) };
		const long = Array.from({ length: 12 }, (_, i) => i + 3);
		// recomputing: the whole prefix, padded to its bucket
		expect(await generateStream(spec, m.params, m.config, long, { maxNewTokens: 8, kvCache: false })).toHaveLength(8);
		expect([...lengths].sort((a, b) => a - b)).toEqual([16, 32]);
		// cached: the prompt once in its bucket, then one token per step
		lengths.clear();
		expect(await generateStream(spec, m.params, m.config, long, { maxNewTokens: 8 })).toHaveLength(8);
		expect([...lengths].sort((a, b) => a - b)).toEqual([1, 16]);
	});

	it('leaks no tensors', async () => {
		const m = load('llama');
		const before = tf.memory().numTensors;
		const out = await generateStream(m.spec, m.params, m.config, prompt, { maxNewTokens: 5, doSample: true, topP: 0.9, repetitionPenalty: 1.3, eosTokenIds: [] });
		expect(out).toHaveLength(5);
		expect(tf.memory().numTensors).toBe(before);
	});
});

describe('nextToken', () => {
	it('greedy takes the first index of the largest logit', () => {
		expect(nextToken(Float32Array.from([1, 3, 3, 2]), [], {}, fixed(0))).toBe(1);
		expect(argmax([-1, -1, -1])).toBe(0);
		// greedy ignores the warpers
		expect(nextToken(Float32Array.from([1, 3, 2]), [], { doSample: false, temperature: 0.1, topK: 1, topP: 0.1 }, fixed(0))).toBe(1);
	});

	it('divides by the temperature before the softmax', () => {
		const logits = Float32Array.from([0, Math.log(3)]); // p = [1/4, 3/4]
		expect(Array.from(processLogits(logits, [], sampling({ temperature: 0.5 })))).toEqual([0, Math.fround(Math.log(3)) / 0.5]);
		// at T = 1/2 the odds square: p = [1/10, 9/10]
		const p = softmax(processLogits(logits, [], sampling({ temperature: 0.5 })));
		expect(p[0]).toBeCloseTo(0.1, 6);
		expect(nextToken(logits, [], sampling({}), fixed(0.2))).toBe(0);
		expect(nextToken(logits, [], sampling({ temperature: 0.5 }), fixed(0.2))).toBe(1);
		expect(nextToken(logits, [], sampling({ temperature: 0.5 }), fixed(0.09))).toBe(0);
	});

	it('draws by inverse CDF over the token order', () => {
		const p = [0.5, 0, 0.25, 0.25];
		expect([0, 0.49, 0.5, 0.74, 0.75, 0.999999].map((u) => sampleIndex(p, u))).toEqual([0, 0, 2, 2, 3, 3]);
		expect(sampleIndex([0.3, 0.3, 0.3, 0], 0.95)).toBe(2); // rounding short of 1 never picks a zero
	});

	it('top-k keeps exactly the k largest (and ties with the k-th, as torch does)', () => {
		const logits = Float32Array.from([0.3, -1, 2.5, 0.9, 1.7, -0.2, 0.8]);
		expect(kept(processLogits(logits, [], sampling({ topK: 3 })))).toEqual([2, 3, 4]);
		expect(kept(processLogits(logits, [], sampling({ topK: 1 })))).toEqual([2]);
		expect(kept(processLogits(logits, [], sampling({ topK: 100 })))).toEqual([0, 1, 2, 3, 4, 5, 6]);
		expect(kept(processLogits(logits, [], sampling({ topK: 0 })))).toHaveLength(7);
		const tied = Float64Array.from([1, 2, 2, 0]);
		applyTopK(tied, 1);
		expect(kept(tied)).toEqual([1, 2]);
		// only kept tokens are ever drawn, with renormalized probabilities
		for (const u of [0, 0.3, 0.6, 0.99]) expect([2, 3, 4]).toContain(nextToken(logits, [], sampling({ topK: 3 }), fixed(u)));
	});

	it('top-p removes tokens whose ascending cumulative probability is ≤ 1 - top_p, boundary included', () => {
		const equal = new Float32Array(4); // p = 1/4 each, cumulative 1/4, 1/2, 3/4, 1 exactly
		expect(kept(processLogits(equal, [], sampling({ topP: 0.75 })))).toEqual([1, 2, 3]); // 1/4 ≤ 1/4 goes
		expect(kept(processLogits(equal, [], sampling({ topP: 0.5 })))).toEqual([2, 3]);
		expect(kept(processLogits(equal, [], sampling({ topP: 0.25 })))).toEqual([3]);
		expect(kept(processLogits(equal, [], sampling({ topP: 0.76 })))).toEqual([0, 1, 2, 3]);
		expect(kept(processLogits(equal, [], sampling({ topP: 0 })))).toEqual([3]); // min_tokens_to_keep = 1
		expect(kept(processLogits(equal, [], sampling({ topP: 1 })))).toEqual([0, 1, 2, 3]);

		const logits = logs([0.3, 0.1, 0.4, 0.2]);
		expect(kept(processLogits(logits, [], sampling({ topP: 0.75 })))).toEqual([0, 2, 3]); // drops 0.1
		expect(kept(processLogits(logits, [], sampling({ topP: 0.65 })))).toEqual([0, 2]); // drops 0.1 + 0.2
		expect(kept(processLogits(logits, [], sampling({ topP: 0.35 })))).toEqual([2]);
	});

	it('applies top-k before top-p (top-p sees the renormalized survivors)', () => {
		const logits = Float32Array.from([0, 0, 0, 0, -3, -3]);
		// alone, top-p 0.75 drops only the two small tokens (their 2.4% plus a quarter of the rest exceeds 1/4)
		expect(kept(processLogits(logits, [], sampling({ topP: 0.75 })))).toEqual([0, 1, 2, 3]);
		// after top-k 4 the survivors have exactly 1/4 each, and the first is at the threshold
		expect(kept(processLogits(logits, [], sampling({ topK: 4, topP: 0.75 })))).toEqual([1, 2, 3]);
	});

	it('repetition penalty divides positive and multiplies negative logits of seen tokens, once each', () => {
		const logits = Float32Array.from([2, -2, 1, 0.5, 0]);
		const out = processLogits(logits, [0, 1, 1, 1, 4], sampling({ repetitionPenalty: 2 }));
		expect(Array.from(out)).toEqual([1, -4, 1, 0.5, 0]);
		// it is a logits processor, not a warper, so greedy uses it too
		expect(nextToken(Float32Array.from([2, -2, 1.5]), [0], { repetitionPenalty: 2 }, fixed(0))).toBe(2);
		expect(nextToken(Float32Array.from([2, -2, 1.5]), [0], { repetitionPenalty: 1 }, fixed(0))).toBe(0);
	});

	it('draws one number per sampled token and none when greedy', () => {
		const prng = new Prng(5);
		const logits = Float32Array.from([0.1, 0.2, 0.3]);
		nextToken(logits, [], {}, prng);
		expect(prng.state).toBe(new Prng(5).state);
		nextToken(logits, [], sampling({}), prng);
		const twin = new Prng(5);
		twin.next();
		expect(prng.state).toBe(twin.state);
	});
});
