/**
 * The fake Hub serves a tiny model of each new architecture with its tokenizer
 * (whetstone-test/tiny-distilbert, -roberta, -gpt-neox, -mistral, -gemma, -phi3): inspected by
 * range requests as supported, downloaded into the model cache, and loaded from it to the
 * reference logits with a tokenizer that loads.
 */
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { parseSafetensors } from '../../../src/lib/engine/io/safetensors';
import { runParity } from '../../../src/lib/engine/models/parity';
import type { HubSettings } from '../../../src/lib/shared/hub';
import { CURATED_MODELS } from '../../../src/lib/shared/hub';
import { getModelFile, modelCache, useDatabase } from '../../../src/lib/storage';
import { HUB_SHAS, startHubServer, type HubServer } from '../../support/hub-server';
import { freshDatabase } from '../storage/fixtures';
import { fixtureJson } from './fixtures';
import type { ParityReference } from '../../../src/lib/engine/models/parity';

let hub: HubServer;
let settings: HubSettings;

beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
	settings = { endpoint: hub.url };
});
afterAll(() => hub.close());
beforeEach(() => useDatabase(freshDatabase()));

const REPOS: [string, string][] = [
	['distilbert', 'tiny-distilbert'],
	['roberta', 'tiny-roberta'],
	['gpt_neox', 'tiny-gpt-neox'],
	['mistral', 'tiny-mistral'],
	['gemma', 'tiny-gemma'],
	['phi3', 'tiny-phi3']
];

describe('the fake Hub serves the new tiny models', () => {
	it.each(REPOS)('%s: inspected as supported, downloaded, and loaded from the cache at parity', async (arch, name) => {
		const repo = `whetstone-test/${name}`;
		const inspection = await inspectModel(repo, 'main', settings, { cache: modelCache });
		expect(inspection).toMatchObject({ repo, revision: HUB_SHAS[repo as keyof typeof HUB_SHAS], modelType: arch, supported: true, hasTokenizer: true });
		expect(inspection.hasChatTemplate).toBe(['mistral', 'gemma', 'phi3'].includes(arch));
		await downloadModel(inspection, settings, modelCache);
		const ref = { repo, revision: inspection.revision };
		const read = (file: string) => getModelFile(ref, file);
		const { tokenizer } = await loadHubTokenizer(read, repo);
		expect(tokenizer.encode('the cat').length).toBeGreaterThan(0);
		const config = JSON.parse(new TextDecoder().decode(await read('config.json')));
		expect(config).toEqual(fixtureJson(arch, 'config.json'));
		const checks = await runParity({
			config,
			tensors: parseSafetensors((await read('model.safetensors'))!).tensors,
			reference: fixtureJson<ParityReference>(arch, 'reference.json') // not a file a model download fetches
		});
		for (const c of checks) expect(c.pass, `${c.name}: ${c.value}`).toBe(true);
	});
});

describe('the curated list', () => {
	it('names the small real checkpoints of the new families with their types and sizes', () => {
		const byRepo = Object.fromEntries(CURATED_MODELS.map((m) => [m.repo, m]));
		expect(byRepo['distilbert/distilbert-base-uncased']).toMatchObject({ modelType: 'distilbert' });
		expect(byRepo['FacebookAI/roberta-base']).toMatchObject({ modelType: 'roberta' });
		expect(byRepo['EleutherAI/pythia-70m']).toMatchObject({ modelType: 'gpt_neox' });
		expect(byRepo['EleutherAI/pythia-160m']).toMatchObject({ modelType: 'gpt_neox' });
		for (const m of CURATED_MODELS) expect(m.params, m.repo).toBeGreaterThan(1e6);
	});
});
