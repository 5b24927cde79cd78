/**
 * A causal LM (Llama, Qwen2, GPT-2; a LoRA adapter already merged) as one GGUF file for
 * llama.cpp, Ollama and LM Studio, with llama.cpp's tensor names and hyperparameter keys
 * (llama-arch.cpp, gguf-py constants.py) and the conventions of its convert_hf_to_gguf.py:
 *
 * - Llama: q_proj/k_proj rows are permuted from transformers' rotate-half RoPE layout to the
 *   interleaved pairs llama.cpp's LLAMA rope applies (`LlamaModel.permute`, k with the KV heads).
 *   Qwen2 runs NEOX rope in llama.cpp, so its weights go unchanged.
 * - GPT-2: the Conv1D weights ([in, out]) are transposed to [out, in]; the tied head is written
 *   as `output.weight` too, as convert's GPT2Model does.
 * - Types: 1-D tensors, norms, biases and position embeddings stay F32; the rest take the chosen
 *   type, and a Q8_0 tensor whose rows are not whole blocks of 32 falls back to F16 (convert's
 *   QuantError fallback).
 *
 * The zip holds the .gguf, an Ollama `Modelfile` and a README with the commands.
 */
import type { HfConfigBase } from '../engine/models/spec';
import type { LlamaConfig } from '../engine/models/llama';
import { resolveConfig } from '../engine/models/registry';
import { UserError } from '../shared/errors';
import { GGUF_ALIGNMENT, Q8_0_BLOCK, str, u32, f32, writeGguf, type GgmlType, type GgufTensor, type GgufValue } from './gguf';
import { ggufTokenizer, type TokenizerFiles } from './gguf-tokenizer';

export const GGUF_TYPES: GgmlType[] = ['F32', 'F16', 'Q8_0'];
export const GGUF_ARCHS = ['llama', 'qwen2', 'gpt2'] as const;

/** llama_ftype of the file (general.file_type): all F32, mostly F16, mostly Q8_0. */
const FILE_TYPE: Record<GgmlType, number> = { F32: 0, F16: 1, Q8_0: 7 };
/** GGML_QNT_VERSION in ggml.h. */
const QUANT_VERSION = 2;

export interface HostTensor {
	shape: number[];
	data: Float32Array;
}

export interface GgufModelInput {
	/** config.json of the model (a causal LM). */
	hfConfig: Record<string, unknown>;
	/** Every parameter by its transformers name (a tied head has none of its own). */
	weights: Record<string, HostTensor>;
	tokenizer: TokenizerFiles;
	type: GgmlType;
	/** general.name. */
	name: string;
}

export interface GgufModelOutput {
	bytes: Uint8Array;
	/** llama.cpp tensor name -> type written. */
	types: Record<string, GgmlType>;
	/** Special token ids and chat template, for the Modelfile. */
	special: { bos?: number; eos?: number; pad?: number };
	tokens: string[];
	chatTemplate?: string;
	contextLength: number;
	warnings: string[];
}

