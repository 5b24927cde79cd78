import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gemma } from '../../../src/lib/engine/models/gemma';
import { llama } from '../../../src/lib/engine/models/llama';
import type { Params } from '../../../src/lib/engine/models/spec';
import { CAUSAL_CHECKS, expectNoLeak, expectTiedAfterStep, fixtureClassifier, fixtureJson, fixtureModel, maxAbsDiff, parityTests } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('gemma against transformers', () => parityTests('gemma', CAUSAL_CHECKS));

describe('gemma', () => {
	it('reads config.json with transformers defaults', () => {
		const c = gemma.parseConfig(fixtureJson('gemma', 'config.json'));
		expect(c).toMatchObject({ nHead: 4, nKvHead: 1, headDim: 8, tieWordEmbeddings: true, normEps: 1e-6, hiddenAct: 'gelu_pytorch_tanh', normUnitOffset: true });
		expect(c.embedScale).toBe(Math.fround(Math.sqrt(32))); // 5.656854, a float32
		const bare = gemma.parseConfig({});
		expect(bare).toMatchObject({ hiddenSize: 3072, nLayer: 28, nHead: 16, nKvHead: 16, headDim: 256, vocabSize: 256000, bosTokenId: 2, eosTokenIds: [1], padTokenId: 0 });
		// v4.40 runs gelu tanh when hidden_activation is unset, whatever hidden_act says (released configs say "gelu")
		expect(gemma.parseConfig({ hidden_act: 'gelu' }).hiddenAct).toBe('gelu_pytorch_tanh');
		// head_dim is its own field: q has heads × head_dim rows, not hidden_size
		const wide = gemma.parseConfig({ hidden_size: 48, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 16 });
		expect(gemma.paramShapes(wide)['model.layers.0.self_attn.q_proj.weight']).toEqual([96, 48]);
		expect(gemma.paramShapes(wide)['model.layers.0.self_attn.o_proj.weight']).toEqual([48, 96]);
	});

	it('is Llama with the embeddings scaled by √d and norms scaled by (1 + weight)', () => {
		const m = fixtureModel('gemma');
		const c = m.config as ReturnType<typeof gemma.parseConfig>;
		// fold both into Llama's weights: norms get 1 + w; the embedding is scaled (and so is the tied head, so untie it)
		const folded: Params = {};
		for (const [n, t] of Object.entries(m.params)) folded[n] = n.endsWith('norm.weight') ? t.add(1) : t;
		folded['model.embed_tokens.weight'] = m.params['model.embed_tokens.weight'].mul(c.embedScale!);
		folded['lm_head.weight'] = m.params['model.embed_tokens.weight'];
		const plain = { ...c, modelType: 'llama' as const, embedScale: 1, normUnitOffset: false, tieWordEmbeddings: false };
		const diff = tf.tidy(() => maxAbsDiff(gemma.forward(m.params, c, m.batch), llama.forward(folded, plain, m.batch)));
		expect(diff).toBeLessThan(1e-5);
		tf.dispose([...Object.values(folded).filter((t) => !Object.values(m.params).includes(t)), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('keeps tied embeddings as one tensor through a gradient step', () => expectTiedAfterStep('gemma', 'model.embed_tokens.weight'));

	it('as GemmaForSequenceClassification: score on the last real token', () => {
		const m = fixtureModel('gemma');
		const cls = fixtureClassifier('gemma', 3);
		const shape = tf.tidy(() => cls.spec.forward(cls.params, cls.config, m.batch).shape);
		expect(shape).toEqual([2, 3]);
		tf.dispose([...Object.values(cls.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('gemma'));
});
