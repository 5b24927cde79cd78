/**
 * One plain config object per concept (model, tokenizer, data split, training), each with
 * defaults and named presets. They are stored whole with every run and checkpoint, so a run can
 * always be re-created from what was saved. Nothing here imports tfjs, the DOM or Svelte.
 */

import type { CheckpointRef } from './types';

/** The small from-scratch transformer (nanoGPT-style blocks, pre-LN). */
export interface ModelConfig {
	arch: 'whetstone-transformer';
	vocabSize: number;
	/** Longest sequence the model sees; inputs are truncated to it. */
	contextLength: number;
	nLayer: number;
	nHead: number;
	/** Width of the residual stream (d_model). */
	dModel: number;
	/** MLP hidden width as a multiple of dModel. */
	mlpRatio: number;
	dropout: number;
	/** Causal attention (language modelling) or bidirectional (classification). */
	causal: boolean;
	/** How token states become one vector for the classification head. */
	pooling: 'mean' | 'cls';
	head: 'classification' | 'lm';
	/** Number of classes for a classification head. */
	numClasses: number;
	/**
	 * A multi-label head: a sigmoid per class and binary cross-entropy per class (Hugging Face's
	 * `problem_type: "multi_label_classification"`) instead of one softmax. Set when the run's
	 * dataset version keeps label sets; absent in earlier runs (single-label).
	 */
	multiLabel?: boolean;
}

export const modelPresets = {
	nano: { nLayer: 1, nHead: 2, dModel: 32, contextLength: 32 },
	micro: { nLayer: 1, nHead: 2, dModel: 32, contextLength: 64 },
	tiny: { nLayer: 2, nHead: 4, dModel: 64, contextLength: 64 },
	small: { nLayer: 4, nHead: 4, dModel: 128, contextLength: 128 },
	base: { nLayer: 6, nHead: 8, dModel: 256, contextLength: 256 }
} as const satisfies Record<string, Partial<ModelConfig>>;
export type ModelPreset = keyof typeof modelPresets;

export const defaultModelConfig: ModelConfig = {
	arch: 'whetstone-transformer',
	vocabSize: 512,
	// Small on purpose: a few hundred labelled examples overfit anything larger (bench/example-accuracy.ts).
	...modelPresets.micro,
	mlpRatio: 4,
	dropout: 0.2,
	causal: false,
	pooling: 'mean',
	head: 'classification',
	numClasses: 2
};

/** Byte-level BPE trained on the training split. */
export interface TokenizerConfig {
	kind: 'bpe-bytelevel';
	vocabSize: number;
	lowercase: boolean;
}
export const defaultTokenizerConfig: TokenizerConfig = {
	kind: 'bpe-bytelevel',
	vocabSize: 512,
	lowercase: true
};

export interface SplitConfig {
	seed: number;
	/** Fractions of each class that go to validation and test; the rest is train. */
	validation: number;
	test: number;
	/**
	 * Whole groups of a metadata column in one split each, or rows ordered by a date column (oldest
	 * train, newest test), instead of the split by label (data/split-by.ts).
	 */
	by?: { kind: 'group' | 'time'; column: string };
}
export const defaultSplitConfig: SplitConfig = { seed: 42, validation: 0.1, test: 0.15 };

export type OptimizerName = 'adamw' | 'adam' | 'sgd';
export type ScheduleName = 'constant' | 'linear' | 'cosine';

/** Stop when a validation metric has not improved by `minDelta` for `patience` evaluations (transformers' EarlyStoppingCallback). */
export interface EarlyStoppingConfig {
	metric: 'loss' | 'accuracy';
	patience: number;
	minDelta: number;
}

