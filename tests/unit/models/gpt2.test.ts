import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gpt2 } from '../../../src/lib/engine/models/gpt2';
import { generate } from '../../../src/lib/engine/models/heads';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import {
	CAUSAL_CHECKS,
	expectNoLeak,
	expectTiedAfterStep,
	fixtureJson,
	fixtureModel,
	fixtureTensors,
	maxAbsDiff,
	parityTests,
	smokeStep
} from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('gpt2 against transformers', () => parityTests('gpt2', CAUSAL_CHECKS));

describe('gpt2', () => {
	it('reads config.json with transformers defaults', () => {
		const c = gpt2.parseConfig(fixtureJson('gpt2', 'config.json'));
		expect(c).toMatchObject({ vocabSize: 128, hiddenSize: 32, nLayer: 2, nHead: 4, nKvHead: 4, headDim: 8, maxPositions: 64 });
		expect(c.intermediateSize).toBe(128); // n_inner: null -> 4 * n_embd
		expect(c).toMatchObject({ hiddenAct: 'gelu_new', normEps: 1e-5, tieWordEmbeddings: true, eosTokenIds: [50256] });
		const bare = gpt2.parseConfig({ model_type: 'gpt2' });
		expect(bare).toMatchObject({ vocabSize: 50257, hiddenSize: 768, nLayer: 12, intermediateSize: 3072, maxPositions: 1024 });
		expect(() => gpt2.parseConfig({ n_embd: 30, n_head: 4 })).toThrow(/not divisible/);
	});

	it('keeps tied embeddings as one tensor through a gradient step', () => expectTiedAfterStep('gpt2', 'transformer.wte.weight'));

	it('leaks no tensors in a forward pass and loss', () => expectNoLeak('gpt2'));

	it('leaks no tensors while generating', async () => {
		const m = fixtureModel('gpt2');
		const before = tf.memory().numTensors;
		const out = await generate(m.spec, m.params, m.config, [1, 2, 3], { maxNewTokens: 3 });
		expect(out).toHaveLength(6);
		expect(tf.memory().numTensors).toBe(before);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('runs an untied, differently sized config with consistent shapes (initial loss ~ ln V)', () => {
		const m = fixtureModel('gpt2');
		const config = gpt2.parseConfig({
			...fixtureJson('gpt2', 'config.json'),
			n_embd: 24,
			n_head: 3,
			n_layer: 3,
			n_inner: 40,
			tie_word_embeddings: false,
			activation_function: 'relu',
			scale_attn_by_inverse_layer_idx: true
		});
		const r = smokeStep(gpt2, config, m.batch, m.labels);
		expect(r.logitsShape).toEqual([2, 10, 128]);
		expect(r.names).toContain('lm_head.weight');
		expect(Math.abs(r.loss - Math.log(128))).toBeLessThan(0.05);
		for (const n of r.names) expect(r.gradNorms[n], n).toBeGreaterThan(0);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('applies dropout only in training, reproducibly from the seed', () => {
		const m = fixtureModel('gpt2');
		const run = (opts: { training?: boolean; dropoutSeed?: number }) => gpt2.forward(m.params, m.config as never, m.batch, opts);
		tf.tidy(() => {
			const ref = run({});
			expect(maxAbsDiff(ref, run({ training: false, dropoutSeed: 5 }))).toBe(0);
			expect(maxAbsDiff(run({ training: true, dropoutSeed: 5 }), run({ training: true, dropoutSeed: 5 }))).toBe(0);
			expect(maxAbsDiff(run({ training: true, dropoutSeed: 5 }), run({ training: true, dropoutSeed: 6 }))).toBeGreaterThan(1e-3);
			expect(maxAbsDiff(ref, run({ training: true, dropoutSeed: 5 }))).toBeGreaterThan(1e-3);
		});
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});

	it('loads a bare GPT2Model checkpoint: adds the prefix and reports unused buffers', () => {
		const full = fixtureTensors('gpt2');
		const bare = new Map([...full].map(([name, t]) => [name.replace(/^transformer\./, ''), t]));
		bare.set('h.0.attn.bias', { dtype: 'F32', shape: [1, 1, 64, 64], data: new Float32Array(64 * 64) }); // old persistent causal mask
		const config = gpt2.parseConfig(fixtureJson('gpt2', 'config.json'));
		const { params, missing, unexpected } = paramsFromCheckpoint(gpt2, config, bare);
		expect(missing).toEqual([]);
		expect(unexpected).toEqual(['h.0.attn.bias']);
		expect(Object.keys(params).sort()).toEqual(Object.keys(gpt2.paramShapes(config)).sort());
		tf.dispose(Object.values(params));
	});

	it('rejects weights whose shapes disagree with config.json', () => {
		const config = gpt2.parseConfig({ ...fixtureJson('gpt2', 'config.json'), n_embd: 64 });
		expect(() => paramsFromCheckpoint(gpt2, config, fixtureTensors('gpt2'))).toThrow(/do not belong together/);
	});
});
