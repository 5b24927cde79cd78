/**
 * The training loop, as the Hugging Face Trainer runs one. It knows the data cursor, the
 * schedule, gradient accumulation, when to log, evaluate and save, early stopping and the
 * divergence watchdog, and nothing about the model (a session does the maths) or about storage
 * (callbacks do the saving). Its whole state (PRNG, epoch, position, shuffle order, optimizer
 * step, best scores) is plain data, saved with every checkpoint.
 *
 * Exact resume: checkpoints are taken only where the logging window is empty (every log,
 * evaluation and checkpoint step reads the window back first), and a pause or stop is honoured
 * at the next such point. A run resumed from any checkpoint then computes, logs and saves
 * exactly what the uninterrupted run would have.
 */
import type { CompiledSummary } from '../compiled/compiled-steps';
import { defaultTrainConfig, finetunePreset, normalizeTrainConfig, type RunConfig, type TrainConfig } from '../../shared/config';
import { UserError } from '../../shared/errors';
import type { MetricPoint, TrainerState } from '../../shared/types';
import { Prng } from '../../shared/prng';
import { PhaseReporter, type PhaseProgress } from '../../shared/phases';
import type { HostBatch, TokenDropout, TokenRows } from '../batching';
import type { HostTensor } from '../tensors';
import { earlyStoppingReason, earlyStoppingUpdate, initialEarlyStopping } from './early-stopping';
import { learningRateAt, warmupSteps } from './schedule';
import type { MicroStep, WindowStats } from './step';
import { allFinite, initialWatchdog, isSuspect, saferLearningRate, watchLoss } from './watchdog';


/**
 * For device-loss tests only: called once a step's metrics are stored, before its checkpoint (if it
 * takes one), so a test can lose the device at a step the last checkpoint does not hold. Never set
 * outside tests.
 */
export const loopHooks: { afterLog?: (step: number, checkpointing: boolean) => void } = {};

export type LoopState = TrainerState;

export type Control = 'run' | 'pause' | 'stop';
export type LoopOutcome = 'completed' | 'paused' | 'stopped';

export interface LoopResult {
	outcome: LoopOutcome;
	/** Optimizer steps done when the loop returned. */
	step: number;
	/** Why a run completed before its last step (early stopping), for the run's record. */
	reason?: string;
}

export interface LoopCallbacks {
	/** A logged point (train and/or validation fields) with progress. */
	onMetrics(point: Omit<MetricPoint, 'runId'>, totalSteps: number, etaSec: number): Promise<void> | void;
	/**
	 * `best` marks a checkpoint saved because the validation score improved; `suspect` one saved
	 * while the watchdog counts strikes (the loss above its limit): a run the watchdog stops
	 * discards its suspect checkpoints (`DivergedError.suspectSteps`).
	 */
	onCheckpoint(snap: { step: number; epoch: number; state: LoopState; tensors: HostTensor[]; valAccuracy?: number; best: boolean; suspect: boolean }): Promise<void>;
	/** Read at each point where the run can pause exactly (log, evaluation and checkpoint steps). */
	control(): Control;
	/**
	 * The phases around the steps, with counts: the warm-up (the first steps up to the first log
	 * point, where a GPU compiles its kernels), scoring the validation split, writing a checkpoint
	 * (the snapshot; `onCheckpoint` may report the writing). null ends one.
	 */
	onPhase?(p: PhaseProgress | null): void;
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
	/** One micro-batch; the weights change only on the step's last (`micro.apply`). */
	trainStep(hb: HostBatch, lr: number, seed: number, micro?: MicroStep): void;
	takeStats(): Promise<WindowStats | null>;
	evaluate(data: TokenRows, rows: number[], onProgress?: (done: number) => void): Promise<{ loss: number; accuracy: number; score?: number }>;
	snapshot(): Promise<HostTensor[]>;
	/** What compiling whole steps has done in this session (null when it is off: not WebGPU's fast path). */
	compiledSummary?(): CompiledSummary | null;
}