export interface TrainConfig {
	learningRate: number;
	/** Rows per micro-batch: what one forward pass sees. */
	batchSize: number;
	/** Micro-batches whose gradients are summed before one optimizer step (effective batch = batchSize × this). */
	gradAccumSteps: number;
	/**
	 * Activation checkpointing per transformer block (torch.utils.checkpoint, HF's
	 * `gradient_checkpointing`): the forward keeps only each block's input and the backward
	 * recomputes the block, about a third more compute for much less activation memory.
	 */
	activationCheckpointing: boolean;
	epochs: number;
	/** Stop after this many optimizer steps even mid-epoch; 0 = train every epoch. */
	maxSteps?: number;
	/** AdamW: decoupled decay (torch.optim.AdamW); Adam and SGD: L2, added to the gradient (torch.optim.Adam, SGD). Never on biases and norms. */
	optimizer: OptimizerName;
	weightDecay: number;
	/** Adam/AdamW moment decay rates and denominator epsilon. */
	beta1: number;
	beta2: number;
	eps: number;
	/** SGD momentum (dampening 0), and Nesterov's variant of it. */
	momentum: number;
	nesterov: boolean;
	/** Shape of the learning rate after warmup, as transformers' get_<name>_schedule_with_warmup. */
	schedule: ScheduleName;
	/** Linear warmup from 0, in optimizer steps; when 0, `warmupRatio` of the total steps (rounded up), as the Trainer does. */
	warmupSteps: number;
	warmupRatio: number;
	/** Cosine only: the floor as a fraction of the peak (transformers: 0; runs stored before schedules were chosen: 0.1). */
	minLrRatio: number;
	/** Clip the global gradient norm to this (0 = off). */
	gradClip: number;
	/** Classification: spread this much of each target over all classes (torch's label_smoothing). */
	labelSmoothing: number;
	/** Word dropout: the chance each token is hidden from the model in a training batch. */
	tokenDropout: number;
	earlyStopping: EarlyStoppingConfig | null;
	/**
	 * Watchdog: stop when the windowed training loss stays above both this multiple of its best
	 * value and its first logged value for `divergencePatience` log points in a row (0 = only NaN
	 * and Inf stop a run).
	 */
	divergenceFactor: number;
	divergencePatience: number;
	seed: number;
	/** Read the loss back from the GPU every N optimizer steps (reading back stalls the pipeline). */
	logEvery: number;
	/** Evaluate on the validation split every N steps (and at the end). */
	evalEvery: number;
	/** Save a checkpoint every N steps (and on pause and at the end). */
	checkpointEvery: number;
	/** Checkpoints kept besides the best; older ones are pruned (default 3). */
	keepCheckpoints?: number;
}

export const defaultTrainConfig: TrainConfig = {
	learningRate: 3e-3,
	batchSize: 32,
	gradAccumSteps: 1,
	activationCheckpointing: false,
	epochs: 12,
	maxSteps: 0,
	optimizer: 'adamw',
	weightDecay: 0.1,
	beta1: 0.9,
	beta2: 0.999,
	eps: 1e-8,
	momentum: 0.9,
	nesterov: false,
	schedule: 'cosine',
	warmupSteps: 20,
	warmupRatio: 0,
	minLrRatio: 0,
	gradClip: 1.0,
	labelSmoothing: 0,
	tokenDropout: 0,
	earlyStopping: null,
	divergenceFactor: 2,
	divergencePatience: 3,
	seed: 1337,
	logEvery: 5,
	evalEvery: 20,
	checkpointEvery: 50
};

/**
 * Fine-tuning a pretrained model: a learning rate a hundred times lower than training from
 * scratch (the Trainer's 5e-5), small batches, few epochs, light decay, the Trainer's linear
 * schedule with a 10% warmup, and early stopping on the validation loss (the best checkpoint is
 * kept either way); the model's own dropout.
 */
export const finetunePreset = {
	learningRate: 5e-5,
	batchSize: 8,
	epochs: 3,
	weightDecay: 0.01,
	schedule: 'linear',
	warmupSteps: 0,
	warmupRatio: 0.1,
	evalEvery: 20,
	checkpointEvery: 50,
	earlyStopping: { metric: 'loss', patience: 5, minDelta: 0 }
} as const satisfies Partial<TrainConfig>;

/** Rows that one optimizer step learns from. */
export function effectiveBatchSize(t: Pick<TrainConfig, 'batchSize'> & Partial<Pick<TrainConfig, 'gradAccumSteps'>>): number {
	return t.batchSize * Math.max(1, t.gradAccumSteps ?? 1);
}

/**
 * A training config as stored by any version of the studio, with every field this version knows:
 * missing fields get their defaults. A config stored before schedules could be chosen decayed
 * with a cosine to 10% of the peak, so it keeps that floor.
 */
export function normalizeTrainConfig(t: Partial<TrainConfig>): TrainConfig {
	const given = Object.fromEntries(Object.entries(t ?? {}).filter(([, v]) => v !== undefined)) as Partial<TrainConfig>;
	const legacy = given.schedule === undefined ? { schedule: 'cosine' as const, minLrRatio: 0.1 } : {};
	return { ...defaultTrainConfig, ...legacy, ...given };
}

/** `normalizeTrainConfig` on a stored run config (the rest is returned as stored). */
export function normalizeRunConfig(c: RunConfig): RunConfig {
	return c && { ...c, train: normalizeTrainConfig(c.train) };
}

/** A stored record (run, checkpoint manifest) with its config normalized; what storage's readers return. */
export function withNormalConfig<T extends { config: RunConfig } | undefined>(record: T): T {
	return record && { ...record, config: normalizeRunConfig(record.config) };
}

