/**
 * The page's handle on the engine worker. It owns the Worker (through WorkerBridge), exposes the
 * engine's state as runes for components, and turns training events into live state. Components
 * call its methods; they never touch the Worker or comlink.
 */
import { proxy, type Remote } from 'comlink';
import { WorkerBridge } from './bridge';
import { RUNS_CHANNEL } from '../shared/tabs';
import type { EngineApi } from '../../../workers/engine-api';
import type { Objective, RunConfig } from '../shared/config';
import type { ModelInspection, ModelRef } from '../shared/hub';
import type { GenerateOptions } from '../engine/generate';
import type { ParityReference } from '../engine/models/parity';
import type { StepBenchRequest, StepBenchResult } from '../engine/bench-step';
import type { GenerationBaselineArgs, PromptBaselineArgs } from '../../../workers/baselines';
import type { InsideTarget } from '../../../workers/inside-api';
import type { WhyOptions } from '../../../workers/inside-why-api';
import type { PhaseProgress } from '../shared/phases';
import { rememberDecision, rememberedDecisions, storeBackendMode, storedBackendMode } from './backend-setting';
import { preferenceOrder } from '../engine/backend-probe';
import type { BackendMode } from '../shared/types';
import type { BackendInfo, EvaluateOptions, EvaluationResult, MetricPoint, Prediction, Run, RunStatus, SplitName, TrainEvent } from '../shared/types';

export type EngineStatus = 'idle' | 'starting' | 'ready' | 'crashed';

export interface LiveTraining {
	runId: string;
	step: number;
	totalSteps: number;
	etaSec: number;
	stepsPerSec: number;
	state: 'starting' | 'running' | 'pausing' | 'stopping';
}

/**
 * A dead engine is noticed by its life lock within moments (client/bridge.ts); the heartbeat,
 * which runs whenever a call is pending, is the fallback and must outwait the longest synchronous
 * step: the first WebGPU step compiles ~100 pipelines, which takes a while on a software adapter.
 */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 180_000;

export class EngineClient {
	status = $state<EngineStatus>('idle');
	backend = $state<BackendInfo | null>(null);
	/** The Backend setting (client/backend-setting.ts): Automatic, or a pinned backend. */
	backendMode = $state<BackendMode>(storedBackendMode());
	error = $state<string | null>(null);
	live = $state<LiveTraining | null>(null);
	/** Metric points that arrived during this session, per run (replaced, not mutated). */
	points = $state.raw<MetricPoint[]>([]);
	/** Bumped whenever stored run data changed, so readers reload. */
	version = $state(0);
	/** The phase around the steps of the training run (warm-up, test scoring, a checkpoint write…); null when none. */
	phase = $state.raw<PhaseProgress | null>(null);
	/** A checkpoint is being scored: the engine's one warm model is in use (predict and generate wait). */
	evaluating = $state(false);
	private evaluation: Promise<unknown> | null = null;
	private training: Promise<unknown> | null = null;
	/** Hears every metric point of the training run (the Experiments screen's pruner listens here). */
	onMetrics: ((p: MetricPoint) => void) | null = null;

	private bridge = new WorkerBridge<EngineApi>(
		() => new Worker(new URL('../../../workers/engine.worker.ts', import.meta.url), { type: 'module' }),
		'training engine',
		true
	);
	private ready: Promise<void> | null = null;
	private channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(RUNS_CHANNEL);

	/** Tell the other tabs that a run's stored state changed (shared/tabs.ts). */
	private announce(runId: string | undefined): void {
		if (runId) this.channel?.postMessage({ runId });
	}

	constructor() {
		this.bridge.heartbeatMs = HEARTBEAT_MS;
		this.bridge.heartbeatTimeoutMs = HEARTBEAT_TIMEOUT_MS;
		this.bridge.onCrash = (message) => {
			this.status = 'crashed';
			this.error = message;
			this.live = null;
			this.phase = null;
			this.ready = null;
			this.version++;
		};
	}

	/** Start the worker and its backend (once); every other method waits for this. */
	init(): Promise<void> {
		if (!this.ready) {
			this.status = 'starting';
			const prefer = preferenceOrder(this.backendMode);
			this.ready = this.bridge.call((api) => api.init(prefer), 180_000).then(
				({ backend }) => {
					this.backend = backend;
					this.status = 'ready';
					this.error = null;
				},
				(e) => {
					this.status = 'crashed';
					this.error = (e as Error).message;
					this.ready = null;
					throw e;
				}
			);
		}
		return this.ready;
	}

