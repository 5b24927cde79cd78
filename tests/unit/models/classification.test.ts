/**
 * Sequence classification on every architecture: the task read from config.json `architectures`
 * or set with `withTask`, the decoders' last-token pooling as transformers' `*ForSequenceClassification`
 * computes it, fresh heads initialised as `_init_weights` does, and mismatched heads replaced.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/shared/errors';
import { lastTokenIndex, sequenceClassificationLoss, singleLabelLossAndCorrect } from '../../../src/lib/engine/models/heads';
import { initMissing, loadPretrained, paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { resolveConfig, withTask } from '../../../src/lib/engine/models/registry';
import type { Batch, Params } from '../../../src/lib/engine/models/spec';
import { fixtureJson, fixtureModel, fixtureTensors } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const DECODERS = ['gpt2', 'llama', 'qwen2'];

/** The fixture checkpoint loaded as a `numLabels`-class classifier with a fresh head. */
function classifier(arch: string, numLabels = 3, seed = 7) {
	const { spec, config: base } = resolveConfig(fixtureJson(arch, 'config.json'));
	const config = withTask(spec, base, 'sequence-classification', numLabels);
	const loaded = loadPretrained(spec, config, fixtureTensors(arch), seed);
	const ref = fixtureModel(arch); // for its reference batch
	tf.dispose(Object.values(ref.params));
	return { spec, config, ...loaded, batch: ref.batch, reference: ref.reference, refLabels: ref.labels };
}

