/**
 * What the engine worker does, as plain async functions: it wires the engine (src/lib/engine) to
 * storage (src/lib/storage). The worker reads datasets and writes runs, metrics and checkpoints
 * itself, so weights never cross postMessage; the page passes ids and gets progress events.
 * `engine.worker.ts` only exposes this object; tests call it directly in Node.
 */
import { initBackend, backendInfo, gpuErrorLog, deviceLost, destroyDeviceForTest, DeviceLostError, lostDeviceBehind, recoverBackend, gpuBytes, type BackendName } from '../src/lib/engine/backend';
import { applyBackendMode, chooseBackend, type BackendPreference } from './backend-choice';
import { ClassifierSession } from '../src/lib/engine/classifier';
import { evaluationAt, multilabelReport, runThreshold } from '../src/lib/engine/eval/multilabel';
import { isMultiLabel } from '../src/lib/data/labels';
import { PretrainedSession } from '../src/lib/engine/pretrained';
import { hubFileReader, loadHubModel } from './pretrained';
import { insideApi } from './inside-api';
import { insideWhyApi } from './inside-why-api';
import { generateStream, type GenerateOptions } from '../src/lib/engine/generate';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import { encodePrompt } from '../src/lib/data/chat';
import { generalPerplexity, runGenerationBaseline, runPromptBaseline, type GenerationBaselineArgs, type PromptBaselineArgs } from './baselines';
import { DEFAULT_GENERATION_ROWS, DEFAULT_MAX_NEW_TOKENS, generateAndScore, generationItems } from './generation-eval';
import { loadModel, runParity, type ParityCheck, type ParityReference } from '../src/lib/engine/models/parity';
import type { ModelRef } from '../src/lib/shared/hub';
import { DivergedError, initialLoopState, loopHooks, stepsPerEpoch, totalSteps as plannedSteps, trainLoop, type Control, type LoopState } from '../src/lib/engine/train/loop';
import { memoryInfo } from '../src/lib/engine/tensors';
import { fusedOptimizerCheck } from '../src/lib/engine/train/fused-check';
import { loraTrainingCheck } from '../src/lib/engine/train/lora-check';
import { curveCheck, type CurveModel } from '../src/lib/engine/train/curve-check';
import { compiledCheck } from '../src/lib/engine/compiled/check';
import { checkpointTrainingCheck, type CheckpointCheckOptions } from '../src/lib/engine/train/checkpoint-check';
import { splitTrainingCheck } from '../src/lib/engine/train/split-check';
import { fusedKernelCheck } from '../src/lib/engine/ops/fused/check';
import type { Reductions } from '../src/lib/engine/ops/fused/reductions';
import { benchmarkTrainStep } from '../src/lib/engine/bench';
import { benchmarkPretrained } from '../src/lib/engine/bench-hf';
import { runStepBench, type StepBenchRequest } from '../src/lib/engine/bench-step';
import { adapterZip, ggufZip, modelZip, onnxZip, recipeMemory, recipeZip, scratchZip, servingZip, type CardContext, type ExportedZip } from './export';
import { demoSpec, demoZip } from './demo';
import type { GgmlType } from '../src/lib/export/gguf';
import { reproducibility } from '../src/lib/export/recipe';
import { importAdapterFolder, importModelFolder, LOCAL_MODEL_FILES, localModelRef, unzipFolder, type FolderFiles } from '../src/lib/engine/io/import';
import { exportHfModel } from '../src/lib/engine/io/export';
import { estimateMemory } from '../src/lib/shared/memory';
import { putModelFile } from '../src/lib/storage';
import type { ModelInspection } from '../src/lib/shared/hub';

/** A chosen directory's files by their path inside it (the browser gives `dir/sub/file`). */
function stripTopFolder(files: Record<string, Uint8Array>): FolderFiles {
	const names = Object.keys(files);
	const tops = new Set(names.map((n) => (n.includes('/') ? n.split('/')[0] : '')));
	const cut = tops.size === 1 && !tops.has('') ? [...tops][0].length + 1 : 0;
	return Object.fromEntries(names.map((n) => [n.slice(cut), files[n]]));
}
import { assertWithinBufferLimits, checkModelBufferLimits } from '../src/lib/engine/models/limits';
import { checkBackendAgainstCpu, checkStepsAgainstCpu } from '../src/lib/engine/selfcheck';
import { labelSetsOf, type TokenRows } from '../src/lib/engine/batching';
import { classificationReport } from '../src/lib/engine/eval/report';
import { buildEvaluation } from '../src/lib/engine/eval/evaluation';
import { loadRows } from '../src/lib/storage';
import type { EvaluateOptions } from '../src/lib/shared/types';
import { TextTokenizer, loadHubTokenizer } from '../src/lib/data/tokenizer';
import { UserError } from '../src/lib/shared/errors';
import { PhaseReporter, type PhaseProgress } from '../src/lib/shared/phases';
import { RUN_LOCK_PREFIX, TRAINING_LOCK, runsTrainingAnywhere } from '../src/lib/shared/tabs';
import { sweepOrphanRecords } from '../src/lib/storage/orphans';
import { isMultiLabelRun, normalizeTrainConfig, validateRunConfig, type RunConfig } from '../src/lib/shared/config';
import { SPLIT_CODE, type EvaluationResult, type Prediction, type Run, type RunStatus, type SplitName, type TrainEvent } from '../src/lib/shared/types';
import {
	appendMetrics, deleteMetricsAfter, getDatasetVersion, getRun, getTokenized, getTokenizer, latestCheckpoint,
	getModelFile, loadCheckpoint, newId, pruneCheckpoints, putRun, saveCheckpoint, sweepOrphanChunks,
	tokenizedKey, updateRun, openDb
} from '../src/lib/storage';
import { checkpointHooks, copyCheckpoint, copyMetrics, deleteCheckpoint, deleteRun, listCheckpoints, listRuns } from '../src/lib/storage';
import { baseInit, keepCheckpoints, MAX_KEEP_CHECKPOINTS, type PretrainedWithInit, type TrainWithKeep } from '../src/lib/shared/lineage';
import type { SafetensorsTensor } from '../src/lib/engine/io';
import type { Objective } from '../src/lib/shared/config';
import { compiledStepsEnabled, fastPathEnabled, setCompiledSteps, setFastPath, useFastPath } from '../src/lib/engine/fast-path';
import { bufferLimit } from '../src/lib/engine/ops/split';

const KEEP_CHECKPOINTS = 3;

let control: Control = 'run';
let stopGenerating = false;
let training: string | null = null;
/** Aborts a start that waits for another tab's training (Stop, or deleting its project). */
let waiting: AbortController | null = null;
/**
 * Where scoring tells its phases (scoring the split, generating the answers): the training run's
 * event stream while a finished run scores its test split; nowhere for the Evaluate screen's jobs,
 * which count through their own progress callback.
 */
let phaseSink: ((p: PhaseProgress | null) => void) | null = null;
const phaseReporter = (base: Omit<PhaseProgress, 'done' | 'etaSec'>) => (phaseSink ? new PhaseReporter(phaseSink, base) : undefined);
/** The last model used for evaluation or prediction, kept warm on the GPU. */
/** What a run needs to read and write text: its record, tokenizer and label names. */
interface RunContext {
	run: Run;
	tokenizer: TextTokenizer;
	labels: string[];
	/** A pretrained model's tokenizer_config.json (special tokens, chat template). */
	tokenizerConfig?: Record<string, unknown>;
}

type Session = ClassifierSession | PretrainedSession;

interface Prepared extends RunContext {
	tokens: TokenRows & { splits: Uint8Array };
}

/** A base model from the cache (no run), kept warm for the playground and baselines. */
let warmBase: { key: string; spec: ArchSpec; config: HfConfigBase; params: Params; tokenizer: TextTokenizer; tokenizerConfig: Record<string, unknown>; hfConfig: Record<string, unknown> } | null = null;

async function baseModel(ref: ModelRef): Promise<NonNullable<typeof warmBase>> {
	const key = `${ref.repo}@${ref.revision}`;
	if (warmBase?.key === key) return warmBase;
	// One base model on the GPU at a time: free the old one before loading the next.
	disposeBase();
	const { config: json, tensors } = await loadHubModel(ref);
	const { tokenizer, config: tokenizerConfig } = await loadHubTokenizer(hubFileReader(ref), ref.repo);
	const { spec, config, params } = loadModel(json, tensors);
	warmBase = { key, spec, config, params, tokenizer, tokenizerConfig, hfConfig: json };
	return warmBase;
}