	async restart(): Promise<void> {
		this.bridge.restart();
		this.ready = null;
		this.status = 'idle';
		await this.init();
	}

	/** Pause the runs a closed tab left "running" (not those another tab trains); returns the ids settled. */
	async settleInterrupted(runIds: string[]): Promise<string[]> {
		await this.init();
		const settled = (await this.bridge.call((api) => api.settleInterrupted(runIds), 30_000)) ?? [];
		for (const id of settled) this.announce(id);
		return settled;
	}

	async createRun(args: { projectId: string; datasetVersionId: string; datasetHash: string; tokenizerHash: string; tokenizedKey?: string; config: RunConfig; name: string; experiment?: Run['experiment'] }): Promise<Run> {
		await this.init();
		const run = await this.bridge.call((api) => api.createRun(args), 30_000);
		this.version++;
		return run;
	}

	/** Train until the run completes, pauses or stops; progress arrives as live state. */
	async train(runId: string): Promise<RunStatus> {
		await this.init();
		this.live = { runId, step: 0, totalSteps: 0, etaSec: 0, stepsPerSec: 0, state: 'starting' };
		this.points = [];
		this.error = null;
		// Training waits for a checkpoint being scored (e.g. "Evaluate this", then "Resume from here").
		await this.evaluation?.catch(() => {});
		const onEvent = proxy((e: TrainEvent) => this.onEvent(e));
		const preference = { mode: this.backendMode, remembered: rememberedDecisions() };
		const call = this.bridge.call((api) => api.train(runId, onEvent, preference));
		this.training = call;
		try {
			return await call;
		} catch (e) {
			this.error = (e as Error).message;
			throw e;
		} finally {
			this.live = null;
			this.phase = null;
			this.version++;
			this.announce(runId);
		}
	}

	/**
	 * If this tab trains (or waits to train) one of `runIds`, stop it and wait until it has ended
	 * (its last checkpoint written, its status stored); returns that run's id, else null.
	 */
	async stopTraining(runIds: ReadonlySet<string>): Promise<string | null> {
		const id = this.live?.runId;
		if (!id || !runIds.has(id)) return null;
		const call = this.training;
		this.stop();
		await call?.catch(() => {});
		return id;
	}

	/** Change the Backend setting: stored at once; a pinned backend is used now, or from the next run's start while one trains. */
	async setBackendMode(mode: BackendMode): Promise<void> {
		this.backendMode = mode;
		storeBackendMode(mode);
		await this.init();
		const info = await this.bridge.call((api) => api.setBackendMode(mode), 180_000);
		if (info && !this.live) this.backend = info;
	}

	pause(): void {
		if (this.live) this.live = { ...this.live, state: 'pausing' };
		void this.bridge.call((api) => api.pause(), 10_000).catch(() => {});
	}

	stop(): void {
		if (this.live) this.live = { ...this.live, state: 'stopping' };
		void this.bridge.call((api) => api.stop(), 10_000).catch(() => {});
	}

	/**
	 * Score a checkpoint on a split and store the result with the run. Callbacks cross to the worker
	 * as top-level comlink proxies (comlink cannot transfer one nested in an object); `options` is
	 * plain data. `shouldStop` answering true cancels: the worker stores nothing and rejects with
	 * code 'cancelled'.
	 */
	async evaluate(
		runId: string,
		checkpointId?: string,
		split: SplitName = 'test',
		onProgress?: (done: number, total: number) => void,
		options: EvaluateOptions = {},
		shouldStop?: () => boolean
	): Promise<EvaluationResult> {
		await this.init();
		const cb = onProgress ? proxy(onProgress) : undefined;
		const stop = shouldStop ? proxy(shouldStop) : undefined;
		const opts: EvaluateOptions = { ...options };
		const call = this.bridge.call((api) => api.evaluate(runId, checkpointId, split, cb, opts, stop));
		this.evaluation = call;
		this.evaluating = true;
		try {
			return await call;
		} finally {
			if (this.evaluation === call) {
				this.evaluation = null;
				this.evaluating = false;
			}
			this.version++;
		}
	}

	async predict(runId: string, text: string, checkpointId?: string): Promise<Prediction> {
		await this.init();
		return this.bridge.call((api) => api.predict(runId, text, checkpointId), 120_000);
	}

