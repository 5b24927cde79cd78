/**
 * The contract every Hugging Face architecture file fulfils (the folder contract, as squoosh's
 * `src/features` writes one down): parse `config.json` into a normalized config, list parameter
 * names and shapes, run a pure forward pass over a flat record of tensors keyed by the exact
 * Hugging Face names, and compute the loss the matching `*ForCausalLM` /
 * `*ForSequenceClassification` head computes. The task (which head sits on the base model) belongs
 * to the model, not the architecture: it is read from config.json's `architectures` and can be
 * changed with `withTask` (registry.ts) before the parameters are loaded.
 */
import * as tf from '@tensorflow/tfjs';
import type { WeightLayout } from '../ops';
import { loraSideBySide, type LoraPart } from '../ops/lora';
import { dropout, type DropoutSpec } from '../ops/dropout';
import type { KvStep } from './kv-cache';

/** Parameters keyed by Hugging Face tensor names. A tied LM head has no entry of its own. */
export type Params = Record<string, tf.Tensor>;

export type Task = 'causal-lm' | 'sequence-classification';

/** How `*ForSequenceClassification` picks its loss (config.json `problem_type`). */
export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';

export interface Batch {
	/** (B, T) int32 token ids. */
	inputIds: tf.Tensor2D;
	/** (B, T) 1 for tokens, 0 for padding; absent means no padding. */
	attentionMask?: tf.Tensor2D;
	/** (B, T) int32; absent means 0..T-1 on every row, as transformers defaults it. */
	positionIds?: tf.Tensor2D;
	/** (B, T) int32 segment ids (BERT); absent means all zeros. */
	tokenTypeIds?: tf.Tensor2D;
}

export interface ForwardOptions {
	/** Dropout on (the models' configured rates); off by default, as in `model.eval()`. */
	training?: boolean;
	/** Seed for this step's dropout masks, drawn from the engine's PRNG. */
	dropoutSeed?: number;
	/** How to apply the LoRA adapters the params hold (train/lora.ts `withLora` sets it). */
	lora?: LoraForward;
	/**
	 * Generation's key/value cache (kv-cache.ts): a prefill pass records each layer's keys and values,
	 * a decode pass runs one new token per row over them. Decoders that have no cache leave `kv.out`
	 * empty, and generate.ts then recomputes the prefix.
	 */
	kv?: KvStep;
	/**
	 * Activation checkpointing (checkpoint.ts): each block keeps only its input for the backward and
	 * runs again there. Training only; a pass with a key/value cache ignores it.
	 */
	checkpoint?: boolean;
}

/** peft's `lora.Linear` settings that a forward pass needs. */
export interface LoraForward {
	/** alpha / r. */
	scale: number;
	/** Dropout on the adapter's input (`lora_dropout`), on only in training. */
	dropout: number;
}

/** The fields every architecture's normalized config has. */
export interface HfConfigBase {
	modelType: string;
	/** The head on the base model: from config.json `architectures`, or set with `withTask`. */
	task: Task;
	/** Classes of a sequence-classification head (HF's `num_labels`: len(id2label), else num_labels, else 2). */
	numLabels: number;
	/** Class names by id (HF's `id2label`; `LABEL_<i>` when config.json has none). */
	labelNames: string[];
	/** `problem_type`, or null to infer it from the labels at the loss, as transformers does. */
	problemType: ProblemType | null;
	/** Std of the normal init of a fresh head (`initializer_range`, default 0.02). */
	initializerRange: number;
	vocabSize: number;
	hiddenSize: number;
	nLayer: number;
	nHead: number;
	/** Key/value heads; fewer than nHead is grouped-query attention. */
	nKvHead: number;
	headDim: number;
	intermediateSize: number;
	maxPositions: number;
	/** ACT2FN name, e.g. 'gelu_new', 'silu', 'gelu'. */
	hiddenAct: string;
	normEps: number;
	tieWordEmbeddings: boolean;
	bosTokenId: number | null;
	/** Normalized to a list (config.json allows a number or a list). */
	eosTokenIds: number[];
	padTokenId: number | null;
	/** config.json as read, kept whole so an export writes back every field it does not change. */
	hfConfig: Record<string, unknown>;
}

export interface ArchSpec<C extends HfConfigBase = HfConfigBase> {
	/** config.json's `model_type`. */
	modelType: string;
	/** The heads this architecture has; `withTask` accepts only these. */
	tasks: readonly Task[];
	/** The transformers class of each task, written to config.json `architectures` on export. */
	classNames: Partial<Record<Task, string>>;
	/**
	 * The base model's attribute in the head model (`transformer`, `model`, `bert`). Checkpoints of
	 * a bare base model (e.g. `GPT2Model`) store names without it; loading adds it back.
	 */
	baseModelPrefix: string;
	parseConfig(json: Record<string, unknown>): C;
	/** Name -> shape of every trainable tensor, in the order transformers' `named_parameters()` lists them. */
	paramShapes(config: C): Record<string, number[]>;
	/**
	 * The tensors a fresh head consists of for this config (`score.weight`; BERT's classifier and
	 * pooler): the only ones `initMissing` creates when a checkpoint lacks them.
	 */
	headParams(config: C): string[];
	/** Whether the output head reuses the input embedding (then `paramShapes` has no head entry). */
	isTied(config: C): boolean;
	/**
	 * The base model's output, (B, T, d): the final normed hidden states of a decoder, BERT's
	 * sequence output (before the pooler).
	 */
	hidden(params: Params, config: C, batch: Batch, opts?: ForwardOptions): tf.Tensor3D;
	/** `hidden` and the config's head. Causal LM: (B, T, V) logits. Sequence classification: (B, numLabels). */
	forward(params: Params, config: C, batch: Batch, opts?: ForwardOptions): tf.Tensor;
	/** The head model's loss for these logits and labels (causal LM: -100 is ignored). */
	loss(logits: tf.Tensor, labels: tf.Tensor, config: C): tf.Scalar;
}

