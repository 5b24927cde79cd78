/**
 * Phi-3 (Abdin et al. 2024) as transformers' `Phi3ForCausalLM` and `Phi3ForSequenceClassification`
 * compute it (modeling_phi3.py as added in commit c9693db2, "Phi-3 (#30423)", v4.41.0.dev0; Phi-3
 * is not in v4.40): the Llama decoder (llama.ts) with fused projections,
 *
 *   qkv_proj      rows: q (heads × head_dim), then k, then v (kv heads × head_dim each)
 *   gate_up_proj  rows: gate (intermediate_size), then up;  mlp = down(up * silu(gate))
 *
 * and the sliding window of `sliding_window` applied as in Mistral (mistral.ts). The long-context
 * RoPE variants (`rope_scaling` "su"/"longrope"/"yarn" of the 128k models) are not implemented.
 */
import { bad, configReader } from './hf-config';
import { llama, readDecoderConfig, type LlamaConfig } from './llama';
import type { ArchSpec } from './spec';

function parseConfig(json: Record<string, unknown>): LlamaConfig {
	const r = configReader(json, 'phi3');
	const scaling = r.raw('rope_scaling');
	if (scaling)
		throw bad('phi3', `rope_scaling ${JSON.stringify(scaling)} (a long-context Phi-3) is not supported; pick a 4k-context Phi-3 checkpoint.`);
	const window = r.raw('sliding_window') == null ? null : r.num('sliding_window');
	return {
		...readDecoderConfig(r, json, 'phi3', { vocabSize: 32064, intermediateSize: 8192, maxPositions: 4096, nKvHead: null, hiddenSize: 3072, normEps: 1e-5 }),
		bosTokenId: r.tokenId('bos_token_id', 1),
		eosTokenIds: r.tokenIds('eos_token_id', 32000),
		padTokenId: r.tokenId('pad_token_id', 32000),
		qkvBias: false,
		oBias: false,
		mlpBias: false,
		slidingWindow: window,
		fusedProjections: true
	};
}

/** Llama's decoder with Phi-3's fused qkv_proj and gate_up_proj. */
export const phi3: ArchSpec<LlamaConfig> = {
	...llama,
	modelType: 'phi3',
	classNames: { 'causal-lm': 'Phi3ForCausalLM', 'sequence-classification': 'Phi3ForSequenceClassification' },
	parseConfig
};
