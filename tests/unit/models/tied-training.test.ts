/**
 * Tied embeddings stay tied through training: two AdamW steps (with global-norm clipping, as the
 * training sessions step) on the tiny tied checkpoints leave one embedding tensor, the LM head
 * reads the updated embedding, and the loss goes down. One tf.tidy per step leaks nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { linear } from '../../../src/lib/engine/ops';
import { AdamW, defaultAdamW } from '../../../src/lib/engine/train/adamw';
import { clipByGlobalNorm } from '../../../src/lib/engine/train/clip';
import type { Params } from '../../../src/lib/engine/models/spec';
import { fixtureModel, maxAbsDiff } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe.each([
	['gpt2', 'transformer.wte.weight'],
	['llama', 'model.embed_tokens.weight']
])('%s trained with AdamW', (arch, embedding) => {
	it('keeps the LM head tied to the updated embedding and lowers the loss', () => {
		const m = fixtureModel(arch);
		expect(m.spec.isTied(m.config)).toBe(true);
		const vars = new Map(Object.entries(m.params).map(([n, t]) => [n, tf.variable(t, true)]));
		const byVarName = new Map([...vars].map(([n, v]) => [v.name, n]));
		const p = () => Object.fromEntries(vars) as Params;
		const lossNow = () => tf.tidy(() => m.spec.loss(m.spec.forward(p(), m.config, m.batch), m.labels, m.config).dataSync()[0]);
		const opt = new AdamW(vars, defaultAdamW);
		const initial = lossNow();
		const embeddingBefore = vars.get(embedding)!.clone();

		const baseline = tf.memory().numTensors;
		for (let step = 0; step < 2; step++)
			tf.tidy(() => {
				const { grads } = tf.variableGrads(() => m.spec.loss(m.spec.forward(p(), m.config, m.batch, { training: true, dropoutSeed: step }), m.labels, m.config), [...vars.values()]);
				const named: Record<string, tf.Tensor> = {};
				for (const [vn, g] of Object.entries(grads)) named[byVarName.get(vn)!] = g;
				expect(Object.keys(named)).not.toContain('lm_head.weight');
				const { grads: clipped } = clipByGlobalNorm(named, 1);
				opt.apply(clipped, 1e-2);
			});
		expect(tf.memory().numTensors).toBe(baseline);
		expect(opt.step).toBe(2);

		expect([...vars.keys()]).not.toContain('lm_head.weight');
		expect([...opt.m.keys()]).not.toContain('lm_head.weight');
		expect(maxAbsDiff(embeddingBefore, vars.get(embedding)!)).toBeGreaterThan(1e-3);
		// the head is exactly hidden @ (updated embedding)^T
		const diff = tf.tidy(() => maxAbsDiff(m.spec.forward(p(), m.config, m.batch), linear(m.spec.hidden(p(), m.config, m.batch), vars.get(embedding)! as tf.Tensor2D)));
		expect(diff).toBe(0);
		expect(lossNow()).toBeLessThan(initial - 0.01);

		opt.dispose();
		tf.dispose([embeddingBefore, ...vars.values(), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});
