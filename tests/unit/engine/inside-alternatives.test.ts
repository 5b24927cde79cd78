/**
 * Generation with alternatives (engine/inside/alternatives.ts): its tokens are generate.ts's
 * (greedy: transformers' reference generation on the hf-tiny GPT-2; sampled: generateStream's with
 * the same seed), each step's chosen token sits in the distribution it was drawn from, and the
 * reshaping stages are processLogits' own, in its order.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateWithAlternatives, reshapeStep } from '../../../src/lib/engine/inside/alternatives';
import { generateStream, processLogits, softmax } from '../../../src/lib/engine/generate';
import { fixtureModel } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function model() {
	const m = fixtureModel('gpt2');
	return { m, arch: { spec: m.spec, config: m.config, params: m.params }, dispose: () => tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]) };
}

describe('generation with alternatives', () => {
	it('greedy: the reference tokens, each the top alternative of its step', async () => {
		const { m, arch, dispose } = model();
		const gen = m.reference.generation as { prompt_ids: number[]; new_ids: number[]; max_new_tokens: number };
		const before = tf.memory().numTensors;
		const { steps, trace } = await generateWithAlternatives(arch, gen.prompt_ids, { maxNewTokens: gen.max_new_tokens });
		expect(tf.memory().numTensors).toBe(before);
		expect(steps.map((s) => s.id)).toEqual(gen.new_ids);
		expect(trace).toHaveLength(gen.new_ids.length);
		expect(trace[1].previous).toEqual([...gen.prompt_ids, gen.new_ids[0]]);
		for (const s of steps) {
			expect(s.alternatives).toHaveLength(10);
			expect(s.alternatives[0].id).toBe(s.id);
			expect(s.alternatives[0].p).toBe(s.p);
			for (let i = 1; i < s.alternatives.length; i++) expect(s.alternatives[i].p).toBeLessThanOrEqual(s.alternatives[i - 1].p);
			// no repetition penalty and no sampling: the distribution is the model's own
			s.alternatives.forEach((a) => expect(a.p).toBeCloseTo(a.model, 12));
		}
		dispose();
	});

	it('sampled: generateStream’s tokens for the same seed, drawn from the warped distribution', async () => {
		const { arch, dispose } = model();
		const opts = { doSample: true, temperature: 1.5, topK: 5, topP: 0.9, seed: 7, maxNewTokens: 6 };
		const expected = await generateStream(arch.spec, arch.params, arch.config, [3, 9, 27], opts);
		const { steps } = await generateWithAlternatives(arch, [3, 9, 27], opts);
		expect(steps.map((s) => s.id)).toEqual(expected);
		for (const s of steps) {
			expect(s.p).toBeGreaterThan(0);
			expect(s.alternatives.filter((a) => a.p > 0).length).toBeLessThanOrEqual(5); // top-k 5 left at most five
			expect(s.alternatives.some((a) => a.id === s.id)).toBe(true);
		}
		dispose();
	});

	it('rejects options generate.ts rejects', async () => {
		const { arch, dispose } = model();
		await expect(generateWithAlternatives(arch, [1], { doSample: true, temperature: 0 })).rejects.toThrow(/Temperature must be > 0/);
		dispose();
	});
});

describe('how temperature, top-k and top-p reshape one step', () => {
	const logits = Float32Array.from([2, 1.5, 1, 0.5, 0, -0.5, -1, -3]);
	const step = { logits, previous: [0] };

	it('stages are processLogits with the warpers switched on in order', () => {
		const o = { temperature: 2, topK: 4, topP: 0.6, repetitionPenalty: 1.3 };
		const { tokens, stages } = reshapeStep(step, o, 8);
		expect(stages.map((s) => s.name)).toEqual(['model', 'temperature', 'top-k', 'top-p']);
		// the model stage has only the repetition penalty (token 0 was already generated)
		const model = softmax(processLogits(logits, [0], { doSample: false, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1.3 }));
		expect(stages[0].probs).toEqual(tokens.map((t) => model[t]));
		// the last stage is exactly what sampling draws from with every option on
		const full = softmax(processLogits(logits, [0], { doSample: true, ...o }));
		expect(stages[3].probs).toEqual(tokens.map((t) => full[t]));
		expect(stages.map((s) => s.kept)).toEqual([8, 8, 4, stages[3].kept]);
		expect(stages[3].kept).toBeLessThan(4);
		// a temperature above 1 flattens: the likeliest token loses probability
		expect(stages[1].probs[0]).toBeLessThan(stages[0].probs[0]);
	});

	it('shows the model’s likeliest tokens first', () => {
		const { tokens } = reshapeStep(step, {}, 3);
		expect(tokens).toEqual([0, 1, 2]);
	});
});