	/** Generate from a run's checkpoint or a cached base model; `onText` gets the text so far. */
	async generate(target: { runId: string; checkpointId?: string } | { model: ModelRef; chat?: boolean }, prompt: string, opts: Partial<GenerateOptions>, onText?: (text: string, tokens: number) => void) {
		await this.init();
		const cb = onText ? proxy(onText) : undefined;
		return this.bridge.call((api) => api.generate(target, prompt, opts, cb));
	}

	/** The Inside view: what the picked model is (task, layers, heads) and, for a fine-tuned run, its base. */
	async insideModel(target: InsideTarget) {
		await this.init();
		return this.bridge.call((api) => api.insideModel(target), 300_000);
	}

	/** The Inside view: every layer's and head's attention over a text, head averages and rollout. */
	async insideAttention(target: InsideTarget, text: string) {
		await this.init();
		return this.bridge.call((api) => api.insideAttention(target, text), 300_000);
	}

	/** The Inside view: each token's log-probability and the top-10 next tokens (and the base model's, for a fine-tuned run). */
	async insideNextTokens(target: InsideTarget, text: string, withBase = true) {
		await this.init();
		return this.bridge.call((api) => api.insideNextTokens(target, text, withBase), 300_000);
	}

	/** The Inside view: generate and show the alternatives each token beat. */
	async insideGenerate(target: InsideTarget, prompt: string, opts: Partial<GenerateOptions>) {
		await this.init();
		return this.bridge.call((api) => api.insideGenerate(target, prompt, opts), 300_000);
	}

	/** The Inside view: how temperature, top-k and top-p reshape one step of the last generation. */
	async insideReshape(index: number, opts: Partial<GenerateOptions>) {
		await this.init();
		return this.bridge.call((api) => api.insideReshape(index, opts), 60_000);
	}

	/** Why this label: integrated-gradient attributions and occlusion for one text (workers/inside-why-api.ts). */
	async whyLabel(target: InsideTarget, text: string, options: WhyOptions) {
		await this.init();
		return this.bridge.call((api) => api.whyLabel(target, text, options), 300_000);
	}

	/** The test examples' pooled representations in 2-D (PCA), before and after training. */
	async insideEmbeddings(runId: string, checkpointId?: string) {
		await this.init();
		return this.bridge.call((api) => api.insideEmbeddings(runId, checkpointId), 300_000);
	}

	/** A fine-tuned run as a zipped Hugging Face model folder (or its transformers.js ONNX folder), saved through the browser's download. */
	async exportModel(runId: string, checkpointId?: string, what: 'model' | 'adapter' | 'onnx' = 'model'): Promise<string[]> {
		await this.init();
		const { blob, fileName, warnings } = await this.bridge.call(
			(api) => (what === 'adapter' ? api.exportAdapter(runId, checkpointId) : what === 'onnx' ? api.exportOnnx(runId, checkpointId) : api.exportModel(runId, checkpointId)),
			600_000
		);
		const url = URL.createObjectURL(blob);
		const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
		a.click();
		setTimeout(() => URL.revokeObjectURL(url), 60_000);
		return warnings;
	}

	/** The run as a static demo page (its transformers.js export, the runtime, index.html), zipped and saved through the browser's download; resolves to the zip's size in bytes. */
	async exportDemo(runId: string, checkpointId?: string): Promise<number> {
		await this.init();
		const { blob, fileName } = await this.bridge.call((api) => api.exportDemo(runId, checkpointId), 600_000);
		const url = URL.createObjectURL(blob);
		const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
		a.click();
		setTimeout(() => URL.revokeObjectURL(url), 60_000);
		return blob.size;
	}

	/**
	 * Open a model from disk: one .zip, or the files of a chosen folder (their webkitRelativePath).
	 * Resolves to its description, as the Hub's inspection gives one, once it is in the model cache.
	 */
	async importModel(chosen: File[]): Promise<ModelInspection> {
		await this.init();
		if (!chosen.length) throw new Error('Choose a model folder or a zip.');
		// A zip by its signature (PK\x03\x04), not its name: a download may have lost the extension.
		const first = chosen.length === 1 ? new Uint8Array(await chosen[0].arrayBuffer()) : undefined;
		const zip = first && first[0] === 0x50 && first[1] === 0x4b && first[2] === 0x03 && first[3] === 0x04 ? first : undefined;
		const files: Record<string, Uint8Array> = {};
		if (!zip) for (const f of chosen) files[f.webkitRelativePath || f.name] = new Uint8Array(await f.arrayBuffer());
		const name = zip ? chosen[0].name : (chosen[0].webkitRelativePath.split('/')[0] || 'model');
		return this.bridge.call((api) => api.importModelFiles(name, files, zip), 600_000);
	}

