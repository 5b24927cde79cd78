/**
 * What the engine worker does, as plain async functions: it wires the engine (src/lib/engine) to
 * storage (src/lib/storage). The worker reads datasets and writes runs, metrics and checkpoints
 * itself, so weights never cross postMessage; the page passes ids and gets progress events.
 * `engine.worker.ts` only exposes this object; tests call it directly in Node.
 */
import { initBackend, backendInfo, gpuErrorLog, type BackendName } from '../src/lib/engine/backend';
import { ClassifierSession } from '../src/lib/engine/classifier';
import { initialLoopState, stepsPerEpoch, trainLoop, type Control, type LoopState } from '../src/lib/engine/train/loop';
import { memoryInfo } from '../src/lib/engine/tensors';
import { benchmarkTrainStep } from '../src/lib/engine/bench';
import { checkBackendAgainstCpu, checkStepsAgainstCpu } from '../src/lib/engine/selfcheck';
import type { TokenRows } from '../src/lib/engine/batching';
import { classificationReport } from '../src/lib/engine/eval/report';
import { TextTokenizer } from '../src/lib/data/tokenizer';
import { UserError } from '../src/lib/shared/errors';
import { validateRunConfig, type RunConfig } from '../src/lib/shared/config';
import { SPLIT_CODE, type EvaluationResult, type Prediction, type Run, type RunStatus, type SplitName, type TrainEvent } from '../src/lib/shared/types';
import {
	appendMetrics, deleteMetricsAfter, getDatasetVersion, getRun, getTokenized, getTokenizer, latestCheckpoint,
	loadCheckpoint, newId, pruneCheckpoints, putRun, saveCheckpoint, sweepOrphanChunks,
	tokenizedKey, updateRun, openDb
} from '../src/lib/storage';

const KEEP_CHECKPOINTS = 3;

let control: Control = 'run';
let training: string | null = null;
/** The last model used for evaluation or prediction, kept warm on the GPU. */
/** What a run needs to read and write text: its record, tokenizer and label names. */
interface RunContext {
	run: Run;
	tokenizer: TextTokenizer;
	labels: string[];
}

interface Prepared extends RunContext {
	tokens: TokenRows & { splits: Uint8Array };
}

/** The last model used for evaluation or prediction, kept warm on the GPU with its run context. */
let warm: { checkpointId: string; step: number; session: ClassifierSession; context: RunContext } | null = null;

async function runContext(runId: string): Promise<RunContext> {
	const run = await getRun(runId);
	if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
	const version = await getDatasetVersion(run.datasetVersionId);
	if (!version) throw new UserError('not-found', 'The dataset version this run was trained on has been deleted; its results can no longer be recomputed.');
	if (!run.tokenizerHash) throw new Error('This run has no tokenizer yet; prepare tokens before training.');
	const rec = await getTokenizer(run.tokenizerHash);
	if (!rec) throw new UserError('not-found', 'The tokenizer of this run is missing. Start a new run to tokenize the dataset again.');
	return { run, tokenizer: await TextTokenizer.fromJson(rec.json), labels: version.labels };
}

/** The run context plus every row's token ids (the whole dataset: only for training and evaluation). */
async function prepare(runId: string): Promise<Prepared> {
	const ctx = await runContext(runId);
	const cache = await getTokenized(tokenizedKey(ctx.run.datasetVersionId, ctx.run.tokenizerHash!));
	if (!cache) throw new UserError('not-found', 'The tokenized data for this run is missing. Start a new run to tokenize the dataset again.');
	return { ...ctx, tokens: cache };
}

const TRAINING_LOCK = 'whetstone-training';

/**
 * Training holds a Web Lock for the origin, so another tab's start-up sweep never deletes the
 * chunks of a checkpoint this tab is still writing. Where Web Locks are missing (Node), it runs
 * the function unlocked.
 */
function locked<T>(fn: (held: boolean) => Promise<T>, ifAvailable = false): Promise<T> {
	const locks = (globalThis.navigator as Navigator | undefined)?.locks;
	if (!locks) return fn(true);
	return locks.request(TRAINING_LOCK, { ifAvailable }, (lock) => fn(lock !== null)) as Promise<T>;
}

function rowsOf(splits: Uint8Array, split: SplitName): number[] {
	const code = SPLIT_CODE[split];
	const out: number[] = [];
	splits.forEach((s, i) => s === code && out.push(i));
	return out;
}

function special(t: TextTokenizer) {
	return { padId: t.padId ?? 0, clsId: t.clsId };
}

