/**
 * Linked runs: continued pretraining on domain text, then task fine-tuning that starts from that
 * run's checkpoint instead of the Hub weights (Node, tfjs CPU, fake-indexeddb, the local fake Hub).
 * The base's weights carry over bit-exact; its optimizer moments and LM head do not, and the new
 * classification head is initialised fresh.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api, startingTensors } from '../../../workers/engine-api';
import { hubFileReader, loadHubModel } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { PretrainedSession } from '../../../src/lib/engine/pretrained';
import { getRun, listCheckpoints, loadCheckpoint, modelCache, useDatabase } from '../../../src/lib/storage';
import { defaultRunConfig, type Objective, type RunConfig } from '../../../src/lib/shared/config';
import { baseInit } from '../../../src/lib/shared/lineage';
import type { ModelRef } from '../../../src/lib/shared/hub';
import { startHubServer, type HubServer } from '../../support/hub-server';

let hub: HubServer;
beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
});
afterAll(() => hub?.close());
beforeEach(() => useDatabase('linked-' + Math.random()));

const REPO = 'whetstone-test/tiny-qwen2'; // untied: its LM run's checkpoints hold lm_head.weight

async function download(): Promise<{ ref: ModelRef; hfConfig: Record<string, unknown> }> {
	const settings = { endpoint: hub.url };
	const insp = await inspectModel(REPO, 'main', settings, { cache: modelCache });
	await downloadModel(insp, settings, modelCache);
	return { ref: { repo: insp.repo, revision: insp.revision }, hfConfig: insp.config };
}

async function importFile(file: string, kind: 'text' | 'classification', columns: { text: string; label?: string }) {
	const b = readFileSync(new URL(`../../fixtures/data/${file}`, import.meta.url));
	const bytes = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
	return importDataset({ projectId: 'p1', fileName: file, bytes, kind, textColumn: columns.text, labelColumn: columns.label, split: { seed: 1, validation: 0.15, test: 0.15 }, skipBadRows: false });
}

async function createRun(version: { id: string; contentHash: string }, objective: Objective, numClasses: number, pretrained?: RunConfig['pretrained']) {
	const { ref, hfConfig } = await download();
	const config = defaultRunConfig(numClasses);
	// The language model's one step moves the weights off the Hub's and writes optimizer moments, all
	// these tests need; a classifier's run has more steps so that a pause at its first checkpoint comes first.
	config.train = { ...config.train, batchSize: 4, epochs: 1, maxSteps: objective === 'causal-lm' ? 1 : 3, learningRate: 3e-3, weightDecay: 0.01, warmupSteps: 0, logEvery: 1, evalEvery: 3, checkpointEvery: 1 };
	config.pretrained = pretrained ?? { ...ref, modelType: String(hfConfig.model_type), hfConfig, objective, contextLength: 48, numClasses };
	const prep = await prepareHubTokens(version.id, ref, objective, 48, hubFileReader(ref));
	return api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: objective });
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Continued pretraining on the domain text, then a classification run that builds on its last checkpoint. */
async function linked() {
	const text = await importFile('domain-text.jsonl', 'text', { text: 'text' });
	const lm = await createRun(text, 'causal-lm', 1);
	expect(await api.train(lm.id, () => {})).toBe('completed');
	const base = (await listCheckpoints(lm.id)).at(-1)!;
	const tickets = await importFile('../../../static/examples/support-tickets.csv', 'classification', { text: 'text', label: 'team' });
	const fromBase = await api.checkpointAsBase(lm.id, base.id, 'classification');
	const pretrained = { ...fromBase, contextLength: 48, numClasses: tickets.labels.length };
	const task = await createRun(tickets, 'classification', tickets.labels.length, pretrained);
	return { lm, base, tickets, task };
}