function disposeBase(): void {
	if (warmBase) Object.values(warmBase.params).forEach((t) => t.dispose());
	warmBase = null;
}

/** The last model used for evaluation or prediction, kept warm on the GPU with its run context. */
let warm: { checkpointId: string; step: number; session: Session; context: RunContext } | null = null;

async function runContext(runId: string): Promise<RunContext> {
	const run = await getRun(runId);
	if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
	const version = await getDatasetVersion(run.datasetVersionId);
	if (!version) throw new UserError('not-found', 'The dataset version this run was trained on has been deleted; its results can no longer be recomputed.');
	if (!run.tokenizerHash) throw new Error('This run has no tokenizer yet; prepare tokens before training.');
	const rec = await getTokenizer(run.tokenizerHash);
	if (!rec) throw new UserError('not-found', 'The tokenizer of this run is missing. Start a new run to tokenize the dataset again.');
	const p = run.config.pretrained;
	if (!p) return { run, tokenizer: await TextTokenizer.fromJson(rec.json), labels: version.labels };
	// The same loader the data worker tokenized with (tokenizer_config and special_tokens_map merged),
	// over the run's own stored tokenizer.json, so a run still evaluates if its model left the cache.
	const cached = hubFileReader({ repo: p.repo, revision: p.revision });
	const { tokenizer, config } = await loadHubTokenizer((file) => (file === 'tokenizer.json' ? Promise.resolve(new TextEncoder().encode(rec.json).buffer as ArrayBuffer) : cached(file)), p.repo);
	return { run, tokenizer, labels: version.labels, tokenizerConfig: config };
}

/** The run context plus every row's token ids (the whole dataset: only for training and evaluation). */
async function prepare(runId: string): Promise<Prepared> {
	const ctx = await runContext(runId);
	const cache = await getTokenized(ctx.run.tokenizedKey ?? tokenizedKey(ctx.run.datasetVersionId, ctx.run.tokenizerHash!));
	if (!cache) throw new UserError('not-found', 'The tokenized data for this run is missing. Start a new run to tokenize the dataset again.');
	if (!isMultiLabelRun(ctx.run.config)) return { ...ctx, tokens: cache };
	// Multi-label: the label sets come from the stored rows (classification tokens keep the rows' order, one each).
	const rows = await loadRows(ctx.run.datasetVersionId);
	if (rows.length !== cache.labels.length) throw new Error(`The tokens hold ${cache.labels.length} rows but the dataset version has ${rows.length}; start a new run to tokenize it again.`);
	return { ...ctx, tokens: { ...cache, labelSets: labelSetsOf(rows.map((r) => r.labels ?? [r.label]), ctx.labels.length) } };
}


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

/**
 * Train under two locks: the run's own (taken at once or refused: a run trains in one tab at a
 * time) and the origin's training lock (one run trains at a time, so the GPU and a tab's sweep are
 * safe). While another tab holds the training lock, the start says what it waits for.
 */
function trainLocked<T>(runId: string, onEvent: (e: TrainEvent) => void, fn: () => Promise<T>): Promise<T> {
	const locks = (globalThis.navigator as Navigator | undefined)?.locks;
	if (!locks) return fn();
	return locks.request(RUN_LOCK_PREFIX + runId, { ifAvailable: true }, async (own) => {
		if (!own) throw new UserError('invalid-config', 'This run is training in another tab of the studio. Watch it there, or pause it there before resuming it here.');
		return locks.request(TRAINING_LOCK, { ifAvailable: true }, async (lock) => {
			if (lock) return fn();
			onEvent({ type: 'phase', phase: { phase: 'waiting', done: 0, total: 0, unit: '', note: 'another tab of the studio is training; this run starts when that one pauses, stops or finishes' } });
			const abort = (waiting = new AbortController());
			try {
				return await locks.request(TRAINING_LOCK, { signal: abort.signal }, () => {
					waiting = null;
					onEvent({ type: 'phase', phase: null });
					return fn();
				});
			} catch (e) {
				if (abort.signal.aborted) {
					// A new run that never trained leaves no record behind; a run being resumed stays as it was.
					const run = await getRun(runId);
					const untouched = run?.status === 'created' && (await listCheckpoints(runId)).length === 0;
					if (untouched) await deleteRun(runId);
					throw new UserError('cancelled', `The run did not start: it was stopped while it waited for the other tab. ${untouched ? 'It is removed from the list; nothing was stored.' : 'It stays as it was.'}`);
				}
				throw e;
			} finally {
				if (waiting === abort) waiting = null;
			}
		});
	}) as Promise<T>;
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
	await freshBackendIfLost();
	const id = checkpointId ?? ctx.run.bestCheckpointId ?? ctx.run.lastCheckpointId;
	if (!id) throw new UserError('not-found', 'This run has no checkpoint yet. Train it for a few steps first.');
	if (warm?.checkpointId === id) return warm;
	const { manifest, tensors } = await loadCheckpoint(id);
	warm?.session.dispose();
	warm = null;
	const session = manifest.config.pretrained
		? PretrainedSession.fromTensors(manifest.config, tensors, special(ctx.tokenizer), ctx.labels, 0, await loraBase(manifest.config))
		: ClassifierSession.fromTensors(manifest.config, tensors, special(ctx.tokenizer), 0);
	warm = { checkpointId: id, step: manifest.step, session, context: ctx };
	return warm;
}

/**
 * A lost GPU device took every tensor on it: drop the warm models and start the backend again (a
 * new device, else WebGL or the CPU; engine/backend.ts) before anything loads weights.
 */
async function freshBackendIfLost(): Promise<void> {
	if (!deviceLost()) return;
	warm?.session.dispose();
	warm = null;
	disposeBase();
	await recoverBackend();
}

/** The page's stop flag, asked across the worker boundary (a comlink proxy answers with a promise). */
type StopQuery = () => boolean | Promise<boolean>;

/**
 * A language-modelling run scored on a split: token-weighted loss, perplexity and next-token
 * accuracy (the packed blocks, or the responses of prompt/response pairs). An instruction run then
 * answers the first `generationRows` prompts of the split greedily and is scored on its answers
 * (BLEU, ROUGE, exact match; see workers/generation-eval.ts). Progress counts the loss pass's rows,
 * then the generated answers.
 */
async function evaluateLm(
	runId: string,
	checkpointId: string | undefined,
	split: SplitName,
	onProgress?: (done: number, total: number) => void,
	options: EvaluateOptions = {},
	shouldStop?: StopQuery
): Promise<EvaluationResult> {
	const p = await prepare(runId);
	const w = await warmSession(p, checkpointId);
	const session = w.session as PretrainedSession;
	const rows = rowsOf(p.tokens.splits, split);
	if (!rows.length) throw new UserError('not-found', `The ${split} split is empty.`);
	const instruction = session.objective === 'instruction';
	const items = instruction ? generationItems(await loadRows(p.run.datasetVersionId), split, options.generationRows ?? DEFAULT_GENERATION_ROWS) : [];
	const total = rows.length + items.length;
	// Poll the page's stop flag between batches and tokens (a comlink proxy answers asynchronously).
	let stop = false;
	const ask = () => {
		if (shouldStop) void Promise.resolve(shouldStop()).then((s) => (stop ||= !!s), () => {});
	};
	const scoring = phaseReporter({ phase: 'scoring', total: rows.length, unit: 'rows', cancellable: true });
	const out = await session.evaluate(
		p.tokens,
		rows,
		(done) => {
			onProgress?.(done, total);
			scoring?.tick(done);
			ask();
		},
		() => stop
	);
	scoring?.end();
	const result: EvaluationResult = {
		split,
		checkpointId: w.checkpointId,
		step: w.step,
		loss: out.loss,
		count: rows.length,
		createdAt: Date.now(),
		accuracy: out.accuracy,
		macroF1: 0,
		perClass: [],
		confusion: [],
		labels: [],
		lm: { perplexity: Math.exp(out.loss), tokenAccuracy: out.accuracy, ...(out.perRow ? { examples: out.perRow } : {}) },
		datasetVersionId: p.run.datasetVersionId,
		datasetHash: p.run.datasetHash
	};
	if (instruction) {
		const answering = phaseReporter({ phase: 'generating', total: items.length, unit: 'prompts', cancellable: true });
		let answered = 0;
		let share = 0;
		result.generation = await generateAndScore(
			{ spec: session.spec, config: session.hf, params: session.modelParams, tokenizer: p.tokenizer, tokenizerConfig: p.tokenizerConfig ?? {} },
			items,
			{
				split,
				maxNewTokens: options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
				resamples: options.resamples,
				seed: options.seed,
				onProgress: (done) => {
					onProgress?.(rows.length + done, total);
					answering?.tick((answered = done), undefined, share);
				},
				// Answers grow token by token: the bar and the time left follow the tokens.
				onTokens: (done, max) => answering?.tick(answered, undefined, (share = max ? done / max : 0)),
				// Asked before every batched step: each is a forward pass over several prompts.
				shouldStop: () => {
					ask();
					return stop;
				}
			}
		);
		answering?.end();
	}
	if (stop) throw new UserError('cancelled', 'Evaluation was cancelled; the stored results are as they were.');
	await updateRun(runId, { evaluation: result });
	return result;
}