	/** A run as a recipe bundle for GPU tools (zip), saved through the browser's download. */
	async exportRecipe(runId: string): Promise<void> {
		await this.init();
		const { blob, fileName } = await this.bridge.call((api) => api.exportRecipe(runId), 600_000);
		download(blob, fileName);
	}

	/** A run's reproducibility JSON, saved through the browser's download. */
	async exportReproducibility(runId: string): Promise<void> {
		await this.init();
		const { json, fileName } = await this.bridge.call((api) => api.exportReproducibility(runId), 60_000);
		download(new Blob([json], { type: 'application/json' }), fileName);
	}

	/** A causal LM run as GGUF (F32, F16 or Q8_0) with an Ollama Modelfile, saved through the browser's download; resolves to its warnings. */
	async exportGguf(runId: string, type: 'F32' | 'F16' | 'Q8_0', checkpointId?: string): Promise<string[]> {
		await this.init();
		const { blob, fileName, warnings } = await this.bridge.call((api) => api.exportGguf(runId, type, checkpointId), 600_000);
		download(blob, fileName);
		return warnings;
	}

	/** A run's serving recipe (FastAPI, Prometheus metrics, Dockerfile, vLLM), saved through the browser's download. */
	async exportServing(runId: string): Promise<void> {
		await this.init();
		const { blob, fileName } = await this.bridge.call((api) => api.exportServing(runId), 60_000);
		download(blob, fileName);
	}

	/** The prompt-only classification baseline, stored as a run. */
	runBaseline(args: PromptBaselineArgs, onProgress?: (done: number, total: number) => void, shouldStop?: () => boolean) {
		return this.baseline((api, p, s) => api.runBaseline(args, p, s), onProgress, shouldStop);
	}

	/** The prompt-only generation baseline (prompt/response data), stored as a run. */
	runGenerationBaseline(args: GenerationBaselineArgs, onProgress?: (done: number, total: number) => void, shouldStop?: () => boolean) {
		return this.baseline((api, p, s) => api.runGenerationBaseline(args, p, s), onProgress, shouldStop);
	}

	/** A baseline call with its progress and stop callbacks proxied across to the worker. */
	private async baseline<T>(
		call: (api: Remote<EngineApi>, onProgress?: (done: number, total: number) => void, shouldStop?: () => boolean) => Promise<T>,
		onProgress?: (done: number, total: number) => void,
		shouldStop?: () => boolean
	): Promise<T> {
		await this.init();
		const run = await this.bridge.call((api) => call(api, onProgress ? proxy(onProgress) : undefined, shouldStop ? proxy(shouldStop) : undefined));
		this.version++;
		return run;
	}

	async forgettingCheck(runId: string, text: string) {
		await this.init();
		const r = await this.bridge.call((api) => api.forgettingCheck(runId, text), 600_000);
		this.version++;
		return r;
	}

	stopGeneration(): void {
		void this.bridge.call((api) => api.stopGeneration(), 10_000).catch(() => {});
	}

	/** A cached model against transformers' reference outputs, on this page's backend. */
	async checkModel(ref: ModelRef, reference: ParityReference) {
		await this.init();
		return this.bridge.call((api) => api.checkModel(ref, reference), 600_000);
	}

	async benchmarkModel(ref: ModelRef, opts: { batchSize: number; seqLen: number; steps: number }) {
		await this.init();
		return this.bridge.call((api) => api.benchmarkModel(ref, opts), 600_000);
	}

	async benchmark(config: RunConfig, seqLen: number, steps = 5) {
		await this.init();
		return this.bridge.call((api) => api.benchmark(config, seqLen, steps), 600_000);
	}

	/** bench:step; a GPT-2-small-sized step on a software adapter can take many minutes. */
	async benchStep(request: StepBenchRequest) {
		await this.init();
		return this.bridge.call<StepBenchResult>((api) => api.benchStep(request), 3_600_000);
	}

	/** The fused WebGPU kernels against their composites, in the engine worker (e2e fused-kernels). */
	async fusedKernelCheck(seed = 1, reduce?: 'workgroup' | 'thread') {
		await this.init();
		return this.bridge.call((api) => api.fusedKernelCheck(seed, reduce), 300_000);
	}

	async checkBackend(config: RunConfig, withDropout = false) {
		await this.init();
		return this.bridge.call((api) => api.checkBackend(config, withDropout), 300_000);
	}

