/**
 * Phases through the engine worker's API (tfjs CPU, fake-indexeddb): a run tells every phase
 * around its steps by name with counts, and Stop while the test split is scored leaves the run
 * completed and unscored, saying how to score it, and scoring it afterwards works.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { importDataset, prepareTokens } from '../../../src/lib/data/pipeline';
import { getRun, useDatabase } from '../../../src/lib/storage';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import type { PhaseProgress } from '../../../src/lib/shared/phases';
import type { TrainEvent } from '../../../src/lib/shared/types';

function csv(): string {
	const words: Record<string, string[]> = { billing: ['refund', 'invoice', 'charged'], shipping: ['parcel', 'courier', 'tracking'] };
	const lines = ['text,label'];
	let i = 0;
	for (const [label, ws] of Object.entries(words)) for (let k = 0; k < 40; k++) lines.push(`ticket ${i++} about the ${ws[k % 3]} and ${ws[(k * 2) % 3]},${label}`);
	return lines.join('\n');
}

async function setup() {
	const bytes = new TextEncoder().encode(csv()).buffer as ArrayBuffer;
	const version = await importDataset({ projectId: 'p1', fileName: 't.csv', bytes, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.2, test: 0.2 }, skipBadRows: false });
	const config = defaultRunConfig(version.labels.length);
	config.model = { ...config.model, nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, dropout: 0 };
	config.tokenizer.vocabSize = 300;
	// Batches of 2 so the test split (16 rows) is scored in several batches: Stop lands between them.
	config.train = { ...config.train, batchSize: 2, epochs: 1, maxSteps: 4, logEvery: 2, evalEvery: 4, checkpointEvery: 4, warmupSteps: 0 };
	const prep = await prepareTokens(version.id, config.tokenizer, config.model.contextLength);
	config.model.vocabSize = prep.vocabSize;
	return api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, config, name: 'r' });
}

const phasesOf = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'phase' && e.phase ? [e.phase] : []));

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('phases-' + Math.random()));

describe('engine phases', () => {
	it('a run tells each phase by name, with counts where there is something to count, and ends each', async () => {
		const run = await setup();
		const events: TrainEvent[] = [];
		expect(await api.train(run.id, (e) => void events.push(e))).toBe('completed');
		const phases = phasesOf(events);
		const names = [...new Set(phases.map((p) => p.phase))];
		expect(names).toEqual(['preparing', 'loading-model', 'warm-up', 'validating', 'checkpoint', 'scoring']);
		const last = (name: PhaseProgress['phase']) => phases.filter((p) => p.phase === name).at(-1)!;
		expect(last('warm-up')).toMatchObject({ done: 2, total: 2, unit: 'steps' });
		expect(last('validating')).toMatchObject({ done: 16, total: 16, unit: 'rows' });
		expect(last('checkpoint').unit).toBe('chunks');
		expect(last('checkpoint').done).toBe(last('checkpoint').total);
		expect(last('scoring')).toMatchObject({ done: 16, total: 16, unit: 'rows', cancellable: true });
		// The test split is scored before the run says it completed; the last phase event clears it.
		const scored = events.findIndex((e) => e.type === 'phase' && e.phase?.phase === 'scoring');
		expect(scored).toBeLessThan(events.findIndex((e) => e.type === 'status'));
		const lastPhase = events.filter((e) => e.type === 'phase').at(-1);
		expect(lastPhase).toEqual({ type: 'phase', phase: null });
		expect((await getRun(run.id))!.evaluation?.split).toBe('test');
	});

	it('Stop while the test split is scored: completed, unscored, says to use Evaluate; Evaluate then scores it', async () => {
		const run = await setup();
		const events: TrainEvent[] = [];
		const status = await api.train(run.id, (e) => {
			events.push(e);
			if (e.type === 'phase' && e.phase?.phase === 'scoring') api.stop();
		});
		expect(status).toBe('completed');
		const stored = (await getRun(run.id))!;
		expect(stored.status).toBe('completed');
		expect(stored.evaluation).toBeUndefined();
		expect(stored.error).toBeUndefined();
		expect(stored.note).toMatch(/scoring the test split was stopped.*Score it with Evaluate/);
		expect(events.find((e) => e.type === 'status')).toMatchObject({ type: 'status', status: 'completed', message: stored.note });
		expect(phasesOf(events).filter((p) => p.phase === 'scoring').at(-1)!.done).toBeLessThan(16);

		const result = await api.evaluate(run.id);
		expect(result.count).toBe(16);
		expect((await getRun(run.id))!.evaluation?.split).toBe('test');
	});
});
