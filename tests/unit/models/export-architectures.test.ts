/**
 * Export of the new architectures as Hugging Face folders: each fixture written out and read back
 * through the registry gives the same tensors (names and float32 bytes save_pretrained wrote),
 * config.json fields and generation_config.json, and bit-identical logits; a classifier made from
 * a causal checkpoint exports with its head class.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportHfModel } from '../../../src/lib/engine/io/export';
import { parseSafetensors } from '../../../src/lib/engine/io/safetensors';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { resolveConfig } from '../../../src/lib/engine/models/registry';
import { fixtureClassifier, fixtureJson, fixtureModel, fixtureTensors } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const buffer = (u8: Uint8Array) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;

describe('exportHfModel on the new architectures', () => {
	for (const arch of ['distilbert', 'roberta', 'gpt_neox', 'mistral', 'gemma', 'phi3'])
		it(`${arch}: the exported folder loads back to bit-identical logits`, async () => {
			const m = fixtureModel(arch);
			const { files, warnings } = await exportHfModel(m.spec, m.config, m.params);
			expect(warnings).toEqual([]);
			const original = fixtureTensors(arch);
			const { tensors } = parseSafetensors(buffer(files['model.safetensors']));
			expect([...tensors.keys()].sort()).toEqual([...original.keys()].sort());
			for (const [name, t] of tensors) expect(t.data, name).toEqual(original.get(name)!.data);
			const json = JSON.parse(files['config.json']);
			for (const [k, v] of Object.entries(fixtureJson(arch, 'config.json'))) if (k !== 'num_labels') expect(json[k], k).toEqual(v);
			if (m.config.task === 'causal-lm') expect(JSON.parse(files['generation_config.json']!)).toEqual(fixtureJson(arch, 'generation_config.json'));
			const { spec, config } = resolveConfig(json);
			const back = paramsFromCheckpoint(spec, config, tensors);
			expect([back.missing, back.unexpected]).toEqual([[], []]);
			const [a, b] = tf.tidy(() => [m.spec.forward(m.params, m.config, m.batch).dataSync(), spec.forward(back.params, config, m.batch).dataSync()]);
			expect(b).toEqual(a);
			tf.dispose([...Object.values(back.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
		});

	it('a Pythia classifier exports as GPTNeoXForSequenceClassification with its score head, and warns without a pad id', async () => {
		const cls = fixtureClassifier('gpt_neox', 2);
		const { files, warnings } = await exportHfModel(cls.spec, cls.config, cls.params);
		const json = JSON.parse(files['config.json']);
		expect(json).toMatchObject({ architectures: ['GPTNeoXForSequenceClassification'], num_labels: 2 });
		expect(parseSafetensors(buffer(files['model.safetensors'])).tensors.has('score.weight')).toBe(true);
		expect(warnings.join(' ')).toMatch(/pad_token_id/);
		const withPad = await exportHfModel(cls.spec, cls.config, cls.params, { padTokenId: 1 });
		expect(withPad.warnings).toEqual([]);
		tf.dispose(Object.values(cls.params));
	});
});
