import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bert } from '../../../src/lib/engine/models/bert';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { CLASSIFIER_CHECKS, expectNoLeak, fixtureJson, fixtureModel, fixtureTensors, maxAbsDiff, parityTests, randomParams } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('bert against transformers', () => parityTests('bert', CLASSIFIER_CHECKS));

describe('bert', () => {
	it('reads config.json with transformers defaults', () => {
		const c = bert.parseConfig(fixtureJson('bert', 'config.json'));
		expect(c).toMatchObject({ numLabels: 3, normEps: 1e-12, hiddenAct: 'gelu', typeVocabSize: 2, problemType: 'single_label_classification' });
		expect(c.classifierDropout).toBe(0.1); // classifier_dropout: null -> hidden_dropout_prob
		expect(bert.parseConfig({}).numLabels).toBe(2);
		expect(() => bert.parseConfig({ position_embedding_type: 'relative_key' })).toThrow(/not supported/);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('bert'));

	it('treats absent token_type_ids as zeros', () => {
		const m = fixtureModel('bert');
		expect(m.batch.tokenTypeIds).toBeDefined();
		const diff = tf.tidy(() =>
			maxAbsDiff(bert.forward(m.params, m.config as never, m.batch), bert.forward(m.params, m.config as never, { ...m.batch, tokenTypeIds: undefined }))
		);
		expect(diff).toBe(0);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds!]);
	});

	it('regression (num_labels 1) uses mean squared error', () => {
		const m = fixtureModel('bert');
		const config = bert.parseConfig({ ...fixtureJson('bert', 'config.json'), id2label: undefined, num_labels: 1, problem_type: null });
		const params = randomParams(bert, config);
		const labels = tf.tensor1d([0.5, -1]);
		tf.tidy(() => {
			const logits = bert.forward(params, config, m.batch);
			expect(logits.shape).toEqual([2, 1]);
			const [a, b] = Array.from(logits.dataSync());
			expect(bert.loss(logits, labels, config).dataSync()[0]).toBeCloseTo(((a - 0.5) ** 2 + (b + 1) ** 2) / 2, 6);
		});
		tf.dispose([labels, ...Object.values(params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds!]);
	});

	it('reports the classifier as missing when loading a bare BertModel checkpoint', () => {
		const bare = new Map([...fixtureTensors('bert')].filter(([n]) => !n.startsWith('classifier')).map(([n, t]) => [n.replace(/^bert\./, ''), t]));
		const c = bert.parseConfig(fixtureJson('bert', 'config.json'));
		const { params, missing, unexpected } = paramsFromCheckpoint(bert, c, bare);
		expect(missing).toEqual(['classifier.weight', 'classifier.bias']);
		expect(unexpected).toEqual([]);
		tf.dispose(Object.values(params));
	});

	it('maps legacy LayerNorm gamma/beta names to weight/bias', () => {
		const legacy = new Map([...fixtureTensors('bert')].map(([n, t]) => [n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]));
		expect([...legacy.keys()]).toContain('bert.embeddings.LayerNorm.gamma');
		const c = bert.parseConfig(fixtureJson('bert', 'config.json'));
		const { params, missing } = paramsFromCheckpoint(bert, c, legacy);
		expect(missing).toEqual([]);
		tf.dispose(Object.values(params));
	});
});
