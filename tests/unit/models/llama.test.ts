import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../../src/lib/engine/models/heads';
import { llama } from '../../../src/lib/engine/models/llama';
import type { Params } from '../../../src/lib/engine/models/spec';
import { CAUSAL_CHECKS, expectNoLeak, expectTiedAfterStep, fixtureJson, fixtureModel, maxAbsDiff, parityTests, smokeStep } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('llama against transformers', () => parityTests('llama', CAUSAL_CHECKS));

describe('llama', () => {
	it('reads config.json with transformers defaults', () => {
		const c = llama.parseConfig(fixtureJson('llama', 'config.json'));
		expect(c).toMatchObject({ nHead: 4, nKvHead: 2, headDim: 8, ropeTheta: 10000, normEps: 1e-5, tieWordEmbeddings: true });
		expect(c).toMatchObject({ qkvBias: false, oBias: false, mlpBias: false, bosTokenId: 1, eosTokenIds: [2] });
		const bare = llama.parseConfig({ model_type: 'llama', num_attention_heads: 8, hidden_size: 64 });
		expect(bare).toMatchObject({ nKvHead: 8, headDim: 8, tieWordEmbeddings: false, normEps: 1e-6, hiddenAct: 'silu', ropePositionScale: 1 });
		expect(llama.parseConfig({ rope_scaling: { type: 'linear', factor: 4 } }).ropePositionScale).toBe(4);
		expect(() => llama.parseConfig({ rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(/rope_scaling/);
		expect(() => llama.parseConfig({ num_attention_heads: 6, num_key_value_heads: 4 })).toThrow(/multiple/);
	});

	it('keeps tied embeddings as one tensor through a gradient step', () => expectTiedAfterStep('llama', 'model.embed_tokens.weight'));

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('llama'));

	it('grouped-query attention equals multi-head attention with each kv head repeated for its group', () => {
		const m = fixtureModel('llama');
		const c = m.config as ReturnType<typeof llama.parseConfig>;
		const groups = c.nHead / c.nKvHead;
		const mha: Params = { ...m.params };
		for (let i = 0; i < c.nLayer; i++)
			for (const w of ['k_proj', 'v_proj']) {
				const name = `model.layers.${i}.self_attn.${w}.weight`;
				// kv head j serves query heads j*groups .. (j+1)*groups - 1, as transformers' repeat_kv
				mha[name] = tf.tidy(() =>
					m.params[name]
						.reshape([c.nKvHead, 1, c.headDim, c.hiddenSize])
						.tile([1, groups, 1, 1])
						.reshape([c.nHead * c.headDim, c.hiddenSize])
				);
			}
		const diff = tf.tidy(() => maxAbsDiff(llama.forward(m.params, c, m.batch), llama.forward(mha, { ...c, nKvHead: c.nHead }, m.batch)));
		expect(diff).toBeLessThan(1e-6);
		tf.dispose([...Object.values(mha), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('explicit position ids 0..T-1 give the default logits', () => {
		const m = fixtureModel('llama');
		const diff = tf.tidy(() =>
			maxAbsDiff(
				llama.forward(m.params, m.config as never, m.batch),
				llama.forward(m.params, m.config as never, { ...m.batch, positionIds: tf.tensor2d([[...Array(10).keys()], [...Array(10).keys()]], undefined, 'int32') })
			)
		);
		expect(diff).toBe(0);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('runs an untied single-kv-head config with consistent shapes (initial loss ~ ln V)', () => {
		const m = fixtureModel('llama');
		const config = llama.parseConfig({
			...fixtureJson('llama', 'config.json'),
			hidden_size: 48,
			num_attention_heads: 6,
			num_key_value_heads: 1,
			intermediate_size: 80,
			num_hidden_layers: 3,
			tie_word_embeddings: false,
			rope_theta: 500000,
			rms_norm_eps: 1e-6,
			attention_bias: true,
			mlp_bias: true
		});
		const r = smokeStep(llama, config, m.batch, m.labels);
		expect(r.logitsShape).toEqual([2, 10, 128]);
		expect(r.names).toContain('lm_head.weight');
		expect(r.names).toContain('model.layers.2.self_attn.o_proj.bias');
		expect(r.names).toContain('model.layers.2.mlp.down_proj.bias');
		expect(Math.abs(r.loss - Math.log(128))).toBeLessThan(0.05);
		for (const n of r.names) expect(r.gradNorms[n], n).toBeGreaterThan(0);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('stops generating at the end-of-sequence token and includes it', async () => {
		const m = fixtureModel('llama');
		const prompt = m.reference.generation!.prompt_ids;
		const first = m.reference.generation!.new_ids![0];
		const out = await generate(m.spec, m.params, m.config, prompt, { maxNewTokens: 8, eosTokenId: [999, first] });
		expect(out).toEqual([...prompt, first]);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});
