import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { roberta, robertaPositions } from '../../../src/lib/engine/models/roberta';
import { CLASSIFIER_CHECKS, expectNoLeak, fixtureJson, fixtureModel, fixtureTensors, maxAbsDiff, parityTests } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('roberta against transformers', () => parityTests('roberta', CLASSIFIER_CHECKS));

describe('roberta', () => {
	it('reads config.json with transformers defaults', () => {
		const c = roberta.parseConfig(fixtureJson('roberta', 'config.json'));
		expect(c).toMatchObject({ numLabels: 3, padTokenId: 1, bosTokenId: 0, eosTokenIds: [2], typeVocabSize: 1, maxPositions: 74, normEps: 1e-12 });
		expect(c.classifierDropout).toBe(0.1); // classifier_dropout: null -> hidden_dropout_prob
		expect(roberta.parseConfig({}).padTokenId).toBe(1);
		expect(() => roberta.parseConfig({ position_embedding_type: 'relative_key' })).toThrow(/not supported/);
	});

	it('numbers positions from padding_idx + 1 and puts pads at padding_idx, from the ids (not the mask)', () => {
		const m = fixtureModel('roberta');
		const pos = robertaPositions(m.batch.inputIds, 1);
		expect(pos.arraySync()).toEqual([
			[2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
			[2, 3, 4, 5, 6, 7, 8, 1, 1, 1]
		]);
		// passing them explicitly gives the same logits; plain 0..T-1 does not (the offset matters)
		const arange = tf.tensor2d([[...Array(10).keys()], [...Array(10).keys()]], undefined, 'int32');
		const [same, shifted] = tf.tidy(() => {
			const base = roberta.forward(m.params, m.config as never, m.batch);
			return [
				maxAbsDiff(base, roberta.forward(m.params, m.config as never, { ...m.batch, positionIds: pos })),
				maxAbsDiff(base, roberta.forward(m.params, m.config as never, { ...m.batch, positionIds: arange }))
			];
		});
		expect(same).toBe(0);
		expect(shifted).toBeGreaterThan(1e-3);
		tf.dispose([pos, arange, ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds!]);
	});

	it('says how many tokens fit: max_position_embeddings less padding_idx + 1', () => {
		const m = fixtureModel('roberta');
		const ids = tf.ones([1, 73], 'int32').add(4) as tf.Tensor2D;
		expect(() => tf.tidy(() => roberta.forward(m.params, m.config as never, { inputIds: ids }))).toThrow(/allows \(72\)/);
		tf.dispose([ids, ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds!]);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('roberta'));

	it('loads a RobertaForMaskedLM checkpoint (roberta-base) with a fresh classifier; the pooler and LM head go unused', () => {
		const t = fixtureTensors('roberta');
		const mlm = new Map([...t].filter(([n]) => !n.startsWith('classifier.')));
		mlm.set('roberta.pooler.dense.weight', t.get('classifier.dense.weight')!);
		mlm.set('lm_head.bias', t.get('roberta.embeddings.LayerNorm.bias')!);
		const c = roberta.parseConfig({ ...fixtureJson('roberta', 'config.json'), architectures: ['RobertaForMaskedLM'] });
		const { params, missing, unexpected } = paramsFromCheckpoint(roberta, c, mlm);
		expect(missing).toEqual(['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']);
		expect(unexpected.sort()).toEqual(['lm_head.bias', 'roberta.pooler.dense.weight']);
		tf.dispose(Object.values(params));
	});
});
