/**
 * The export calls of the engine API on a trained pretrained classifier (tiny BERT from the fake
 * Hub, tfjs CPU): the recipe zip holds the data splits and configs mapped from the run; the
 * reproducibility JSON its lineage; and the exported model zip opens again from disk into the
 * model cache as a local model, with the same weights.
 */
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { api } from '../../../workers/engine-api';
import { hubFileReader } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { getModelFile, getRun, modelCache, useDatabase } from '../../../src/lib/storage';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { startHubServer, type HubServer } from '../../support/hub-server';

let hub: HubServer;

beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
});
afterAll(() => hub?.close());
beforeEach(() => useDatabase('export-' + Math.random()));

describe('engine API exports', () => {
	it('recipe zip, reproducibility JSON, and the model zip opened again from disk', async () => {
		// A fifth of the example's tickets (one a line; all five teams): training's evaluations read every validation and test row.
		const [header, ...lines] = readFileSync(new URL('../../../static/examples/support-tickets.csv', import.meta.url), 'utf8').trimEnd().split('\n');
		const bytes = new TextEncoder().encode([header, ...lines.filter((_, i) => i % 5 === 0)].join('\n'));
		const version = await importDataset({
			projectId: 'p1', fileName: 'support-tickets.csv', bytes: bytes.buffer as ArrayBuffer,
			kind: 'classification', textColumn: 'text', labelColumn: 'team', split: { seed: 1, validation: 0.15, test: 0.15 }, skipBadRows: false
		});
		const settings = { endpoint: hub.url };
		const insp = await inspectModel('whetstone-test/tiny-bert', 'main', settings, { cache: modelCache });
		await downloadModel(insp, settings, modelCache);
		const ref = { repo: insp.repo, revision: insp.revision };
		const config = defaultRunConfig(version.labels.length);
		config.train = { ...config.train, batchSize: 4, epochs: 1, maxSteps: 4, learningRate: 3e-3, warmupSteps: 0, logEvery: 2, evalEvery: 2, checkpointEvery: 2, seed: 42 };
		config.pretrained = { ...ref, modelType: 'bert', hfConfig: insp.config, objective: 'classification', contextLength: 32, numClasses: version.labels.length, method: { kind: 'lora', rank: 2, alpha: 4, dropout: 0, targetModules: 'query,value' } };
		const prep = await prepareHubTokens(version.id, ref, 'classification', 32, hubFileReader(ref));
		const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: 'bert lora' });
		expect(version.labels).toHaveLength(5);
		expect(await api.train(run.id, () => {})).toBe('completed');

		const recipe = await api.exportRecipe(run.id);
		expect(recipe.fileName).toMatch(/recipe\.zip$/);
		const files = unzipSync(new Uint8Array(await recipe.blob.arrayBuffer()));
		const rows = (name: string) => strFromU8(files[name]).trim().split('\n').length;
		expect(rows('data/train.text-label.jsonl')).toBe(version.split.sizes.train);
		expect(rows('data/test.alpaca.jsonl')).toBe(version.split.sizes.test);
		const ax = parse(strFromU8(files['axolotl.yaml']));
		expect(ax).toMatchObject({ base_model: ref.repo, revision_of_model: ref.revision, seed: 42, lora_r: 2, lora_alpha: 4, lora_target_modules: ['query', 'value'], sequence_len: 32, micro_batch_size: 4, max_steps: 4 });
		expect(parse(strFromU8(files['llamafactory.yaml']))).toMatchObject({ model_name_or_path: ref.repo, model_revision: ref.revision, lora_target: 'query,value' });
		expect(strFromU8(files['README.md'])).toMatch(/test accuracy \d+\.\d%/);
		expect(strFromU8(files['README.md'])).toMatch(/estimates \d+\.\d\d GiB/);

		const repro = JSON.parse((await api.exportReproducibility(run.id)).json);
		expect(repro).toMatchObject({ seed: 42, baseModel: { repo: ref.repo, revision: ref.revision }, dataset: { contentHash: version.contentHash } });
		expect(repro.metrics.test.accuracy).toBe((await getRun(run.id))!.evaluation!.accuracy);

		const model = await api.exportModel(run.id);
		const modelFiles = unzipSync(new Uint8Array(await model.blob.arrayBuffer()));
		expect(strFromU8(modelFiles['README.md'])).toMatch(/^---\nlibrary_name: transformers\n/);
		const opened = await api.importModelFiles(model.fileName, {}, new Uint8Array(await model.blob.arrayBuffer()));
		expect(opened).toMatchObject({ modelType: 'bert', cached: true, hasTokenizer: true });
		expect(opened.repo).toMatch(/^local\//);
		expect(opened.config.architectures).toEqual(['BertForSequenceClassification']);
		const stored = new Uint8Array((await getModelFile({ repo: opened.repo, revision: opened.revision }, 'model.safetensors'))!);
		expect(stored).toEqual(modelFiles['model.safetensors']);

		// the adapter alone opens too, merged onto its cached base
		const adapter = await api.exportAdapter(run.id);
		const adapterFiles = unzipSync(new Uint8Array(await adapter.blob.arrayBuffer()));
		expect(JSON.parse(strFromU8(adapterFiles['head_config.json'])).num_labels).toBe(version.labels.length);
		const merged = await api.importModelFiles('adapter', Object.fromEntries(Object.entries(adapterFiles).map(([k, v]) => [`adapter/${k}`, v])));
		expect(merged.config.architectures).toEqual(['BertForSequenceClassification']);
		expect(merged.params).toBe(opened.params);
	}, 120_000);
});