/** The model of a checkpoint (the run's best by default), loaded once and kept warm. */
async function warmSession(ctx: RunContext, checkpointId?: string): Promise<NonNullable<typeof warm>> {
	const id = checkpointId ?? ctx.run.bestCheckpointId ?? ctx.run.lastCheckpointId;
	if (!id) throw new UserError('not-found', 'This run has no checkpoint yet. Train it for a few steps first.');
	if (warm?.checkpointId === id) return warm;
	const { manifest, tensors } = await loadCheckpoint(id);
	warm?.session.dispose();
	const session = ClassifierSession.fromTensors(manifest.config, tensors, special(ctx.tokenizer), 0);
	warm = { checkpointId: id, step: manifest.step, session, context: ctx };
	return warm;
}

/** Train a run from its last checkpoint (or from scratch) until it completes, pauses or stops. */
async function trainRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<RunStatus> {
	training = runId;
	control = 'run';
	const started = performance.now();
	let session: ClassifierSession | null = null;
	try {
		const p = await prepare(runId);
		const cfg = p.run.config;
		if (p.tokenizer.vocabSize > cfg.model.vocabSize)
			throw new UserError('invalid-config', `The tokenizer has ${p.tokenizer.vocabSize} tokens but the model's vocabulary is ${cfg.model.vocabSize}.`);
		const train = rowsOf(p.tokens.splits, 'train');
		const validation = rowsOf(p.tokens.splits, 'validation');
		const latest = await latestCheckpoint(runId);
		let state: LoopState;
		if (latest) {
			const { manifest, tensors } = await loadCheckpoint(latest.id);
			session = ClassifierSession.fromTensors(cfg, tensors, special(p.tokenizer), manifest.trainerState.optimizerStep);
			state = manifest.trainerState;
			await deleteMetricsAfter(runId, manifest.step);
		} else {
			session = ClassifierSession.create(cfg, special(p.tokenizer));
			state = initialLoopState(cfg, train);
		}
		const backend = backendInfo() ?? (await initBackend());
		const totalSteps = stepsPerEpoch(train.length, cfg.train.batchSize) * cfg.train.epochs;
		const step = state.epoch * stepsPerEpoch(train.length, cfg.train.batchSize) + state.stepInEpoch;
		await updateRun(runId, { status: 'running', backend, totalSteps, error: undefined });
		onEvent({ type: 'started', runId, backend, totalSteps, step });
		let bestId = p.run.bestCheckpointId;

		const outcome = await trainLoop(session, { tokens: p.tokens, train, validation }, cfg, state, {
			control: () => control,
			onMetrics: async (point, total, etaSec) => {
				await appendMetrics([{ runId, ...point }]);
				await updateRun(runId, { step: point.step, epoch: point.epoch });
				onEvent({ type: 'metrics', point: { runId, ...point }, step: point.step, totalSteps: total, etaSec });
			},
			onCheckpoint: async (snap) => {
				const id = newId('ckpt_');
				await saveCheckpoint(
					{ id, runId, step: snap.step, epoch: snap.epoch, createdAt: Date.now(), config: cfg, trainerState: snap.state, valAccuracy: snap.valAccuracy, best: snap.best },
					snap.tensors
				);
				const patch: Partial<Run> = { lastCheckpointId: id, step: snap.step };
				if (snap.best) Object.assign(patch, { bestCheckpointId: (bestId = id), bestValAccuracy: snap.valAccuracy });
				await pruneCheckpoints(runId, KEEP_CHECKPOINTS, bestId ? [bestId] : []);
				await updateRun(runId, patch);
				onEvent({ type: 'checkpoint', checkpointId: id, step: snap.step });
			}
		});
		const status: RunStatus = outcome;
		const prev = (await getRun(runId))!;
		await updateRun(runId, { status, trainMs: prev.trainMs + (performance.now() - started) });
		session.dispose();
		session = null;
		if (status === 'completed') await api.evaluate(runId);
		onEvent({ type: 'status', status });
		return status;
	} catch (e) {
		const message = (e as Error).message ?? String(e);
		const last = await latestCheckpoint(runId).catch(() => undefined);
		await updateRun(runId, { status: last ? 'paused' : 'failed', error: message }).catch(() => {});
		onEvent({ type: 'status', status: 'failed', message });
		throw e;
	} finally {
		session?.dispose();
		training = null;
	}
}