export interface LoopData {
	tokens: TokenRows;
	train: number[];
	validation: number[];
	/** The loss of a uniform guess (ln of the classes or the vocabulary): bounds the watchdog's reference. */
	chanceLoss?: number;
}

/**
 * The watchdog stopped the run. `lastGoodStep` is the last checkpoint saved with a finite loss
 * below the watchdog's limit (null when none); `suspectSteps` are the checkpoints this session
 * saved while the loss was above it, which the caller deletes.
 */
export class DivergedError extends UserError {
	constructor(
		message: string,
		public lastGoodStep: number | null,
		public suspectSteps: number[]
	) {
		super('training-diverged', message);
	}
}

type StepShape = Pick<TrainConfig, 'batchSize'> & Partial<Pick<TrainConfig, 'gradAccumSteps'>>;

/** Optimizer steps per epoch: whole accumulated batches (a last partial one is dropped). */
export function stepsPerEpoch(nTrain: number, batchSize: number, gradAccumSteps = 1): number {
	return Math.max(1, Math.floor(nTrain / (batchSize * Math.max(1, gradAccumSteps))));
}

/** Optimizer steps the run will take: whole epochs, or fewer when `maxSteps` (> 0) caps them, as the Trainer's max_steps does. */
export function totalSteps(nTrain: number, t: StepShape & { epochs: number; maxSteps?: number }): number {
	const all = stepsPerEpoch(nTrain, t.batchSize, t.gradAccumSteps) * t.epochs;
	return t.maxSteps && t.maxSteps > 0 ? Math.min(all, t.maxSteps) : all;
}

/** The optimizer steps a saved loop state has done. */
export function loopStep(state: Pick<LoopState, 'epoch' | 'stepInEpoch'>, nTrain: number, t: StepShape): number {
	return state.epoch * stepsPerEpoch(nTrain, t.batchSize, t.gradAccumSteps) + state.stepInEpoch;
}

export function initialLoopState(cfg: RunConfig, train: number[]): LoopState {
	const prng = new Prng(cfg.train.seed);
	const order = prng.shuffle(train);
	return { prngState: prng.state, epoch: 0, stepInEpoch: 0, order, optimizerStep: 0 };
}

/** How many examples (classification) or target tokens (language modelling) a batch's mean loss is over. */
export function lossWeight(hb: HostBatch): number {
	const targets = (hb as HostBatch & { targets?: number }).targets;
	return typeof targets === 'number' ? targets : hb.real;
}

const copyState = (s: LoopState): LoopState => ({
	...s,
	order: s.order.slice(),
	earlyStopping: s.earlyStopping && { ...s.earlyStopping },
	watchdog: s.watchdog && { ...s.watchdog }
});

const yieldToEvents = () => new Promise<void>((r) => setTimeout(r, 0));

