/** The studio's side of experiments: fold dataset versions, trial configs, the experiments store. */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { importDataset } from '../../../src/lib/data/pipeline';
import { foldDataset } from '../../../src/lib/data/folds';
import { configFor, objectiveOf, studioSpace, TUNABLES, type StudyRecord } from '../../../src/lib/experiments/record';
import { defaultRunConfig, defaultSplitConfig } from '../../../src/lib/shared/config';
import { deleteExperiment, deleteProject, getExperiment, listExperiments, loadRows, putExperiment, putProject, useDatabase } from '../../../src/lib/storage';
import { enc, ticketsCsv } from '../data/fixtures';

beforeEach(() => useDatabase('experiments-' + Math.random()));

async function imported() {
	const bytes = enc(ticketsCsv(90)).buffer as ArrayBuffer;
	return importDataset({ projectId: 'p1', fileName: 'tickets.csv', bytes, textColumn: 'text', labelColumn: 'team', split: { ...defaultSplitConfig }, skipBadRows: false });
}

describe('fold dataset versions', () => {
	it('k stratified folds: each validates a disjoint part, together all non-test rows, the test split untouched', async () => {
		const v = await imported();
		const source = await loadRows(v.id);
		const k = 3;
		const validated = new Array(source.length).fill(0);
		for (let i = 0; i < k; i++) {
			const f = await foldDataset(v.id, { k, seed: 5, stratify: 'label' }, i);
			expect(f.resplitOf).toBe(v.id);
			expect(f.name).toContain(`fold ${i + 1} of 3 (stratified, seed 5)`);
			const rows = await loadRows(f.id);
			expect(rows.map((r) => r.text)).toEqual(source.map((r) => r.text));
			rows.forEach((r, j) => {
				if (source[j].split === 2) expect(r.split).toBe(2);
				else expect(r.split).not.toBe(2);
				if (r.split === 1) validated[j]++;
			});
			expect(f.split.sizes.test).toBe(v.split.sizes.test);
		}
		source.forEach((r, j) => expect(validated[j]).toBe(r.split === 2 ? 0 : 1));
	});

	it('grouping by a column no row has is refused with a message', async () => {
		const v = await imported();
		await expect(foldDataset(v.id, { k: 3, seed: 1, stratify: { column: 'customer' } }, 0)).rejects.toThrow(/no value in "customer".*Pick another column/);
	});
});

describe('trial configs', () => {
	const base = defaultRunConfig(5);
	it('sets the searched settings by path, the step budget and an evaluation every fifth of it', () => {
		const cfg = configFor(base, { 'train.learningRate': 0.01, 'model.dropout': 0.15, 'train.batchSize': 16 }, 30, 9);
		expect(cfg.train).toMatchObject({ learningRate: 0.01, batchSize: 16, maxSteps: 30, evalEvery: 6, checkpointEvery: 6, seed: 9, earlyStopping: null });
		expect(cfg.model.dropout).toBe(0.15);
		expect(base.train.learningRate).toBe(3e-3); // the base is not changed
	});

	it('SGD momentum: conditional on the optimizer when both are searched, else only when the base is SGD', () => {
		const pick = (paths: string[]) => TUNABLES.filter((t) => paths.includes(t.path)).map((t) => ({ path: t.path, dist: t.dist }));
		expect(studioSpace(pick(['train.optimizer', 'train.momentum']), base)['train.momentum'].when).toEqual({ param: 'train.optimizer', in: ['sgd'] });
		expect(studioSpace(pick(['train.momentum']), base)).toEqual({});
		const sgd = { ...base, train: { ...base.train, optimizer: 'sgd' as const } };
		expect(studioSpace(pick(['train.momentum']), sgd)['train.momentum'].when).toBeUndefined();
	});

	it("a trial's value is its best validation value", () => {
		const pts = [0.9, 0.7, 0.8].map((l, i) => ({ runId: 'r', step: i, epoch: 0, time: 0, valLoss: l, valAccuracy: 1 - l }));
		expect(objectiveOf(pts, 'valLoss')).toBe(0.7);
		expect(objectiveOf(pts, 'valAccuracy')).toBeCloseTo(0.3);
		expect(objectiveOf([{ runId: 'r', step: 1, epoch: 0, time: 0, trainLoss: 1 }], 'valLoss')).toBeUndefined();
	});
});

describe('experiments store', () => {
	it('stores, lists by project (newest first) and deletes; a deleted project takes its experiments', async () => {
		const study = (id: string, projectId: string, createdAt: number): StudyRecord => ({
			kind: 'study', id, projectId, datasetVersionId: 'd', baseConfig: defaultRunConfig(2), metric: 'valLoss', maxSteps: 3, status: 'paused',
			createdAt, updatedAt: createdAt, elapsedSeconds: 0, trials: [],
			config: { name: id, space: { lr: { type: 'float', low: 0.1, high: 1 } }, direction: 'minimize', sampler: { kind: 'random' }, pruner: { kind: 'none' }, budget: { trials: 2 }, seed: 1 }
		});
		await putProject({ id: 'p1', name: 'p', task: 'classification', description: '', createdAt: 1, updatedAt: 1 });
		await putExperiment(study('a', 'p1', 1));
		await putExperiment(study('b', 'p1', 2));
		await putExperiment(study('c', 'p2', 3));
		expect((await listExperiments('p1')).map((r) => r.id)).toEqual(['b', 'a']);
		await deleteExperiment('a');
		expect(await getExperiment('a')).toBeUndefined();
		await deleteProject('p1');
		expect(await listExperiments('p1')).toEqual([]);
		expect((await listExperiments('p2')).map((r) => r.id)).toEqual(['c']);
	});
});
