/**
 * How much device memory a pretrained model needs, estimated from its parameter count and
 * config.json before anything is downloaded, and whether that fits a budget. Pure, so the page
 * shows the same numbers the worker checks. Activation sizes follow Korthikanti et al. 2022,
 * "Reducing Activation Recomputation in Large Transformer Models", section 4.1.
 */
import { countParams, type ModelConfig, type Objective } from './config';
import { UserError } from './errors';
import type { MemoryEstimate } from './hub';
import { ENCODER_TYPES } from './arch-shapes';
import { countMethod, fanInFanOutFor, hfParamShapes, methodProblems, type FineTuneMethod } from './method';

/** The batch a training run will use. */
export interface BatchShape {
	batchSize: number;
	seqLen: number;
}

/** The rank the LoRA estimate assumes, on the four attention projections (q, k, v, o). */
export const ESTIMATE_LORA_RANK = 8;

/** The first of `keys` that config.json sets to a positive number; architectures name sizes differently. */
function dim(config: Record<string, unknown>, ...keys: string[]): number {
	for (const key of keys) {
		const v = config[key];
		if (typeof v === 'number' && v > 0) return v;
	}
	return 0;
}

/**
 * Bytes in float32 (tfjs computes in float32 only, so a BF16 checkpoint widens to 4 bytes a value):
 *
 *   weights      = 4·P
 *   fullFineTune = 16·P (weights, gradients, Adam m and v) + A
 *   lora         = 4·P (frozen) + 16·Pa (adapter with its gradients and Adam state) + A
 *
 * P = params, Pa = layers · 4 projections · r·(h + h) with r = 8. A, the activations kept for the
 * backward pass of one batch (b sequences of s tokens, h hidden, a heads, L layers, V vocab):
 *
 *   A = L · (68·b·s·h + 10·a·b·s²) + 12·b·s·V
 *
 * Korthikanti et al. count 34·s·b·h + 5·a·s²·b bytes per layer with 16-bit activations and 1-byte
 * dropout masks; we double it for float32. The s² term is the attention scores and their softmax,
 * per head, which dominates at long contexts. The last term is the LM head's logits, their
 * softmax and its gradient (3 float32 copies of b·s·V), large for 50k-token vocabularies; an
 * encoder (model_type 'bert', fine-tuned here with a small classification head) has none. LoRA
 * keeps the same activations: gradients still flow back through the frozen layers.
 * Missing sizes in config.json count as 0, so the estimate is then a lower bound.
 */
export function estimateMemory(
	params: number,
	config: Record<string, unknown>,
	largest: { name: string; bytes: number },
	batch: BatchShape
): MemoryEstimate {
	const h = dim(config, 'hidden_size', 'n_embd', 'd_model', 'dim');
	const layers = dim(config, 'num_hidden_layers', 'n_layer', 'num_layers', 'n_layers');
	const adapterParams = layers * 4 * ESTIMATE_LORA_RANK * (h + h);
	return {
		weights: 4 * params,
		fullFineTune: trainingMemory({ total: params, trainable: params }, config, batch).total,
		lora: trainingMemory({ total: params + adapterParams, trainable: adapterParams }, config, batch).total,
		largestTensor: { ...largest }
	};
}

/** The parts of a training run's memory, in bytes (float32), and the batch they assume. */
export interface TrainingMemory {
	total: number;
	/** Every weight, frozen or not (a LoRA adapter's included). */
	weights: number;
	/** One gradient per trainable weight. */
	gradients: number;
	/** The optimizer's state per trainable weight: Adam's two moments (SGD: one momentum buffer, or none). */
	optimizer: number;
	/** What one batch keeps for the backward pass (with `checkpointing`, the checkpointed figure). */
	activations: number;
	batch: BatchShape;
	/** Whether `activations` counts activation checkpointing (`activationBytes`). */
	checkpointing: boolean;
	/** Activations of one example at the batch's sequence length, without and with checkpointing: what the planner scales. */
	perExample: { plain: number; checkpointed: number };
}

/**
 * THE training-memory estimate: every screen that shows or checks memory to train calls this
 * (through `fineTuneMemory` or `scratchMemory`), so one model and one setting give one figure.
 * `optimizerSlots`: float32 buffers the optimizer keeps per trainable weight (Adam/AdamW 2, SGD
 * with momentum 1, plain SGD 0).
 */
export function trainingMemory(
	counts: { total: number; trainable: number },
	config: Record<string, unknown>,
	batch: BatchShape,
	optimizerSlots = 2,
	checkpointing = false
): TrainingMemory {
	const weights = 4 * counts.total;
	const gradients = 4 * counts.trainable;
	const optimizer = 4 * optimizerSlots * counts.trainable;
	const activations = activationBytes(config, batch, checkpointing);
	const one = { batchSize: 1, seqLen: batch.seqLen };
	const perExample = { plain: activationBytes(config, one), checkpointed: activationBytes(config, one, true) };
	return { total: weights + gradients + optimizer + activations, weights, gradients, optimizer, activations, batch: { ...batch }, checkpointing, perExample };
}

/** Float32 buffers per trainable weight for an optimizer setting of the training config. */
export function optimizerSlots(t: { optimizer: string; momentum?: number }): number {
	return t.optimizer === 'sgd' ? ((t.momentum ?? 0) > 0 ? 1 : 0) : 2;
}

