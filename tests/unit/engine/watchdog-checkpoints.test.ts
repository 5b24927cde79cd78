/**
 * Issue 14, defect 1: the watchdog's "last good" checkpoint. A run at an absurd learning rate
 * (1e3, as a stored or imported config can hold) and one at 0.99 with AdamW (which the form
 * accepts) diverge on the CPU backend; every checkpoint not marked suspect must have a finite loss
 * at or under the watchdog's limit and finite weights, the one the error names among them, and the
 * suggested learning rate a value the form accepts. Through the worker API, the suspect
 * checkpoints are deleted and the run points at the last good one.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, validateTrainConfig, type RunConfig, type TrainConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { DivergedError, initialLoopState, trainLoop } from '../../../src/lib/engine/train/loop';
import { initialWatchdog, saferLearningRate, watchLoss, type WatchdogState } from '../../../src/lib/engine/train/watchdog';
import type { HostTensor } from '../../../src/lib/engine/tensors';
import { api } from '../../../workers/engine-api';
import { classRows, createTicketRun } from './api-fixtures';
import { getMetrics, getRun, listCheckpoints, useDatabase } from '../../../src/lib/storage';

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('watchdog-' + Math.random()));

const rows = classRows;

function config(train: Partial<TrainConfig>): RunConfig {
	const c = defaultRunConfig(3);
	c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0 };
	c.train = { ...c.train, batchSize: 8, epochs: 40, optimizer: 'adamw', gradClip: 0, warmupSteps: 0, logEvery: 2, evalEvery: 100, checkpointEvery: 2, ...train };
	return c;
}

interface Saved {
	step: number;
	suspect: boolean;
	tensors: HostTensor[];
}

/** Train until the watchdog stops it; the checkpoints it saved and the losses it logged. */
async function diverge(train: Partial<TrainConfig>) {
	const cfg = config(train);
	const s = ClassifierSession.create(cfg, { padId: 0 });
	const data = { tokens: rows(40), train: [...Array(32).keys()], validation: [32, 33, 34, 35, 36, 37, 38, 39], chanceLoss: Math.log(3) };
	const saved: Saved[] = [];
	const losses = new Map<number, number>();
	const err = await trainLoop(s, data, cfg, initialLoopState(cfg, data.train), {
		control: () => 'run',
		onMetrics: (p) => void (p.trainLoss !== undefined && losses.set(p.step, p.trainLoss)),
		onCheckpoint: async (snap) => void saved.push({ step: snap.step, suspect: snap.suspect, tensors: snap.tensors })
	}).catch((e) => e);
	s.dispose();
	console.log(`lr ${cfg.train.learningRate}: saved ${saved.map((c) => `${c.step}${c.suspect ? ' (suspect)' : ''}`).join(', ')}; losses ${[...losses].map(([k, v]) => `${k}: ${v.toPrecision(3)}`).join(', ')}`);
	return { cfg, err, saved, losses };
}

/** Replays the watchdog over the logged losses: the limit at each log point. */
function limits(cfg: RunConfig, losses: Map<number, number>): Map<number, number> {
	const w: WatchdogState = initialWatchdog();
	const out = new Map<number, number>();
	for (const [step, loss] of [...losses].sort((a, b) => a[0] - b[0])) {
		watchLoss(cfg.train, w, loss, 1, Math.log(3));
		out.set(step, Math.max(cfg.train.divergenceFactor * Math.min(w.bestLoss!, Math.log(3)), w.firstLoss!));
	}
	return out;
}

function expectGoodCheckpoints(run: Awaited<ReturnType<typeof diverge>>) {
	const { cfg, err, saved, losses } = run;
	expect(err).toBeInstanceOf(DivergedError);
	expect(err.code).toBe('training-diverged');
	const lim = limits(cfg, losses);
	const good = saved.filter((c) => !c.suspect);
	for (const c of good) {
		const loss = losses.get(c.step)!;
		expect(Number.isFinite(loss)).toBe(true);
		expect(loss).toBeLessThanOrEqual(lim.get(c.step)!);
		for (const t of c.tensors) expect(t.data.every(Number.isFinite)).toBe(true);
	}
	// The error names the last good checkpoint, and lists every suspect one as deleted.
	expect(err.lastGoodStep).toBe(good.at(-1)?.step ?? null);
	expect(err.suspectSteps).toEqual(saved.filter((c) => c.suspect).map((c) => c.step));
	if (err.lastGoodStep !== null) expect(err.message).toContain(`last good checkpoint (step ${err.lastGoodStep})`);
	// The suggestion is a learning rate the form accepts.
	const lr = Number(/a learning rate of ([0-9.e+-]+)/.exec(err.message)![1]);
	expect(validateTrainConfig({ ...cfg.train, learningRate: lr })).toEqual([]);
	return { good, lim };
}