/** Train a run from its last checkpoint (or from scratch) until it completes, pauses or stops. */
async function trainRun(runId: string, onEvent: (e: TrainEvent) => void, preference?: BackendPreference): Promise<RunStatus> {
	training = runId;
	const started = performance.now();
	let session: Session | null = null;
	const phase = (p: PhaseProgress | null) => onEvent({ type: 'phase', phase: p });
	/** The last step this session logged, for the message if the GPU device is lost. */
	let reached = 0;
	try {
		await freshBackendIfLost();
		phase({ phase: 'preparing', done: 0, total: 0, unit: 'rows', note: 'reading the tokens and the tokenizer from the cache' });
		const p = await prepare(runId);
		const cfg = p.run.config;
		if (!cfg.pretrained && p.tokenizer.vocabSize > cfg.model.vocabSize)
			throw new UserError('invalid-config', `The tokenizer has ${p.tokenizer.vocabSize} tokens but the model's vocabulary is ${cfg.model.vocabSize}.`);
		const train = rowsOf(p.tokens.splits, 'train');
		const validation = rowsOf(p.tokens.splits, 'validation');
		const latest = await latestCheckpoint(runId);
		// Before any model of this run holds tensors: the checkpoint or the new model goes onto the chosen backend.
		await chooseBackend(p, train, preference, {
			phase,
			stopped: () => control === 'stop',
			release: () => {
				warm?.session.dispose();
				warm = null;
				disposeBase();
			},
			startingTensors
		});
		phase({ phase: 'loading-model', done: 0, total: 0, unit: '', note: latest ? `from the checkpoint at step ${latest.step}` : cfg.pretrained ? cfg.pretrained.repo : 'a new model' });
		let state: LoopState;
		if (latest) {
			const { manifest, tensors } = await loadCheckpoint(latest.id);
			const step = manifest.trainerState.optimizerStep;
			session = cfg.pretrained
				? PretrainedSession.fromTensors(cfg, tensors, special(p.tokenizer), p.labels, step, await loraBase(cfg))
				: ClassifierSession.fromTensors(cfg, tensors, special(p.tokenizer), step);
			state = manifest.trainerState;
			await deleteMetricsAfter(runId, manifest.step);
		} else {
			if (warm) {
				// Free the GPU for training: warm models are reloaded when needed.
				warm.session.dispose();
				warm = null;
			}
			disposeBase();
			session = cfg.pretrained
				? await PretrainedSession.fromPretrained(cfg, await startingTensors(cfg), special(p.tokenizer), p.labels)
				: ClassifierSession.create(cfg, special(p.tokenizer));
			state = initialLoopState(cfg, train);
		}
		const backend = backendInfo() ?? (await initBackend());
		if (session instanceof PretrainedSession && backend.maxStorageBufferBindingSize) {
			const report = checkModelBufferLimits(
				session.spec,
				session.hf,
				{ batchSize: cfg.train.batchSize, seqLength: cfg.pretrained!.contextLength },
				backend.maxStorageBufferBindingSize,
				{ fastPath: backend.name === 'webgpu' && fastPathEnabled(), maxBufferBytes: bufferLimit() ?? undefined }
			);
			assertWithinBufferLimits(report);
		}
		const totalSteps = plannedSteps(train.length, cfg.train);
		const step = state.epoch * stepsPerEpoch(train.length, cfg.train.batchSize, cfg.train.gradAccumSteps) + state.stepInEpoch;
		await updateRun(runId, { status: 'running', backend, totalSteps, error: undefined });
		phase(null);
		reached = step;
		onEvent({ type: 'started', runId, backend, totalSteps, step });
		let bestId = p.run.bestCheckpointId;
		// Pruning keeps the newest checkpoints: while the watchdog counts strikes those are suspect,
		// so the last good one is protected until a newer good one replaces it.
		let goodId = latest && !latest.suspect ? latest.id : undefined;
		const objective = cfg.pretrained?.objective ?? 'classification';
		const classes = objective === 'classification' ? p.labels.length : p.tokenizer.vocabSize;
		// A sigmoid per label starts near ln 2 per label slot, whatever the number of labels.
		const chanceLoss = isMultiLabelRun(cfg) ? Math.log(2) : classes > 1 ? Math.log(classes) : undefined;

		// Compiled steps (engine/compiled/) this session, added to the run's earlier sessions'.
		const compiledBefore = p.run.compiledSteps;
		const live = session;
		const compiledFigures = (at: number): Partial<Run> => {
			const c = live.compiledSummary();
			if (!c || !useFastPath()) return {};
			// Micro-batches: a replay is one, and a step of an accumulated batch is several.
			const steps = (compiledBefore?.steps ?? 0) + (at - step) * Math.max(1, normalizeTrainConfig(cfg.train).gradAccumSteps);
			const refused = c.refused[0] ?? compiledBefore?.refused;
			return { compiledSteps: { replayed: (compiledBefore?.replayed ?? 0) + c.replays, steps, ...(c.stats ? { dispatches: c.stats.dispatches } : compiledBefore?.dispatches ? { dispatches: compiledBefore.dispatches } : {}), ...(refused ? { refused } : {}) } };
		};
		const outcome = await trainLoop(session, { tokens: p.tokens, train, validation, chanceLoss }, cfg, state, {
			control: () => control,
			onPhase: phase,
			onMetrics: async (point, total, etaSec) => {
				// After a lost device, numbers read back are not the model's: store none.
				if (deviceLost()) throw new Error('the GPU device was lost');
				reached = point.step;
				await appendMetrics([{ runId, ...point }]);
				await updateRun(runId, { step: point.step, epoch: point.epoch, ...compiledFigures(point.step) });
				onEvent({ type: 'metrics', point: { runId, ...point }, step: point.step, totalSteps: total, etaSec });
			},
			onCheckpoint: async (snap) => {
				if (deviceLost()) throw new Error('the GPU device was lost');
				const id = newId('ckpt_');
				let writing: PhaseReporter | undefined;
				await saveCheckpoint(
					{ id, runId, step: snap.step, epoch: snap.epoch, createdAt: Date.now(), config: cfg, trainerState: snap.state, valAccuracy: snap.valAccuracy, best: snap.best, ...(snap.suspect ? { suspect: true } : {}) },
					snap.tensors,
					undefined,
					(written, chunks) => (writing ??= new PhaseReporter(phase, { phase: 'checkpoint', total: chunks, unit: 'chunks', note: `step ${snap.step}` })).tick(written)
				);
				const patch: Partial<Run> = { lastCheckpointId: id, step: snap.step };
				if (snap.best) Object.assign(patch, { bestCheckpointId: (bestId = id), bestValAccuracy: snap.valAccuracy });
				if (!snap.suspect) goodId = id;
				await pruneCheckpoints(runId, await keepFor(runId, cfg), [bestId, goodId].filter((x): x is string => !!x));
				await updateRun(runId, patch);
				onEvent({ type: 'checkpoint', checkpointId: id, step: snap.step });
			}
		});
		const status: RunStatus = outcome.outcome;
		// Early stopping ends a run as completed, with why.
		const note = outcome.reason;
		const trainMs = (await getRun(runId))!.trainMs + (performance.now() - started);
		session.dispose();
		session = null;
		// Score the test split before the run says "completed", so a reader (or a reload) never
		// finds a completed run without its result. A failed evaluation does not undo the training,
		// and neither does Stop while it scores: the run is completed, unscored, and says how to score it.
		let evalError: string | undefined;
		let unscored: string | undefined;
		// An experiment's trial or fold is chosen on validation only: its test split stays unscored.
		if (status === 'completed' && !p.run.experiment) {
			phaseSink = phase;
			phase({ phase: 'loading-model', done: 0, total: 0, unit: '', note: 'its best checkpoint, to score the test split' });
			try {
				await api.evaluate(runId, undefined, 'test', undefined, {}, () => control === 'stop');
			} catch (e) {
				if ((e as UserError).code === 'cancelled')
					unscored = 'Training completed; scoring the test split was stopped, so this run has no test result yet. Score it with Evaluate.';
				else evalError = `Training finished, but scoring the test split failed: ${(e as Error).message}`;
			} finally {
				phaseSink = null;
				phase(null);
			}
		}
		const said = [note, unscored].filter(Boolean).join(' ') || undefined;
		await updateRun(runId, { status, trainMs, error: evalError, note: said });
		onEvent({ type: 'status', status, message: evalError ?? said });
		return status;
	} catch (thrown) {
		// A lost GPU device fails whatever read came next: say that instead (paused at the last checkpoint).
		const loss = await lostDeviceBehind();
		const e = loss ? new DeviceLostError(loss, reached, (await latestCheckpoint(runId).catch(() => undefined))?.step) : thrown;
		const message = (e as Error).message ?? String(e);
		if (e instanceof DivergedError) await discardSuspect(runId).catch(() => {});
		const last = await latestCheckpoint(runId).catch(() => undefined);
		// A diverged run would diverge the same way again if resumed exactly: it fails, keeping its
		// last good checkpoints to evaluate or branch from with other settings. Anything else
		// (a crash, a full disk) pauses at the last checkpoint so Resume continues.
		const diverged = (e as UserError).code === 'training-diverged';
		// A paused run is where its checkpoint is (a lost device, a full disk, a crash): the steps
		// after it are retrained on Resume, so the run row must not count them.
		const at = last && (loss || !diverged) ? { step: last.step, epoch: last.epoch, lastCheckpointId: last.id } : {};
		await updateRun(runId, { status: last && !diverged ? 'paused' : 'failed', error: message, ...at }).catch(() => {});
		onEvent({ type: 'status', status: 'failed', message });
		throw e;
	} finally {
		session?.dispose();
		training = null;
		phaseSink = null;
		phase(null);
	}
}

