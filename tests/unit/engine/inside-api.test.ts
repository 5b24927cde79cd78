/**
 * The Inside calls through the engine worker's API (workers/inside-api.ts; Node, tfjs CPU,
 * fake-indexeddb, the local fake Hub): on a trained from-scratch ticket classifier, the model's
 * description and its attention maps, and the refusals of the language-model sections; on the tiny
 * GPT-2 as a cached base model and as a run fine-tuned from it, next-token probabilities (beside the
 * base model for the run), generation with alternatives and the reshaping of a step. No tensors
 * are left behind by any call.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { hubFileReader } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { modelCache, useDatabase } from '../../../src/lib/storage';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { startHubServer, type HubServer } from '../../support/hub-server';
import { createTicketRun } from './api-fixtures';

let hub: HubServer;
beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
});
afterAll(() => hub?.close());

describe('Inside through the engine API', () => {
	it('a from-scratch classifier: its attention maps; the language-model sections refuse', async () => {
		useDatabase('inside-api-cls-' + Math.random());
		const { run } = await createTicketRun({ epochs: 1, logEvery: 2, evalEvery: 4, checkpointEvery: 4, warmupSteps: 1 });
		expect(await api.train(run.id, () => {})).toBe('completed');
		const info = await api.insideModel({ runId: run.id });
		expect(info).toMatchObject({ task: 'classification', modelType: 'scratch', base: null });
		expect(info.labels.length).toBeGreaterThan(1);
		const held = tf.memory().numTensors;
		const maps = await api.insideAttention({ runId: run.id }, 'please refund');
		expect(tf.memory().numTensors).toBe(held);
		expect(maps.tokens).toHaveLength(maps.length);
		expect(maps.tokens.slice(maps.real).every((t) => t.text === '[pad]')).toBe(true);
		expect(maps.tokens.slice(0, maps.real).map((t) => t.text).join('')).toContain('refund');
		expect(maps.maps).toHaveLength(info.nLayer);
		expect(maps.rollout).toHaveLength(info.nLayer);
		expect(maps.cut).toBe(false);
		// cut to the shown tokens and the model's context (16 here)
		const long = await api.insideAttention({ runId: run.id }, 'refund my card please '.repeat(40));
		expect(long).toMatchObject({ cut: true, real: 16, length: 16 });
		await expect(api.insideNextTokens({ runId: run.id }, 'refund')).rejects.toThrow(/classifies text/);
		await expect(api.insideGenerate({ runId: run.id }, 'refund', {})).rejects.toThrow(/classifies text/);
		await expect(api.insideAttention({ runId: run.id }, '')).rejects.toThrow(/Type a text/);
	}, 120_000);

	it('the tiny GPT-2, as a base model and fine-tuned: next tokens beside the base, alternatives, reshaping', async () => {
		useDatabase('inside-api-lm-' + Math.random());
		const settings = { endpoint: hub.url };
		const insp = await inspectModel('whetstone-test/tiny-gpt2', 'main', settings, { cache: modelCache });
		await downloadModel(insp, settings, modelCache);
		const ref = { repo: insp.repo, revision: insp.revision };
		const base = { model: ref };
		expect(await api.insideModel(base)).toMatchObject({ task: 'causal-lm', modelType: 'gpt2', nLayer: 2, nHead: 4, base: null });

		const plain = await api.insideNextTokens(base, 'my order arrived late');
		expect(plain.base).toBeUndefined();
		expect(plain.view.top.every((row) => row.length === 10)).toBe(true);
		expect(plain.view.logProbs[0]).toBeNull();

		await expect(api.insideReshape(0, {})).rejects.toThrow(/Generate first/);
		const greedy = await api.insideGenerate(base, 'my order', { maxNewTokens: 4 });
		expect(greedy.steps).toHaveLength(4);
		for (const s of greedy.steps) expect(s.alternatives[0].id).toBe(s.id);
		const chart = await api.insideReshape(1, { temperature: 2, topK: 5, topP: 0.5 });
		expect(chart.stages.map((s) => s.name)).toEqual(['model', 'temperature', 'top-k', 'top-p']);
		expect(chart.stages[2].kept).toBe(5);
		await expect(api.insideReshape(1, { temperature: 0 })).rejects.toThrow(/Temperature must be > 0/);
		await expect(api.insideReshape(9, {})).rejects.toThrow(/Generate first/);

		// a language-modelling run fine-tuned from it
		const b = readFileSync(new URL('../../fixtures/data/domain-text.jsonl', import.meta.url));
		const version = await importDataset({ projectId: 'p1', fileName: 'domain-text.jsonl', bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, kind: 'text', textColumn: 'text', split: { seed: 1, validation: 0.15, test: 0.15 }, skipBadRows: false });
		const config = defaultRunConfig(1);
		config.train = { ...config.train, batchSize: 4, epochs: 1, maxSteps: 2, learningRate: 1e-2, warmupSteps: 0, logEvery: 1, evalEvery: 2, checkpointEvery: 2 };
		config.pretrained = { ...ref, modelType: 'gpt2', hfConfig: insp.config, objective: 'causal-lm', contextLength: 32, numClasses: 1 };
		const prep = await prepareHubTokens(version.id, ref, 'causal-lm', 32, hubFileReader(ref));
		const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: 'lm' });
		expect(await api.train(run.id, () => {})).toBe('completed');
		const tuned = { runId: run.id };
		expect(await api.insideModel(tuned)).toMatchObject({ task: 'causal-lm', base: ref });
		await api.insideNextTokens(tuned, 'warm up: training let the base model go');
		const held = tf.memory().numTensors;
		const both = await api.insideNextTokens(tuned, 'my order arrived late');
		expect(tf.memory().numTensors).toBe(held);
		expect(both.base?.name).toBe(ref.repo);
		// the base model's view on the same tokens is the one it gives on its own
		expect(both.base!.view.logProbs).toEqual(plain.view.logProbs);
		expect(both.view.logProbs).not.toEqual(plain.view.logProbs);
		expect(both.base!.change.most.length).toBeGreaterThan(0);
		const i = both.base!.change.most[0];
		expect(both.base!.change.delta[i]).toBeCloseTo(Math.exp(both.view.logProbs[i]!) - Math.exp(plain.view.logProbs[i]!), 9);
		expect((await api.insideNextTokens(tuned, 'my order arrived late', false)).base).toBeUndefined();
		const sampled = await api.insideGenerate(tuned, 'my order', { doSample: true, temperature: 1.5, topK: 3, topP: 1, seed: 2, maxNewTokens: 3 });
		for (const s of sampled.steps) expect(s.alternatives.filter((a) => a.p > 0).length).toBeLessThanOrEqual(3);
	}, 180_000);
});