/** One tensor of the export: its llama.cpp name, the data in llama.cpp's layout, and whether it may be quantized. */
interface Mapped {
	name: string;
	shape: number[];
	data: Float32Array;
	/** Kept F32 whatever the file type (norms, biases, 1-D, position embeddings). */
	f32: boolean;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(t: HostTensor): HostTensor {
	const [r, c] = t.shape;
	const out = new Float32Array(r * c);
	for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
	return { shape: [c, r], data: out };
}

/**
 * convert_hf_to_gguf.py `LlamaModel.permute`: rows of each head, in transformers' halves
 * [x0..x(h/2-1) | x(h/2)..], regrouped as interleaved pairs (x0, x(h/2)), (x1, x(h/2+1)), ...
 * `reshape(heads, 2, hs/2, cols).swapaxes(1, 2)`. Works for a weight [heads*hs, cols] or a bias [heads*hs].
 */
export function permuteRope(t: HostTensor, heads: number): HostTensor {
	const rows = t.shape[0];
	const cols = t.shape.length > 1 ? t.shape[1] : 1;
	const half = rows / heads / 2;
	const out = new Float32Array(t.data.length);
	for (let h = 0; h < heads; h++)
		for (let two = 0; two < 2; two++)
			for (let i = 0; i < half; i++) {
				const src = h * 2 * half + two * half + i; // (h, two, i)
				const dst = h * 2 * half + i * 2 + two; // (h, i, two)
				out.set(t.data.subarray(src * cols, (src + 1) * cols), dst * cols);
			}
	return { shape: t.shape.slice(), data: out };
}

function need(w: Record<string, HostTensor>, name: string): HostTensor {
	const t = w[name];
	if (!t) throw new Error(`Cannot write the GGUF: the weight '${name}' is missing.`);
	return t;
}

/** Llama and Qwen2: names, the Llama RoPE permutation, and the hyperparameters. */
function mapLlama(c: LlamaConfig, w: Record<string, HostTensor>, warnings: string[]): { tensors: Mapped[]; meta: Record<string, GgufValue> } {
	const arch = c.modelType as 'llama' | 'qwen2';
	const tensors: Mapped[] = [];
	const add = (name: string, t: HostTensor) => tensors.push({ name, ...t, f32: t.shape.length <= 1 || name.endsWith('_norm.weight') || !name.endsWith('.weight') });
	const opt = (name: string, hf: string, f: (t: HostTensor) => HostTensor = (t) => t) => {
		if (w[hf]) add(name, f(w[hf]));
	};
	if (c.hiddenAct !== 'silu') warnings.push(`This ${arch} model uses ${c.hiddenAct}; llama.cpp's ${arch} graph computes SiLU, so its outputs will differ.`);
	const permute = (heads: number) => (t: HostTensor) => (arch === 'llama' ? permuteRope(t, heads) : t);
	add('token_embd.weight', need(w, 'model.embed_tokens.weight'));
	for (let i = 0; i < c.nLayer; i++) {
		const hf = `model.layers.${i}.`;
		const b = `blk.${i}.`;
		add(b + 'attn_norm.weight', need(w, hf + 'input_layernorm.weight'));
		add(b + 'attn_q.weight', permute(c.nHead)(need(w, hf + 'self_attn.q_proj.weight')));
		opt(b + 'attn_q.bias', hf + 'self_attn.q_proj.bias', permute(c.nHead));
		add(b + 'attn_k.weight', permute(c.nKvHead)(need(w, hf + 'self_attn.k_proj.weight')));
		opt(b + 'attn_k.bias', hf + 'self_attn.k_proj.bias', permute(c.nKvHead));
		add(b + 'attn_v.weight', need(w, hf + 'self_attn.v_proj.weight'));
		opt(b + 'attn_v.bias', hf + 'self_attn.v_proj.bias');
		add(b + 'attn_output.weight', need(w, hf + 'self_attn.o_proj.weight'));
		opt(b + 'attn_output.bias', hf + 'self_attn.o_proj.bias');
		add(b + 'ffn_norm.weight', need(w, hf + 'post_attention_layernorm.weight'));
		add(b + 'ffn_gate.weight', need(w, hf + 'mlp.gate_proj.weight'));
		opt(b + 'ffn_gate.bias', hf + 'mlp.gate_proj.bias');
		add(b + 'ffn_down.weight', need(w, hf + 'mlp.down_proj.weight'));
		opt(b + 'ffn_down.bias', hf + 'mlp.down_proj.bias');
		add(b + 'ffn_up.weight', need(w, hf + 'mlp.up_proj.weight'));
		opt(b + 'ffn_up.bias', hf + 'mlp.up_proj.bias');
	}
	add('output_norm.weight', need(w, 'model.norm.weight'));
	// a tied head has no tensor: llama.cpp reuses token_embd when output.weight is absent
	if (!c.tieWordEmbeddings) add('output.weight', need(w, 'lm_head.weight'));
	const meta: Record<string, GgufValue> = {
		[`${arch}.vocab_size`]: u32(c.vocabSize),
		[`${arch}.context_length`]: u32(c.maxPositions),
		[`${arch}.embedding_length`]: u32(c.hiddenSize),
		[`${arch}.block_count`]: u32(c.nLayer),
		[`${arch}.feed_forward_length`]: u32(c.intermediateSize),
		[`${arch}.attention.head_count`]: u32(c.nHead),
		[`${arch}.attention.head_count_kv`]: u32(c.nKvHead),
		[`${arch}.attention.layer_norm_rms_epsilon`]: f32(c.normEps),
		[`${arch}.rope.freq_base`]: f32(c.ropeTheta),
		[`${arch}.rope.dimension_count`]: u32(c.headDim)
	};
	if (c.headDim * c.nHead !== c.hiddenSize) {
		meta[`${arch}.attention.key_length`] = u32(c.headDim);
		meta[`${arch}.attention.value_length`] = u32(c.headDim);
	}
	if (c.ropePositionScale !== 1) {
		meta[`${arch}.rope.scaling.type`] = str('linear');
		meta[`${arch}.rope.scaling.factor`] = f32(c.ropePositionScale);
	}
	return { tensors, meta };
}

/** GPT-2: names, the Conv1D transposes, and the hyperparameters. */
function mapGpt2(c: HfConfigBase, w: Record<string, HostTensor>, warnings: string[]): { tensors: Mapped[]; meta: Record<string, GgufValue> } {
	const json = c.hfConfig;
	if (json.scale_attn_by_inverse_layer_idx === true || json.reorder_and_upcast_attn === true || json.scale_attn_weights === false)
		throw new UserError('invalid-config', "This GPT-2 scales its attention in a way llama.cpp's gpt2 graph does not (scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn or no 1/√d scaling); export the Hugging Face folder instead.");
	if (c.hiddenAct !== 'gelu_new' && c.hiddenAct !== 'gelu_pytorch_tanh')
		warnings.push(`This GPT-2 uses ${c.hiddenAct}; llama.cpp's gpt2 graph computes the tanh GELU (gelu_new), so its outputs will differ slightly.`);
	const tensors: Mapped[] = [];
	const add = (name: string, t: HostTensor, keepF32 = false) => tensors.push({ name, ...t, f32: keepF32 || t.shape.length <= 1 || !name.endsWith('.weight') || name.endsWith('_norm.weight') });
	const wte = need(w, 'transformer.wte.weight');
	add('token_embd.weight', wte);
	add('position_embd.weight', need(w, 'transformer.wpe.weight'), true);
	for (let i = 0; i < c.nLayer; i++) {
		const hf = `transformer.h.${i}.`;
		const b = `blk.${i}.`;
		add(b + 'attn_norm.weight', need(w, hf + 'ln_1.weight'));
		add(b + 'attn_norm.bias', need(w, hf + 'ln_1.bias'));
		add(b + 'attn_qkv.weight', transpose(need(w, hf + 'attn.c_attn.weight')));
		add(b + 'attn_qkv.bias', need(w, hf + 'attn.c_attn.bias'));
		add(b + 'attn_output.weight', transpose(need(w, hf + 'attn.c_proj.weight')));
		add(b + 'attn_output.bias', need(w, hf + 'attn.c_proj.bias'));
		add(b + 'ffn_norm.weight', need(w, hf + 'ln_2.weight'));
		add(b + 'ffn_norm.bias', need(w, hf + 'ln_2.bias'));
		add(b + 'ffn_up.weight', transpose(need(w, hf + 'mlp.c_fc.weight')));
		add(b + 'ffn_up.bias', need(w, hf + 'mlp.c_fc.bias'));
		add(b + 'ffn_down.weight', transpose(need(w, hf + 'mlp.c_proj.weight')));
		add(b + 'ffn_down.bias', need(w, hf + 'mlp.c_proj.bias'));
	}
	add('output_norm.weight', need(w, 'transformer.ln_f.weight'));
	add('output_norm.bias', need(w, 'transformer.ln_f.bias'));
	add('output.weight', c.tieWordEmbeddings ? wte : need(w, 'lm_head.weight'));
	const meta: Record<string, GgufValue> = {
		'gpt2.vocab_size': u32(c.vocabSize),
		'gpt2.context_length': u32(c.maxPositions),
		'gpt2.embedding_length': u32(c.hiddenSize),
		'gpt2.block_count': u32(c.nLayer),
		'gpt2.feed_forward_length': u32(c.intermediateSize),
		'gpt2.attention.head_count': u32(c.nHead),
		'gpt2.attention.layer_norm_epsilon': f32(c.normEps)
	};
	return { tensors, meta };
}

/** The GGUF file of a causal LM, and what llama.cpp will do differently from the studio. */
export function exportGguf(input: GgufModelInput): GgufModelOutput {
	const { spec, config } = resolveConfig(input.hfConfig);
	if (!(GGUF_ARCHS as readonly string[]).includes(spec.modelType))
		throw new UserError('invalid-config', `GGUF export covers ${GGUF_ARCHS.join(', ')} models; this is ${spec.modelType}. Export the Hugging Face folder and convert it with llama.cpp's convert_hf_to_gguf.py.`);
	if (config.task !== 'causal-lm')
		throw new UserError('invalid-config', 'GGUF is for models that generate text (llama.cpp, Ollama and LM Studio have no sequence-classification head for these architectures). Export this classifier as the Hugging Face folder instead.');
	const warnings: string[] = [];
	const { tensors, meta } = spec.modelType === 'gpt2' ? mapGpt2(config, input.weights, warnings) : mapLlama(config as LlamaConfig, input.weights, warnings);
	const tok = ggufTokenizer(input.tokenizer, config.vocabSize, { bos: config.bosTokenId, eos: config.eosTokenIds[0], pad: config.padTokenId }, warnings);
	const types: Record<string, GgmlType> = {};
	const fallback: string[] = [];
	const out: GgufTensor[] = tensors.map((t) => {
		let type: GgmlType = t.f32 ? 'F32' : input.type;
		if (type === 'Q8_0' && t.shape[t.shape.length - 1] % Q8_0_BLOCK) {
			type = 'F16';
			fallback.push(t.name);
		}
		types[t.name] = type;
		return { name: t.name, shape: t.shape, data: t.data, type };
	});
	if (fallback.length) warnings.push(`${fallback.length} tensor(s) have rows that are not whole Q8_0 blocks of ${Q8_0_BLOCK} and are stored as F16, e.g. ${fallback[0]}.`);
	const metadata: Record<string, GgufValue> = {
		'general.architecture': str(spec.modelType),
		'general.name': str(input.name),
		'general.file_type': u32(FILE_TYPE[input.type]),
		'general.quantization_version': u32(QUANT_VERSION),
		'general.alignment': u32(GGUF_ALIGNMENT),
		...meta,
		...tok.metadata
	};
	return { bytes: writeGguf(metadata, out), types, special: tok.special, tokens: tok.tokens, chatTemplate: tok.chatTemplate, contextLength: config.maxPositions, warnings };
}

/** A Modelfile for `ollama create`: the GGUF, a Go chat template where the Jinja one is a known format, stop words, context. */
export function ollamaModelfile(out: Pick<GgufModelOutput, 'special' | 'tokens' | 'chatTemplate'>, file: string, contextLength: number): string {
	const lines = [`# Ollama Modelfile (https://github.com/ollama/ollama/blob/main/docs/modelfile.md)`, `#   ollama create my-model -f Modelfile && ollama run my-model`, `FROM ./${file}`];
	const tpl = out.chatTemplate ?? '';
	const stops = new Set<string>();
	if (tpl.includes('<|im_start|>')) {
		lines.push(
			'TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}',
			'{{ .Content }}<|im_end|>',
			'{{ end }}<|im_start|>assistant',
			'"""'
		);
		stops.add('<|im_end|>');
	} else if (tpl.includes('<|start_header_id|>')) {
		lines.push(
			'TEMPLATE """{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>',
			'',
			'{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>',
			'',
			'"""'
		);
		stops.add('<|eot_id|>');
	} else if (tpl) lines.push('# The chat template is in the GGUF (tokenizer.chat_template); recent Ollama releases read it from there.');
	else lines.push('TEMPLATE """{{ .Prompt }}"""', '# No chat template: this model continues the text it is given.');
	if (out.special.eos !== undefined) stops.add(out.tokens[out.special.eos]);
	for (const s of stops) lines.push(`PARAMETER stop ${JSON.stringify(s)}`);
	lines.push(`PARAMETER num_ctx ${contextLength}`, '');
	return lines.join('\n');
}

/** README section: how to run the file. */
export function ggufUsage(file: string, type: GgmlType, warnings: string[]): string {
	return [
		`\`${file}\` is a GGUF (v3) file, weights in ${type === 'F32' ? 'F32' : `${type} (norms, biases and position embeddings in F32)`}, with the tokenizer and chat template inside.`,
		'',
		'```sh',
		'# llama.cpp',
		`llama-cli -m ${file} -p "Hello" -n 64`,
		`llama-server -m ${file} --port 8080`,
		'# Ollama (Modelfile in this folder)',
		'ollama create my-model -f Modelfile && ollama run my-model',
		'# LM Studio: lms import ' + file,
		'```',
		...(warnings.length ? ['', 'How llama.cpp differs from the studio for this model:', '', ...warnings.map((w) => `- ${w}`)] : [])
	].join('\n');
}

/**
 * The files of a GGUF export: `<name>-<type>.gguf`, the Ollama `Modelfile`, and a README made by
 * `readme` from the usage text (the model card, with `library_name: gguf`).
 */
export function ggufBundle(input: GgufModelInput, contextLength: number, readme: (usage: string) => string): { files: Record<string, Uint8Array | string>; warnings: string[] } {
	const out = exportGguf(input);
	const file = `${input.name.replace(/[^\w.-]+/g, '-')}-${input.type}.gguf`;
	return {
		files: {
			[file]: out.bytes,
			Modelfile: ollamaModelfile(out, file, Math.min(contextLength, out.contextLength)),
			'README.md': readme(ggufUsage(file, input.type, out.warnings)).replace(/^---\nlibrary_name: [^\n]+\n/, '---\nlibrary_name: gguf\n')
		},
		warnings: out.warnings
	};
}
