/**
 * The studio's from-scratch model in the closest standard layout, GPT-2 (Radford et al. 2019):
 * its tensors already carry GPT-2's Hugging Face names and Conv1D [in, out] layout
 * (models/transformer.ts), so a config.json for `gpt2` with the same sizes and `gelu_new` (the
 * tanh GELU it trains with) makes `GPT2LMHeadModel` compute the same logits. A classifier becomes
 * `GPT2ForSequenceClassification` with `classifier.weight` as `score.weight`; transformers' head
 * has no bias, attends causally and reads the last real token, so where the studio's model was
 * bidirectional, pooled or biased, the export says so in its warnings. The tokenizer is the
 * project's byte-level BPE `tokenizer.json` with bpe.ts's tokenizer_config.json.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../shared/config';
import { bpeTokenizerConfig } from '../../data/bpe';
import { resolveConfig } from '../models/registry';
import { exportHfModel, type HfExport, type HostParam } from './export';

export interface ScratchExportOptions {
	labels?: string[];
	padTokenId?: number;
	eosTokenId?: number;
	bosTokenId?: number;
}

/** config.json of the GPT-2 model with the studio model's sizes. */
export function scratchHfConfig(m: ModelConfig, opts: ScratchExportOptions = {}): Record<string, unknown> {
	const classify = m.head === 'classification';
	const json: Record<string, unknown> = {
		model_type: 'gpt2',
		architectures: [classify ? 'GPT2ForSequenceClassification' : 'GPT2LMHeadModel'],
		vocab_size: m.vocabSize,
		n_positions: m.contextLength,
		n_ctx: m.contextLength,
		n_embd: m.dModel,
		n_layer: m.nLayer,
		n_head: m.nHead,
		n_inner: m.dModel * m.mlpRatio,
		activation_function: 'gelu_new',
		layer_norm_epsilon: 1e-5,
		resid_pdrop: m.dropout,
		embd_pdrop: m.dropout,
		attn_pdrop: m.dropout,
		summary_first_dropout: m.dropout,
		initializer_range: 0.02,
		scale_attn_weights: true,
		use_cache: true,
		tie_word_embeddings: true
	};
	// spelled out even when unknown: GPT2Config's defaults (50256) are outside this vocabulary
	json.bos_token_id = opts.bosTokenId ?? null;
	json.eos_token_id = opts.eosTokenId ?? null;
	if (opts.padTokenId !== undefined) json.pad_token_id = opts.padTokenId;
	if (classify) {
		const labels = opts.labels ?? Array.from({ length: m.numClasses }, (_, i) => `LABEL_${i}`);
		json.num_labels = m.numClasses;
		json.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
		json.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
		// transformers then applies BCEWithLogitsLoss, the loss this head trained with.
		if (m.multiLabel) json.problem_type = 'multi_label_classification';
	}
	return json;
}

/** The GPT-2 folder's files for a from-scratch model's params, and what transformers will do differently. */
export async function exportScratchModel(m: ModelConfig, params: Record<string, HostParam | tf.Tensor>, opts: ScratchExportOptions = {}): Promise<HfExport> {
	const { spec, config } = resolveConfig(scratchHfConfig(m, opts));
	const out: Record<string, HostParam> = {};
	const warnings: string[] = [];
	for (const [name, p] of Object.entries(params)) {
		const data = p instanceof tf.Tensor ? ((await p.data()) as Float32Array) : p.data;
		if (name === 'classifier.bias') {
			if (data.some((x) => x !== 0))
				warnings.push("GPT-2's classification head has no bias: the trained class bias is left out, so transformers' scores differ by it.");
			continue;
		}
		out[name === 'classifier.weight' ? 'score.weight' : name] = { shape: p.shape.slice(), data };
	}
	if (m.head === 'classification') {
		if (!m.causal) warnings.push('This model was trained with bidirectional attention; GPT-2 attends causally, so transformers computes different scores. Train with causal attention for an exact export.');
		warnings.push(
			`This model classified from the ${m.pooling === 'cls' ? 'first token' : 'mean of the token states'}; GPT2ForSequenceClassification reads the last real token, so transformers' scores differ. The weights load with no missing keys.`
		);
	}
	const res = await exportHfModel(spec, config, out, { labels: opts.labels, padTokenId: opts.padTokenId });
	return { files: res.files, warnings: [...warnings, ...res.warnings] };
}

/** The project's BPE as transformers' fast tokenizer files. */
export function scratchTokenizerFiles(tokenizerJson: string, contextLength: number): Record<string, string> {
	return {
		'tokenizer.json': tokenizerJson,
		'tokenizer_config.json': JSON.stringify(bpeTokenizerConfig(contextLength), null, 2) + '\n',
		'special_tokens_map.json': JSON.stringify({ pad_token: '<pad>', cls_token: '<cls>', eos_token: '<eos>', unk_token: '<unk>' }, null, 2) + '\n'
	};
}
