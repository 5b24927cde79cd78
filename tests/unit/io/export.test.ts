/**
 * Export to a Hugging Face model folder: each fixture model written out, read back through the
 * safetensors parser and the registry/load path, gives the original logits exactly; a decoder
 * classifier round-trips with its score head; a tied model has no lm_head; F16/BF16 files hold
 * the float32 weights rounded to nearest even.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportConfig, exportHfModel } from '../../../src/lib/engine/io/export';
import { roundToBfloat16, roundToHalf } from '../../../src/lib/engine/io/float16';
import { parseSafetensors, readSafetensorsHeader } from '../../../src/lib/engine/io/safetensors';
import { loadPretrained, paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { resolveConfig, withTask } from '../../../src/lib/engine/models/registry';
import type { ArchSpec, Batch, HfConfigBase, Params } from '../../../src/lib/engine/models/spec';
import { fixtureClassifier, fixtureJson, fixtureModel, fixtureTensors } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const ARCHS = ['gpt2', 'llama', 'qwen2', 'bert'];

function buffer(u8: Uint8Array): ArrayBuffer {
	return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}

/** Load an exported folder the way a downloaded one is loaded: config.json -> registry -> checkpoint. */
function reload(files: { 'config.json': string; 'model.safetensors': Uint8Array }) {
	const { spec, config } = resolveConfig(JSON.parse(files['config.json']));
	const { params, missing, unexpected } = paramsFromCheckpoint(spec, config, parseSafetensors(buffer(files['model.safetensors'])).tensors);
	return { spec, config, params, missing, unexpected };
}

function logits(spec: ArchSpec, config: HfConfigBase, params: Params, batch: Batch): Float32Array {
	return tf.tidy(() => spec.forward(params, config, batch).dataSync() as Float32Array);
}

function referenceBatch(arch: string): { batch: Batch; dispose: () => void } {
	const m = fixtureModel(arch);
	tf.dispose([...Object.values(m.params), m.labels]);
	return { batch: m.batch, dispose: () => tf.dispose([m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined)) };
}

