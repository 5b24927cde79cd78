/**
 * Trials and folds through the engine worker's API in Node (tfjs CPU, fake-indexeddb), as the
 * Experiments screen drives them: each is a normal run with `experiment` lineage, trained to its
 * step budget, its value the best validation loss it reported; its test split is not scored.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { importDataset, prepareTokens } from '../../../src/lib/data/pipeline';
import { foldDataset } from '../../../src/lib/data/folds';
import { configFor, objectiveOf } from '../../../src/lib/experiments/record';
import { Study } from '../../../src/lib/experiments/study';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { getMetrics, getRun, useDatabase } from '../../../src/lib/storage';

const words: Record<string, string[]> = {
	billing: ['refund', 'invoice', 'charged', 'payment', 'price'],
	shipping: ['parcel', 'delivery', 'tracking', 'courier', 'address'],
	technical: ['crash', 'error', 'sync', 'bug', 'loading']
};
function csv(): string {
	const lines = ['text,label'];
	let i = 0;
	for (const [label, ws] of Object.entries(words)) for (let k = 0; k < 20; k++) lines.push(`ticket ${i++} about the ${ws[k % 5]} and ${ws[(k * 3) % 5]},${label}`);
	return lines.join('\n');
}

async function dataset() {
	const bytes = new TextEncoder().encode(csv()).buffer as ArrayBuffer;
	const version = await importDataset({ projectId: 'p1', fileName: 't.csv', bytes, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.2, test: 0.2 }, skipBadRows: false });
	const base = defaultRunConfig(version.labels.length);
	base.model = { ...base.model, nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, dropout: 0 };
	base.tokenizer.vocabSize = 300;
	base.train = { ...base.train, batchSize: 8, warmupSteps: 0 };
	return { version, base };
}

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('trials-' + Math.random()));

describe('experiment runs through the engine', () => {
	it('a 3-trial study: each trial a run with lineage and no test scoring, told its best validation loss', async () => {
		const { version, base } = await dataset();
		const prep = await prepareTokens(version.id, base.tokenizer, base.model.contextLength);
		base.model.vocabSize = prep.vocabSize;
		const study = Study.create({
			name: 's',
			space: { 'train.learningRate': { type: 'float', low: 1e-3, high: 3e-2, log: true } },
			direction: 'minimize',
			sampler: { kind: 'random' },
			pruner: { kind: 'none' },
			budget: { trials: 3 },
			seed: 3
		});
		for (let t = study.ask(); t; t = study.ask()) {
			const run = await api.createRun({
				projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash,
				config: configFor(base, t.params, 4), name: `s · trial ${t.number}`,
				experiment: { kind: 'study', id: study.state.id, index: t.number, params: t.params }
			});
			t.runId = run.id;
			expect(await api.train(run.id, (e) => e.type === 'metrics' && e.point.valLoss !== undefined && study.report(t.number, e.step, e.point.valLoss))).toBe('completed');
			study.tell(t.number, { value: objectiveOf(await getMetrics(run.id), 'valLoss')! });
		}
		expect(study.trials.map((t) => t.state)).toEqual(['complete', 'complete', 'complete']);
		for (const t of study.trials) {
			const run = (await getRun(t.runId!))!;
			expect(run.experiment).toEqual({ kind: 'study', id: study.state.id, index: t.number, params: t.params });
			expect(run.config.train.learningRate).toBe(t.params['train.learningRate']);
			expect(run.step).toBe(4);
			expect(run.evaluation).toBeUndefined();
			// Validation every ceil(4/5) = 1 step: four intermediate values, the value their minimum.
			expect(t.intermediate.map(([s]) => s)).toEqual([1, 2, 3, 4]);
			expect(t.value).toBe(Math.min(...t.intermediate.map(([, v]) => v)));
		}
	});

	it('a fold of a cross-validation trains on its fold version; a run without lineage still scores its test split', async () => {
		const { version, base } = await dataset();
		const fold = await foldDataset(version.id, { k: 2, seed: 1, stratify: 'label' }, 1);
		const prep = await prepareTokens(fold.id, base.tokenizer, base.model.contextLength);
		base.model.vocabSize = prep.vocabSize;
		const cfg = configFor(base, {}, 2, 99);
		const common = { projectId: 'p1', datasetVersionId: fold.id, datasetHash: fold.contentHash, tokenizerHash: prep.tokenizerHash, config: cfg };
		const foldRun = await api.createRun({ ...common, name: 'cv · fold 2', experiment: { kind: 'folds', id: 'cv1', index: 1 } });
		expect(await api.train(foldRun.id, () => {})).toBe('completed');
		const done = (await getRun(foldRun.id))!;
		expect(done.evaluation).toBeUndefined();
		expect(done.config.train.seed).toBe(99);
		expect(objectiveOf(await getMetrics(foldRun.id), 'valAccuracy')).toBeGreaterThanOrEqual(0);
		const plain = await api.createRun({ ...common, name: 'plain' });
		expect(await api.train(plain.id, () => {})).toBe('completed');
		expect((await getRun(plain.id))!.evaluation?.split).toBe('test');
	});
});