export async function trainLoop(session: TrainSession, data: LoopData, cfg: RunConfig, start: LoopState, cb: LoopCallbacks): Promise<LoopResult> {
	const t = normalizeTrainConfig(cfg.train);
	const accum = t.gradAccumSteps;
	const now = cb.now ?? (() => performance.now());
	const perEpoch = stepsPerEpoch(data.train.length, t.batchSize, accum);
	const total = totalSteps(data.train.length, t);
	const state = copyState(start);
	const early = (state.earlyStopping ??= initialEarlyStopping());
	const watch = (state.watchdog ??= initialWatchdog());
	const prng = new Prng(state.prngState);
	let step = state.epoch * perEpoch + state.stepInEpoch;
	// The checkpoint a diverged run falls back to: the one it resumed from (unless it was saved
	// while the watchdog counted strikes), or the last good one saved here.
	let lastGood: number | null = step > 0 && !isSuspect(state.watchdog) ? step : null;
	const suspectSteps: number[] = [];
	let savedAt = -1;
	let windowFrom = step;
	let windowStart = now();
	let windowSteps = 0;
	let stepsPerSec = 0;
	let lastVal: number | undefined;
	let improved = false;

	const diverged = (what: string): DivergedError => {
		const lr = saferLearningRate(t.learningRate, cfg.pretrained ? finetunePreset.learningRate : defaultTrainConfig.learningRate);
		const fixes = [`a learning rate of ${lr.value} (${lr.why})`];
		if (!(t.gradClip > 0)) fixes.push('gradient clipping at 1.0');
		if (warmupSteps(t, total) === 0) fixes.push('a warmup of 5–10% of the steps');
		const dropped = suspectSteps.length
			? ` The checkpoint${suspectSteps.length > 1 ? 's' : ''} saved while the loss was climbing (step${suspectSteps.length > 1 ? 's' : ''} ${suspectSteps.join(', ')}) ${suspectSteps.length > 1 ? 'are' : 'is'} deleted.`
			: '';
		const kept = lastGood !== null ? `The run keeps its last good checkpoint (step ${lastGood}); nothing after it is kept.${dropped}` : `No good checkpoint was saved before it.${dropped}`;
		return new DivergedError(`Training diverged at step ${step}: ${what}. ${kept} Start a new run with ${fixes.join(', ')}.`, lastGood, suspectSteps.slice());
	};

	const report = (base: Omit<PhaseProgress, 'done' | 'etaSec'>) => (cb.onPhase ? new PhaseReporter(cb.onPhase, base, 250, now) : undefined);
	// The first steps of this session compile the GPU's kernels; they are a phase until the first log point.
	let warmUp = step < total ? report({ phase: 'warm-up', total: Math.min(t.logEvery - (step % t.logEvery), total - step), unit: 'steps' }) : undefined;
	let warmUpSteps = 0;

	const validate = async () => {
		const scoring = report({ phase: 'validating', total: data.validation.length, unit: 'rows' });
		const ev = await session.evaluate(data.tokens, data.validation, scoring && ((done) => scoring.tick(done)));
		scoring?.end();
		if (!Number.isFinite(ev.loss)) throw diverged(`the validation loss was ${ev.loss}`);
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
		cb.onPhase?.({ phase: 'checkpoint', done: 0, total: 0, unit: 'chunks', note: `step ${step}` });
		const tensors = await session.snapshot();
		// A finite loss can sit on weights that already overflowed: those are never saved.
		if (!allFinite(tensors)) {
			cb.onPhase?.(null);
			throw diverged(`the weights at step ${step} were not finite`);
		}
		const suspect = isSuspect(watch);
		await cb.onCheckpoint({ step, epoch: state.epoch, state: copyState(state), tensors, valAccuracy: lastVal, best: best && !suspect, suspect });
		cb.onPhase?.(null);
		savedAt = step;
		if (suspect) suspectSteps.push(step);
		else lastGood = step;
	};

	/** Read the window back, check it, evaluate if asked, log; returns a reason to stop early. */
	const flush = async (withVal: boolean, lr: number): Promise<string | undefined> => {
		const stats = await session.takeStats();
		// Reading the first window back waited for the compiled kernels: the warm-up is over.
		warmUp?.end();
		warmUp = undefined;
		const elapsed = (now() - windowStart) / 1000;
		if (windowSteps > 0 && elapsed > 0) stepsPerSec = windowSteps / elapsed;
		if (stats) {
			const span = step - windowFrom > 1 ? `averaged over steps ${windowFrom + 1}–${step}` : `at step ${step}`;
			const verdict = watchLoss(t, watch, stats.loss, stats.gradNorm, data.chanceLoss);
			if (verdict.kind === 'non-finite') throw diverged(`${verdict.what} (${span})`);
			if (verdict.kind === 'diverged')
				throw diverged(`the training loss (${stats.loss.toPrecision(4)}, ${span}) stayed above ${verdict.limit.toPrecision(4)} for ${t.divergencePatience} log points in a row (${data.chanceLoss ? `best ${watch.bestLoss!.toPrecision(4)}; a uniform guess scores ${data.chanceLoss.toPrecision(4)}` : `it started at ${watch.firstLoss!.toPrecision(4)}, best ${watch.bestLoss!.toPrecision(4)}`})`);
		}
		const point: Omit<MetricPoint, 'runId'> = { step, epoch: step / perEpoch, time: Date.now(), lr, stepsPerSec };
		if (stats) Object.assign(point, { trainLoss: stats.loss, trainAccuracy: stats.accuracy, gradNorm: stats.gradNorm }, stats.layers ? { layers: stats.layers } : {});
		let stop: string | undefined;
		if (withVal && data.validation.length) {
			const val = await validate();
			Object.assign(point, val);
			const es = t.earlyStopping;
			if (es && earlyStoppingUpdate(es, early, es.metric === 'loss' ? val.valLoss : val.valAccuracy, step)) stop = earlyStoppingReason(es, early);
		}
		if (stats || withVal) await cb.onMetrics(point, total, stepsPerSec > 0 ? (total - step) / stepsPerSec : 0);
		windowStart = now();
		windowSteps = 0;
		windowFrom = step;
		return stop;
	};

	// At a boundary the logging window is empty, so a checkpoint here resumes exactly.
	let boundary = true;
	while (step < total) {
		if (boundary) {
			const control = cb.control();
			if (control !== 'run') {
				warmUp?.end();
				if (savedAt !== step) await save();
				return { outcome: control === 'pause' ? 'paused' : 'stopped', step };
			}
		}
		const lr = learningRateAt(t, step, total);
		// One draw of each seed per optimizer step, whatever the accumulation, so the data order of
		// later epochs does not depend on it; micro-batch j offsets them.
		const dropSeed = t.tokenDropout > 0 ? prng.int(2 ** 31) : 0;
		const seed = prng.int(2 ** 31);
		const nth = (s: number, j: number) => (s + j * 7919) % 2 ** 31;
		// The step's micro-batches are built on the host first: their sizes set each one's share of the loss.
		const micro: { hb: HostBatch; seed: number }[] = [];
		for (let j = 0; j < accum; j++) {
			const from = (state.stepInEpoch * accum + j) * t.batchSize;
			const rows = state.order.slice(from, from + t.batchSize);
			if (!rows.length) break;
			const drop = t.tokenDropout > 0 ? { rate: t.tokenDropout, seed: nth(dropSeed, j) } : undefined;
			micro.push({ hb: session.batch(data.tokens, rows, drop), seed: nth(seed, j) });
		}
		const weights = micro.map((m) => lossWeight(m.hb));
		const sum = weights.reduce((a, b) => a + b, 0);
		// The step before a log point records the per-layer internals, read back with that window.
		const n = step + 1;
		const record = n % t.logEvery === 0 || n % t.evalEvery === 0 || n % t.checkpointEvery === 0 || n === total;
		micro.forEach((m, j) => session.trainStep(m.hb, lr, m.seed, { scale: sum > 0 ? weights[j] / sum : 0, apply: j === micro.length - 1, record: record && j === micro.length - 1 }));
		step++;
		windowSteps++;
		state.stepInEpoch++;
		warmUp?.tick(++warmUpSteps);
		if (state.stepInEpoch >= perEpoch) {
			state.epoch++;
			state.stepInEpoch = 0;
			state.order = prng.shuffle(data.train);
		}
		const last = step === total;
		const evalNow = step % t.evalEvery === 0 || last;
		const checkpointNow = step % t.checkpointEvery === 0 || last;
		boundary = step % t.logEvery === 0 || evalNow || checkpointNow;
		if (!boundary) {
			await yieldToEvents();
			continue;
		}
		const reason = await flush(evalNow, lr);
		loopHooks.afterLog?.(step, checkpointNow);
		const stopEarly = last ? undefined : reason;
		// Regular checkpoints, the last one, one whenever the validation score improved, and one where early stopping ends the run.
		if (checkpointNow || improved || stopEarly) await save();
		if (stopEarly) return { outcome: 'completed', step, reason: stopEarly };
	}
	return { outcome: 'completed', step };
}