/**
 * After the watchdog stops a run: delete the checkpoints saved while the loss was above its limit,
 * and point the run's last and best checkpoints at what is left.
 */
async function discardSuspect(runId: string): Promise<void> {
	const all = await listCheckpoints(runId);
	const doomed = all.filter((c) => c.suspect);
	if (!doomed.length) return;
	for (const c of doomed) await deleteCheckpoint(c.id);
	const left = all.filter((c) => !c.suspect);
	const run = await getRun(runId);
	const patch: Partial<Run> = { lastCheckpointId: left.at(-1)?.id, step: left.at(-1)?.step ?? 0 };
	if (run?.bestCheckpointId && !left.some((c) => c.id === run.bestCheckpointId)) {
		const best = left.filter((c) => c.best).at(-1);
		Object.assign(patch, { bestCheckpointId: best?.id, bestValAccuracy: best?.valAccuracy });
	}
	await updateRun(runId, patch);
}

/** Retention for the next prune: the stored run's setting, which the page may change while it trains. */
async function keepFor(runId: string, config: RunConfig): Promise<number> {
	return keepCheckpoints((await getRun(runId))?.config ?? config, KEEP_CHECKPOINTS);
}

/**
 * The weights a pretrained run starts from: the Hub download or, for a linked run
 * (`pretrained.init`), the checkpoint of the run it builds on. Optimizer moments are left out (a
 * new objective starts a new optimizer), and so is the LM head when a language model becomes a
 * classifier, so the classification head is initialised fresh (`initMissing`).
 */
/** A LoRA checkpoint holds only the adapter (and head): the frozen base comes from where the run started. */
async function loraBase(cfg: RunConfig): Promise<Map<string, SafetensorsTensor> | undefined> {
	return cfg.pretrained?.method?.kind === 'lora' ? startingTensors(cfg) : undefined;
}

export async function startingTensors(cfg: RunConfig): Promise<Map<string, SafetensorsTensor>> {
	const p = cfg.pretrained;
	if (!p) throw new Error('startingTensors needs a run config with `pretrained` set.');
	const init = baseInit(cfg);
	if (!init) return (await loadHubModel(p)).tensors;
	const { manifest, tensors } = await loadCheckpoint(init.checkpointId).catch((e) => {
		if ((e as UserError).code !== 'not-found') throw e;
		throw new UserError('not-found', `The checkpoint this run starts from (step ${init.step} of run ${init.runId}) has been deleted. Start a new run from another checkpoint or from the Hub weights.`);
	});
	const from = manifest.config.pretrained;
	if (!from || from.repo !== p.repo || from.revision !== p.revision)
		throw new UserError('invalid-config', `The checkpoint this run starts from is not a fine-tuned ${p.repo}@${p.revision.slice(0, 8)}; the weights and config.json would not belong together.`);
	if (from.method?.kind === 'lora')
		throw new UserError('invalid-config', 'That checkpoint holds a LoRA adapter, not full weights. Start from a fully fine-tuned run, or export the LoRA run merged and continue from the Hub weights.');
	const dropLmHead = p.objective === 'classification' && from.objective !== 'classification';
	const out = new Map<string, SafetensorsTensor>();
	for (const [name, t] of tensors) {
		if (name.startsWith('optimizer.') || (dropLmHead && name === 'lm_head.weight')) continue;
		out.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
	}
	return out;
}

/** A new run that continues `runId` from one of its checkpoints; see `api.branchRun`. */
async function branch(runId: string, checkpointId: string, name?: string): Promise<Run> {
	const parent = await getRun(runId);
	if (!parent) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
	if (parent.baseline) throw new UserError('invalid-config', 'A baseline was not trained; there is nothing to resume.');
	if (!(await listCheckpoints(runId)).some((c) => c.id === checkpointId))
		throw new UserError('not-found', `That checkpoint of ${parent.name} is no longer stored (older checkpoints are pruned). Pick another one.`);
	const id = newId('run_');
	// The checkpoint first: a run without it would train from scratch.
	const copy = await copyCheckpoint(checkpointId, id);
	try {
		await copyMetrics(runId, id, copy.step);
		const now = Date.now();
		const run: Run = {
			id,
			projectId: parent.projectId,
			name: name?.trim() || `${parent.name} · from step ${copy.step}`,
			createdAt: now,
			updatedAt: now,
			status: 'paused',
			config: parent.config,
			datasetVersionId: parent.datasetVersionId,
			datasetHash: parent.datasetHash,
			tokenizerHash: parent.tokenizerHash,
			tokenizedKey: parent.tokenizedKey,
			backend: parent.backend,
			step: copy.step,
			totalSteps: parent.totalSteps,
			epoch: copy.epoch,
			trainMs: 0,
			lastCheckpointId: copy.id,
			// Only a checkpoint that was the best so far is the branch's best: its trainer state agrees.
			...(copy.best ? { bestCheckpointId: copy.id, bestValAccuracy: copy.valAccuracy } : {}),
			parent: { runId, checkpointId, step: copy.step }
		};
		await putRun(run);
		return run;
	} catch (e) {
		await deleteRun(id).catch(() => {}); // the copied checkpoint and metrics go with it
		throw e;
	}
}

/** A pretrained run's checkpoint, loaded for export. */
async function exportable(runId: string, checkpointId?: string) {
	const ctx = await runContext(runId);
	const p = ctx.run.config.pretrained;
	if (!p) throw new UserError('invalid-config', "Only runs that fine-tune a Hugging Face model export in its format; this run trained the studio's own small model.");
	const w = await warmSession(ctx, checkpointId);
	return { ctx, w, s: w.session as PretrainedSession, p };
}

/** What a model card says besides the weights: the run, its dataset version, the project's scored baselines. */
async function cardContext(run: Run): Promise<CardContext> {
	const version = await getDatasetVersion(run.datasetVersionId);
	const baselines = (await listRuns(run.projectId)).filter((r) => r.baseline && r.evaluation && r.datasetVersionId === run.datasetVersionId);
	return { run, version, baselines };
}