describe('a run linked to another run’s checkpoint', () => {
	/**
	 * The linked pair both tests below start from, built once in its own database: the first only
	 * reads it, the second trains the task run, which leaves the base checkpoint and the configs the
	 * first reads as they were, so either may run first.
	 */
	let shared: Awaited<ReturnType<typeof linked>>;
	const sharedDb = 'linked-shared-' + Math.random();
	beforeAll(async () => {
		useDatabase(sharedDb);
		shared = await linked();
	});

	it('starts from the base checkpoint’s weights, without its optimizer moments and LM head', async () => {
		useDatabase(sharedDb);
		const { lm, base, tickets, task } = shared;
		expect(baseInit(task.config)).toEqual({ runId: lm.id, checkpointId: base.id, step: base.step });
		expect(task.config.pretrained).toMatchObject({ repo: REPO, objective: 'classification', numClasses: tickets.labels.length });

		const saved = await loadCheckpoint(base.id);
		expect([...saved.tensors.keys()]).toEqual(expect.arrayContaining(['lm_head.weight', 'optimizer.m.model.embed_tokens.weight']));
		const tensors = await startingTensors(task.config);
		expect([...tensors.keys()].filter((n) => n.startsWith('optimizer.') || n === 'lm_head.weight')).toEqual([]);
		expect(tensors.size).toBe([...saved.tensors.keys()].filter((n) => !n.startsWith('optimizer.')).length - 1);

		const session = await PretrainedSession.fromPretrained(task.config, tensors, { padId: 0 }, tickets.labels);
		try {
			const hubWeights = (await loadHubModel({ repo: REPO, revision: task.config.pretrained!.revision })).tensors;
			const embed = (await session.params.get('model.embed_tokens.weight')!.data()) as Float32Array;
			expect(bytesOf(embed).equals(bytesOf(saved.tensors.get('model.embed_tokens.weight')!.data))).toBe(true);
			expect(bytesOf(embed).equals(bytesOf(hubWeights.get('model.embed_tokens.weight')!.data as Float32Array))).toBe(false);
			expect(session.params.get('score.weight')!.shape).toEqual([tickets.labels.length, embed.length / (tensors.get('model.embed_tokens.weight')!.shape[0])]);
		} finally {
			session.dispose();
		}
	});

	it('a classifier cannot be the base of a language model; a missing checkpoint is named', async () => {
		const tickets = await importFile('../../../static/examples/support-tickets.csv', 'classification', { text: 'text', label: 'team' });
		const cls = await createRun(tickets, 'classification', tickets.labels.length);
		await expect(api.checkpointAsBase(cls.id, 'ckpt_none')).rejects.toMatchObject({ code: 'not-found' });
		expect(await api.train(cls.id, (e) => e.type === 'checkpoint' && api.pause())).toBe('paused');
		const { lastCheckpointId } = (await getRun(cls.id))!;
		await expect(api.checkpointAsBase(cls.id, lastCheckpointId!, 'causal-lm')).rejects.toMatchObject({ code: 'invalid-config' });
		expect((await api.checkpointAsBase(cls.id, lastCheckpointId!, 'classification')).init?.checkpointId).toBe(lastCheckpointId);
	});

	// Needs trainRun to start a fresh pretrained run from `await startingTensors(cfg)` instead of
	// `(await loadHubModel(cfg.pretrained)).tensors`; enable it with that change.
	it('trains from the base checkpoint: with a zero learning rate the base weights come out unchanged', async () => {
		useDatabase(sharedDb);
		const { base, task } = shared;
		const run = (await getRun(task.id))!;
		run.config.train = { ...run.config.train, learningRate: 0, weightDecay: 0 };
		const { putRun } = await import('../../../src/lib/storage');
		await putRun(run);
		expect(await api.train(task.id, (e) => e.type === 'checkpoint' && api.pause())).toBe('paused');
		const out = await loadCheckpoint((await getRun(task.id))!.lastCheckpointId!);
		const saved = await loadCheckpoint(base.id);
		for (const name of ['model.embed_tokens.weight', 'model.norm.weight'])
			expect(bytesOf(out.tensors.get(name)!.data).equals(bytesOf(saved.tensors.get(name)!.data))).toBe(true);
		expect(out.tensors.has('score.weight')).toBe(true);
		expect(out.tensors.has('lm_head.weight')).toBe(false);
	});
});
