/**
 * A from-scratch model exported as GPT-2: the causal LM loads back through config.json and the
 * registry (as transformers would load it) with no missing or unexpected keys and the same logits;
 * a classifier loads as GPT2ForSequenceClassification and the export says where transformers
 * will differ.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportScratchModel, scratchHfConfig, scratchTokenizerFiles } from '../../../src/lib/engine/io/scratch-export';
import { parseSafetensors } from '../../../src/lib/engine/io/safetensors';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { resolveConfig } from '../../../src/lib/engine/models/registry';
import { forward, initParams } from '../../../src/lib/engine/models/transformer';
import { defaultModelConfig, type ModelConfig } from '../../../src/lib/shared/config';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const buffer = (u8: Uint8Array) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;

function batch() {
	return { inputIds: tf.tensor2d([[5, 9, 3, 7, 1, 2], [4, 8, 6, 0, 0, 0]], [2, 6], 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], [2, 6]) };
}

describe('from-scratch export as GPT-2', () => {
	it('a causal LM loads as GPT2LMHeadModel with the same logits and no missing or unexpected keys', async () => {
		const m: ModelConfig = { ...defaultModelConfig, vocabSize: 40, nLayer: 2, nHead: 2, dModel: 16, contextLength: 8, causal: true, head: 'lm', dropout: 0 };
		const host = initParams(m, 3);
		const { files, warnings } = await exportScratchModel(m, host, { eosTokenId: 2, padTokenId: 0 });
		expect(warnings).toEqual([]);
		const json = JSON.parse(files['config.json']);
		expect(json).toMatchObject({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 16, n_layer: 2, n_head: 2, n_positions: 8, n_inner: 64, activation_function: 'gelu_new', tie_word_embeddings: true, pad_token_id: 0 });
		expect(JSON.parse(files['generation_config.json']!)).toMatchObject({ eos_token_id: 2, pad_token_id: 0 });
		const { spec, config } = resolveConfig(json);
		const loaded = paramsFromCheckpoint(spec, config, parseSafetensors(buffer(files['model.safetensors'])).tensors);
		expect(loaded.missing).toEqual([]);
		expect(loaded.unexpected).toEqual([]);
		const b = batch();
		const params = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
		const ours = tf.tidy(() => forward(params, m, b).dataSync());
		const theirs = tf.tidy(() => spec.forward(loaded.params, config, b).dataSync());
		let diff = 0;
		for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
		expect(theirs.length).toBe(ours.length);
		expect(diff).toBeLessThan(1e-5);
		tf.dispose([...Object.values(params), ...Object.values(loaded.params), b.inputIds, b.attentionMask]);
	});

	it('a classifier loads as GPT2ForSequenceClassification and the export names every difference', async () => {
		const m: ModelConfig = { ...defaultModelConfig, vocabSize: 40, nLayer: 1, nHead: 2, dModel: 16, contextLength: 8, numClasses: 3 };
		const host = initParams(m, 5);
		host['classifier.bias'].data[1] = 0.5;
		const { files, warnings } = await exportScratchModel(m, host, { labels: ['neg', 'neu', 'pos'], padTokenId: 0 });
		const json = JSON.parse(files['config.json']);
		expect(json).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 3, id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, pad_token_id: 0 });
		const { spec, config } = resolveConfig(json);
		const st = parseSafetensors(buffer(files['model.safetensors'])).tensors;
		expect(st.get('score.weight')!.data).toEqual(host['classifier.weight'].data);
		const loaded = paramsFromCheckpoint(spec, config, st);
		expect(loaded.missing).toEqual([]);
		expect(loaded.unexpected).toEqual([]);
		tf.dispose(Object.values(loaded.params));
		expect(warnings.join(' ')).toMatch(/no bias/);
		expect(warnings.join(' ')).toMatch(/bidirectional/);
		expect(warnings.join(' ')).toMatch(/mean of the token states/);
		expect(scratchHfConfig({ ...m, causal: true }).architectures).toEqual(['GPT2ForSequenceClassification']);
	});

	it("writes the project's BPE as the fast tokenizer", () => {
		const f = scratchTokenizerFiles('{"version":"1.0"}', 64);
		expect(f['tokenizer.json']).toBe('{"version":"1.0"}');
		expect(JSON.parse(f['tokenizer_config.json'])).toMatchObject({ tokenizer_class: 'PreTrainedTokenizerFast', pad_token: '<pad>', model_max_length: 64 });
	});
});