	async memory() {
		return this.bridge.call((api) => api.memory(), 10_000);
	}

	/** "Resume from here": a new run continuing `runId` from `checkpointId`; train it with `train(run.id)`. */
	async branchRun(runId: string, checkpointId: string, name?: string): Promise<Run> {
		await this.init();
		const run = await this.bridge.call((api) => api.branchRun(runId, checkpointId, name), 300_000);
		this.version++;
		return run;
	}

	/** How many of its newest checkpoints a run keeps from its next save on. */
	async setKeepCheckpoints(runId: string, keep: number): Promise<Run> {
		await this.init();
		const run = await this.bridge.call((api) => api.setKeepCheckpoints(runId, keep), 30_000);
		this.version++;
		return run;
	}

	/** The probability at which a multi-label run predicts a label from now on; its stored evaluation is re-read at it. */
	async setMultiLabelThreshold(runId: string, threshold: number): Promise<Run> {
		await this.init();
		const run = await this.bridge.call((api) => api.setMultiLabelThreshold(runId, threshold), 30_000);
		this.version++;
		return run;
	}

	/** The `pretrained` config of a new run that starts from this checkpoint instead of the Hub weights. */
	async checkpointAsBase(runId: string, checkpointId: string, objective?: Objective) {
		await this.init();
		return this.bridge.call((api) => api.checkpointAsBase(runId, checkpointId, objective), 30_000);
	}

	/**
	 * For tests: end the worker behind the bridge's back, with no error event, as the browser does
	 * when it closes one; the life lock (or the heartbeat) must notice.
	 */
	killSilentlyForTest(): void {
		(this.bridge as unknown as { worker: Worker | null }).worker?.terminate();
	}

	/** For tests: terminate the worker as if its tab had been killed. */
	crashForTest(): void {
		this.bridge.crash('terminated by a test');
	}

	/**
	 * For tests: terminate the worker in the middle of its next checkpoint save, after the chunks
	 * and before the manifest. Resolves with that half-written checkpoint's id and step.
	 */
	async crashDuringNextSaveForTest(): Promise<{ id: string; step: number }> {
		await this.init();
		return new Promise((resolve, reject) => {
			const onHeld = proxy((checkpoint: { id: string; step: number }) => {
				this.crashForTest();
				resolve(checkpoint);
			});
			this.bridge.call((api) => api.holdNextSaveForTest(onHeld), 30_000).catch(reject);
		});
	}

	/**
	 * For tests: destroy the engine's GPU device mid-run (the engine must notice, pause at the last
	 * checkpoint and say so); with `refuseNewDevice`, Resume cannot get a new one and falls back.
	 */
	/** Tests only: the worker loses its device after the next logged step at or after `fromStep` that takes no checkpoint. */
	async loseDeviceAfterNextLogForTest(fromStep: number, refuseNewDevice = false): Promise<void> {
		await this.bridge.call((api) => api.loseDeviceAfterNextLogForTest(fromStep, refuseNewDevice), 30_000);
	}

	private onEvent(e: TrainEvent): void {
		if (e.type === 'started') {
			this.backend = e.backend;
			if (e.backend.choice) rememberDecision(e.backend.choice);
			this.live = { runId: e.runId, step: e.step, totalSteps: e.totalSteps, etaSec: 0, stepsPerSec: 0, state: 'running' };
			this.version++;
			this.announce(e.runId);
		} else if (e.type === 'metrics' && this.live) {
			this.onMetrics?.(e.point);
			this.points = [...this.points, e.point];
			this.live = { ...this.live, step: e.step, totalSteps: e.totalSteps, etaSec: e.etaSec, stepsPerSec: e.point.stepsPerSec ?? this.live.stepsPerSec };
			this.announce(this.live.runId);
		} else if (e.type === 'checkpoint') {
			this.version++;
			this.announce(this.live?.runId);
		} else if (e.type === 'phase') {
			this.phase = this.live ? e.phase : null;
		}
	}
}

let engine: EngineClient | null = null;

/** The one engine of this tab; also `window.whetstone.engine`, for the console and the bench scripts. */
export function getEngine(): EngineClient {
	if (!engine) {
		engine = new EngineClient();
		const g = globalThis as { whetstone?: object };
		g.whetstone = { ...g.whetstone, engine };
	}
	return engine;
}

/** Save a Blob through the browser's download. */
function download(blob: Blob, fileName: string): void {
	const url = URL.createObjectURL(blob);
	const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
	a.click();
	setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
