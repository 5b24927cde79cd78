/**
 * Every parameter's name and shape from config.json alone, as the architecture files'
 * `paramShapes` give them (engine/models/<arch>.ts; same Hugging Face names, same transformers
 * v4.40 defaults), for the page, which does not load tfjs. tests/unit/engine/lora.test.ts and
 * tests/unit/models/lora-architectures.test.ts hold the two equal for every architecture.
 *
 * The architectures fall into three families, each written once here: BERT-style post-LN encoders
 * (bert, roberta, distilbert), GPT-2-style blocks (gpt2, gpt_neox), and Llama-style decoders
 * (llama, qwen2, mistral, gemma, phi3).
 */
import type { Objective } from './config';

type Shapes = Record<string, number[]>;

/** The encoders here are classifiers only: their objective is always classification. */
export const ENCODER_TYPES = ['bert', 'distilbert', 'roberta'];

/** Llama-style decoders' transformers defaults (hd 0: hidden_size / heads; kv 0: as many as heads). */
const DECODER_DEFAULTS: Record<string, { d: number; nh: number; kv: number; hd: number; f: number; layers: number; vocab: number; tie: boolean }> = {
	llama: { d: 4096, nh: 32, kv: 0, hd: 0, f: 11008, layers: 32, vocab: 32000, tie: false },
	qwen2: { d: 4096, nh: 32, kv: 32, hd: 0, f: 22016, layers: 32, vocab: 151936, tie: false },
	mistral: { d: 4096, nh: 32, kv: 8, hd: 0, f: 14336, layers: 32, vocab: 32000, tie: false },
	gemma: { d: 3072, nh: 16, kv: 16, hd: 256, f: 24576, layers: 28, vocab: 256000, tie: true },
	phi3: { d: 3072, nh: 32, kv: 0, hd: 0, f: 8192, layers: 32, vocab: 32064, tie: false }
};

/**
 * Every parameter's shape for config.json and objective; {} for a model_type the studio does not
 * fine-tune.
 */
