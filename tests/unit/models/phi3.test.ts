import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { llama } from '../../../src/lib/engine/models/llama';
import { phi3 } from '../../../src/lib/engine/models/phi3';
import type { Params } from '../../../src/lib/engine/models/spec';
import { CAUSAL_CHECKS, expectNoLeak, fixtureClassifier, fixtureJson, fixtureModel, maxAbsDiff, parityTests } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('phi3 against transformers', () => parityTests('phi3', CAUSAL_CHECKS));

describe('phi3', () => {
	it('reads config.json with transformers defaults', () => {
		const c = phi3.parseConfig(fixtureJson('phi3', 'config.json'));
		expect(c).toMatchObject({ nHead: 4, nKvHead: 4, normEps: 1e-5, tieWordEmbeddings: false, slidingWindow: null, fusedProjections: true, padTokenId: 0 });
		const shapes = phi3.paramShapes(c);
		expect(shapes['model.layers.0.self_attn.qkv_proj.weight']).toEqual([96, 32]);
		expect(shapes['model.layers.0.mlp.gate_up_proj.weight']).toEqual([128, 32]);
		expect(shapes['model.layers.0.self_attn.q_proj.weight']).toBeUndefined();
		const bare = phi3.parseConfig({});
		expect(bare).toMatchObject({ vocabSize: 32064, hiddenSize: 3072, intermediateSize: 8192, nKvHead: 32, bosTokenId: 1, eosTokenIds: [32000], padTokenId: 32000 });
		expect(phi3.parseConfig({ sliding_window: 2047 }).slidingWindow).toBe(2047);
		expect(() => phi3.parseConfig({ rope_scaling: { type: 'su', short_factor: [1], long_factor: [1] } })).toThrow(/4k-context/);
	});

	it('fused qkv_proj and gate_up_proj equal Llama with the rows split into q/k/v and gate/up', () => {
		const m = fixtureModel('phi3');
		const c = m.config as ReturnType<typeof phi3.parseConfig>;
		const kv = c.nKvHead * c.headDim;
		const split: Params = {};
		for (const [n, t] of Object.entries(m.params)) {
			if (n.endsWith('qkv_proj.weight')) {
				const [q, k, v] = tf.split(t, [c.nHead * c.headDim, kv, kv], 0);
				Object.assign(split, { [n.replace('qkv_proj', 'q_proj')]: q, [n.replace('qkv_proj', 'k_proj')]: k, [n.replace('qkv_proj', 'v_proj')]: v });
			} else if (n.endsWith('gate_up_proj.weight')) {
				const [g, u] = tf.split(t, 2, 0);
				Object.assign(split, { [n.replace('gate_up_proj', 'gate_proj')]: g, [n.replace('gate_up_proj', 'up_proj')]: u });
			} else split[n] = t;
		}
		const plain = { ...c, modelType: 'llama' as const, fusedProjections: false };
		expect(Object.keys(llama.paramShapes(plain)).sort()).toEqual(Object.keys(split).sort());
		const diff = tf.tidy(() => maxAbsDiff(phi3.forward(m.params, c, m.batch), llama.forward(split, plain, m.batch)));
		expect(diff).toBeLessThan(1e-6);
		tf.dispose([...Object.values(split).filter((t) => !Object.values(m.params).includes(t)), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('as Phi3ForSequenceClassification: score on the last real token', () => {
		const m = fixtureModel('phi3');
		const cls = fixtureClassifier('phi3', 3);
		const shape = tf.tidy(() => cls.spec.forward(cls.params, cls.config, m.batch).shape);
		expect(shape).toEqual([2, 3]);
		tf.dispose([...Object.values(cls.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('phi3'));
});
