/**
 * Checkpoints as a toolkit, through the engine worker's API in Node (tfjs CPU, fake-indexeddb):
 * "resume from here" branches a run from an older checkpoint into a new run and retraces the
 * parent's steps; retention follows the run's setting; a worker that dies in the middle of a
 * checkpoint save resumes from the previous checkpoint once its orphan chunks are swept.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { createTicketRun } from './api-fixtures';
import { checkpointHooks, getMetrics, getRun, listCheckpoints, loadCheckpoint, openDb, sweepOrphanChunks, useDatabase } from '../../../src/lib/storage';
import type { TrainEvent } from '../../../src/lib/shared/types';


/** 8 steps of 16 rows over 2 epochs: checkpoints at steps 3, 6 and 8, and a branch from step 3 crosses the epoch's end. */
async function setup() {
	return (await createTicketRun({ batchSize: 16, epochs: 2, logEvery: 1, evalEvery: 4, checkpointEvery: 3, warmupSteps: 2 })).run;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let dbName: string;
beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase((dbName = 'branch-' + Math.random())));
afterEach(() => void (checkpointHooks.beforeManifest = undefined));

describe('resume from here', () => {
	it('branches into a new run from an older checkpoint, which retraces the parent; the parent is unchanged', async () => {
		const parent = await setup();
		expect(await api.train(parent.id, () => {})).toBe('completed');
		const parentRun = (await getRun(parent.id))!;
		const parentCheckpoints = await listCheckpoints(parent.id);
		const parentMetrics = await getMetrics(parent.id);
		const from = parentCheckpoints[0];
		expect(from.step).toBeLessThan(parentRun.totalSteps - 1);

		const branch = await api.branchRun(parent.id, from.id);
		expect(branch).toMatchObject({ status: 'paused', step: from.step, projectId: parentRun.projectId, parent: { runId: parent.id, checkpointId: from.id, step: from.step } });
		expect(branch.id).not.toBe(parent.id);
		expect(branch.name).toBe(`r · from step ${from.step}`);
		expect(branch.config).toEqual(parentRun.config);
		expect(branch.evaluation).toBeUndefined();

		// Its first checkpoint is a bit-exact copy under a new id; its metrics are the parent's up to that step.
		const [copy] = await listCheckpoints(branch.id);
		expect(copy.id).toBe(branch.lastCheckpointId);
		expect(copy.id).not.toBe(from.id);
		const a = await loadCheckpoint(from.id);
		const b = await loadCheckpoint(copy.id);
		expect([...b.tensors.keys()]).toEqual([...a.tensors.keys()]);
		for (const [name, t] of a.tensors) expect(bytesOf(b.tensors.get(name)!.data).equals(bytesOf(t.data))).toBe(true);
		expect(b.manifest.trainerState).toEqual(a.manifest.trainerState);
		const copied = await getMetrics(branch.id);
		expect(copied.map(({ runId: _, ...p }) => p)).toEqual(parentMetrics.filter((p) => p.step <= from.step).map(({ runId: _, ...p }) => p));

		// Training the branch continues from that step and takes the parent's steps again.
		const events: TrainEvent[] = [];
		expect(await api.train(branch.id, (e) => events.push(e))).toBe('completed');
		expect(events.find((e) => e.type !== 'phase')).toMatchObject({ type: 'started', step: from.step });
		const branchMetrics = await getMetrics(branch.id);
		const lossAt = (points: typeof branchMetrics, step: number) => points.find((p) => p.step === step)?.trainLoss;
		for (let step = from.step + 1; step <= parentRun.totalSteps; step++) expect(lossAt(branchMetrics, step)).toBeCloseTo(lossAt(parentMetrics, step)!, 5);

		// The parent as it was.
		expect((await listCheckpoints(parent.id)).map((c) => c.id)).toEqual(parentCheckpoints.map((c) => c.id));
		expect(await getMetrics(parent.id)).toEqual(parentMetrics);
		expect((await getRun(parent.id))!.status).toBe('completed');
	});

	it('refuses a checkpoint that is not stored for the run, and leaves no run behind', async () => {
		const parent = await setup();
		await expect(api.branchRun(parent.id, 'ckpt_gone')).rejects.toMatchObject({ code: 'not-found' });
		await expect(api.branchRun('run_gone', 'ckpt_gone')).rejects.toMatchObject({ code: 'not-found' });
		expect(await (await openDb()).count('runs')).toBe(1);
	});
});

describe('retention', () => {
	it('keeps the run’s own number of newest checkpoints, plus the best', async () => {
		const run = await setup();
		await expect(api.setKeepCheckpoints(run.id, 0)).rejects.toMatchObject({ code: 'invalid-config' });
		await expect(api.setKeepCheckpoints(run.id, 1.5)).rejects.toMatchObject({ code: 'invalid-config' });
		const updated = await api.setKeepCheckpoints(run.id, 1);
		expect((updated.config.train as { keepCheckpoints?: number }).keepCheckpoints).toBe(1);
		expect(await api.train(run.id, () => {})).toBe('completed');
		const done = (await getRun(run.id))!;
		const kept = (await listCheckpoints(run.id)).map((c) => c.id);
		expect(kept).toContain(done.lastCheckpointId);
		if (done.bestCheckpointId) expect(kept).toContain(done.bestCheckpointId);
		expect(kept.length).toBe(new Set([done.lastCheckpointId, done.bestCheckpointId].filter(Boolean)).size);
	});

	it('a from-scratch run cannot be the base of a linked run', async () => {
		const run = await setup();
		await api.train(run.id, (e) => e.type === 'checkpoint' && api.pause());
		const { lastCheckpointId } = (await getRun(run.id))!;
		await expect(api.checkpointAsBase(run.id, lastCheckpointId!)).rejects.toMatchObject({ code: 'invalid-config' });
	});
});

describe('a worker that dies mid-save', () => {
	it('resumes from the previous checkpoint after the start-up sweep', async () => {
		const run = await setup();
		// The second save dies after its chunks: the connection goes, no manifest, no clean-up,
		// and the run record still says "running", as a killed worker leaves it.
		let saves = 0;
		let orphan = '';
		checkpointHooks.beforeManifest = async (manifest) => {
			if (++saves < 2) return;
			orphan = manifest.id;
			checkpointHooks.beforeManifest = undefined;
			(await openDb()).close();
		};
		await expect(api.train(run.id, () => {})).rejects.toThrow();
		expect(orphan).not.toBe('');

		// A fresh start: reconnect, settle the interrupted run, sweep, resume.
		useDatabase(dbName);
		expect((await getRun(run.id))!.status).toBe('running');
		const [previous] = await listCheckpoints(run.id);
		expect(previous.step).toBe(3);
		await api.settleInterrupted([run.id]);
		expect(await getRun(run.id)).toMatchObject({ status: 'paused', step: previous.step, lastCheckpointId: previous.id });
		const chunks = () => openDb().then((db) => db.count('checkpointChunks', IDBKeyRange.bound([orphan, -Infinity], [orphan, Infinity])));
		expect(await chunks()).toBeGreaterThan(0);
		expect(await sweepOrphanChunks()).toBeGreaterThan(0);
		expect(await chunks()).toBe(0);

		const events: TrainEvent[] = [];
		expect(await api.train(run.id, (e) => events.push(e))).toBe('completed');
		expect(events.find((e) => e.type !== 'phase')).toMatchObject({ type: 'started', step: previous.step });
		const steps = (await getMetrics(run.id)).map((p) => p.step);
		expect(steps).toEqual([...new Set(steps)].sort((x, y) => x - y));
	});
});
