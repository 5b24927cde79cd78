/**
 * Gemma (Gemma Team 2024) as transformers' `GemmaForCausalLM` and `GemmaForSequenceClassification`
 * compute it (v4.40, modeling_gemma.py, eager attention): the Llama decoder (llama.ts) with
 *
 * - the embeddings multiplied by √hidden_size, rounded to float32 (`torch.tensor(hidden_size**0.5,
 *   dtype=hidden_states.dtype)`); the tied LM head uses the unscaled table;
 * - RMSNorm that scales by (1 + weight) (HF initialises the weight to zeros);
 * - a GELU-tanh gated MLP (`hidden_activation`, or gelu_pytorch_tanh when it is unset, whatever
 *   `hidden_act` says, as v4.40 does);
 * - an explicit `head_dim` (256 by default, not hidden_size / heads), multi-query attention in the
 *   2B model (one key/value head), and tied embeddings by default.
 */
import { configReader } from './hf-config';
import { llama, readDecoderConfig, type LlamaConfig } from './llama';
import type { ArchSpec } from './spec';

function parseConfig(json: Record<string, unknown>): LlamaConfig {
	const r = configReader(json, 'gemma');
	const attentionBias = r.bool('attention_bias', false);
	return {
		...readDecoderConfig(r, json, 'gemma', {
			vocabSize: 256000,
			intermediateSize: 24576,
			maxPositions: 8192,
			nKvHead: 16,
			hiddenSize: 3072,
			nLayer: 28,
			nHead: 16,
			headDim: 256
		}),
		hiddenAct: r.str('hidden_activation', 'gelu_pytorch_tanh'),
		tieWordEmbeddings: r.bool('tie_word_embeddings', true),
		padTokenId: r.tokenId('pad_token_id', 0),
		bosTokenId: r.tokenId('bos_token_id', 2),
		eosTokenIds: r.tokenIds('eos_token_id', 1),
		qkvBias: attentionBias,
		oBias: attentionBias,
		mlpBias: false,
		embedScale: Math.fround(Math.sqrt(r.size('hidden_size', 3072))),
		normUnitOffset: true
	};
}

/** Llama's decoder with Gemma's embedding scale, (1 + weight) norms and config defaults. */
export const gemma: ArchSpec<LlamaConfig> = {
	...llama,
	modelType: 'gemma',
	classNames: { 'causal-lm': 'GemmaForCausalLM', 'sequence-classification': 'GemmaForSequenceClassification' },
	parseConfig
};
