/**
 * Qwen2 (Qwen team 2024) as transformers' `Qwen2ForCausalLM` and `Qwen2ForSequenceClassification`
 * compute it (v4.40, modeling_qwen2.py): the Llama decoder (llama.ts) with biases on the q, k and v projections
 * and none on o_proj or the MLP.
 *
 * Sliding-window attention is not implemented: with `use_sliding_window: false` (every released
 * Qwen2/2.5 config) transformers attends over the full context, as here.
 */
import { bad, configReader } from './hf-config';
import { llama, readDecoderConfig, type LlamaConfig } from './llama';
import type { ArchSpec } from './spec';

function parseConfig(json: Record<string, unknown>): LlamaConfig {
	const r = configReader(json, 'qwen2');
	if (r.bool('use_sliding_window', false)) throw bad('qwen2', 'use_sliding_window: true is not supported.');
	return {
		// Qwen2Config's signature default for num_key_value_heads is 32, not num_attention_heads
		...readDecoderConfig(r, json, 'qwen2', { vocabSize: 151936, intermediateSize: 22016, maxPositions: 32768, nKvHead: 32 }),
		bosTokenId: r.tokenId('bos_token_id', null),
		eosTokenIds: r.tokenIds('eos_token_id', null),
		qkvBias: true,
		oBias: false,
		mlpBias: false
	};
}

/** Llama's decoder, with Qwen2's config reading (q/k/v biases on). */
export const qwen2: ArchSpec<LlamaConfig> = {
	...llama,
	modelType: 'qwen2',
	classNames: { 'causal-lm': 'Qwen2ForCausalLM', 'sequence-classification': 'Qwen2ForSequenceClassification' },
	parseConfig
};
