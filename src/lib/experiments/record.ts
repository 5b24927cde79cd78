/**
 * What the studio stores for an experiment, and how a trial's parameters become a run's config:
 * the search space is over the Train screen's settings (paths such as `train.learningRate`), each
 * trial is a normal run with `Run.experiment` lineage, and a cross-validation is k runs on fold
 * dataset versions (or N runs with different seeds). Plain data; no tfjs, DOM or Svelte.
 */
import type { RunConfig } from '../shared/config';
import { defaultLora } from '../shared/method';
import type { MetricPoint } from '../shared/types';
import { SpaceError, type Distribution, type Params, type SearchSpace } from './space';
import type { StudyState } from './types';
import { median } from './stats';

export type ObjectiveMetric = 'valLoss' | 'valAccuracy';
export const METRIC_LABEL: Record<ObjectiveMetric, string> = { valLoss: 'validation loss', valAccuracy: 'validation accuracy' };
export const METRIC_DIRECTION = { valLoss: 'minimize', valAccuracy: 'maximize' } as const;

export interface StudyRecord extends StudyState {
	kind: 'study';
	projectId: string;
	datasetVersionId: string;
	/** The settings every trial starts from; a trial overrides the searched ones. */
	baseConfig: RunConfig;
	metric: ObjectiveMetric;
	/** Optimizer steps per trial (short on purpose: pruning and a few steps keep a study affordable). */
	maxSteps: number;
	status: 'running' | 'paused' | 'done';
	updatedAt: number;
}

export interface CvFold {
	index: number;
	seed: number;
	/** The fold's dataset version (same rows, this fold validating); the source version for seeds. */
	datasetVersionId?: string;
	runId?: string;
	state: 'pending' | 'running' | 'complete' | 'failed';
	error?: string;
	valLoss?: number;
	valAccuracy?: number;
}

export interface CvRecord {
	kind: 'folds' | 'seeds';
	id: string;
	projectId: string;
	name: string;
	createdAt: number;
	updatedAt: number;
	datasetVersionId: string;
	baseConfig: RunConfig;
	/** Folds (k) or repeats (N). */
	k: number;
	seed: number;
	/** How rows are dealt to folds: keep the label balance, keep a metadata column's groups whole, or neither. */
	stratify: 'label' | 'none' | { column: string };
	maxSteps: number;
	folds: CvFold[];
	status: 'running' | 'paused' | 'done';
}

export type ExperimentRecord = StudyRecord | CvRecord;

/** A setting the studio can search over, with a sensible default range. */
export interface Tunable {
	path: string;
	label: string;
	dist: Distribution;
	/** Searched by default in a new study. */
	on: boolean;
	/** Only for runs from scratch, or only for a pretrained model (absent: both). */
	only?: 'scratch' | 'pretrained';
	/** The range for a pretrained model, when it differs (fine-tuning takes smaller steps). */
	pretrainedDist?: Distribution;
}

/** The fine-tuning methods a study can choose between (shared/method.ts): full fine-tuning or LoRA. */
export const STUDY_METHODS = ['full', 'lora'] as const;
const METHOD = 'pretrained.method.kind';
const whenLora = { param: METHOD, in: ['lora'] };

