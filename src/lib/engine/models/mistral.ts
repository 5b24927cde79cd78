/**
 * Mistral (Jiang et al. 2023) as transformers' `MistralForCausalLM` and
 * `MistralForSequenceClassification` compute it (v4.40, modeling_mistral.py, eager attention): the
 * Llama decoder (llama.ts) with grouped-query attention over a sliding window. At v4.40 the eager
 * mask (`_prepare_4d_causal_attention_mask(..., sliding_window)`) lets query i see keys
 * i - sliding_window ... i, which is sliding_window + 1 keys; `sliding_window: null` (Mistral v0.2
 * and later) attends over the whole context.
 */
import { bad, configReader } from './hf-config';
import { llama, readDecoderConfig, type LlamaConfig } from './llama';
import type { ArchSpec } from './spec';

function parseConfig(json: Record<string, unknown>): LlamaConfig {
	const r = configReader(json, 'mistral');
	const window = r.raw('sliding_window') === null ? null : r.num('sliding_window', 4096);
	if (window !== null && (!Number.isInteger(window) || window < 1)) throw bad('mistral', `sliding_window must be a positive integer or null, got ${window}.`);
	return {
		...readDecoderConfig(r, json, 'mistral', { vocabSize: 32000, intermediateSize: 14336, maxPositions: 4096 * 32, nKvHead: 8 }),
		bosTokenId: r.tokenId('bos_token_id', 1),
		eosTokenIds: r.tokenIds('eos_token_id', 2),
		qkvBias: false,
		oBias: false,
		mlpBias: false,
		slidingWindow: window
	};
}

/** Llama's decoder with Mistral's config reading (a sliding attention window). */
export const mistral: ArchSpec<LlamaConfig> = {
	...llama,
	modelType: 'mistral',
	classNames: { 'causal-lm': 'MistralForCausalLM', 'sequence-classification': 'MistralForSequenceClassification' },
	parseConfig
};