/**
 * Memory to fine-tune a pretrained model (its config.json) with `method` on batches of `batch`:
 * what the model picker and the method form both show. Null when the architecture is not one the
 * studio fine-tunes or the method's settings select nothing.
 */
export function fineTuneMemory(
	hfConfig: Record<string, unknown>,
	objective: Objective,
	numClasses: number,
	method: FineTuneMethod,
	batch: BatchShape,
	slots = 2,
	checkpointing = false
): TrainingMemory | null {
	const shapes = hfParamShapes(hfConfig, objective, numClasses);
	if (!Object.keys(shapes).length || methodProblems(method, shapes).length) return null;
	return trainingMemory(countMethod(shapes, method, fanInFanOutFor(String(hfConfig.model_type))), hfConfig, batch, slots, checkpointing);
}

/** Memory to train the from-scratch model: every weight trains; a classification head has no LM logits. */
export function scratchMemory(m: ModelConfig, batchSize: number, slots = 2, checkpointing = false): TrainingMemory {
	const params = countParams(m);
	const config = {
		model_type: 'whetstone-transformer',
		hidden_size: m.dModel,
		num_hidden_layers: m.nLayer,
		num_attention_heads: m.nHead,
		vocab_size: m.head === 'lm' ? m.vocabSize : 0
	};
	return trainingMemory({ total: params, trainable: params }, config, { batchSize, seqLen: m.contextLength }, slots, checkpointing);
}

/** The parts of an estimate in words, for a tooltip or a details line. */
export function describeMemory(m: TrainingMemory): string {
	const parts = [`weights ${approxBytes(m.weights)}`, `gradients ${approxBytes(m.gradients)}`];
	if (m.optimizer) parts.push(`optimizer state ${approxBytes(m.optimizer)}`);
	parts.push(`activations ${approxBytes(m.activations)} (batch ${m.batch.batchSize} × ${m.batch.seqLen} tokens${m.checkpointing ? ', checkpointed' : ''})`);
	return parts.join(' + ');
}

/**
 * A, the activations one batch keeps for the backward pass (the formula above `estimateMemory`).
 * With activation checkpointing (engine/models/checkpoint.ts) each layer keeps only its input,
 * 4·b·s·h bytes, and the backward recomputes one layer at a time, whose activations are then alive
 * at once, beside the LM head's:
 *
 *   A_ckpt = L · 4·b·s·h + (68·b·s·h + 10·a·b·s²) + 12·b·s·V
 */
export function activationBytes(config: Record<string, unknown>, { batchSize: b, seqLen: s }: BatchShape, checkpointing = false): number {
	const h = dim(config, 'hidden_size', 'n_embd', 'd_model', 'dim');
	const layers = dim(config, 'num_hidden_layers', 'n_layer', 'num_layers', 'n_layers');
	const heads = dim(config, 'num_attention_heads', 'n_head', 'num_heads', 'n_heads');
	const vocab = ENCODER_TYPES.includes(String(config.model_type)) ? 0 : dim(config, 'vocab_size');
	const layer = 68 * b * s * h + 10 * heads * b * s * s;
	const head = 12 * b * s * vocab;
	if (checkpointing && layers > 0) return layers * 4 * b * s * h + layer + head;
	return layers * layer + head;
}

/**
 * Training memory for a fine-tuning method (shared/method.ts `countMethod`): every weight in
 * float32 (4·total, a LoRA adapter's included), gradients and two Adam moments for the trainable
 * ones only (12·trainable), and one batch's activations in full: a LoRA adapter's gradient flows
 * back through the frozen layers, and tfjs keeps every intermediate of a step until its gradients
 * are computed, so freezing the lower layers does not shrink them either.
 */
export function estimateMethodBytes(counts: { total: number; trainable: number }, config: Record<string, unknown>, batch: BatchShape): number {
	return trainingMemory(counts, config, batch).total;
}

export type FitMethod = 'full' | 'lora' | 'inference';

/**
 * A 'model-too-large' error when the method's estimate is over `budgetBytes` (what the device can
 * give the studio), saying both numbers and what to change; null when it fits.
 */
export function checkFits(estimate: MemoryEstimate, budgetBytes: number, method: FitMethod = 'full'): UserError | null {
	const need = method === 'full' ? estimate.fullFineTune : method === 'lora' ? estimate.lora : estimate.weights;
	if (need <= budgetBytes) return null;
	const what = { full: 'Full fine-tuning', lora: 'LoRA fine-tuning', inference: 'Loading' }[method];
	return new UserError(
		'model-too-large',
		`${what} this model needs about ${approxBytes(need)} of device memory, but about ${approxBytes(budgetBytes)} is available. ${advice(estimate, budgetBytes, method)}`
	);
}

function advice(estimate: MemoryEstimate, budgetBytes: number, method: FitMethod): string {
	if (method === 'inference') return 'Pick a smaller model.';
	const lora = method === 'lora' ? 'Pick' : estimate.lora <= budgetBytes ? `Switch to LoRA (about ${approxBytes(estimate.lora)}), or pick` : 'Use LoRA and pick';
	return `${lora} a smaller model, a shorter context or a smaller batch.`;
}

/** A size for a message, in decimal units as browsers report them: "1.2 GB", "135 MB", "12 kB". */
export function approxBytes(bytes: number): string {
	if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
	if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
	if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
	return `${Math.round(bytes)} B`;
}