export const TUNABLES: Tunable[] = [
	{
		path: 'train.learningRate',
		label: 'learning rate',
		dist: { type: 'float', low: 1e-4, high: 3e-2, log: true },
		pretrainedDist: { type: 'float', low: 1e-5, high: 1e-3, log: true },
		on: true
	},
	{ path: 'train.weightDecay', label: 'weight decay', dist: { type: 'float', low: 0, high: 0.3 }, on: true },
	{ path: 'model.dropout', label: 'dropout', dist: { type: 'float', low: 0, high: 0.4, step: 0.05 }, on: false, only: 'scratch' },
	{ path: METHOD, label: 'fine-tuning method', dist: { type: 'categorical', choices: [...STUDY_METHODS] }, on: false, only: 'pretrained' },
	{ path: 'pretrained.method.rank', label: 'LoRA rank', dist: { type: 'int', low: 2, high: 32, log: true, when: whenLora }, on: false, only: 'pretrained' },
	{ path: 'pretrained.method.alpha', label: 'LoRA alpha', dist: { type: 'int', low: 4, high: 64, log: true, when: whenLora }, on: false, only: 'pretrained' },
	{ path: 'pretrained.method.dropout', label: 'LoRA dropout', dist: { type: 'float', low: 0, high: 0.2, step: 0.05, when: whenLora }, on: false, only: 'pretrained' },
	{ path: 'train.batchSize', label: 'batch size', dist: { type: 'categorical', choices: [8, 16, 32, 64] }, on: false },
	{ path: 'train.warmupSteps', label: 'warmup steps', dist: { type: 'int', low: 0, high: 50 }, on: false },
	{ path: 'train.labelSmoothing', label: 'label smoothing', dist: { type: 'float', low: 0, high: 0.2 }, on: false },
	{ path: 'train.optimizer', label: 'optimizer', dist: { type: 'categorical', choices: ['adamw', 'adam', 'sgd'] }, on: false },
	{ path: 'train.momentum', label: 'SGD momentum', dist: { type: 'float', low: 0.8, high: 0.99, when: { param: 'train.optimizer', in: ['sgd'] } }, on: false }
];

export const tunableLabel = (path: string) => TUNABLES.find((t) => t.path === path)?.label ?? path;

/** The settings a study can search from this base: a pretrained model's (its method, LoRA's rank…) or a from-scratch model's, with the ranges for it. */
export function tunablesFor(pretrained: boolean): Tunable[] {
	return TUNABLES.filter((t) => !t.only || t.only === (pretrained ? 'pretrained' : 'scratch')).map((t) => (pretrained && t.pretrainedDist ? { ...t, dist: t.pretrainedDist } : t));
}

/** A setting's value in a config; a pretrained run without a method fine-tunes in full. */
function getPath(cfg: RunConfig, path: string): unknown {
	if (path === METHOD && cfg.pretrained) return cfg.pretrained.method?.kind ?? 'full';
	return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], cfg);
}

/**
 * What validateSpace cannot know: that the searched settings exist in the base (a pretrained
 * model's method only for a pretrained base), the methods are ones a study can set, and LoRA's
 * settings are searched only where the method is LoRA.
 */
export function validateStudioSpace(space: SearchSpace, base: RunConfig): void {
	for (const [path, d] of Object.entries(space)) {
		if (path.startsWith('pretrained.') && !base.pretrained)
			throw new SpaceError(`"${tunableLabel(path)}" is a pretrained model's setting: start from a pretrained run's settings, or untick it.`);
		if (path === METHOD && d.type === 'categorical') {
			const bad = d.choices.filter((c) => !(STUDY_METHODS as readonly unknown[]).includes(c));
			if (bad.length) throw new SpaceError(`Unknown fine-tuning method ${bad.map((b) => JSON.stringify(b)).join(', ')}: the choices are ${STUDY_METHODS.join(' and ')}.`);
		}
		if (path.startsWith('pretrained.method.') && path !== METHOD && !d.when && getPath(base, METHOD) !== 'lora')
			throw new SpaceError(`"${tunableLabel(path)}" is a LoRA setting: search the fine-tuning method too, or start from a LoRA run's settings.`);
		if ((path === 'pretrained.method.rank' || path === 'pretrained.method.alpha') && d.type !== 'categorical' && d.low < 1)
			throw new SpaceError(`"${tunableLabel(path)}" must be at least 1 (it is ${d.low}).`);
	}
}

/**
 * The search space from the chosen settings. A conditional setting whose parent is not searched
 * is searched only when the base config meets its condition (SGD momentum when the base is SGD).
 */
