import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gpt_neox } from '../../../src/lib/engine/models/gpt_neox';
import { CAUSAL_CHECKS, expectNoLeak, fixtureClassifier, fixtureJson, fixtureModel, maxAbsDiff, parityTests, smokeStep } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('gpt_neox against transformers', () => parityTests('gpt_neox', CAUSAL_CHECKS));

describe('gpt_neox', () => {
	it('reads config.json with transformers defaults', () => {
		const c = gpt_neox.parseConfig(fixtureJson('gpt_neox', 'config.json'));
		expect(c).toMatchObject({ headDim: 8, rotaryDims: 2, parallelResidual: true, attentionBias: true, tieWordEmbeddings: false, normEps: 1e-5, hiddenAct: 'gelu' });
		expect(c).toMatchObject({ bosTokenId: null, eosTokenIds: [] });
		expect(gpt_neox.paramShapes(c)['embed_out.weight']).toEqual([128, 32]);
		expect(gpt_neox.paramShapes(c)['gpt_neox.layers.0.attention.query_key_value.weight']).toEqual([96, 32]);
		// Pythia's config leaves these out: GPTNeoXConfig's defaults
		const bare = gpt_neox.parseConfig({ hidden_size: 512, num_attention_heads: 8 });
		expect(bare).toMatchObject({ rotaryDims: 16, ropeTheta: 10000, bosTokenId: 0, eosTokenIds: [2], parallelResidual: true });
		expect(() => gpt_neox.parseConfig({ rope_scaling: { type: 'dynamic', factor: 2 } })).toThrow(/rope_scaling/);
	});

	it('rotates only the first rotary_pct of each head: rotating all of it changes the logits', () => {
		const m = fixtureModel('gpt_neox');
		const full = gpt_neox.parseConfig({ ...fixtureJson('gpt_neox', 'config.json'), rotary_pct: 1 });
		const diff = tf.tidy(() => maxAbsDiff(gpt_neox.forward(m.params, m.config as never, m.batch), gpt_neox.forward(m.params, full, m.batch)));
		expect(diff).toBeGreaterThan(1e-3);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('runs a sequential-residual tied config with consistent shapes (initial loss ~ ln V)', () => {
		const m = fixtureModel('gpt_neox');
		const config = gpt_neox.parseConfig({ ...fixtureJson('gpt_neox', 'config.json'), use_parallel_residual: false, tie_word_embeddings: true, rotary_pct: 0.5, attention_bias: false, num_hidden_layers: 3 });
		const r = smokeStep(gpt_neox, config, m.batch, m.labels);
		expect(r.logitsShape).toEqual([2, 10, 128]);
		expect(r.names).not.toContain('embed_out.weight');
		expect(r.names).not.toContain('gpt_neox.layers.0.attention.dense.bias');
		expect(Math.abs(r.loss - Math.log(128))).toBeLessThan(0.1);
		for (const n of r.names) expect(r.gradNorms[n], n).toBeGreaterThan(0);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('as GPTNeoXForSequenceClassification: a bias-free score on the last real token', () => {
		const m = fixtureModel('gpt_neox');
		const cls = fixtureClassifier('gpt_neox', 3);
		expect(cls.spec.paramShapes(cls.config)['score.weight']).toEqual([3, 32]);
		expect(Object.keys(cls.params)).not.toContain('embed_out.weight');
		tf.tidy(() => {
			const logits = cls.spec.forward(cls.params, cls.config, m.batch);
			expect(logits.shape).toEqual([2, 3]);
			// row 1 has 7 real tokens: its logits are the score of position 6's hidden state
			const h = cls.spec.hidden(cls.params, cls.config, m.batch).slice([1, 6, 0], [1, 1, 32]).reshape([1, 32]);
			const want = h.matMul(cls.params['score.weight'], false, true);
			expect(maxAbsDiff(logits.slice([1, 0], [1, 3]), want)).toBeLessThan(1e-6);
		});
		tf.dispose([...Object.values(cls.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('gpt_neox'));
});