describe('exportHfModel', () => {
	for (const arch of ARCHS)
		it(`${arch}: the exported folder loads back to bit-identical logits`, async () => {
			const m = fixtureModel(arch);
			const { files, warnings } = await exportHfModel(m.spec, m.config, m.params);
			expect(warnings).toEqual([]);
			const original = fixtureTensors(arch);
			const { metadata, tensors } = parseSafetensors(buffer(files['model.safetensors']));
			expect(metadata).toEqual({ format: 'pt' });
			// exactly the names save_pretrained wrote, with the same float32 bytes
			expect([...tensors.keys()].sort()).toEqual([...original.keys()].sort());
			for (const [name, t] of tensors) expect(t.data, name).toEqual(original.get(name)!.data);

			const r = reload(files);
			expect(r.missing).toEqual([]);
			expect(r.unexpected).toEqual([]);
			expect(r.config.task).toBe(m.config.task);
			expect(logits(r.spec, r.config, r.params, m.batch)).toEqual(logits(m.spec, m.config, m.params, m.batch));

			const json = JSON.parse(files['config.json']);
			const source = fixtureJson(arch, 'config.json');
			expect(json.architectures).toEqual(source.architectures);
			expect(json.torch_dtype).toBe('float32');
			for (const [k, v] of Object.entries(source)) if (k !== 'num_labels') expect(json[k], k).toEqual(v);
			if (m.config.task === 'causal-lm') expect(JSON.parse(files['generation_config.json']!)).toEqual(fixtureJson(arch, 'generation_config.json'));
			else expect(files['generation_config.json']).toBeUndefined();
			tf.dispose([...Object.values(r.params), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
		});

	it('writes no lm_head for a tied model, and one for an untied model', async () => {
		for (const [arch, tied] of [['gpt2', true], ['llama', true], ['qwen2', false]] as const) {
			const m = fixtureModel(arch);
			const { files } = await exportHfModel(m.spec, m.config, m.params);
			const header = readSafetensorsHeader(files['model.safetensors']);
			expect(header.entries.has('lm_head.weight'), arch).toBe(!tied);
			expect(JSON.parse(files['config.json']).tie_word_embeddings, arch).toBe(tied);
			if (tied) {
				const extra = { ...m.params, 'lm_head.weight': m.params[arch === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight'] };
				await expect(exportHfModel(m.spec, m.config, extra)).rejects.toThrow(/ties the LM head/);
			}
			tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
		}
	});

	for (const arch of ['gpt2', 'llama', 'qwen2'])
		it(`${arch}: a classifier export round-trips with its score head and labels`, async () => {
			const c = fixtureClassifier(arch, 3);
			const { batch, dispose } = referenceBatch(arch);
			const labels = ['negative', 'neutral', 'positive'];
			const { files, warnings } = await exportHfModel(c.spec, c.config, c.params, { labels, padTokenId: 0 });
			expect(warnings).toEqual([]);
			const json = JSON.parse(files['config.json']);
			expect(json.architectures).toEqual([c.spec.classNames['sequence-classification']]);
			expect(json).toMatchObject({ num_labels: 3, pad_token_id: 0, id2label: { 0: 'negative', 1: 'neutral', 2: 'positive' }, label2id: { negative: 0, neutral: 1, positive: 2 } });
			expect(files['generation_config.json']).toBeUndefined();
			const names = [...readSafetensorsHeader(files['model.safetensors']).entries.keys()];
			expect(names).toContain('score.weight');
			expect(names).not.toContain('lm_head.weight');

			const r = reload(files);
			expect(r.config).toMatchObject({ task: 'sequence-classification', numLabels: 3, labelNames: labels, padTokenId: 0 });
			expect(r.missing).toEqual([]);
			expect(r.unexpected).toEqual([]);
			expect(logits(r.spec, r.config, r.params, batch)).toEqual(logits(c.spec, c.config, c.params, batch));
			tf.dispose([...Object.values(r.params), ...Object.values(c.params)]);
			dispose();
		});

	it('takes host arrays as well as tensors, and says when a decoder classifier has no pad id', async () => {
		const c = fixtureClassifier('gpt2', 2);
		const host = Object.fromEntries(Object.entries(c.params).map(([n, t]) => [n, { shape: t.shape, data: t.dataSync() as Float32Array }]));
		const fromHost = await exportHfModel(c.spec, c.config, host);
		const fromTensors = await exportHfModel(c.spec, c.config, c.params);
		expect(fromHost.files['model.safetensors']).toEqual(fromTensors.files['model.safetensors']);
		expect(fromHost.warnings.join()).toMatch(/no pad_token_id/);
		const { ['score.weight']: _, ...noHead } = host;
		await expect(exportHfModel(c.spec, c.config, noHead)).rejects.toThrow(/'score\.weight' .* is missing/);
		await expect(exportHfModel(c.spec, c.config, { ...host, 'optimizer.m.x': host['score.weight'] })).rejects.toThrow(/optimizer\.m\.x/);
		await expect(exportHfModel(c.spec, c.config, host, { labels: ['a'] })).rejects.toThrow(/one name per class/);
		await expect(exportHfModel(c.spec, c.config, host, { labels: ['a', 'a'] })).rejects.toThrow(/used twice/);
		tf.dispose(Object.values(c.params));
	});

	it('BERT with new labels exports a classifier of the new size', async () => {
		const { spec, config } = resolveConfig(fixtureJson('bert', 'config.json'));
		const two = withTask(spec, config, 'sequence-classification', 2, ['spam', 'ham']);
		const loaded = loadPretrained(spec, two, fixtureTensors('bert'), 5);
		const { files } = await exportHfModel(spec, two, loaded.params);
		const json = JSON.parse(files['config.json']);
		expect(json).toMatchObject({ architectures: ['BertForSequenceClassification'], num_labels: 2, id2label: { 0: 'spam', 1: 'ham' } });
		expect(json.problem_type).toBeUndefined(); // inferred again from the labels, as for the trained model
		expect(readSafetensorsHeader(files['model.safetensors']).entries.get('classifier.weight')!.shape).toEqual([2, 32]);
		tf.dispose(Object.values(loaded.params));
	});

	it('F16 and BF16 exports hold the float32 weights rounded to nearest even', async () => {
		for (const arch of ['gpt2', 'bert']) {
			const m = fixtureModel(arch);
			const f32 = fixtureTensors(arch);
			for (const [dtype, round, torch] of [['F16', roundToHalf, 'float16'], ['BF16', roundToBfloat16, 'bfloat16']] as const) {
				const { files } = await exportHfModel(m.spec, m.config, m.params, { dtype });
				expect(JSON.parse(files['config.json']).torch_dtype).toBe(torch);
				const { tensors } = parseSafetensors(buffer(files['model.safetensors']));
				for (const [name, t] of tensors) {
					expect(t.dtype).toBe(dtype);
					expect(new Uint32Array((t.data as Float32Array).buffer), name).toEqual(new Uint32Array(round(f32.get(name)!.data as Float32Array).buffer));
				}
				// and the fixture's own torch-written half files agree bit for bit
				const torchFile = fixtureTensors(arch, dtype === 'F16' ? 'model.f16.safetensors' : 'model.bf16.safetensors');
				for (const [name, t] of tensors) expect(t.data, name).toEqual(torchFile.get(name)!.data);
			}
			tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
		}
	});

	it('exportConfig keeps the downloaded fields and writes JSON as transformers does (sorted keys)', async () => {
		const m = fixtureModel('llama');
		const json = exportConfig(m.spec, m.config, { dtype: 'BF16' });
		expect(json).toEqual({ ...fixtureJson('llama', 'config.json'), torch_dtype: 'bfloat16' });
		const { files } = await exportHfModel(m.spec, m.config, m.params);
		const keys = Object.keys(JSON.parse(files['config.json']));
		expect(keys).toEqual([...keys].sort());
		expect(files['config.json'].endsWith('}\n')).toBe(true);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});