describe('the watchdog keeps only good checkpoints', () => {
	it('lr 1e3: no checkpoint with a diverged loss is called good, and the suggestion is in the form’s range', async () => {
		const run = await diverge({ learningRate: 1e3 });
		expectGoodCheckpoints(run);
		expect(run.saved.length).toBeGreaterThan(0);
		// The loss logged at every step saved as good is below 2 × ln(3) (a uniform guess over 3 classes doubled).
		for (const c of run.saved.filter((x) => !x.suspect)) expect(run.losses.get(c.step)!).toBeLessThan(2 * Math.log(3));
		expect(run.err.message).toMatch(/a learning rate of 0\.003 \(the usual starting point; this run's 1000 is outside the form's range/);
	});

	it('lr 0.99 with AdamW: checkpoints saved while the loss climbs are suspect, the last good one precedes them', async () => {
		const run = await diverge({ learningRate: 0.99, warmupSteps: 8 });
		const { good } = expectGoodCheckpoints(run);
		expect(run.err.message).toMatch(/a learning rate of 0\.099 \(a tenth of this run's\)/);
		// Warmup lets it learn first: good checkpoints, then suspect ones while the loss climbs.
		expect(good.length).toBeGreaterThan(0);
		expect(run.err.suspectSteps.length).toBeGreaterThan(0);
		expect(Math.max(...run.err.suspectSteps)).toBeGreaterThan(good.at(-1)!.step);
	});

	it('a first window already far above chance does not become the bound', () => {
		const t = { divergenceFactor: 2, divergencePatience: 3 };
		const w = initialWatchdog();
		expect([3.2e10, 1e11, 2e11].map((l) => watchLoss(t, w, l, 1, Math.log(3)).kind)).toEqual(['ok', 'ok', 'diverged']);
		expect(w.strikes).toBe(3);
		// Without the chance loss the old rule would have taken 3.2e10 as the start.
		const old = initialWatchdog();
		expect([3.2e10, 1e11, 2e11].map((l) => watchLoss(t, old, l, 1).kind)).toEqual(['ok', 'ok', 'ok']);
	});

	it('the suggested learning rate is always one the form accepts', () => {
		for (const lr of [1e3, 10, 1, 0.99, 0.5, 3e-3, 5e-5]) {
			const { value } = saferLearningRate(lr, 3e-3);
			expect(value > 0 && value < 1).toBe(true);
		}
		expect(saferLearningRate(0.99, 3e-3).value).toBe(0.099);
		expect(saferLearningRate(1e3, 3e-3).value).toBe(3e-3);
	});
});


describe('engine api: a diverged run', () => {
	it('lr 0.99 AdamW: deletes the suspect checkpoints and points the run at the last good one', async () => {
		const { run } = await createTicketRun({ learningRate: 0.99, optimizer: 'adamw', gradClip: 0, warmupSteps: 8, epochs: 30, logEvery: 2, evalEvery: 100, checkpointEvery: 2, keepCheckpoints: 1 });
		const saved: number[] = [];
		const err = await api.train(run.id, (e) => void (e.type === 'checkpoint' && saved.push(e.step))).catch((e) => e);
		expect(err.code).toBe('training-diverged');
		const after = (await getRun(run.id))!;
		expect(after.status).toBe('failed');
		const left = await listCheckpoints(run.id);
		expect(left.every((c) => !c.suspect)).toBe(true);
		const lastGood = Number(/last good checkpoint \(step (\d+)\)/.exec(err.message)?.[1] ?? NaN);
		expect(Number.isFinite(lastGood)).toBe(true);
		{
			// Pruning (keep 1) never took the last good checkpoint while suspect ones piled up.
			expect(left.map((c) => c.step)).toContain(lastGood);
			expect(left.at(-1)!.step).toBe(lastGood);
			expect(after.lastCheckpointId).toBe(left.at(-1)!.id);
			const metrics = await getMetrics(run.id);
			const loss = metrics.find((m) => m.step === lastGood && m.trainLoss !== undefined)!.trainLoss!;
			expect(Number.isFinite(loss)).toBe(true);
		}
		console.log(`lr 0.99 AdamW: checkpoints saved at ${saved.join(', ')}; kept ${left.map((c) => c.step).join(', ') || 'none'}; ${err.message}`);
	});
});