function disposeAll(m: { params: Params; batch: Batch; refLabels: tf.Tensor }) {
	tf.dispose([...Object.values(m.params), m.refLabels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
}

/** transformers' pooling index: (argmax(input_ids == pad) - 1) % T, or T - 1 without a pad id. */
function hfSequenceLengths(ids: number[][], pad: number | null): number[] {
	return ids.map((row) => {
		if (pad === null) return row.length - 1;
		const first = row.indexOf(pad);
		return (((first < 0 ? 0 : first) - 1) % row.length + row.length) % row.length;
	});
}

describe('the task of a model', () => {
	it('comes from config.json architectures', () => {
		const task = (json: Record<string, unknown>) => resolveConfig(json).config.task;
		expect(task(fixtureJson('gpt2', 'config.json'))).toBe('causal-lm');
		expect(task(fixtureJson('llama', 'config.json'))).toBe('causal-lm');
		expect(task(fixtureJson('bert', 'config.json'))).toBe('sequence-classification');
		expect(task({ model_type: 'gpt2', architectures: ['GPT2ForSequenceClassification'] })).toBe('sequence-classification');
		expect(task({ model_type: 'llama', architectures: ['LlamaForSequenceClassification'] })).toBe('sequence-classification');
		expect(task({ model_type: 'qwen2', architectures: ['Qwen2ForSequenceClassification'] })).toBe('sequence-classification');
		expect(task({ model_type: 'gpt2', architectures: ['GPT2Model'] })).toBe('causal-lm');
		expect(task({ model_type: 'llama' })).toBe('causal-lm');
		for (const a of ['BertModel', 'BertForPreTraining', 'BertForMaskedLM']) expect(task({ model_type: 'bert', architectures: [a] })).toBe('sequence-classification');
	});

	it('reads labels, problem_type and initializer_range with transformers defaults', () => {
		const { config } = resolveConfig({ model_type: 'gpt2', architectures: ['GPT2ForSequenceClassification'], id2label: { 0: 'neg', 1: 'pos' }, initializer_range: 0.05 });
		expect(config).toMatchObject({ numLabels: 2, labelNames: ['neg', 'pos'], problemType: null, initializerRange: 0.05 });
		expect(resolveConfig({ model_type: 'llama', num_labels: 4 }).config).toMatchObject({ numLabels: 4, labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3'], initializerRange: 0.02 });
		expect(() => resolveConfig({ model_type: 'qwen2', problem_type: 'ranking' })).toThrow(/problem_type/);
		expect(() => resolveConfig({ model_type: 'gpt2', id2label: { 0: 'a', 5: 'b' } })).toThrow(/id2label/);
	});

	it('is changed with withTask, which keeps what still applies', () => {
		const { spec, config } = resolveConfig(fixtureJson('bert', 'config.json'));
		expect(withTask(spec, config, 'sequence-classification')).toMatchObject({ numLabels: 3, labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'], problemType: 'single_label_classification' });
		expect(withTask(spec, config, 'sequence-classification', 2, ['no', 'yes'])).toMatchObject({ numLabels: 2, labelNames: ['no', 'yes'], problemType: null });
		expect(withTask(spec, config, 'sequence-classification', undefined, { 1: 'b', 0: 'a' }).labelNames).toEqual(['a', 'b']);
		expect(withTask(spec, config, 'sequence-classification', 4).labelNames).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3']);
		expect(() => withTask(spec, config, 'causal-lm')).toThrow(UserError);
		expect(() => withTask(spec, config, 'causal-lm')).toThrow(/choose sequence-classification/);
		expect(() => withTask(spec, config, 'sequence-classification', 3, ['a', 'b'])).toThrow(/one name per class/);
		expect(() => withTask(spec, config, 'sequence-classification', 0)).toThrow(/at least 1/);
		const g = resolveConfig(fixtureJson('gpt2', 'config.json'));
		const cls = withTask(g.spec, g.config, 'sequence-classification', 2);
		expect(withTask(g.spec, cls, 'causal-lm').task).toBe('causal-lm');
		expect(config.hfConfig).toEqual(fixtureJson('bert', 'config.json')); // the source is kept, unchanged
	});

	it('decides the parameter names: score.weight replaces the LM head', () => {
		for (const arch of DECODERS) {
			const { spec, config } = resolveConfig(fixtureJson(arch, 'config.json'));
			const cls = withTask(spec, config, 'sequence-classification', 5);
			const shapes = spec.paramShapes(cls);
			expect(shapes['score.weight']).toEqual([5, 32]);
			expect(shapes['lm_head.weight']).toBeUndefined();
			expect(shapes['score.bias']).toBeUndefined(); // transformers' score has no bias
			expect(spec.isTied(cls)).toBe(false);
			expect(spec.headParams(cls)).toEqual(['score.weight']);
			expect(spec.headParams(config)).toEqual([]);
		}
	});
});

describe('decoder sequence classification', () => {
	it('pools where transformers does for right-padded rows with a pad id', () => {
		const m = fixtureModel('gpt2');
		const ours = tf.tidy(() => Array.from(lastTokenIndex(2, 10, m.batch.attentionMask).dataSync()));
		expect(ours).toEqual([9, 6]);
		expect(ours).toEqual(hfSequenceLengths(m.reference.input_ids, 0)); // the fixture pads with id 0
		expect(tf.tidy(() => Array.from(lastTokenIndex(2, 10).dataSync()))).toEqual(hfSequenceLengths(m.reference.input_ids, null));
		const empty = tf.tensor2d([[0, 0, 0]]);
		expect(tf.tidy(() => Array.from(lastTokenIndex(1, 3, empty).dataSync()))).toEqual(hfSequenceLengths([[0, 0, 0]], 0));
		tf.dispose([empty, ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	for (const arch of DECODERS)
		it(`${arch}: logits are score(hidden at the last real token), and padding does not change them`, async () => {
			const m = classifier(arch);
			expect(m.missing).toEqual(['score.weight']);
			expect(m.initialized).toEqual(['score.weight']);
			expect(m.unexpected).toEqual(arch === 'qwen2' ? ['lm_head.weight'] : []); // qwen2's head is untied
			const [logits, hidden, score] = tf.tidy(() => [
				m.spec.forward(m.params, m.config, m.batch),
				m.spec.hidden(m.params, m.config, m.batch),
				m.params['score.weight']
			].map((t) => t.arraySync())) as [number[][], number[][][], number[][]];
			expect(logits.length).toBe(2);
			expect(logits[0].length).toBe(3);
			// transformers scores every position, then picks row b at its index: (B, T, C)[b, idx]
			const want = [9, 6].map((idx, b) => score.map((w) => w.reduce((s, wi, j) => s + wi * hidden[b][idx][j], 0)));
			for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) expect(logits[b][c]).toBeCloseTo(want[b][c], 5);
			// row 1 alone, unpadded, gives the same logits
			const ids = m.reference.input_ids[1].slice(0, 7);
			const alone = tf.tidy(() => m.spec.forward(m.params, m.config, { inputIds: tf.tensor2d([ids], [1, 7], 'int32') }).arraySync()) as number[][];
			for (let c = 0; c < 3; c++) expect(alone[0][c]).toBeCloseTo(logits[1][c], 5);
			disposeAll(m);
		});

	for (const arch of [...DECODERS, 'bert'])
		it(`${arch}: forward, loss and gradients of the classification head leak no tensors`, () => {
			const m = classifier(arch);
			const labels = tf.tensor1d([0, 2], 'int32');
			const before = tf.memory().numTensors;
			const names = Object.keys(m.params);
			const { loss, scoreGrad } = tf.tidy(() => {
				const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) =>
					m.spec.loss(m.spec.forward(Object.fromEntries(names.map((n, i) => [n, xs[i]])), m.config, m.batch), labels, m.config)
				)(names.map((n) => m.params[n]));
				const head = arch === 'bert' ? 'classifier.weight' : 'score.weight';
				return { loss: value.dataSync()[0], scoreGrad: grads[names.indexOf(head)].norm().dataSync()[0] };
			});
			expect(tf.memory().numTensors).toBe(before);
			expect(Math.abs(loss - Math.log(3))).toBeLessThan(0.5); // a fresh head starts near chance
			expect(scoreGrad).toBeGreaterThan(0);
			labels.dispose();
			disposeAll(m);
		});

	it('uses the same loss as BERT: cross-entropy for class ids, MSE for one label', () => {
		const m = classifier('llama');
		const labels = tf.tensor1d([1, 0], 'int32');
		tf.tidy(() => {
			const logits = m.spec.forward(m.params, m.config, m.batch);
			expect(m.spec.loss(logits, labels, m.config).dataSync()[0]).toBeCloseTo(sequenceClassificationLoss(logits, labels, null).dataSync()[0], 7);
		});
		labels.dispose();
		disposeAll(m);
		const r = classifier('llama', 1);
		const targets = tf.tensor1d([0.5, -1]);
		tf.tidy(() => {
			const [a, b] = Array.from(r.spec.forward(r.params, r.config, r.batch).dataSync());
			expect(r.spec.loss(r.spec.forward(r.params, r.config, r.batch), targets, r.config).dataSync()[0]).toBeCloseTo(((a - 0.5) ** 2 + (b + 1) ** 2) / 2, 6);
		});
		targets.dispose();
		disposeAll(r);
	});

	it('hidden() is the same for either head', () => {
		const lm = fixtureModel('gpt2');
		const cls = withTask(lm.spec, lm.config, 'sequence-classification', 2);
		const diff = tf.tidy(() => lm.spec.hidden(lm.params, lm.config, lm.batch).sub(lm.spec.hidden(lm.params, cls, lm.batch)).abs().max().dataSync()[0]);
		expect(diff).toBe(0);
		tf.dispose([...Object.values(lm.params), lm.labels, lm.batch.inputIds, lm.batch.attentionMask!]);
	});
});

describe('fresh heads', () => {
	const values = (p: Params, n: string) => Array.from(p[n].dataSync());

	it('are normal(0, initializer_range), seeded, with zero biases', () => {
		const { spec, config } = resolveConfig({ ...fixtureJson('bert', 'config.json'), initializer_range: 0.5, hidden_size: 64 });
		const names = spec.headParams(config);
		const a = initMissing(spec, config, names, 1);
		const b = initMissing(spec, config, names, 1);
		const c = initMissing(spec, config, names, 2);
		expect(Object.keys(a)).toEqual(names);
		expect(a['bert.pooler.dense.weight'].shape).toEqual([64, 64]);
		expect(a['classifier.weight'].shape).toEqual([3, 64]);
		expect(values(a, 'classifier.weight')).toEqual(values(b, 'classifier.weight'));
		expect(values(a, 'classifier.weight')).not.toEqual(values(c, 'classifier.weight'));
		expect(values(a, 'classifier.bias')).toEqual([0, 0, 0]);
		expect(values(a, 'bert.pooler.dense.bias').every((v) => v === 0)).toBe(true);
		const w = values(a, 'bert.pooler.dense.weight');
		const mean = w.reduce((s, v) => s + v, 0) / w.length;
		const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
		expect(Math.abs(mean)).toBeLessThan(0.05);
		expect(std).toBeGreaterThan(0.47);
		expect(std).toBeLessThan(0.53);
		// a tensor's values do not depend on which others were missing
		const alone = initMissing(spec, config, ['classifier.weight'], 1);
		expect(values(alone, 'classifier.weight')).toEqual(values(a, 'classifier.weight'));
		tf.dispose([...Object.values(a), ...Object.values(b), ...Object.values(c), ...Object.values(alone)]);
	});

	it('refuses to invent anything but a head, naming what is missing', () => {
		const { spec, config } = resolveConfig(fixtureJson('gpt2', 'config.json'));
		const cls = withTask(spec, config, 'sequence-classification', 2);
		const partial = new Map([...fixtureTensors('gpt2')].filter(([n]) => !n.startsWith('transformer.h.1.mlp')));
		const loaded = paramsFromCheckpoint(spec, cls, partial);
		expect(loaded.missing).toContain('score.weight');
		expect(() => initMissing(spec, cls, loaded.missing, 0)).toThrow(UserError);
		expect(() => initMissing(spec, cls, loaded.missing, 0)).toThrow(/'transformer\.h\.1\.mlp\.c_fc\.weight'/);
		const before = tf.memory().numTensors;
		expect(() => loadPretrained(spec, cls, partial, 0)).toThrow(/cannot start fresh/);
		expect(tf.memory().numTensors).toBe(before);
		tf.dispose(Object.values(loaded.params));
		// an untied causal LM without its lm_head is not a fresh head either
		const q = resolveConfig(fixtureJson('qwen2', 'config.json'));
		const noHead = new Map([...fixtureTensors('qwen2')].filter(([n]) => n !== 'lm_head.weight'));
		expect(() => loadPretrained(q.spec, q.config, noHead, 0)).toThrow(/'lm_head\.weight'/);
	});

	it('BERT saved as BertModel without a pooler (sentence-transformers) gets a fresh pooler and classifier', () => {
		const bare = new Map(
			[...fixtureTensors('bert')].filter(([n]) => !n.startsWith('classifier') && !n.includes('pooler')).map(([n, t]) => [n.replace(/^bert\./, ''), t])
		);
		const { spec, config } = resolveConfig({ ...fixtureJson('bert', 'config.json'), architectures: ['BertModel'], id2label: undefined, num_labels: 2 });
		const loaded = loadPretrained(spec, config, bare, 3);
		expect(loaded.missing).toEqual(['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
		expect(loaded.initialized).toEqual(loaded.missing);
		expect(Object.keys(loaded.params)).toEqual(Object.keys(spec.paramShapes(config)));
		expect(tf.tidy(() => spec.forward(loaded.params, config, { inputIds: tf.tensor2d([[1, 2, 3]], [1, 3], 'int32') }).shape)).toEqual([1, 2]);
		tf.dispose(Object.values(loaded.params));
	});

	it("replace a checkpoint's own classifier sized for other labels (ignore_mismatched_sizes)", () => {
		const { spec, config } = resolveConfig(fixtureJson('bert', 'config.json'));
		const five = withTask(spec, config, 'sequence-classification', 5);
		const loaded = loadPretrained(spec, five, fixtureTensors('bert'), 0);
		expect(loaded.mismatched).toEqual([
			{ name: 'classifier.weight', checkpoint: [3, 32], model: [5, 32] },
			{ name: 'classifier.bias', checkpoint: [3], model: [5] }
		]);
		expect(loaded.missing).toEqual(['classifier.weight', 'classifier.bias']);
		expect(loaded.unexpected).toEqual([]);
		expect(loaded.params['classifier.weight'].shape).toEqual([5, 32]);
		// the pooler came from the checkpoint, not from the initialiser
		expect(values(loaded.params, 'bert.pooler.dense.bias')).toEqual(Array.from(fixtureTensors('bert').get('bert.pooler.dense.bias')!.data as Float32Array));
		tf.dispose(Object.values(loaded.params));

		// a decoder classifier checkpoint loaded for a different number of labels
		const g = resolveConfig({ ...fixtureJson('gpt2', 'config.json'), architectures: ['GPT2ForSequenceClassification'] });
		const tensors = new Map(fixtureTensors('gpt2'));
		tensors.set('score.weight', { dtype: 'F32', shape: [2, 32], data: new Float32Array(64) });
		const four = loadPretrained(g.spec, withTask(g.spec, g.config, 'sequence-classification', 4), tensors, 0);
		expect(four.mismatched).toEqual([{ name: 'score.weight', checkpoint: [2, 32], model: [4, 32] }]);
		tf.dispose(Object.values(four.params));
		const two = loadPretrained(g.spec, g.config, tensors, 0);
		expect(two.missing).toEqual([]);
		expect(values(two.params, 'score.weight').every((v) => v === 0)).toBe(true); // the stored head, kept
		tf.dispose(Object.values(two.params));
	});
});

describe('a classifier step\'s loss and hits', () => {
	it('is the cross-entropy over the real rows and how many of them have their label as the first largest logit', () => {
		tf.tidy(() => {
			// Rows: right, wrong, a tie (the first largest is 0, the label), a filler row (label -1) that is "right" for no label.
			const logits = tf.tensor2d([[0.1, 2, -1], [3, 0, 1], [1, 1, 0], [5, 0, 0]]);
			const labels = tf.tensor1d([1, 2, 0, -1], 'int32');
			const { loss, correct } = singleLabelLossAndCorrect(logits, labels);
			expect(correct.dataSync()[0]).toBe(2);
			const real = tf.tensor2d([[0.1, 2, -1], [3, 0, 1], [1, 1, 0]]);
			expect(loss.dataSync()[0]).toBeCloseTo(sequenceClassificationLoss(real, tf.tensor1d([1, 2, 0], 'int32'), 'single_label_classification').dataSync()[0], 6);
			// Smoothed: (1 − ε) · NLL + ε · mean(−log p), as torch's cross_entropy(label_smoothing=ε).
			const logp = tf.logSoftmax(real).arraySync() as number[][];
			const expected = [1, 2, 0].reduce((a, y, r) => a + 0.9 * -logp[r][y] + 0.1 * -(logp[r][0] + logp[r][1] + logp[r][2]) / 3, 0) / 3;
			expect(singleLabelLossAndCorrect(logits, labels, 0.1).loss.dataSync()[0]).toBeCloseTo(expected, 6);
		});
	});
});
