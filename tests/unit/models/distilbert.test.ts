import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { distilbert } from '../../../src/lib/engine/models/distilbert';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { CLASSIFIER_CHECKS, expectNoLeak, fixtureJson, fixtureModel, fixtureTensors, maxAbsDiff, parityTests } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('distilbert against transformers', () => parityTests('distilbert', CLASSIFIER_CHECKS));

describe('distilbert', () => {
	it('reads config.json with transformers defaults', () => {
		const c = distilbert.parseConfig(fixtureJson('distilbert', 'config.json'));
		expect(c).toMatchObject({ task: 'sequence-classification', numLabels: 3, hiddenSize: 32, nLayer: 2, nHead: 4, headDim: 8, intermediateSize: 64 });
		expect(c).toMatchObject({ normEps: 1e-12, hiddenAct: 'gelu', classifierDropout: 0.2, padTokenId: 0 });
		// DistilBertConfig's defaults: distilbert-base-uncased
		const bare = distilbert.parseConfig({});
		expect(bare).toMatchObject({ vocabSize: 30522, hiddenSize: 768, nLayer: 6, nHead: 12, intermediateSize: 3072, maxPositions: 512, dropout: 0.1 });
		expect(() => distilbert.parseConfig({ dim: 30, n_heads: 4 })).toThrow(/not divisible/);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('distilbert'));

	it('has no token types: token_type_ids are not read', () => {
		const m = fixtureModel('distilbert');
		expect(Object.keys(m.params).some((n) => n.includes('token_type'))).toBe(false);
		const types = tf.onesLike(m.batch.inputIds);
		const diff = tf.tidy(() => maxAbsDiff(distilbert.forward(m.params, m.config as never, m.batch), distilbert.forward(m.params, m.config as never, { ...m.batch, tokenTypeIds: types })));
		expect(diff).toBe(0);
		tf.dispose([types, ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('loads a DistilBertForMaskedLM checkpoint (distilbert-base-uncased) with a fresh pre_classifier and classifier', () => {
		const t = fixtureTensors('distilbert');
		const mlm = new Map([...t].filter(([n]) => !/classifier/.test(n)));
		mlm.set('vocab_transform.weight', t.get('pre_classifier.weight')!);
		mlm.set('vocab_projector.bias', t.get('distilbert.embeddings.LayerNorm.bias')!);
		const c = distilbert.parseConfig({ ...fixtureJson('distilbert', 'config.json'), architectures: ['DistilBertForMaskedLM'] });
		const { params, missing, unexpected } = paramsFromCheckpoint(distilbert, c, mlm);
		expect(missing).toEqual(['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias']);
		expect(unexpected.sort()).toEqual(['vocab_projector.bias', 'vocab_transform.weight']);
		tf.dispose(Object.values(params));
	});
});