/**
 * What the New-run form's defaults depend on: where the weights come from, which of them train,
 * and how large the model is. `method` is a pretrained model's: 'probe' trains the head alone.
 */
export interface RunShape {
	source: 'scratch' | 'pretrained';
	method?: 'full' | 'lora' | 'freeze' | 'probe';
	/** Parameters of the model; unknown (a pretrained model not looked up yet) counts as small. */
	params?: number;
}

/** Warm up over this fraction of the run's steps (rounded up, as the Trainer's get_warmup_steps), whatever its length. */
export const DEFAULT_WARMUP_RATIO = 0.1;

/**
 * The peak learning rate a run of this shape starts from, as the usual recipes choose it:
 *   from scratch   3e-3 for tiny models (under 1 M parameters; measured on the example in
 *                  bench/example-accuracy.ts), 1e-3 up to 10 M (nanoGPT's baby GPT), 6e-4 above
 *                  (GPT-3's 125 M row): larger models need smaller steps
 *   full / freeze  5e-5, the Trainer's default, up to 400 M parameters; 2e-5 above (BERT's and
 *                  run_glue's range is 2e-5 to 5e-5)
 *   LoRA           3e-4 below 1 B parameters, 2e-4 up to 30 B (QLoRA's 7B–13B), 1e-4 above: the
 *                  adapter starts at zero and is small, so it takes larger steps (PEFT examples)
 *   linear probe   1e-3: only a freshly initialised head trains
 */
export function suggestedLearningRate({ source, method = 'full', params = 0 }: RunShape): number {
	if (source === 'scratch') return params < 1e6 ? 3e-3 : params < 1e7 ? 1e-3 : 6e-4;
	if (method === 'probe') return 1e-3;
	if (method === 'lora') return params < 1e9 ? 3e-4 : params < 3e10 ? 2e-4 : 1e-4;
	return params <= 4e8 ? 5e-5 : 2e-5;
}

/**
 * The training settings the New-run form starts from for a run of this shape: from scratch, the
 * studio's defaults (12 epochs, cosine); a pretrained model, `finetunePreset` (3 epochs, linear
 * schedule, early stopping). Either way the learning rate by method and size and the warmup as
 * a ratio of the run's steps, so a 10-step run does not spend 20 of them warming up.
 */
