import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mistral } from '../../../src/lib/engine/models/mistral';
import { CAUSAL_CHECKS, expectNoLeak, fixtureClassifier, fixtureJson, fixtureModel, parityTests } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('mistral against transformers', () => parityTests('mistral', CAUSAL_CHECKS));

describe('mistral', () => {
	it('reads config.json with transformers defaults', () => {
		const c = mistral.parseConfig(fixtureJson('mistral', 'config.json'));
		expect(c).toMatchObject({ slidingWindow: 6, nKvHead: 2, normEps: 1e-6, tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [] });
		const bare = mistral.parseConfig({});
		expect(bare).toMatchObject({ slidingWindow: 4096, nKvHead: 8, intermediateSize: 14336, bosTokenId: 1, eosTokenIds: [2], vocabSize: 32000 });
		expect(mistral.parseConfig({ sliding_window: null }).slidingWindow).toBeNull();
		expect(() => mistral.parseConfig({ sliding_window: 0 })).toThrow(/sliding_window/);
	});

	it('the window is sliding_window + 1 keys: positions 0..6 match a model without it, 7..9 do not', async () => {
		const m = fixtureModel('mistral');
		const ref = (m.reference.logits as number[][][]).map((row) => row.map((pos) => Float32Array.from(pos)));
		const noWindow = { ...(m.config as ReturnType<typeof mistral.parseConfig>), slidingWindow: null };
		const logits = tf.tidy(() => mistral.forward(m.params, noWindow, m.batch).arraySync() as number[][][]);
		const worst = (from: number, to: number) =>
			Math.max(...logits[0].slice(from, to).flatMap((pos, t) => pos.map((v, j) => Math.abs(v - ref[0][from + t][j]))));
		expect(worst(0, 7)).toBeLessThan(1e-5);
		expect(worst(7, 10)).toBeGreaterThan(1e-3);
		// one key fewer (a window of 5) changes position 6, which the reference's window of 6 leaves alone
		const narrow = tf.tidy(() => mistral.forward(m.params, { ...noWindow, slidingWindow: 5 }, m.batch).arraySync() as number[][][]);
		expect(Math.max(...narrow[0][6].map((v, j) => Math.abs(v - ref[0][6][j])))).toBeGreaterThan(1e-4);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('as MistralForSequenceClassification: score on the last real token', () => {
		const m = fixtureModel('mistral');
		const cls = fixtureClassifier('mistral', 2);
		expect(Object.keys(cls.params)).toContain('score.weight');
		expect(Object.keys(cls.params)).not.toContain('lm_head.weight');
		const shape = tf.tidy(() => cls.spec.forward(cls.params, cls.config, m.batch).shape);
		expect(shape).toEqual([2, 2]);
		tf.dispose([...Object.values(cls.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('mistral'));
});