export function paramShapesFromConfig(json: Record<string, unknown>, objective: Objective, numClasses: number): Shapes {
	const type = String(json.model_type);
	const num = (key: string, def: number) => (typeof json[key] === 'number' ? (json[key] as number) : def);
	const bool = (key: string, def: boolean) => (typeof json[key] === 'boolean' ? (json[key] as boolean) : def);
	const classify = ENCODER_TYPES.includes(type) || objective === 'classification';
	const s: Shapes = {};
	/** nn.Linear: weight (out, in) */
	const lin = (name: string, out: number, inp: number, bias: boolean) => {
		s[name + '.weight'] = [out, inp];
		if (bias) s[name + '.bias'] = [out];
	};
	const norm = (name: string, d: number, bias: boolean) => {
		s[name + '.weight'] = [d];
		if (bias) s[name + '.bias'] = [d];
	};
	/** A decoder's head: a classifier's score, or an LM head unless tied to the embeddings. */
	const head = (lmHead: string, vocab: number, d: number, tiedByDefault: boolean) => {
		if (classify) s['score.weight'] = [numClasses, d];
		else if (!bool('tie_word_embeddings', tiedByDefault)) s[lmHead] = [vocab, d];
	};
	/** BERT-style post-LN encoder layers, with the layer's sublayer names. */
	const encoder = (layer: (i: number) => string, n: string[], layers: number, d: number, f: number) => {
		const [q, k, v, o, attnNorm, up, down, outNorm] = n;
		for (let i = 0; i < layers; i++) {
			const p = layer(i);
			for (const m of [q, k, v, o]) lin(p + m, d, d, true);
			norm(p + attnNorm, d, true);
			lin(p + up, f, d, true);
			lin(p + down, d, f, true);
			norm(p + outNorm, d, true);
		}
	};
	const BERT_NAMES = ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'attention.output.LayerNorm', 'intermediate.dense', 'output.dense', 'output.LayerNorm'];

	if (type === 'bert' || type === 'roberta') {
		const d = num('hidden_size', 768);
		s[`${type}.embeddings.word_embeddings.weight`] = [num('vocab_size', 30522), d];
		s[`${type}.embeddings.position_embeddings.weight`] = [num('max_position_embeddings', 512), d];
		s[`${type}.embeddings.token_type_embeddings.weight`] = [num('type_vocab_size', 2), d];
		norm(`${type}.embeddings.LayerNorm`, d, true);
		encoder((i) => `${type}.encoder.layer.${i}.`, BERT_NAMES, num('num_hidden_layers', 12), d, num('intermediate_size', 3072));
		if (type === 'bert') {
			lin('bert.pooler.dense', d, d, true);
			lin('classifier', numClasses, d, true);
		} else {
			lin('classifier.dense', d, d, true);
			lin('classifier.out_proj', numClasses, d, true);
		}
	} else if (type === 'distilbert') {
		const d = num('dim', 768);
		s['distilbert.embeddings.word_embeddings.weight'] = [num('vocab_size', 30522), d];
		s['distilbert.embeddings.position_embeddings.weight'] = [num('max_position_embeddings', 512), d];
		norm('distilbert.embeddings.LayerNorm', d, true);
		const names = ['attention.q_lin', 'attention.k_lin', 'attention.v_lin', 'attention.out_lin', 'sa_layer_norm', 'ffn.lin1', 'ffn.lin2', 'output_layer_norm'];
		encoder((i) => `distilbert.transformer.layer.${i}.`, names, num('n_layers', 6), d, num('hidden_dim', 3072));
		lin('pre_classifier', d, d, true);
		lin('classifier', numClasses, d, true);
	} else if (type === 'gpt2') {
		const d = num('n_embd', 768);
		const h = num('n_inner', 4 * d);
		const vocab = num('vocab_size', 50257);
		s['transformer.wte.weight'] = [vocab, d];
		s['transformer.wpe.weight'] = [num('n_positions', 1024), d];
		/** GPT-2's Conv1D: weight (in, out) */
		const conv = (name: string, inp: number, out: number) => {
			s[name + '.weight'] = [inp, out];
			s[name + '.bias'] = [out];
		};
		for (let i = 0; i < num('n_layer', 12); i++) {
			const p = `transformer.h.${i}.`;
			norm(p + 'ln_1', d, true);
			conv(p + 'attn.c_attn', d, 3 * d);
			conv(p + 'attn.c_proj', d, d);
			norm(p + 'ln_2', d, true);
			conv(p + 'mlp.c_fc', d, h);
			conv(p + 'mlp.c_proj', h, d);
		}
		norm('transformer.ln_f', d, true);
		head('lm_head.weight', vocab, d, true);
	} else if (type === 'gpt_neox') {
		const d = num('hidden_size', 6144);
		const f = num('intermediate_size', 24576);
		const vocab = num('vocab_size', 50432);
		const bias = bool('attention_bias', true);
		s['gpt_neox.embed_in.weight'] = [vocab, d];
		for (let i = 0; i < num('num_hidden_layers', 44); i++) {
			const p = `gpt_neox.layers.${i}.`;
			norm(p + 'input_layernorm', d, true);
			norm(p + 'post_attention_layernorm', d, true);
			lin(p + 'attention.query_key_value', 3 * d, d, bias);
			lin(p + 'attention.dense', d, d, bias);
			lin(p + 'mlp.dense_h_to_4h', f, d, true);
			lin(p + 'mlp.dense_4h_to_h', d, f, true);
		}
		norm('gpt_neox.final_layer_norm', d, true);
		head('embed_out.weight', vocab, d, false);
	} else if (type in DECODER_DEFAULTS) {
		const def = DECODER_DEFAULTS[type];
		const d = num('hidden_size', def.d);
		const nh = num('num_attention_heads', def.nh);
		const hd = num('head_dim', def.hd || Math.floor(d / nh));
		const q = nh * hd;
		const kv = num('num_key_value_heads', def.kv || nh) * hd;
		const f = num('intermediate_size', def.f);
		const vocab = num('vocab_size', def.vocab);
		// Qwen2 has q/k/v biases always; Llama's attention_bias covers all four; Gemma's q/k/v/o
		const qkvBias = type === 'qwen2' || ((type === 'llama' || type === 'gemma') && bool('attention_bias', false));
		const oBias = (type === 'llama' || type === 'gemma') && bool('attention_bias', false);
		const mlpBias = type === 'llama' && bool('mlp_bias', false);
		s['model.embed_tokens.weight'] = [vocab, d];
		for (let i = 0; i < num('num_hidden_layers', def.layers); i++) {
			const p = `model.layers.${i}.`;
			if (type === 'phi3') {
				lin(p + 'self_attn.o_proj', d, q, false);
				lin(p + 'self_attn.qkv_proj', q + 2 * kv, d, false);
				lin(p + 'mlp.gate_up_proj', 2 * f, d, false);
				lin(p + 'mlp.down_proj', d, f, false);
			} else {
				lin(p + 'self_attn.q_proj', q, d, qkvBias);
				lin(p + 'self_attn.k_proj', kv, d, qkvBias);
				lin(p + 'self_attn.v_proj', kv, d, qkvBias);
				lin(p + 'self_attn.o_proj', d, q, oBias);
				lin(p + 'mlp.gate_proj', f, d, mlpBias);
				lin(p + 'mlp.up_proj', f, d, mlpBias);
				lin(p + 'mlp.down_proj', d, f, mlpBias);
			}
			norm(p + 'input_layernorm', d, false);
			norm(p + 'post_attention_layernorm', d, false);
		}
		norm('model.norm', d, false);
		head('lm_head.weight', vocab, d, def.tie);
	}
	return s;
}

/**
 * The most tokens a model with learned position embeddings reads at a time, from its config.json,
 * and the field it comes from; null where positions are rotary (no table to run past) or the
 * config does not say. RoBERTa's positions start after its padding id, so two fewer.
 */
export function positionLimit(config: Record<string, unknown>): { tokens: number; key: string } | null {
	const num = (k: string) => (typeof config[k] === 'number' && (config[k] as number) > 0 ? (config[k] as number) : undefined);
	const type = String(config.model_type);
	if (type === 'gpt2') {
		const v = num('n_positions') ?? num('n_ctx');
		return v ? { tokens: v, key: num('n_positions') ? 'n_positions' : 'n_ctx' } : null;
	}
	if (type === 'bert' || type === 'distilbert') {
		const v = num('max_position_embeddings');
		return v ? { tokens: v, key: 'max_position_embeddings' } : null;
	}
	if (type === 'roberta') {
		const v = num('max_position_embeddings');
		return v ? { tokens: v - (num('pad_token_id') ?? 1) - 1, key: 'max_position_embeddings' } : null;
	}
	return null;
}
