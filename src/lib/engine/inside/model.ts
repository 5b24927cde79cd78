/**
 * One handle for the Inside view over every model the studio runs: a Hugging Face architecture
 * (models/registry.ts) or the from-scratch transformer (models/transformer.ts). The handle's
 * `forward` is the model's own forward pass, so everything the Inside view shows (attention maps,
 * next-token probabilities, generation alternatives) comes from the code that trains and scores it;
 * nothing here re-implements a layer.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../shared/config';
import { bucketFor, lengthBuckets } from '../batching';
import { forward as scratchForward, type Params as ScratchParams } from '../models/transformer';
import type { ArchSpec, HfConfigBase, Params } from '../models/spec';

/** What the page is told about the model it picked. */
export interface InsideInfo {
	/** 'causal-lm' predicts the next token; 'classification' labels a text. */
	task: 'causal-lm' | 'classification';
	/** Hugging Face `model_type`, or 'scratch' for the studio's own transformer. */
	modelType: string;
	nLayer: number;
	nHead: number;
	/** Longest input the model takes (its context length). */
	contextLength: number;
	/** A classifier's class names, by id. */
	labels: string[];
}

export interface InsideModel extends InsideInfo {
	/** The model's forward pass: (B, T, V) logits of a causal LM, (B, C) of a classifier. */
	forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D): tf.Tensor;
	/** Pad id of the input rows (any id works: padded keys are masked). */
	padId: number;
	/** Generation needs the architecture itself (generate.ts runs it); null for the from-scratch model. */
	arch: { spec: ArchSpec; config: HfConfigBase; params: Params } | null;
}

/** A Hugging Face model: its spec, normalized config and parameters. */
export function archModel(spec: ArchSpec, config: HfConfigBase, params: Params, padId: number): InsideModel {
	return {
		task: config.task === 'causal-lm' ? 'causal-lm' : 'classification',
		modelType: spec.modelType,
		nLayer: config.nLayer,
		nHead: config.nHead,
		contextLength: config.maxPositions,
		labels: config.task === 'causal-lm' ? [] : config.labelNames,
		padId,
		arch: { spec, config, params },
		forward: (inputIds, attentionMask) => spec.forward(params, config, { inputIds, attentionMask })
	};
}

/** The studio's from-scratch transformer with its trained parameters. */
export function scratchModel(model: ModelConfig, params: ScratchParams, padId: number, labels: string[]): InsideModel {
	return {
		task: model.head === 'lm' ? 'causal-lm' : 'classification',
		modelType: 'scratch',
		nLayer: model.nLayer,
		nHead: model.nHead,
		contextLength: model.contextLength,
		labels: model.head === 'lm' ? [] : labels,
		padId,
		arch: null,
		forward: (inputIds, attentionMask) => scratchForward(params, model, { inputIds, attentionMask })
	};
}

export function describe(m: InsideModel): InsideInfo {
	const { task, modelType, nLayer, nHead, contextLength, labels } = m;
	return { task, modelType, nLayer, nHead, contextLength, labels };
}

/**
 * One row as the engine batches it (batching.ts `makeBatch`): the ids right-padded to their length
 * bucket under an attention mask, so the maps show the padding the model really sees.
 */
export function paddedRow(m: InsideModel, ids: readonly number[]): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; length: number } {
	const n = ids.length;
	const t = Math.max(n, bucketFor(n, lengthBuckets(m.contextLength)));
	const row = new Int32Array(t).fill(m.padId);
	row.set(ids);
	const mask = new Float32Array(t).fill(1, 0, n);
	return { inputIds: tf.tensor2d(row, [1, t], 'int32'), attentionMask: tf.tensor2d(mask, [1, t], 'float32'), length: t };
}