export const api = {
	/** Start the compute backend, sweep half-written checkpoints, and settle runs a closed tab left "running". */
	async init(prefer?: BackendName[]) {
		await openDb();
		// Sweep half-written checkpoints only when no tab is training (and so writing one).
		// Records whose project or run is gone (a delete that raced a writer) go with them.
		const swept = await locked(async (free) => (free ? (await sweepOrphanRecords().catch(() => null), await sweepOrphanChunks()) : 0), true);
		const backend = await initBackend(prefer);
		return { backend, swept };
	},

	backend: () => backendInfo(),
	gpuErrors: () => [...gpuErrorLog()],
	memory: () => ({ ...memoryInfo(), ...gpuBytes() }),
	ping: () => Date.now(),

	/**
	 * Hold a Web Lock for as long as this worker lives; resolves once it is held. The page waits
	 * for the same lock: the browser hands it over the moment this worker ends, busy or not
	 * (client/bridge.ts).
	 */
	holdLifeLock(name: string): Promise<boolean> {
		const locks = (globalThis.navigator as Navigator | undefined)?.locks;
		if (!locks) return Promise.resolve(false);
		return new Promise((held) => {
			void locks.request(name, () => {
				held(true);
				return new Promise<never>(() => {});
			});
		});
	},

	/** Compare the active backend's forward pass and gradients with the CPU's on a small model. */
	async checkBackend(config: RunConfig, withDropout = false) {
		if (training) throw new Error('A run is training; check the backend when it has finished.');
		await initBackend();
		return { gradients: await checkBackendAgainstCpu(config, withDropout), steps: await checkStepsAgainstCpu(config) };
	},

	/**
	 * The fused WebGPU kernels (issue 10) against their composites on this worker's backend, on
	 * random odd shapes: max relative errors of each value and gradient, dispatches per op forward
	 * and backward on both paths, tensors leaked (src/lib/engine/ops/fused/check.ts).
	 */
	async fusedKernelCheck(seed = 1, reduce?: Reductions) {
		if (training) throw new Error('A run is training; check the kernels when it has finished.');
		await initBackend();
		return fusedKernelCheck(seed, reduce);
	},

	/**
	 * The fused WebGPU optimizer against the composites on this worker's backend (issue 10): max
	 * relative errors per optimizer, dispatches as the variables grow, tensor counts, a short
	 * training on both paths and resume exactness (src/lib/engine/train/fused-check.ts).
	 */
	async fusedOptimizerCheck(reduce?: Reductions) {
		if (training) throw new Error('A run is training; check the optimizer when it has finished.');
		await initBackend();
		return fusedOptimizerCheck(reduce);
	},

	/**
	 * LoRA training with adapter dropout on the fast path against the reference path, a replay,
	 * and dropout off (src/lib/engine/train/lora-check.ts).
	 */
	async loraTrainingCheck(steps?: number, dropout?: number) {
		if (training) throw new Error('A run is training; check LoRA when it has finished.');
		await initBackend();
		return loraTrainingCheck(steps, dropout);
	},

	/**
	 * Activation checkpointing against none through the session on this worker's backend: the
	 * losses and weights, and the peak bytes inside a step of each (src/lib/engine/train/checkpoint-check.ts).
	 */
	async checkpointTrainingCheck(opts?: CheckpointCheckOptions) {
		if (training) throw new Error('A run is training; check checkpointing when it has finished.');
		await initBackend();
		return checkpointTrainingCheck(opts);
	},

	/**
	 * Full fine-tuning with the embedding and LM head over a pretended 4 KiB binding limit, read
	 * and trained in parts, against the same run as the adapter binds (src/lib/engine/train/split-check.ts).
	 */
	async splitTrainingCheck(steps?: number) {
		if (training) throw new Error('A run is training; check split tables when it has finished.');
		await initBackend();
		return splitTrainingCheck(steps);
	},

	/**
	 * 100-step loss curves of each kind of model, with dropout, on the fast path against the
	 * reference path (src/lib/engine/train/curve-check.ts).
	 */
	async curveCheck(steps?: number, models?: CurveModel[]) {
		if (training) throw new Error('A run is training; check the curves when it has finished.');
		await initBackend();
		return curveCheck(steps, models);
	},

	/**
	 * Which of the engine's paths later runs take (for benchmarks: the example's run time on the
	 * reference path, the fast path, and the fast path with compiled steps, issue 10). Both are on by
	 * default; the setting lasts as long as this engine.
	 */
	setPaths(paths: { fast?: boolean; compiled?: boolean }) {
		if (paths.fast !== undefined) setFastPath(paths.fast);
		if (paths.compiled !== undefined) setCompiledSteps(paths.compiled);
		return { fast: fastPathEnabled(), compiled: compiledStepsEnabled() };
	},

	/**
	 * Each kind of model trained step by step and compiled (traced, then replayed), which must agree
	 * bit for bit (src/lib/engine/compiled/check.ts).
	 */
	async compiledCheck(steps?: number, models?: CurveModel[]) {
		if (training) throw new Error('A run is training; check compiled steps when it has finished.');
		await initBackend();
		return compiledCheck(steps, models);
	},

	/** Time the training step of a model shape on this device (for the bench scripts and curious users). */
	async benchmark(config: RunConfig, seqLen: number, steps = 5) {
		if (training) throw new Error('A run is training; benchmark when it has finished.');
		await initBackend();
		return benchmarkTrainStep(config, seqLen, steps);
	},

	/** Time a cached Hub model: reading it from the cache, loading it, forward and training step per token. */
	async benchmarkModel(ref: ModelRef, opts: { batchSize: number; seqLen: number; steps: number }) {
		if (training) throw new Error('A run is training; benchmark when it has finished.');
		await initBackend();
		disposeBase();
		const t = performance.now();
		const { config, tensors } = await loadHubModel(ref);
		const cacheMs = performance.now() - t;
		return { ...(await benchmarkPretrained(config, tensors, opts)), cacheMs };
	},

	/**
	 * bench:step (issue 10): the fast path, the reference path and a stock tfjs GPT trained side by
	 * side, with GPU dispatches per step by phase; a GPT-2-small-sized step; generation tokens/s.
	 */
	async benchStep(request: StepBenchRequest) {
		if (training) throw new Error('A run is training; benchmark when it has finished.');
		await initBackend();
		disposeBase();
		return runStepBench(request);
	},

	/**
	 * A run whose tab closed mid-training is paused at its last checkpoint. One that another tab
	 * is training (it holds the run's lock) is left as it is. Returns the ids it settled.
	 */
	async settleInterrupted(runs: string[]): Promise<string[]> {
		const elsewhere = await runsTrainingAnywhere();
		const settled: string[] = [];
		for (const id of runs) {
			if (id === training || elsewhere.has(id)) continue;
			const run = await getRun(id);
			if (run?.status !== 'running') continue;
			const last = await latestCheckpoint(id);
			await updateRun(id, last ? { status: 'paused', step: last.step, epoch: last.epoch, lastCheckpointId: last.id } : { status: 'created', step: 0 });
			settled.push(id);
		}
		return settled;
	},

	async createRun(args: { projectId: string; datasetVersionId: string; datasetHash: string; tokenizerHash: string; tokenizedKey?: string; config: RunConfig; name: string; experiment?: Run['experiment'] }): Promise<Run> {
		const errs = validateRunConfig(args.config);
		if (errs.length) throw new UserError('invalid-config', errs.join(' '));
		// The head follows the data: a version that keeps label sets trains a sigmoid per label.
		const version = await getDatasetVersion(args.datasetVersionId);
		if (version && isMultiLabel(version)) {
			args = { ...args, config: structuredClone(args.config) };
			args.config.model.multiLabel = true;
			if (args.config.pretrained?.objective === 'classification') args.config.pretrained.multiLabel = true;
		}
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
	async train(runId: string, onEvent: (e: TrainEvent) => void, preference?: BackendPreference): Promise<RunStatus> {
		if (training) throw new Error('A run is already training in this engine.');
		control = 'run';
		return trainLocked(runId, onEvent, () => trainRun(runId, onEvent, preference));
	},

	/**
	 * The Backend setting changed: a pinned backend is used from now on (Automatic goes back to
	 * WebGPU where it runs; each run's start decides from there). While a run trains, the change
	 * waits for the next run's start.
	 */
	async setBackendMode(mode: BackendPreference['mode']) {
		if (training) return backendInfo();
		return applyBackendMode(mode, () => {
			warm?.session.dispose();
			warm = null;
			disposeBase();
		});
	},

	pause() {
		control = 'pause';
	},

	stop() {
		control = 'stop';
		waiting?.abort();
	},

	/**
	 * Score a checkpoint on a split; the result is stored with the run. `shouldStop` is its own
	 * argument (a comlink proxy from the page): comlink transfers proxies only at the top level.
	 */
	async evaluate(
		runId: string,
		checkpointId?: string,
		split: SplitName = 'test',
		onProgress?: (done: number, total: number) => void,
		options: EvaluateOptions = {},
		shouldStop?: StopQuery
	): Promise<EvaluationResult> {
		const objective = (await getRun(runId))?.config.pretrained?.objective;
		if (objective && objective !== 'classification') return evaluateLm(runId, checkpointId, split, onProgress, options, shouldStop);
		const p = await prepare(runId);
		const w = await warmSession(p, checkpointId);
		const rows = rowsOf(p.tokens.splits, split);
		if (!rows.length) throw new UserError('not-found', `The ${split} split is empty.`);
		// shouldStop may be a comlink proxy that answers with a promise: ask between batches and act
		// on the latest answer; throwing from the progress callback ends the scoring loop.
		let stop = false;
		const ask = () => void Promise.resolve(shouldStop?.()).then((v) => (stop ||= !!v), () => {});
		const cancelled = () => new UserError('cancelled', 'Evaluation was cancelled; the stored results are as they were.');
		ask();
		const scoring = phaseReporter({ phase: 'scoring', total: rows.length, unit: 'rows', cancellable: true });
		// A multi-label run decides at its own threshold (saved on the Evaluate screen).
		const threshold = runThreshold(p.run);
		const progress = (done: number) => {
			if (stop) throw cancelled();
			ask();
			onProgress?.(done, rows.length);
			scoring?.tick(done);
		};
		const out = await w.session.evaluate(p.tokens, rows, progress, undefined, threshold);
		scoring?.end();
		const head = { split, checkpointId: w.checkpointId, step: w.step, createdAt: Date.now() };
		let result: EvaluationResult;
		if (out.sets) {
			// Multi-label: sklearn's multi-label metrics at the run's threshold; no confusion matrix or calibration plots.
			const report = multilabelReport(out.sets.truth, out.sets.predicted, p.labels, rows, out.sets.threshold, { resamples: options.resamples, seed: options.seed });
			result = {
				...head,
				loss: out.loss,
				count: rows.length,
				accuracy: report.multiLabel.subsetAccuracy,
				macroF1: report.multiLabel.macro.f1,
				perClass: report.perClass,
				confusion: [],
				labels: p.labels,
				// Every row's scores and dataset index: Evaluate re-reads them at another threshold, Compare pairs them.
				multiLabel: { ...report.multiLabel, scores: { truth: out.sets.truth, probs: out.probs, rows: Int32Array.from(rows) } },
				bootstrap: report.bootstrap,
				datasetVersionId: p.run.datasetVersionId,
				datasetHash: p.run.datasetHash
			};
		} else if (out.probs.length) {
			const stored = await loadRows(p.run.datasetVersionId);
			const input = {
				labels: p.labels,
				rows,
				yTrue: out.labels,
				probs: out.probs,
				meta: rows.map((r) => stored[r]?.meta),
				datasetVersionId: p.run.datasetVersionId,
				datasetHash: p.run.datasetHash
			};
			result = { ...head, ...buildEvaluation(input, { resamples: options.resamples, seed: options.seed }) };
		} else {
			// Language-modelling runs: no class probabilities, the token-level loss only.
			result = { ...head, loss: out.loss, count: rows.length, ...classificationReport(out.labels, out.preds, p.labels) };
		}
		if (stop || (await shouldStop?.())) throw cancelled();
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
		const pre = w.session.config.pretrained;
		const context = pre?.contextLength ?? w.session.config.model.contextLength;
		// A pretrained model sees its own special tokens ([CLS] … [SEP], BOS), as in training.
		const ids = pre ? tokenizer.encode(text, { addSpecialTokens: true, maxLength: context }) : tokenizer.encode(text);
		const tokens: TokenRows = { ids: Int32Array.from(ids), offsets: Int32Array.from([0, ids.length]), labels: Int32Array.from([0]) };
		const probs = await w.session.probs(w.session.batch(tokens, [0]));
		const probabilities = labels.map((label, i) => ({ label, p: probs[i] })).sort((a, b) => b.p - a.p);
		const prediction: Prediction = { label: probabilities[0].label, probabilities, tokens: Math.min(ids.length, context) };
		// Multi-label: each probability is its own sigmoid; the prediction is every label at or above the threshold.
		if (w.session.multiLabel) {
			const threshold = runThreshold(run);
			prediction.multiLabel = { threshold, labels: probabilities.filter((x) => x.p >= threshold).map((x) => x.label) };
		}
		return prediction;
	},

	/**
	 * Generate text from a fine-tuned run's checkpoint (its best by default) or from a cached base
	 * model, streaming the text so far through `onText`. An instruction-tuned run's prompt is
	 * formatted exactly as its training prompts were (the chat template, or the fallback).
	 */
	async generate(
		target: { runId: string; checkpointId?: string } | { model: ModelRef; chat?: boolean },
		prompt: string,
		opts: Partial<GenerateOptions>,
		onText?: (text: string, tokens: number) => void
	): Promise<{ text: string; promptTokens: number; newTokens: number; stopReason: 'eos' | 'length' | 'stopped' }> {
		if (training) throw new UserError('invalid-config', 'A run is training in this engine; generate when it has paused or finished.');
		let spec: ArchSpec, config: HfConfigBase, params: Params, tokenizer: TextTokenizer, format: boolean, tokenizerConfig: Record<string, unknown>;
		if ('runId' in target) {
			const ctx = await runContext(target.runId);
			const w = await warmSession(ctx, target.checkpointId);
			if (!(w.session instanceof PretrainedSession) || w.session.objective === 'classification')
				throw new UserError('invalid-config', 'This run classifies text; generation needs a language-modelling or instruction-tuned run.');
			({ spec, hf: config } = w.session);
			params = w.session.modelParams;
			tokenizer = ctx.tokenizer;
			tokenizerConfig = ctx.tokenizerConfig ?? {};
			format = w.session.objective === 'instruction';
		} else {
			const b = await baseModel(target.model);
			({ spec, config, params, tokenizer, tokenizerConfig } = b);
			if (config.task !== 'causal-lm') throw new UserError('invalid-config', `${target.model.repo} is an encoder; it does not generate text.`);
			format = !!target.chat;
		}
		// The prompt as the run saw prompts in training: the chat template, or the fallback with BOS.
		const promptIds = format ? encodePrompt(tokenizer, tokenizerConfig, prompt) : tokenizer.encode(prompt, { addSpecialTokens: true });
		if (!promptIds.length) throw new UserError('invalid-config', 'Type a prompt first.');
		stopGenerating = false;
		let out = '';
		const seen: number[] = [];
		const ids = await generateStream(spec, params, config, promptIds, opts, {
			onToken: (id: number) => {
				seen.push(id);
				// Decode the whole continuation each time: a multi-byte character may span tokens.
				out = tokenizer.decode(seen);
				onText?.(out, seen.length);
			},
			shouldStop: () => stopGenerating
		});
		out = tokenizer.decode(ids);
		const eos = new Set(opts.eosTokenIds ?? config.eosTokenIds);
		const stopReason = stopGenerating ? 'stopped' : ids.length && eos.has(ids[ids.length - 1]) ? 'eos' : 'length';
		return { text: out, promptTokens: promptIds.length, newTokens: ids.length, stopReason };
	},

	/**
	 * A fine-tuned run as a Hugging Face model folder, zipped: config.json (architectures, labels),
	 * model.safetensors with the transformers tensor names (a tied head stays tied), generation
	 * config and the model's tokenizer files, so `from_pretrained` on the unzipped folder loads it.
	 * The zip is built here and returned as a Blob (passed by reference, not copied).
	 */
	async exportModel(runId: string, checkpointId?: string): Promise<ExportedZip> {
		const run = await getRun(runId);
		if (run && !run.config.pretrained) {
			// The studio's own model: GPT-2's layout and names, with the project's BPE.
			const sctx = await runContext(runId);
			const sw = await warmSession(sctx, checkpointId);
			const rec = await getTokenizer(run.tokenizerHash!);
			if (!rec) throw new UserError('not-found', 'The tokenizer of this run is missing. Start a new run to tokenize the dataset again.');
			const weights = await (sw.session as ClassifierSession).weights();
			return scratchZip(await cardContext(run), run.config.model, sw.step, weights as { name: string; shape: number[]; data: Float32Array }[], sctx.labels, rec.json, sctx.tokenizer);
		}
		const { ctx, w, s, p } = await exportable(runId, checkpointId);
		return modelZip(await cardContext(ctx.run), p, s, w.step, ctx.labels, ctx.tokenizer.padId);
	},

	/** A run as a transformers.js folder (ONNX, fp32 and fp16 weights), zipped with its tokenizer and the studio's reference logits. */
	async exportOnnx(runId: string, checkpointId?: string): Promise<ExportedZip> {
		const ctx = await runContext(runId);
		const w = await warmSession(ctx, checkpointId);
		const card = await cardContext(ctx.run);
		if (w.session instanceof PretrainedSession) return onnxZip(card, w.step, ctx.tokenizer, { pretrained: ctx.run.config.pretrained!, session: w.session, labels: ctx.labels });
		const rec = await getTokenizer(ctx.run.tokenizerHash!);
		if (!rec) throw new UserError('not-found', 'The tokenizer of this run is missing. Start a new run to tokenize the dataset again.');
		return onnxZip(card, w.step, ctx.tokenizer, { scratch: ctx.run.config.model, session: w.session as ClassifierSession, labels: ctx.labels, tokenizerJson: rec.json });
	},

	/** The transformers.js export as a static demo page (workers/demo.ts): index.html, app.js, transformers.js, ORT's wasm, the model. */
	async exportDemo(runId: string, checkpointId?: string): Promise<ExportedZip> {
		const onnx = await api.exportOnnx(runId, checkpointId);
		const ctx = await runContext(runId);
		// A multi-label run's page: a sigmoid per label, chosen at the run's saved threshold (as Predict decides).
		const multi = isMultiLabelRun(ctx.run.config) ? { threshold: runThreshold(ctx.run) } : undefined;
		return demoZip(onnx, demoSpec(ctx.run.name, { pretrained: ctx.run.config.pretrained, scratch: ctx.run.config.model }, ctx.tokenizer, ctx.labels, multi));
	},

	/** A causal LM run as GGUF (F32, F16 or Q8_0; a LoRA adapter merged in) with an Ollama Modelfile, zipped. */
	async exportGguf(runId: string, type: GgmlType, checkpointId?: string): Promise<ExportedZip> {
		const ctx = await runContext(runId);
		const w = await warmSession(ctx, checkpointId);
		const card = await cardContext(ctx.run);
		const rec = await getTokenizer(ctx.run.tokenizerHash!);
		if (!rec) throw new UserError('not-found', 'The tokenizer of this run is missing. Start a new run to tokenize the dataset again.');
		const p = ctx.run.config.pretrained;
		if (!p) return ggufZip(card, w.step, type, { scratch: ctx.run.config.model, session: w.session as ClassifierSession, tokenizerJson: rec.json, tokenizer: ctx.tokenizer });
		const jinja = await getModelFile({ repo: p.repo, revision: p.revision }, 'chat_template.jinja');
		return ggufZip(card, w.step, type, { pretrained: p, session: w.session as PretrainedSession, tokenizerJson: rec.json, tokenizerConfig: ctx.tokenizerConfig, chatTemplate: jinja ? new TextDecoder().decode(jinja) : undefined });
	},

	/** The serving recipe of a run (FastAPI app with Prometheus metrics, Dockerfile, vLLM command), zipped. */
	async exportServing(runId: string): Promise<ExportedZip> {
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		const version = await getDatasetVersion(run.datasetVersionId);
		return servingZip({ run, labels: version?.labels ?? run.evaluation?.labels ?? [] });
	},

	/** A LoRA run's adapter alone, in PEFT's format (adapter_config.json + adapter_model.safetensors), zipped with the tokenizer. */
	async exportAdapter(runId: string, checkpointId?: string): Promise<ExportedZip> {
		const { ctx, w, s, p } = await exportable(runId, checkpointId);
		return adapterZip(await cardContext(ctx.run), p, s, w.step, ctx.tokenizer.padId);
	},

	/**
	 * A model opened from disk (a Hugging Face folder, its zip, or a PEFT adapter whose base is in the
	 * cache, merged): checked and resolved as a download is, stored in the model cache as
	 * `local/<name>` at a content revision, and described as the Hub inspection would describe it, so
	 * the Train screen uses it as it uses a downloaded model. No Hub is needed.
	 */
	async importModelFiles(name: string, files: Record<string, Uint8Array>, zip?: Uint8Array): Promise<ModelInspection> {
		let folder: FolderFiles = zip ? unzipFolder(zip) : stripTopFolder(files);
		if (folder['adapter_config.json'] && !folder['config.json']) {
			const ac = JSON.parse(new TextDecoder().decode(folder['adapter_config.json'])) as { base_model_name_or_path?: string; revision?: string | null };
			const baseRef = { repo: String(ac.base_model_name_or_path ?? ''), revision: String(ac.revision ?? '') };
			const cached = async (f: string) => {
				const b = await getModelFile(baseRef, f);
				return b ? new Uint8Array(b) : undefined;
			};
			const baseConfig = baseRef.revision ? await cached('config.json') : undefined;
			if (!baseConfig)
				throw new UserError('not-found', `This adapter needs its base model ${baseRef.repo || '(not named)'}${baseRef.revision ? ` at revision ${baseRef.revision}` : ''} in this browser's cache. Download it in the model picker first, then open the adapter again.`);
			const base: FolderFiles = { 'config.json': baseConfig };
			for (const f of ['model.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'vocab.txt', 'vocab.json', 'merges.txt', 'tokenizer.model', 'added_tokens.json']) {
				const b = await cached(f);
				if (b) base[f] = b;
			}
			if (base['model.safetensors.index.json'])
				for (const shard of new Set(Object.values((JSON.parse(new TextDecoder().decode(base['model.safetensors.index.json'])) as { weight_map?: Record<string, string> }).weight_map ?? {}))) {
					const b = await cached(shard);
					if (b) base[shard] = b;
				}
			const merged = importAdapterFolder(base, folder);
			const out = await exportHfModel(merged.spec, merged.config, merged.weights, { padTokenId: merged.config.padTokenId ?? undefined });
			folder = { ...base };
			delete folder['model.safetensors.index.json'];
			for (const [k, v] of Object.entries(out.files)) if (v !== undefined) folder[k] = typeof v === 'string' ? new TextEncoder().encode(v) : v;
		}
		const imported = importModelFolder(folder);
		if (!folder['tokenizer.json']) throw new UserError('invalid-config', 'That folder has no tokenizer.json, which the studio needs to read text for the model. Save the tokenizer into the folder (tokenizer.save_pretrained) and open it again.');
		const ref = await localModelRef(name, folder);
		const kept = Object.keys(folder).filter((f) => LOCAL_MODEL_FILES.test(f));
		for (const f of kept) await putModelFile(ref, f, folder[f]);
		const params = Object.values(imported.weights).reduce((a, w) => a + w.data.length, 0);
		const largest = Object.entries(imported.weights).reduce((a, [n, w]) => (4 * w.data.length > a.bytes ? { name: n, bytes: 4 * w.data.length } : a), { name: '', bytes: 0 });
		const contextLimit = Number(imported.json.max_position_embeddings ?? imported.json.n_positions ?? Infinity);
		let hasChatTemplate = !!folder['chat_template.jinja'];
		if (!hasChatTemplate && folder['tokenizer_config.json']) hasChatTemplate = !!JSON.parse(new TextDecoder().decode(folder['tokenizer_config.json'])).chat_template;
		return {
			repo: ref.repo,
			requestedRevision: ref.revision,
			revision: ref.revision,
			modelType: imported.spec.modelType,
			supported: true,
			config: imported.json,
			files: kept.map((f) => ({ file: f, size: folder[f].byteLength })),
			weightFiles: kept.filter((f) => f.endsWith('.safetensors')),
			downloadBytes: 0,
			params,
			dtypes: { F32: Object.keys(imported.weights).length },
			hasTokenizer: true,
			hasChatTemplate,
			memory: estimateMemory(params, imported.json, largest, { batchSize: 8, seqLen: Math.min(256, contextLimit) }),
			cached: true
		};
	},

	/**
	 * A fine-tuned run as a recipe for GPU tools (Axolotl, LLaMA-Factory, transformers + peft): its
	 * dataset version as JSONL and the configs mapped from the run's, zipped.
	 */
	async exportRecipe(runId: string): Promise<ExportedZip> {
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		const p = run.config.pretrained;
		if (!p) throw new UserError('invalid-config', "A recipe reruns a fine-tune of a Hugging Face model on GPUs; this run trained the studio's own small model. Download its reproducibility JSON instead.");
		const version = await getDatasetVersion(run.datasetVersionId);
		if (!version) throw new UserError('not-found', 'The dataset version this run was trained on has been deleted, so its data cannot go into a recipe.');
		return recipeZip({ run, version, rows: await loadRows(version.id), memoryBytes: recipeMemory(p, normalizeTrainConfig(run.config.train).batchSize) });
	},

	/** A run's lineage as JSON: config, dataset hash, base model revision, seed, metrics, backend and adapter. */
	async exportReproducibility(runId: string): Promise<{ json: string; fileName: string }> {
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		const version = await getDatasetVersion(run.datasetVersionId);
		return { json: JSON.stringify(reproducibility(run, version), null, 2) + '\n', fileName: `${run.name}-reproducibility.json`.replace(/[^\w.-]+/g, '-') };
	},

	/**
	 * The prompt-only baseline: a cached causal LM, unmodified, scores each label word after the
	 * prompt (zero-shot, or with k training examples in front) on the split a fine-tuned run is
	 * scored on; stored as a run so Compare pairs it with the fine-tuned runs.
	 */
	async runBaseline(args: PromptBaselineArgs, onProgress?: (done: number, total: number) => void, shouldStop?: () => boolean | Promise<boolean>): Promise<Run> {
		if (training) throw new UserError('invalid-config', 'A run is training in this engine; run the baseline when it has paused or finished.');
		const base = await baseModel(args.model);
		let stop = false;
		return runPromptBaseline(
			base,
			args,
			(done, total) => {
				onProgress?.(done, total);
				if (shouldStop) void Promise.resolve(shouldStop()).then((s) => (stop = s));
			},
			() => stop
		);
	},

	/**
	 * What specializing cost: perplexity of the base model and of a fine-tuned run (its best
	 * checkpoint) on general text held aside. Stored with the run.
	 */
	async forgettingCheck(runId: string, text: string): Promise<{ base: number; tuned: number; tokens: number }> {
		if (training) throw new UserError('invalid-config', 'A run is training in this engine; check when it has paused or finished.');
		const ctx = await runContext(runId);
		const p = ctx.run.config.pretrained;
		if (!p || p.objective === 'classification') throw new UserError('invalid-config', 'The forgetting check compares language models; this run classifies.');
		const w = await warmSession(ctx);
		const s = w.session as PretrainedSession;
		const tuned = await generalPerplexity({ spec: s.spec, config: s.hf, params: s.modelParams, tokenizer: ctx.tokenizer }, text, p.contextLength);
		const base = await baseModel({ repo: p.repo, revision: p.revision });
		const before = await generalPerplexity(base, text, p.contextLength);
		const result = { base: before.perplexity, tuned: tuned.perplexity, tokens: tuned.tokens };
		await updateRun(runId, { forgetting: { ...result, checkedAt: Date.now() } });
		return result;
	},

	stopGeneration() {
		stopGenerating = true;
	},

	/**
	 * Check a cached model against reference outputs of transformers (a fixture folder's
	 * reference.json) on the active backend: logits, loss, gradient norms, greedy generation.
	 */
	async checkModel(ref: ModelRef, reference: ParityReference): Promise<ParityCheck[]> {
		if (training) throw new UserError('invalid-config', 'A run is training; check the model when it has finished.');
		const { config, tensors } = await loadHubModel(ref);
		return runParity({ config, tensors, reference });
	},

	/**
	 * "Resume from here": a new run (a branch) that continues `runId` from one of its checkpoints
	 * and leaves the original as it was. Its first checkpoint is a copy of that one, its metrics the
	 * points up to that step, its `parent` the lineage; `train(newRun.id)` continues it.
	 */
	async branchRun(runId: string, checkpointId: string, name?: string): Promise<Run> {
		// Hold the training lock when it is free, so another tab's start-up sweep spares the copy.
		return locked(() => branch(runId, checkpointId, name), true);
	},

	/** How many of its newest checkpoints a run keeps from its next save on (its best is kept besides). */
	async setKeepCheckpoints(runId: string, keep: number): Promise<Run> {
		if (!Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP_CHECKPOINTS)
			throw new UserError('invalid-config', `Keep between 1 and ${MAX_KEEP_CHECKPOINTS} checkpoints (a whole number).`);
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		const train: TrainWithKeep = { ...run.config.train, keepCheckpoints: keep };
		return updateRun(runId, { config: { ...run.config, train } });
	},

	/**
	 * The probability at which a multi-label run predicts a label from now on (Predict and later
	 * evaluations). Its stored evaluation is read again at it from the scores it kept: no scoring.
	 */
	async setMultiLabelThreshold(runId: string, threshold: number): Promise<Run> {
		if (!(threshold > 0 && threshold < 1)) throw new UserError('invalid-config', `A threshold is a probability above 0 and below 1 (got ${threshold}).`);
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		if (!isMultiLabelRun(run.config)) throw new UserError('invalid-config', `“${run.name}” is not a multi-label run: it predicts the one class with the highest probability, so it has no threshold.`);
		const evaluation = run.evaluation && evaluationAt(run.evaluation, threshold);
		return updateRun(runId, { multiLabelThreshold: threshold, ...(evaluation ? { evaluation } : {}) });
	},

	/**
	 * A linked run's starting point: `pretrained` of a run whose checkpoint the new run builds on
	 * (continued pretraining, then task fine-tuning), with `init` naming that checkpoint. The page
	 * sets objective, context length and classes; training loads the checkpoint's weights
	 * (`startingTensors`) instead of the Hub download.
	 */
	async checkpointAsBase(runId: string, checkpointId: string, objective?: Objective): Promise<PretrainedWithInit> {
		const run = await getRun(runId);
		if (!run) throw new UserError('not-found', `Run ${runId} no longer exists. It may have been deleted in another tab.`);
		const p = run.config.pretrained as PretrainedWithInit | undefined;
		if (!p) throw new UserError('invalid-config', "Only a run that fine-tunes a Hugging Face model can be another run's base; this one trained the studio's own small model.");
		const checkpoint = (await listCheckpoints(runId)).find((c) => c.id === checkpointId);
		if (!checkpoint) throw new UserError('not-found', `That checkpoint of ${run.name} is no longer stored (older checkpoints are pruned). Pick another one.`);
		if (objective && objective !== 'classification' && p.objective === 'classification')
			throw new UserError('invalid-config', "A classifier's checkpoint has no language-model head to continue; start from a language-modelling run or from the Hub weights.");
		const { init: _previous, ...base } = p;
		return { ...base, objective: objective ?? p.objective, init: { runId, checkpointId, step: checkpoint.step } };
	},

	/**
	 * For device-loss tests only: destroy the GPU device under the running backend; with
	 * `refuseNewDevice` the next WebGPU restart fails too. False when not on WebGPU.
	 */
	/**
	 * For device-loss tests only: lose the device right after the next logged step that takes no
	 * checkpoint, at or after `fromStep`, so the run has steps logged past its last checkpoint (the
	 * steps a resume replays) whatever the timing between the page and this worker.
	 */
	loseDeviceAfterNextLogForTest(fromStep: number, refuseNewDevice = false): void {
		loopHooks.afterLog = (step, checkpointing) => {
			if (step < fromStep || checkpointing) return;
			loopHooks.afterLog = undefined;
			destroyDeviceForTest(refuseNewDevice);
		};
	},

	/**
	 * For crash tests only: the next checkpoint save stops after writing its chunks, before its
	 * manifest, and tells the page, which terminates this worker there (as a killed tab would).
	 */
	holdNextSaveForTest(onHeld: (checkpoint: { id: string; step: number }) => void): void {
		checkpointHooks.beforeManifest = (manifest) => {
			checkpointHooks.beforeManifest = undefined;
			void Promise.resolve(onHeld({ id: manifest.id, step: manifest.step })).catch(() => {});
			return new Promise<never>(() => {});
		};
	},

	/**
	 * The prompt-only generation baseline for prompt/response data: a cached causal LM, unmodified,
	 * answers the first test prompts (zero- or few-shot) as an instruction run's evaluation does, and
	 * is stored as a run so Compare pairs it with instruction runs.
	 */
	async runGenerationBaseline(args: GenerationBaselineArgs, onProgress?: (done: number, total: number) => void, shouldStop?: () => boolean | Promise<boolean>): Promise<Run> {
		if (training) throw new UserError('invalid-config', 'A run is training in this engine; run the baseline when it has paused or finished.');
		const base = await baseModel(args.model);
		let stop = false;
		let tokens = 0;
		return runGenerationBaseline(base, args, onProgress, () => {
			if (shouldStop && ++tokens % 8 === 0) void Promise.resolve(shouldStop()).then((s) => (stop ||= !!s), () => {});
			return stop;
		});
	},

	/** The Evaluate screen's Inside view (attention maps, next-token probabilities, alternatives). */
	...insideApi({ runContext, warmSession, baseModel, training: () => training }),
	...insideWhyApi({ runContext, warmSession, prepare, baseModel, startingTensors, training: () => training })
};

export type EngineApi = typeof api;
