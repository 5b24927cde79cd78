/**
 * Opening a model from disk: every architecture of the registry exported as a Hugging Face folder,
 * zipped, unzipped and imported gives the same logits (causal LM and, for the decoders, classifier);
 * a PEFT LoRA adapter on its base folder, merged on import, gives the adapted model's logits; and a
 * folder that is not a model says what to choose instead.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportHfModel } from '../../../src/lib/engine/io/export';
import { importAdapterFolder, importModelFolder, localModelRef, unzipFolder, type FolderFiles } from '../../../src/lib/engine/io/import';
import { architectures } from '../../../src/lib/engine/models/registry';
import type { ArchSpec, Batch, HfConfigBase, Params } from '../../../src/lib/engine/models/spec';
import { PretrainedSession, type LmTokenRows } from '../../../src/lib/engine/pretrained';
import { exportPeftAdapter } from '../../../src/lib/engine/train/lora';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureClassifier, fixtureJson, fixtureModel, fixtureTensors } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function logits(spec: ArchSpec, config: HfConfigBase, params: Params, batch: Batch): Float32Array {
	return tf.tidy(() => spec.forward(params, config, batch).dataSync() as Float32Array);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
	expect(a.length).toBe(b.length);
	let d = 0;
	for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
	return d;
}

const toParams = (w: Record<string, { shape: number[]; data: Float32Array }>): Params => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));

async function exportedZip(spec: ArchSpec, config: HfConfigBase, params: Params): Promise<Uint8Array> {
	// a decoder classifier needs a pad id; an encoder keeps its own (RoBERTa's positions count from it)
	const { files } = await exportHfModel(spec, config, params, spec.tasks.includes('causal-lm') ? { padTokenId: config.padTokenId ?? 0 } : {});
	const all: Record<string, Uint8Array> = { 'tokenizer.json': strToU8('{}') };
	for (const [k, v] of Object.entries(files)) if (v !== undefined) all[k] = typeof v === 'string' ? strToU8(v) : v;
	// a zipped directory, as "Compress folder" makes it: the importer takes the top folder off
	return zipSync(Object.fromEntries(Object.entries(all).map(([k, v]) => [`my-model/${k}`, v])));
}

describe('import: export -> zip -> import round trip', () => {
	for (const arch of Object.keys(architectures)) {
		it(`${arch}: same logits after the round trip`, async () => {
			const m = fixtureModel(arch);
			const imported = importModelFolder(unzipFolder(await exportedZip(m.spec, m.config, m.params)));
			expect(imported.config.task).toBe(m.config.task);
			const p = toParams(imported.weights);
			expect(maxDiff(logits(m.spec, m.config, m.params, m.batch), logits(imported.spec, imported.config, p, m.batch))).toBe(0);
			tf.dispose([...Object.values(p), ...Object.values(m.params), m.labels]);
		});
		if (architectures[arch].tasks.includes('causal-lm') && architectures[arch].tasks.includes('sequence-classification'))
			it(`${arch}: a classifier keeps its head, labels and logits`, async () => {
				const c = fixtureClassifier(arch, 3);
				const m = fixtureModel(arch);
				const imported = importModelFolder(unzipFolder(await exportedZip(c.spec, c.config, c.params)));
				expect(imported.config.task).toBe('sequence-classification');
				expect(imported.config.numLabels).toBe(3);
				const p = toParams(imported.weights);
				expect(maxDiff(logits(c.spec, c.config, c.params, m.batch), logits(imported.spec, imported.config, p, m.batch))).toBe(0);
				tf.dispose([...Object.values(p), ...Object.values(c.params), ...Object.values(m.params), m.labels]);
			});
	}
});

function fixtureFolder(arch: string): FolderFiles {
	const dir = `tests/fixtures/hf-tiny/${arch}`;
	return { 'config.json': readFileSync(`${dir}/config.json`), 'model.safetensors': readFileSync(`${dir}/model.safetensors`) };
}

function loraConfig(arch: string): RunConfig {
	const c = defaultRunConfig(3);
	c.train = { ...c.train, batchSize: 4, learningRate: 5e-2, weightDecay: 0, warmupSteps: 0 };
	const hfConfig = fixtureJson(arch, 'config.json');
	c.pretrained = {
		repo: `whetstone-test/tiny-${arch}`, revision: 'f'.repeat(40), modelType: String(hfConfig.model_type), hfConfig, objective: 'classification', contextLength: 16, numClasses: 3,
		method: { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: arch === 'gpt2' ? 'c_attn,c_fc' : arch === 'bert' ? 'query,value' : 'q_proj,v_proj' }
	};
	return c;
}

function rows(): LmTokenRows {
	const rng = new Prng(3);
	const ids: number[] = [];
	const offsets = [0];
	const lab: number[] = [];
	for (let i = 0; i < 8; i++) {
		for (let j = 0; j < 6; j++) ids.push(j === 0 ? 10 + (i % 3) : 30 + rng.int(60));
		offsets.push(ids.length);
		lab.push(i % 3);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(lab) };
}

describe('import: a LoRA adapter on its base', () => {
	for (const arch of ['gpt2', 'llama', 'qwen2', 'bert'])
		it(`${arch}: base folder + exported adapter, merged on import, give the adapted classifier's logits`, async () => {
			const s = await PretrainedSession.fromPretrained(loraConfig(arch), fixtureTensors(arch), { padId: 0 }, ['neg', 'neu', 'pos']);
			const data = rows();
			for (let i = 0; i < 3; i++) s.trainStep(s.batch(data, [i, i + 1, i + 2, i + 3]), 5e-2, i); // B leaves 0
			const adapter = exportPeftAdapter({ spec: s.spec, config: s.hf, lora: s.lora!, tensors: await s.adapterTensors(), baseModel: 'b', revision: 'r', padTokenId: 0 });
			const files: FolderFiles = {};
			for (const [k, v] of Object.entries(adapter)) if (v !== undefined) files[k] = typeof v === 'string' ? strToU8(v) : v;
			const imported = importAdapterFolder(fixtureFolder(arch), files);
			expect(imported.config.task).toBe('sequence-classification');
			expect(imported.config.labelNames).toEqual(['neg', 'neu', 'pos']);
			const hb = s.batch(data, [0, 1, 2, 3]);
			const batch: Batch = { inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'), attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length]) };
			const p = toParams(imported.weights);
			const ours = logits(s.spec, s.hf, s.modelParams, batch);
			const theirs = logits(imported.spec, imported.config, p, batch);
			expect(maxDiff(ours, theirs)).toBeLessThan(1e-5);
			// training moved B off zero, so the merge is not a no-op
			expect((await s.adapterTensors()).some((t) => t.name.endsWith('lora_B.weight') && t.data.some((x) => x !== 0))).toBe(true);
			tf.dispose([...Object.values(p), batch.inputIds, batch.attentionMask]);
			s.dispose();
		});
});

describe('import: what is not a model', () => {
	it('names what to choose instead', () => {
		expect(() => unzipFolder(strToU8('not a zip'))).toThrow(/not a readable zip/);
		expect(() => importModelFolder({ 'README.md': strToU8('# hi') })).toThrow(/no config.json/);
		expect(() => importModelFolder({ 'adapter_config.json': strToU8('{}') })).toThrow(/LoRA adapter; it needs its base model/);
		expect(() => importModelFolder({ 'config.json': strToU8('{"model_type":"gpt2"}'), 'pytorch_model.bin': new Uint8Array(4) })).toThrow(/safetensors/);
		expect(() => importModelFolder({ 'config.json': strToU8('{"model_type":"t5"}') })).toThrow(/not supported/);
	});
});

describe('import: the cache id of a folder from disk', () => {
	it('is local/<name> at a revision from the content', async () => {
		const files = { 'config.json': strToU8('{"model_type":"gpt2"}'), 'model.safetensors': new Uint8Array([1, 2, 3]), 'notes.txt': strToU8('x') };
		const a = await localModelRef('My Model.zip', files);
		expect(a.repo).toBe('local/My-Model');
		expect(a.revision).toMatch(/^[0-9a-f]{40}$/);
		expect((await localModelRef('other', files)).revision).toBe(a.revision);
		// files the cache does not keep do not change it; the weights do
		expect((await localModelRef('x', { ...files, 'notes.txt': strToU8('y') })).revision).toBe(a.revision);
		expect((await localModelRef('x', { ...files, 'model.safetensors': new Uint8Array([1, 2, 4]) })).revision).not.toBe(a.revision);
	});
});
