/**
 * Generation evaluation through the engine worker's API in Node (tfjs CPU, fake-indexeddb, the
 * local fake Hub): an instruction run's test evaluation carries BLEU/ROUGE/exact match of greedy
 * answers on the first test rows, and the prompt-only generation baseline is stored as a run that
 * pairs with it row by row.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { DEFAULT_GENERATION_ROWS, DEFAULT_MAX_NEW_TOKENS } from '../../../workers/generation-eval';
import { hubFileReader } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { getRun, loadRows, modelCache, useDatabase } from '../../../src/lib/storage';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { SPLIT_CODE } from '../../../src/lib/shared/types';
import { generationPairingProblem, pairedGenerationComparison } from '../../../src/lib/engine/eval/generation-eval';
import { runSystem } from '../../../src/lib/report/baselines';
import { generationSystem } from '../../../src/lib/report/generation';
import { startHubServer, type HubServer } from '../../support/hub-server';

let hub: HubServer;

beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
	useDatabase('generation-eval-' + Math.random());
});
afterAll(() => hub?.close());

describe('generation evaluation through the engine API', () => {
	it('scores an instruction run on generated answers and pairs it with a generation baseline', async () => {
		const b = readFileSync(new URL('../../fixtures/data/chat-sample.jsonl', import.meta.url));
		const version = await importDataset({
			projectId: 'p1',
			fileName: 'chat-sample.jsonl',
			bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
			kind: 'pairs',
			textColumn: 'messages',
			split: { seed: 1, validation: 0.15, test: 0.15 },
			skipBadRows: false
		});
		const settings = { endpoint: hub.url };
		const insp = await inspectModel('whetstone-test/tiny-llama', 'main', settings, { cache: modelCache });
		await downloadModel(insp, settings, modelCache);
		const ref = { repo: insp.repo, revision: insp.revision };
		const config = defaultRunConfig(1);
		config.train = { ...config.train, batchSize: 4, epochs: 1, maxSteps: 2, learningRate: 3e-3, warmupSteps: 0, logEvery: 1, evalEvery: 2, checkpointEvery: 2 };
		config.pretrained = { ...ref, modelType: String(insp.config.model_type), hfConfig: insp.config, objective: 'instruction', contextLength: 48, numClasses: 1 };
		const prep = await prepareHubTokens(version.id, ref, 'instruction', 48, hubFileReader(ref));
		const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: 'sft' });
		expect(await api.train(run.id, () => {})).toBe('completed');

		// Training's own evaluation used the defaults: every test row (fewer than 20), ≤ 48 tokens.
		const tests = (await loadRows(version.id)).map((r, i) => ({ r, i })).filter(({ r }) => r.split === SPLIT_CODE.test);
		const trained = (await getRun(run.id))!.evaluation!;
		expect(trained.lm?.perplexity).toBeGreaterThan(1);
		expect(tests.length).toBeLessThan(DEFAULT_GENERATION_ROWS);
		expect(trained.generation).toMatchObject({ rows: tests.length, maxNewTokens: DEFAULT_MAX_NEW_TOKENS, split: 'test' });

		// Evaluated again with settings: the first 2 test rows, 3 new tokens; progress counts loss rows then answers.
		const progress: [number, number][] = [];
		const tensors = tf.memory().numTensors; // the warm model is loaded by training's evaluation
		const result = await api.evaluate(run.id, undefined, 'test', (d, t) => progress.push([d, t]), { generationRows: 2, maxNewTokens: 3, resamples: 50 });
		const g = result.generation!;
		expect(tf.memory().numTensors).toBe(tensors);
		expect(g.rows).toBe(2);
		expect(g.maxNewTokens).toBe(3);
		expect(g.examples.map((e) => e.row)).toEqual(tests.slice(0, 2).map((t) => t.i));
		expect(g.examples[0].reference).toBe(tests[0].r.messages!.at(-1)!.content);
		for (const k of ['bleu', 'rouge1', 'rouge2', 'rougeL', 'exactMatch'] as const) expect(Number.isFinite(g[k])).toBe(true);
		expect(g.intervals.rougeL.low).toBeLessThanOrEqual(g.rougeL);
		expect(progress.at(-1)).toEqual([tests.length + 2, tests.length + 2]);
		expect((await getRun(run.id))!.evaluation!.generation!.rows).toBe(2);

		// The generation baseline: the unmodified model, one shot, the same rows and limits.
		let last = 0;
		const baseline = await api.runGenerationBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, shots: 1, seed: 1, maxNewTokens: 3, rows: 2, resamples: 50 }, (d) => (last = d));
		const stored = (await getRun(baseline.id))!;
		expect(stored.baseline).toMatchObject({ kind: 'few-shot', shots: 1 });
		expect(stored.evaluation!.lm).toBeUndefined();
		expect(stored.evaluation!.generation!.rows).toBe(2);
		expect(last).toBe(2);
		expect(runSystem(stored)).toBeNull(); // not a classification system

		const a = generationSystem((await getRun(run.id))!)!;
		const bs = generationSystem(stored)!;
		expect(generationPairingProblem(a.generation, bs.generation)).toBeNull();
		const c = pairedGenerationComparison(a.generation, bs.generation, { resamples: 50 });
		expect(c.n).toBe(2);
		expect(c.metrics.map((m) => m.metric)).toEqual(['rougeL', 'exactMatch']);
		expect(generationPairingProblem(trained.generation!, bs.generation)).toMatch(/limits|rows/);

		await expect(api.runGenerationBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, shots: -1, seed: 1 })).rejects.toThrow(/Shots/);
	}, 120_000);
});