export function suggestedTrainConfig(shape: RunShape): TrainConfig {
	const base: TrainConfig = shape.source === 'pretrained' ? { ...defaultTrainConfig, ...finetunePreset, earlyStopping: { ...finetunePreset.earlyStopping } } : { ...defaultTrainConfig };
	return { ...base, warmupSteps: 0, warmupRatio: DEFAULT_WARMUP_RATIO, learningRate: suggestedLearningRate(shape) };
}

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * The form's settings when the run's shape changes (another method or model): every field still
 * at the old suggestion takes the new one; a field the user changed stays as they set it.
 * `before` null: nothing is a suggestion (a copied run's settings are all kept).
 */
export function rebaseTrainConfig(current: TrainConfig, before: TrainConfig | null, after: TrainConfig): TrainConfig {
	if (!before) return { ...current };
	const out = { ...current } as Record<string, unknown>;
	for (const key of Object.keys(after) as (keyof TrainConfig)[])
		if (same(current[key], before[key])) out[key] = structuredClone(after[key]);
	return out as unknown as TrainConfig;
}

/** Named training presets, relative to the suggestion for the run (quick: a quarter of its epochs; thorough: 2.5× longer at 2/3 the rate). */
export const trainPresetNames = ['quick', 'default', 'thorough'] as const;
export type TrainPreset = (typeof trainPresetNames)[number];

export function trainPreset(name: TrainPreset, base: Pick<TrainConfig, 'epochs' | 'learningRate'>): Pick<TrainConfig, 'epochs' | 'learningRate'> {
	if (name === 'quick') return { epochs: Math.max(1, Math.round(base.epochs / 4)), learningRate: base.learningRate };
	if (name === 'thorough') return { epochs: Math.round(base.epochs * 2.5), learningRate: Number(((base.learningRate * 2) / 3).toPrecision(2)) };
	return { epochs: base.epochs, learningRate: base.learningRate };
}

/** The preset whose epochs and learning rate these settings have, or null (custom). */
export function matchingTrainPreset(t: Pick<TrainConfig, 'epochs' | 'learningRate'>, base: Pick<TrainConfig, 'epochs' | 'learningRate'>): TrainPreset | null {
	return trainPresetNames.find((n) => {
		const p = trainPreset(n, base);
		return p.epochs === t.epochs && p.learningRate === t.learningRate;
	}) ?? null;
}

/**
 * A model preset's label, naming what sets it apart: "nano · 1 layer · width 32 · context 32"
 * (nano and micro differ only in context).
 */
export function modelPresetLabel(name: ModelPreset): string {
	const p = modelPresets[name];
	return `${name} · ${p.nLayer} ${p.nLayer === 1 ? 'layer' : 'layers'} · width ${p.dModel} · context ${p.contextLength}`;
}

/**
 * What a run teaches the model: to pick a label (classification), to continue domain text
 * (causal language modelling, rows packed into blocks), or to answer prompts (instruction tuning,
 * the loss only on the response tokens).
 */
export type Objective = 'classification' | 'causal-lm' | 'instruction';

/** A pretrained Hugging Face model as a run's starting point (instead of the from-scratch model). */
export interface PretrainedConfig {
	/** Hub id, e.g. 'HuggingFaceTB/SmolLM2-135M'. */
	repo: string;
	/** The commit hash the download resolved to: the run's lineage. */
	revision: string;
	modelType: string;
	/** config.json as downloaded. */
	hfConfig: Record<string, unknown>;
	objective: Objective;
	/** Tokens per training example (classification, instruction) or per packed block (causal LM). */
	contextLength: number;
	/** Classification: the new head's classes. */
	numClasses: number;
	/** Classification: a sigmoid per class (multi-label) instead of a softmax; see `ModelConfig.multiLabel`. */
	multiLabel?: boolean;
	/**
	 * Which weights train (default full): all of them, a LoRA adapter (targetModules: 'q_proj,v_proj'
	 * or 'all-linear'), or all but the first `layers` blocks (or only the head). See shared/method.ts.
	 */
	/**
	 * Dropout rates replacing the model's own (config.json) ones; absent fields keep the model's.
	 * attention: on the attention weights; residual: on the embeddings and each block's output
	 * (GPT-2, BERT); classifier: before the classification head (BERT).
	 */
	dropout?: { attention?: number; residual?: number; classifier?: number };
	/** Start from this checkpoint of another run instead of the Hub weights (linked runs). */
	init?: CheckpointRef;
	method?: { kind: 'full' } | { kind: 'lora'; rank: number; alpha: number; dropout: number; targetModules: string } | { kind: 'freeze'; layers: number | 'all-but-head' };
}

/** Everything that defines a run; stored whole with the run and every checkpoint. */
export interface RunConfig {
	/** The from-scratch model; ignored (kept for the form) when `pretrained` is set. */
	model: ModelConfig;
	tokenizer: TokenizerConfig;
	train: TrainConfig;
	pretrained?: PretrainedConfig;
}

/** Whether a run trains a multi-label classifier (a sigmoid per label) rather than a softmax over classes. */
export function isMultiLabelRun(c: RunConfig): boolean {
	return c.pretrained ? c.pretrained.objective === 'classification' && !!c.pretrained.multiLabel : !!c.model.multiLabel;
}

export function defaultRunConfig(numClasses: number): RunConfig {
	return {
		model: { ...defaultModelConfig, numClasses },
		tokenizer: { ...defaultTokenizerConfig },
		train: { ...defaultTrainConfig }
	};
}

/** Parameter count of the from-scratch model, for the UI and memory estimates. */
export function countParams(m: ModelConfig): number {
	const d = m.dModel;
	const h = d * m.mlpRatio;
	const perLayer = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
	const head = m.head === 'lm' ? 0 : d * m.numClasses + m.numClasses;
	return m.vocabSize * d + m.contextLength * d + m.nLayer * perLayer + 2 * d + head;
}

/** Everything wrong with a run config, as sentences that say what to change; empty when it can run. */
export function validateRunConfig(c: RunConfig): string[] {
	const errs: string[] = [];
	// A pretrained run's model comes from its config.json; the from-scratch fields are only kept for the form.
	if (!c.pretrained) {
		const m = c.model;
		if (m.dModel % m.nHead !== 0) errs.push(`Width ${m.dModel} must be divisible by the number of heads ${m.nHead}.`);
		if (m.nLayer < 1 || m.nLayer > 24) errs.push('Layers must be between 1 and 24.');
		if (m.contextLength < 8 || m.contextLength > 1024) errs.push('Context length must be between 8 and 1024.');
		if (c.tokenizer.vocabSize < 260 || c.tokenizer.vocabSize > 32768) errs.push('Vocabulary size must be between 260 and 32768.');
		if (!(m.dropout >= 0 && m.dropout < 1)) errs.push('Dropout must be at least 0 and below 1.');
	}
	return errs.concat(validateTrainConfig(c.train));
}

const isInt = (x: unknown, lo: number, hi = Infinity) => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
const inRange = (x: unknown, lo: number, hi: number) => typeof x === 'number' && x >= lo && x < hi;

/** The training settings' checks (a stored config is normalized first, so old ones pass). */
export function validateTrainConfig(train: Partial<TrainConfig>): string[] {
	const t = normalizeTrainConfig(train);
	const errs: string[] = [];
	if (!(t.learningRate > 0 && t.learningRate < 1)) errs.push('Learning rate must be between 0 and 1.');
	if (!isInt(t.batchSize, 1, 512)) errs.push('Batch size must be a whole number between 1 and 512.');
	if (!isInt(t.gradAccumSteps, 1, 1024)) errs.push('Gradient accumulation must be a whole number of micro-batches between 1 and 1024 (1 = off).');
	if (typeof t.activationCheckpointing !== 'boolean') errs.push('Activation checkpointing must be on or off.');
	if (!isInt(t.epochs, 1, 1000)) errs.push('Epochs must be a whole number between 1 and 1000.');
	if (!isInt(t.maxSteps ?? 0, 0)) errs.push('Max steps must be a whole number, 0 or more (0 = every epoch).');
	if (!['adamw', 'adam', 'sgd'].includes(t.optimizer)) errs.push(`Unknown optimizer ${JSON.stringify(t.optimizer)}: choose AdamW, Adam or SGD.`);
	if (!inRange(t.weightDecay, 0, 1)) errs.push('Weight decay must be at least 0 and below 1 (0.01–0.1 is usual).');
	if (t.optimizer !== 'sgd') {
		if (!inRange(t.beta1, 0, 1)) errs.push('Adam β1 must be at least 0 and below 1 (0.9 is usual).');
		if (!inRange(t.beta2, 0, 1)) errs.push('Adam β2 must be at least 0 and below 1 (0.999 is usual).');
		if (!(t.eps > 0 && t.eps < 1)) errs.push('Adam epsilon must be above 0 and below 1 (1e-8 is usual).');
	} else {
		if (!inRange(t.momentum, 0, 1)) errs.push('SGD momentum must be at least 0 and below 1 (0.9 is usual).');
		if (t.nesterov && !(t.momentum > 0)) errs.push('Nesterov momentum needs a momentum above 0.');
	}
	if (!['constant', 'linear', 'cosine'].includes(t.schedule)) errs.push(`Unknown schedule ${JSON.stringify(t.schedule)}: choose constant, linear or cosine.`);
	if (!isInt(t.warmupSteps, 0)) errs.push('Warmup steps must be a whole number, 0 or more.');
	if (!inRange(t.warmupRatio, 0, 1)) errs.push('Warmup ratio must be at least 0 and below 1 (a fraction of all steps).');
	if (!(t.minLrRatio >= 0 && t.minLrRatio <= 1)) errs.push('The cosine floor must be between 0 and 1 (a fraction of the peak learning rate).');
	if (!(t.gradClip >= 0)) errs.push('Gradient clipping must be 0 (off) or a positive norm (1.0 is usual).');
	if (!inRange(t.labelSmoothing, 0, 1)) errs.push('Label smoothing must be at least 0 and below 1 (0.1 is usual).');
	if (!inRange(t.tokenDropout, 0, 1)) errs.push('Word dropout must be at least 0 and below 1.');
	const es = t.earlyStopping;
	if (es) {
		if (es.metric !== 'loss' && es.metric !== 'accuracy') errs.push('Early stopping watches the validation loss or accuracy.');
		if (!isInt(es.patience, 1, 1000)) errs.push('Early stopping patience must be a whole number of evaluations between 1 and 1000.');
		if (!(es.minDelta >= 0)) errs.push('Early stopping minimum improvement must be 0 or more.');
	}
	if (!(t.divergenceFactor === 0 || t.divergenceFactor >= 1)) errs.push('The divergence factor must be 0 (off) or at least 1 (2 is usual).');
	if (!isInt(t.divergencePatience, 1, 1000)) errs.push('Divergence patience must be a whole number of log points, 1 or more.');
	if (!Number.isInteger(t.seed)) errs.push('The seed must be a whole number.');
	for (const [k, label] of [['logEvery', 'Log every'], ['evalEvery', 'Evaluate every'], ['checkpointEvery', 'Checkpoint every']] as const)
		if (!isInt(t[k], 1)) errs.push(`${label} must be a whole number of steps, 1 or more.`);
	return errs;
}
