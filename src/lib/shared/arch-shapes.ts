/**
 * Parameter names and shapes of DistilBERT, RoBERTa, GPT-NeoX, Mistral, Gemma and Phi-3 from
 * config.json alone, as the architecture files' `paramShapes` give them (engine/models/<arch>.ts;
 * same names, same transformers v4.40 defaults), for the page, which does not load tfjs.
 * `hfParamShapes` (method.ts) covers GPT-2, Llama, Qwen2 and BERT and hands these over;
 * tests/unit/models/lora-architectures.test.ts holds them equal to the engine's.
 */
type Shapes = Record<string, number[]>;

/** The encoders here are classifiers only: their objective is always classification. */
export const ENCODER_TYPES = ['bert', 'distilbert', 'roberta'];

export function moreParamShapes(type: string, json: Record<string, unknown>, classify: boolean, numClasses: number): Shapes | null {
	const num = (key: string, def: number) => (typeof json[key] === 'number' ? (json[key] as number) : def);
	const bool = (key: string, def: boolean) => (typeof json[key] === 'boolean' ? (json[key] as boolean) : def);
	const s: Shapes = {};
	const lin = (name: string, out: number, inp: number, bias: boolean) => {
		s[name + '.weight'] = [out, inp];
		if (bias) s[name + '.bias'] = [out];
	};
	const norm = (name: string, d: number, bias: boolean) => {
		s[name + '.weight'] = [d];
		if (bias) s[name + '.bias'] = [d];
	};
	if (type === 'distilbert') {
		const d = num('dim', 768);
		const f = num('hidden_dim', 3072);
		s['distilbert.embeddings.word_embeddings.weight'] = [num('vocab_size', 30522), d];
		s['distilbert.embeddings.position_embeddings.weight'] = [num('max_position_embeddings', 512), d];
		norm('distilbert.embeddings.LayerNorm', d, true);
		for (let i = 0; i < num('n_layers', 6); i++) {
			const p = `distilbert.transformer.layer.${i}.`;
			for (const m of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) lin(p + 'attention.' + m, d, d, true);
			norm(p + 'sa_layer_norm', d, true);
			lin(p + 'ffn.lin1', f, d, true);
			lin(p + 'ffn.lin2', d, f, true);
			norm(p + 'output_layer_norm', d, true);
		}
		lin('pre_classifier', d, d, true);
		lin('classifier', numClasses, d, true);
		return s;
	}
	if (type === 'roberta') {
		const d = num('hidden_size', 768);
		const f = num('intermediate_size', 3072);
		s['roberta.embeddings.word_embeddings.weight'] = [num('vocab_size', 30522), d];
		s['roberta.embeddings.position_embeddings.weight'] = [num('max_position_embeddings', 512), d];
		s['roberta.embeddings.token_type_embeddings.weight'] = [num('type_vocab_size', 2), d];
		norm('roberta.embeddings.LayerNorm', d, true);
		for (let i = 0; i < num('num_hidden_layers', 12); i++) {
			const p = `roberta.encoder.layer.${i}.`;
			for (const m of ['query', 'key', 'value']) lin(p + 'attention.self.' + m, d, d, true);
			lin(p + 'attention.output.dense', d, d, true);
			norm(p + 'attention.output.LayerNorm', d, true);
			lin(p + 'intermediate.dense', f, d, true);
			lin(p + 'output.dense', d, f, true);
			norm(p + 'output.LayerNorm', d, true);
		}
		lin('classifier.dense', d, d, true);
		lin('classifier.out_proj', numClasses, d, true);
		return s;
	}
	if (type === 'gpt_neox') {
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
		if (classify) s['score.weight'] = [numClasses, d];
		else if (!bool('tie_word_embeddings', false)) s['embed_out.weight'] = [vocab, d];
		return s;
	}
	if (type === 'mistral' || type === 'gemma' || type === 'phi3') {
		const defaults = {
			mistral: { d: 4096, nh: 32, kv: 8, hd: 0, f: 14336, layers: 32, vocab: 32000, tie: false },
			gemma: { d: 3072, nh: 16, kv: 16, hd: 256, f: 24576, layers: 28, vocab: 256000, tie: true },
			phi3: { d: 3072, nh: 32, kv: 0, hd: 0, f: 8192, layers: 32, vocab: 32064, tie: false }
		}[type];
		const d = num('hidden_size', defaults.d);
		const nh = num('num_attention_heads', defaults.nh);
		const hd = num('head_dim', defaults.hd || Math.floor(d / nh));
		const q = nh * hd;
		const kv = num('num_key_value_heads', defaults.kv || nh) * hd;
		const f = num('intermediate_size', defaults.f);
		const vocab = num('vocab_size', defaults.vocab);
		const bias = type === 'gemma' && bool('attention_bias', false);
		s['model.embed_tokens.weight'] = [vocab, d];
		for (let i = 0; i < num('num_hidden_layers', defaults.layers); i++) {
			const p = `model.layers.${i}.`;
			if (type === 'phi3') {
				lin(p + 'self_attn.o_proj', d, q, false);
				lin(p + 'self_attn.qkv_proj', q + 2 * kv, d, false);
				lin(p + 'mlp.gate_up_proj', 2 * f, d, false);
				lin(p + 'mlp.down_proj', d, f, false);
			} else {
				lin(p + 'self_attn.q_proj', q, d, bias);
				lin(p + 'self_attn.k_proj', kv, d, bias);
				lin(p + 'self_attn.v_proj', kv, d, bias);
				lin(p + 'self_attn.o_proj', d, q, bias);
				lin(p + 'mlp.gate_proj', f, d, false);
				lin(p + 'mlp.up_proj', f, d, false);
				lin(p + 'mlp.down_proj', d, f, false);
			}
			norm(p + 'input_layernorm', d, false);
			norm(p + 'post_attention_layernorm', d, false);
		}
		norm('model.norm', d, false);
		if (classify) s['score.weight'] = [numClasses, d];
		else if (!bool('tie_word_embeddings', defaults.tie)) s['lm_head.weight'] = [vocab, d];
		return s;
	}
	return null;
}