export function studioSpace(chosen: { path: string; dist: Distribution }[], base: RunConfig): SearchSpace {
	const space: SearchSpace = {};
	for (const { path, dist } of chosen) {
		if (dist.when && !chosen.some((c) => c.path === dist.when!.param)) {
			if (!dist.when.in.includes(getPath(base, dist.when.param) as string)) continue;
			const { when: _w, ...rest } = dist;
			space[path] = rest as Distribution;
		} else space[path] = dist;
	}
	return space;
}

/** Evaluate and checkpoint about five times per trial: intermediate values for the pruner, and a checkpoint to resume from. */
export function trialCadence(maxSteps: number): number {
	return Math.max(1, Math.ceil(maxSteps / 5));
}

/** The run config of a trial (or fold): the base with the parameters set, `maxSteps` and a matching evaluation cadence. */
export function configFor(base: RunConfig, params: Params, maxSteps: number, seed?: number): RunConfig {
	const cfg = structuredClone(base);
	// The method first: LoRA's rank, alpha and dropout are set on the adapter it makes.
	if (METHOD in params) {
		if (!cfg.pretrained) throw new SpaceError('A fine-tuning method needs a pretrained model to fine-tune.');
		const kind = params[METHOD];
		const now = cfg.pretrained.method;
		if (kind === 'lora') cfg.pretrained.method = now?.kind === 'lora' ? now : defaultLora(cfg.pretrained.modelType);
		else if (kind === 'full') cfg.pretrained.method = { kind: 'full' };
		else throw new SpaceError(`Unknown fine-tuning method ${JSON.stringify(kind)}: the choices are ${STUDY_METHODS.join(' and ')}.`);
	}
	for (const [path, value] of Object.entries(params)) {
		if (path === METHOD) continue;
		if (path.startsWith('pretrained.method.') && cfg.pretrained?.method?.kind !== 'lora')
			throw new SpaceError(`"${tunableLabel(path)}" applies to LoRA only, and this trial's method is ${cfg.pretrained?.method?.kind ?? 'full'}.`);
		const keys = path.split('.');
		let o = cfg as unknown as Record<string, unknown>;
		for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
		o[keys[keys.length - 1]] = value;
	}
	const every = trialCadence(maxSteps);
	cfg.train.maxSteps = maxSteps;
	cfg.train.evalEvery = every;
	cfg.train.checkpointEvery = every;
	cfg.train.logEvery = Math.min(cfg.train.logEvery, every);
	cfg.train.earlyStopping = null;
	if (seed !== undefined) cfg.train.seed = seed;
	return cfg;
}

/** The objective of a finished run: its best validation value (lowest loss, highest accuracy). */
export function objectiveOf(points: readonly MetricPoint[], metric: ObjectiveMetric): number | undefined {
	const vals = points.map((p) => p[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
	if (!vals.length) return undefined;
	return metric === 'valLoss' ? Math.min(...vals) : Math.max(...vals);
}

/** Training steps per second on this device: the median over the given metric points (the warm-up's first point left out). */
export function measuredStepsPerSec(points: readonly MetricPoint[]): number | undefined {
	const s = points.slice(1).map((p) => p.stepsPerSec).filter((v): v is number => typeof v === 'number' && v > 0);
	return s.length ? median(s) : undefined;
}

/**
 * Seconds a study or cross-validation will take: each run's steps at the measured pace, plus each
 * run's start-up (preparing, the model, the warm-up's kernel compilation), measured from finished
 * trials when there are some.
 */
export function estimateSeconds(runs: number, maxSteps: number, stepsPerSec: number, startupSec = 0): number {
	return runs * (maxSteps / stepsPerSec + startupSec);
}

export function formatDuration(sec: number): string {
	if (!Number.isFinite(sec)) return '—';
	if (sec < 90) return `${Math.max(1, Math.round(sec))} s`;
	if (sec < 5400) return `${Math.round(sec / 60)} min`;
	return `${(sec / 3600).toFixed(1)} h`;
}
