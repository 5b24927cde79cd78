/**
 * The engine worker's API in Node (tfjs CPU, fake-indexeddb): a run trains, pauses at a
 * checkpoint, resumes in a fresh engine session from what storage holds, completes and is
 * evaluated; a checkpoint restores the exact weights it saved.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { createTicketRun } from './api-fixtures';
import { getMetrics, getRun, listCheckpoints, loadCheckpoint, useDatabase } from '../../../src/lib/storage';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import type { TrainEvent } from '../../../src/lib/shared/types';


async function setup() {
	// Batches of 16: 8 steps over the 2 epochs, checkpoints at 3, 6 and 8.
	return (await createTicketRun({ batchSize: 16, epochs: 2, logEvery: 2, evalEvery: 4, checkpointEvery: 3, warmupSteps: 2 })).run;
}

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('engine-' + Math.random()));

describe('engine api', () => {
	it('pauses at a checkpoint, resumes from storage and completes with a test evaluation', async () => {
		const run = await setup();
		const events: TrainEvent[] = [];
		const first = await api.train(run.id, (e) => {
			events.push(e);
			if (e.type === 'checkpoint') api.pause();
		});
		expect(first).toBe('paused');
		const paused = (await getRun(run.id))!;
		expect(paused.status).toBe('paused');
		expect(paused.lastCheckpointId).toBeDefined();
		const pausedAt = paused.step;
		expect(pausedAt).toBeGreaterThan(0);
		expect(pausedAt).toBeLessThan(paused.totalSteps);

		const resumed: TrainEvent[] = [];
		expect(await api.train(run.id, (e) => resumed.push(e))).toBe('completed');
		expect(resumed.find((e) => e.type !== 'phase')).toMatchObject({ type: 'started', step: pausedAt });
		const done = (await getRun(run.id))!;
		expect(done.status).toBe('completed');
		expect(done.step).toBe(done.totalSteps);
		expect(done.evaluation?.split).toBe('test');
		expect(done.evaluation?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(done.evaluation?.count);

		const steps = (await getMetrics(run.id)).map((p) => p.step);
		expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
		expect(steps[steps.length - 1]).toBe(done.totalSteps);
		expect((await listCheckpoints(run.id)).length).toBeLessThanOrEqual(4);

		const prediction = await api.predict(run.id, 'my refund and invoice');
		expect(prediction.probabilities.reduce((s, p) => s + p.p, 0)).toBeCloseTo(1, 5);
	});

	it('restores the exact weights and optimizer state a checkpoint saved', async () => {
		const run = await setup();
		await api.train(run.id, (e) => e.type === 'checkpoint' && api.pause());
		const { manifest, tensors } = await loadCheckpoint((await getRun(run.id))!.lastCheckpointId!);
		const session = ClassifierSession.fromTensors(manifest.config, tensors, { padId: 0 }, manifest.trainerState.optimizerStep);
		const again = await session.snapshot();
		expect(again.map((t) => t.name).sort()).toEqual([...tensors.keys()].sort());
		for (const t of again) expect(Buffer.from(t.data.buffer).equals(Buffer.from(tensors.get(t.name)!.data.slice().buffer))).toBe(true);
		session.dispose();
	});
});