export const api = {
	/** Start the compute backend, sweep half-written checkpoints, and settle runs a closed tab left "running". */
	async init(prefer?: BackendName[]) {
		await openDb();
		// Sweep half-written checkpoints only when no tab is training (and so writing one).
		const swept = await locked((free) => (free ? sweepOrphanChunks() : Promise.resolve(0)), true);
		const backend = await initBackend(prefer);
		return { backend, swept };
	},

	backend: () => backendInfo(),
	gpuErrors: () => [...gpuErrorLog()],
	memory: () => memoryInfo(),
	ping: () => Date.now(),

	/** Compare the active backend's forward pass and gradients with the CPU's on a small model. */
	async checkBackend(config: RunConfig, withDropout = false) {
		if (training) throw new Error('A run is training; check the backend when it has finished.');
		await initBackend();
		return { gradients: await checkBackendAgainstCpu(config, withDropout), steps: await checkStepsAgainstCpu(config) };
	},

	/** Time the training step of a model shape on this device (for the bench scripts and curious users). */
	async benchmark(config: RunConfig, seqLen: number, steps = 5) {
		if (training) throw new Error('A run is training; benchmark when it has finished.');
		await initBackend();
		return benchmarkTrainStep(config, seqLen, steps);
	},

	/** A run whose tab closed mid-training is paused at its last checkpoint. */
	async settleInterrupted(runs: string[]): Promise<void> {
		for (const id of runs) {
			if (id === training) continue;
			const run = await getRun(id);
			if (run?.status !== 'running') continue;
			const last = await latestCheckpoint(id);
			await updateRun(id, last ? { status: 'paused', step: last.step, epoch: last.epoch, lastCheckpointId: last.id } : { status: 'created', step: 0 });
		}
	},

	async createRun(args: { projectId: string; datasetVersionId: string; datasetHash: string; tokenizerHash: string; config: RunConfig; name: string }): Promise<Run> {
		const errs = validateRunConfig(args.config);
		if (errs.length) throw new UserError('invalid-config', errs.join(' '));
		const now = Date.now();
		const run: Run = {
			id: newId('run_'),
			...args,
			createdAt: now,
			updatedAt: now,
			status: 'created',
			step: 0,
			totalSteps: 0,
			epoch: 0,
			trainMs: 0
		};
		await putRun(run);
		return run;
	},

	/** Train a run from its last checkpoint (or from scratch) until it completes, pauses or stops. */
	async train(runId: string, onEvent: (e: TrainEvent) => void): Promise<RunStatus> {
		if (training) throw new Error('A run is already training in this engine.');
		return locked(() => trainRun(runId, onEvent));
	},

	pause() {
		control = 'pause';
	},

	stop() {
		control = 'stop';
	},

	/** Score a checkpoint on a split; the result is stored with the run. */
	async evaluate(runId: string, checkpointId?: string, split: SplitName = 'test', onProgress?: (done: number, total: number) => void): Promise<EvaluationResult> {
		const p = await prepare(runId);
		const w = await warmSession(p, checkpointId);
		const rows = rowsOf(p.tokens.splits, split);
		if (!rows.length) throw new UserError('not-found', `The ${split} split is empty.`);
		const out = await w.session.evaluate(p.tokens, rows, (done) => onProgress?.(done, rows.length));
		const result: EvaluationResult = {
			split,
			checkpointId: w.checkpointId,
			step: w.step,
			loss: out.loss,
			count: rows.length,
			createdAt: Date.now(),
			...classificationReport(out.labels, out.preds, p.labels)
		};
		await updateRun(runId, { evaluation: result });
		return result;
	},

	/** Class probabilities for one text typed by the user. */
	async predict(runId: string, text: string, checkpointId?: string): Promise<Prediction> {
		// Typing in the box predicts again and again: reuse the warm model and its tokenizer, and
		// read only the run record to learn which checkpoint is wanted.
		const run = await getRun(runId);
		const id = checkpointId ?? run?.bestCheckpointId ?? run?.lastCheckpointId;
		const w = warm && warm.checkpointId === id ? warm : await warmSession(await runContext(runId), checkpointId);
		const { tokenizer, labels } = w.context;
		const ids = tokenizer.encode(text);
		const tokens: TokenRows = { ids: Int32Array.from(ids), offsets: Int32Array.from([0, ids.length]), labels: Int32Array.from([0]) };
		const probs = await w.session.probs(w.session.batch(tokens, [0]));
		const probabilities = labels.map((label, i) => ({ label, p: probs[i] })).sort((a, b) => b.p - a.p);
		return { label: probabilities[0].label, probabilities, tokens: Math.min(ids.length, w.session.config.model.contextLength) };
	}
};

export type EngineApi = typeof api;
