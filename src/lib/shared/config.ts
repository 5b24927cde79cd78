/**
 * One plain config object per concept (model, tokenizer, data split, training), each with
 * defaults and named presets. They are stored whole with every run and checkpoint, so a run can
 * always be re-created from what was saved. Nothing here imports tfjs, the DOM or Svelte.
 */

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
}
export const defaultSplitConfig: SplitConfig = { seed: 42, validation: 0.1, test: 0.15 };

export interface TrainConfig {
	learningRate: number;
	batchSize: number;
	epochs: number;
	/** Stop after this many optimizer steps even mid-epoch; 0 = train every epoch. */
	maxSteps?: number;
	weightDecay: number;
	/** Linear warmup steps, then cosine decay to 10% of the peak. */
	warmupSteps: number;
	gradClip: number;
	/** Word dropout: the chance each token is hidden from the model in a training batch. */
	tokenDropout: number;
	seed: number;
	/** Read the loss back from the GPU every N steps (reading back stalls the pipeline). */
	logEvery: number;
	/** Evaluate on the validation split every N steps (and at the end of each epoch). */
	evalEvery: number;
	/** Save a checkpoint every N steps (and on pause and at the end). */
	checkpointEvery: number;
}

export const defaultTrainConfig: TrainConfig = {
	learningRate: 3e-3,
	batchSize: 32,
	epochs: 12,
	maxSteps: 0,
	weightDecay: 0.1,
	warmupSteps: 20,
	gradClip: 1.0,
	tokenDropout: 0,
	seed: 1337,
	logEvery: 5,
	evalEvery: 20,
	checkpointEvery: 50
};

/**
 * Fine-tuning a pretrained model: a learning rate a hundred times lower than training from
 * scratch (the Trainer's 5e-5), small batches, few epochs, light decay; the model's own dropout.
 */
export const finetunePreset = { learningRate: 5e-5, batchSize: 8, epochs: 3, weightDecay: 0.01, warmupSteps: 10, evalEvery: 20, checkpointEvery: 50 } as const satisfies Partial<TrainConfig>;

export const trainPresets = {
	quick: { epochs: 3, evalEvery: 20 },
	default: {},
	thorough: { epochs: 30, learningRate: 2e-3 }
} as const satisfies Record<string, Partial<TrainConfig>>;

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
}

/** Everything that defines a run; stored whole with the run and every checkpoint. */
export interface RunConfig {
	/** The from-scratch model; ignored (kept for the form) when `pretrained` is set. */
	model: ModelConfig;
	tokenizer: TokenizerConfig;
	train: TrainConfig;
	pretrained?: PretrainedConfig;
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

/** Rough training memory in bytes: weights, grads, two Adam moments, plus activations. */
export function estimateTrainBytes(m: ModelConfig, batchSize: number): number {
	const params = countParams(m);
	const acts = batchSize * m.contextLength * m.dModel * m.nLayer * 16 +
		batchSize * m.nHead * m.contextLength * m.contextLength * m.nLayer * 3;
	return 4 * (4 * params + acts);
}

export function validateRunConfig(c: RunConfig): string[] {
	const errs: string[] = [];
	const m = c.model;
	if (m.dModel % m.nHead !== 0) errs.push(`Width ${m.dModel} must be divisible by the number of heads ${m.nHead}.`);
	if (m.nLayer < 1 || m.nLayer > 24) errs.push('Layers must be between 1 and 24.');
	if (m.contextLength < 8 || m.contextLength > 1024) errs.push('Context length must be between 8 and 1024.');
	if (c.tokenizer.vocabSize < 260 || c.tokenizer.vocabSize > 32768) errs.push('Vocabulary size must be between 260 and 32768.');
	if (!(c.train.learningRate > 0 && c.train.learningRate < 1)) errs.push('Learning rate must be between 0 and 1.');
	if (c.train.batchSize < 1 || c.train.batchSize > 512) errs.push('Batch size must be between 1 and 512.');
	if (c.train.epochs < 1 || c.train.epochs > 1000) errs.push('Epochs must be between 1 and 1000.');
	return errs;
}
