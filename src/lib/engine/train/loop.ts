/**
 * The training loop. It knows the data cursor, the schedule, when to log, evaluate and save, and
 * nothing about the model (a ClassifierSession does the maths) or about storage (callbacks do the
 * saving). Its whole state (PRNG, epoch, position, shuffle order, optimizer step) is plain data,
 * saved with every checkpoint so a resumed run continues where it stopped.
 */
import type { RunConfig } from '../../shared/config';
import type { MetricPoint, TrainerState } from '../../shared/types';
import { Prng } from '../../shared/prng';
import type { HostBatch, TokenDropout, TokenRows } from '../batching';
import type { WindowStats } from '../classifier';
import type { HostTensor } from '../tensors';
import { warmupCosine } from './schedule';

export type LoopState = TrainerState;

export type Control = 'run' | 'pause' | 'stop';
export type LoopOutcome = 'completed' | 'paused' | 'stopped';

export interface LoopCallbacks {
	/** A logged point (train and/or validation fields) with progress. */
	onMetrics(point: Omit<MetricPoint, 'runId'>, totalSteps: number, etaSec: number): Promise<void> | void;
	/** `best` marks a checkpoint saved because validation accuracy improved. */
	onCheckpoint(snap: { step: number; epoch: number; state: LoopState; tensors: HostTensor[]; valAccuracy?: number; best: boolean }): Promise<void>;
	control(): Control;
	now?: () => number;
}

/**
 * What the loop asks of a model: the from-scratch ClassifierSession and the PretrainedSession
 * both fulfil it. `score` (higher is better) picks the best checkpoint: validation accuracy for
 * classifiers, minus the validation loss for language models; accuracy when absent.
 */
export interface TrainSession {
	readonly optimizer: { step: number };
	batch(data: TokenRows, rows: number[], drop?: TokenDropout): HostBatch;
	trainStep(hb: HostBatch, lr: number, seed: number): void;
	takeStats(): Promise<WindowStats | null>;
	evaluate(data: TokenRows, rows: number[]): Promise<{ loss: number; accuracy: number; score?: number }>;
	snapshot(): Promise<HostTensor[]>;
}

export interface LoopData {
	tokens: TokenRows;
	train: number[];
	validation: number[];
}

export function stepsPerEpoch(nTrain: number, batchSize: number): number {
	return Math.max(1, Math.floor(nTrain / batchSize));
}

/** Steps the run will take: whole epochs, or fewer when `maxSteps` (> 0) caps them, as the Trainer's max_steps does. */
export function totalSteps(nTrain: number, t: { batchSize: number; epochs: number; maxSteps?: number }): number {
	const all = stepsPerEpoch(nTrain, t.batchSize) * t.epochs;
	return t.maxSteps && t.maxSteps > 0 ? Math.min(all, t.maxSteps) : all;
}

export function initialLoopState(cfg: RunConfig, train: number[]): LoopState {
	const prng = new Prng(cfg.train.seed);
	const order = prng.shuffle(train);
	return { prngState: prng.state, epoch: 0, stepInEpoch: 0, order, optimizerStep: 0 };
}

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

export async function trainLoop(session: TrainSession, data: LoopData, cfg: RunConfig, start: LoopState, cb: LoopCallbacks): Promise<LoopOutcome> {
	const t = cfg.train;
	const now = cb.now ?? (() => performance.now());
	const perEpoch = stepsPerEpoch(data.train.length, t.batchSize);
	const total = totalSteps(data.train.length, t);
	const state: LoopState = { ...start, order: start.order.slice() };
	const prng = new Prng(state.prngState);
	let step = state.epoch * perEpoch + state.stepInEpoch;
	let windowStart = now();
	let windowSteps = 0;
	let stepsPerSec = 0;
	let lastVal: number | undefined;
	let improved = false;

	const validate = async () => {
		const ev = await session.evaluate(data.tokens, data.validation);
		const score = ev.score ?? ev.accuracy;
		lastVal = ev.accuracy;
		if (score > (state.bestValAccuracy ?? -Infinity)) {
			state.bestValAccuracy = score;
			improved = true;
		}
		return { valLoss: ev.loss, valAccuracy: ev.accuracy };
	};
	const save = async () => {
		state.prngState = prng.state;
		state.optimizerStep = session.optimizer.step;
		const best = improved;
		improved = false;
		await cb.onCheckpoint({ step, epoch: state.epoch, state: { ...state, order: state.order.slice() }, tensors: await session.snapshot(), valAccuracy: lastVal, best });
	};

	while (step < total) {
		const control = cb.control();
		if (control !== 'run') {
			await flush(false);
			await save();
			return control === 'pause' ? 'paused' : 'stopped';
		}
		const rows = state.order.slice(state.stepInEpoch * t.batchSize, (state.stepInEpoch + 1) * t.batchSize);
		const lr = warmupCosine(step, t.learningRate, t.warmupSteps, total);
		const drop = t.tokenDropout > 0 ? { rate: t.tokenDropout, seed: prng.int(2 ** 31) } : undefined;
		session.trainStep(session.batch(data.tokens, rows, drop), lr, prng.int(2 ** 31));
		step++;
		windowSteps++;
		state.stepInEpoch++;
		if (state.stepInEpoch >= perEpoch) {
			state.epoch++;
			state.stepInEpoch = 0;
			state.order = prng.shuffle(data.train);
		}
		const last = step === total;
		if (step % t.logEvery === 0 || step % t.evalEvery === 0 || last) await flush(step % t.evalEvery === 0 || last, lr);
		// Regular checkpoints, the last one, and one whenever validation accuracy improved.
		if (step % t.checkpointEvery === 0 || last || improved) await save();
		else await yieldToEvents();
	}
	return 'completed';

	async function flush(withVal: boolean, lr?: number) {
		const stats = await session.takeStats();
		const elapsed = (now() - windowStart) / 1000;
		if (windowSteps > 0 && elapsed > 0) stepsPerSec = windowSteps / elapsed;
		const point: Omit<MetricPoint, 'runId'> = { step, epoch: step / perEpoch, time: Date.now(), lr, stepsPerSec };
		if (stats) Object.assign(point, { trainLoss: stats.loss, trainAccuracy: stats.accuracy, gradNorm: stats.gradNorm });
		if (withVal && data.validation.length) Object.assign(point, await validate());
		if (stats || withVal) await cb.onMetrics(point, total, stepsPerSec > 0 ? (total - step) / stepsPerSec : 0);
		windowStart = now();
		windowSteps = 0;
	}
}