/**
 * Dropout sites numbered in call order, each with its own seed derived from the step's seed, so
 * one forward pass draws independent masks and the same seed replays them exactly. Off unless
 * `training`, as in `model.eval()`.
 */
export class Dropout {
	private site = 0;
	constructor(private readonly opts: ForwardOptions = {}) {}

	/** The pass's LoRA settings: they travel with its dropout sites down to every linear layer. */
	get lora(): LoraForward | undefined {
		return this.opts.lora;
	}

	/** Whether this pass checkpoints its blocks (`ForwardOptions.checkpoint`, never with a key/value cache). */
	get checkpoint(): boolean {
		return !!this.opts.checkpoint && !this.opts.kv;
	}

	/** A copy that hands out this one's remaining seeds again: a checkpointed block's recompute replays its masks. */
	fork(): Dropout {
		const d = new Dropout(this.opts);
		d.site = this.site;
		return d;
	}

	private active(rate: number): boolean {
		return !!this.opts.training && rate > 0;
	}

	private nextSeed(): number {
		return ((this.opts.dropoutSeed ?? 0) + ++this.site * 7919) >>> 0;
	}

	apply(x: tf.Tensor, rate: number): tf.Tensor {
		return this.active(rate) ? dropout(x, rate, this.nextSeed()) : x;
	}

	/**
	 * A site whose mask a kernel applies itself, from its rate and seed (ops/dropout.ts): the
	 * attention weights (ops.attention's `dropout`), LoRA's input to a projection group (each adapter
	 * hashes its own mask from the one seed), or a residual branch the next norm adds
	 * (`layerNormAddResidual`, `postLayerNorm`). Undefined when off; it takes the seed `apply` would
	 * take here.
	 */
	spec(rate: number): DropoutSpec | undefined {
		return this.active(rate) ? { rate, seed: this.nextSeed() } : undefined;
	}
}

/** (B, T) int32 position ids 0..T-1 for every row. */
export function defaultPositions(b: number, t: number): tf.Tensor2D {
	return tf.tidy(() => tf.range(0, t, 1, 'int32').reshape([1, t]).tile([b, 1]) as tf.Tensor2D);
}

/**
 * A linear layer of a block, `name` (`<name>.weight`, and `<name>.bias` when the checkpoint has
 * one), plus its LoRA adapter when `p` holds one, as peft's `lora.Linear.forward` adds it:
 *
 *   y = x W^T + b + (dropout(x) A^T B^T) · scale        A = <name>.lora_A.weight (r, in), B = <name>.lora_B.weight (out, r)
 *
 * GPT-2's Conv1D stores W as [in, out] ('in_out'); its adapter has the same (r, in), (out, r)
 * shapes, as peft's with fan_in_fan_out.
 */
export function adaptedLinear(p: Params, name: string, x: tf.Tensor, drop: Dropout, layout: WeightLayout = 'out_in'): tf.Tensor {
	return adaptedSideBySide(p, [name], x, drop, layout);
}

/**
 * Several of a block's linear layers of one input side by side, (..., Σ out), each with its LoRA
 * adapter where it has one (Llama's q | k | v, gate | up), through `loraSideBySide`: without
 * adapters the projections alone (one matmul on the fast path), with them the frozen base and
 * every adapter's low-rank term in three kernels. Each adapter draws its own dropout mask.
 */
export function adaptedSideBySide(p: Params, names: string[], x: tf.Tensor, drop: Dropout, layout: WeightLayout = 'out_in'): tf.Tensor {
	const parts: LoraPart[] = names.map((n) => ({
		w: p[n + '.weight'] as tf.Tensor2D,
		b: p[n + '.bias'] as tf.Tensor1D | undefined,
		loraA: p[n + '.lora_A.weight'] as tf.Tensor2D | undefined,
		loraB: p[n + '.lora_B.weight'] as tf.Tensor2D | undefined
	}));
	if (!parts.some((q) => q.loraA)) return loraSideBySide(x, parts, { scale: 1 }, layout); // the frozen base alone
	const lora = drop.lora;
	if (!lora) throw new Error(`The params hold a LoRA adapter for '${names.join("', '")}' but the forward pass has no LoRA settings; wrap the spec with withLora.`);
	return loraSideBySide(x, parts, { scale: lora.scale, dropout: drop.spec(lora.dropout) }, layout);
}
