import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { qwen2 } from '../../../src/lib/engine/models/qwen2';
import { CAUSAL_CHECKS, expectNoLeak, fixtureJson, fixtureModel, parityTests, smokeStep } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('qwen2 against transformers', () => parityTests('qwen2', CAUSAL_CHECKS));

describe('qwen2', () => {
	it('reads config.json with transformers defaults', () => {
		const c = qwen2.parseConfig(fixtureJson('qwen2', 'config.json'));
		expect(c).toMatchObject({ nHead: 4, nKvHead: 2, tieWordEmbeddings: false, qkvBias: true, oBias: false, mlpBias: false });
		expect(c).toMatchObject({ bosTokenId: null, eosTokenIds: [] });
		const shapes = qwen2.paramShapes(c);
		expect(shapes['model.layers.0.self_attn.k_proj.bias']).toEqual([16]);
		expect(shapes['model.layers.0.self_attn.o_proj.bias']).toBeUndefined();
		expect(shapes['lm_head.weight']).toEqual([128, 32]);
		expect(qwen2.parseConfig({ num_attention_heads: 32 }).nKvHead).toBe(32); // Qwen2Config's own default
		expect(() => qwen2.parseConfig({ use_sliding_window: true })).toThrow(/sliding_window/);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('qwen2'));

	it('runs a tied multi-head config with consistent shapes (initial loss ~ ln V)', () => {
		const m = fixtureModel('qwen2');
		const config = qwen2.parseConfig({ ...fixtureJson('qwen2', 'config.json'), num_key_value_heads: 4, tie_word_embeddings: true, rope_theta: 1e6 });
		const r = smokeStep(qwen2, config, m.batch, m.labels);
		expect(r.logitsShape).toEqual([2, 10, 128]);
		expect(r.names).not.toContain('lm_head.weight');
		// tied: each token's own logit starts at about d * 0.02, so the loss sits a little off ln V
		expect(Math.abs(r.loss - Math.log(128))).toBeLessThan(0.15);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});
