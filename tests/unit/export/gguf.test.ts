/**
 * GGUF export of the tiny Llama, Qwen2 and GPT-2 fixtures (and a LoRA-merged Llama), read back
 * with @huggingface/gguf, an independent parser: the metadata llama.cpp's loader needs is there
 * with the right GGUF types and values, and every tensor has llama.cpp's name, its shape in ggml's
 * order and the source's values in llama.cpp's layout (F32 exact, F16 as f16 rounding gives,
 * Q8_0 within half a quantization step per block). The Llama RoPE permutation is checked by what
 * it is for: interleaved rotary on the permuted rows equals the permuted rotate-half rotary.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gguf, GGMLQuantizationType, GGUFValueType } from '@huggingface/gguf';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportGguf, ollamaModelfile, permuteRope, type HostTensor } from '../../../src/lib/export/gguf-model';
import { GGUF_ALIGNMENT, type GgmlType } from '../../../src/lib/export/gguf';
import { ggmlPreTokenizer } from '../../../src/lib/export/gguf-tokenizer';
import { halfToFloat, roundToHalf } from '../../../src/lib/engine/io/float16';
import { mergeAdapters } from '../../../src/lib/engine/train/lora';
import { fixtureJson, fixtureTensors } from '../models/fixtures';

const HUB = new URL('../../fixtures/hub/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'gguf-'));

function weightsOf(arch: string): Record<string, HostTensor> {
	const out: Record<string, HostTensor> = {};
	for (const [name, t] of fixtureTensors(arch)) out[name] = { shape: t.shape, data: t.data as Float32Array };
	return out;
}

function tokenizerOf(arch: string) {
	return {
		tokenizerJson: readFileSync(new URL(`${arch}/tokenizer.json`, HUB), 'utf8'),
		tokenizerConfig: JSON.parse(readFileSync(new URL(`${arch}/tokenizer_config.json`, HUB), 'utf8'))
	};
}

/** Parse the bytes with @huggingface/gguf and decode each tensor's data to float32. */
async function readBack(bytes: Uint8Array, file: string) {
	const path = join(dir, file);
	writeFileSync(path, bytes);
	const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
	const start = Number(parsed.tensorDataOffset);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const tensors = new Map<string, { ne: number[]; dtype: number; data: Float32Array; offset: number }>();
	for (const t of parsed.tensorInfos) {
		const ne = t.shape.map(Number);
		const n = ne.reduce((a, b) => a * b, 1);
		const at = start + Number(t.offset);
		const data = new Float32Array(n);
		if (t.dtype === GGMLQuantizationType.F32) for (let i = 0; i < n; i++) data[i] = view.getFloat32(at + 4 * i, true);
		else if (t.dtype === GGMLQuantizationType.F16) for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(at + 2 * i, true));
		else if (t.dtype === GGMLQuantizationType.Q8_0)
			for (let b = 0; b < n / 32; b++) {
				const d = halfToFloat(view.getUint16(at + 34 * b, true));
				for (let j = 0; j < 32; j++) data[32 * b + j] = d * view.getInt8(at + 34 * b + 2 + j);
			}
		else throw new Error(`unexpected dtype ${t.dtype}`);
		tensors.set(t.name, { ne, dtype: t.dtype, data, offset: Number(t.offset) });
	}
	return { parsed, tensors, start };
}

// Independent of gguf-model.ts: element (r, c) of a [rows, cols] tensor after each conversion.
const T = (t: HostTensor): HostTensor => ({ shape: [t.shape[1], t.shape[0]], data: Float32Array.from({ length: t.data.length }, (_, k) => t.data[(k % t.shape[0]) * t.shape[1] + Math.floor(k / t.shape[0])]) });
function P(t: HostTensor, heads: number): HostTensor {
	// row (h, i, two) of the result is row (h, two, i) of the source: torch reshape(heads, 2, hs/2, -1).swapaxes(1, 2)
	const rows = t.shape[0];
	const cols = t.data.length / rows;
	const half = rows / heads / 2;
	const data = new Float32Array(t.data.length);
	for (let r = 0; r < rows; r++) {
		const h = Math.floor(r / (2 * half));
		const i = Math.floor((r % (2 * half)) / 2);
		const two = r % 2;
		const src = h * 2 * half + two * half + i;
		for (let c = 0; c < cols; c++) data[r * cols + c] = t.data[src * cols + c];
	}
	return { shape: t.shape, data };
}

/** What each llama.cpp tensor should hold, from the transformers weights. */
function expected(arch: string, w: Record<string, HostTensor>, cfg: Record<string, unknown>): Map<string, HostTensor> {
	const m = new Map<string, HostTensor>();
	const L = Number(cfg.num_hidden_layers ?? cfg.n_layer);
	if (arch === 'gpt2') {
		m.set('token_embd.weight', w['transformer.wte.weight']);
		m.set('output.weight', w['transformer.wte.weight']);
		m.set('position_embd.weight', w['transformer.wpe.weight']);
		m.set('output_norm.weight', w['transformer.ln_f.weight']);
		m.set('output_norm.bias', w['transformer.ln_f.bias']);
		for (let i = 0; i < L; i++) {
			const h = `transformer.h.${i}.`;
			const b = `blk.${i}.`;
			for (const [g, s, conv] of [['attn_norm', 'ln_1', false], ['ffn_norm', 'ln_2', false], ['attn_qkv', 'attn.c_attn', true], ['attn_output', 'attn.c_proj', true], ['ffn_up', 'mlp.c_fc', true], ['ffn_down', 'mlp.c_proj', true]] as const) {
				m.set(`${b}${g}.weight`, conv ? T(w[`${h}${s}.weight`]) : w[`${h}${s}.weight`]);
				m.set(`${b}${g}.bias`, w[`${h}${s}.bias`]);
			}
		}
		return m;
	}
	const nh = Number(cfg.num_attention_heads);
	const nkv = Number(cfg.num_key_value_heads);
	const perm = arch === 'llama';
	m.set('token_embd.weight', w['model.embed_tokens.weight']);
	m.set('output_norm.weight', w['model.norm.weight']);
	if (w['lm_head.weight']) m.set('output.weight', w['lm_head.weight']);
	for (let i = 0; i < L; i++) {
		const h = `model.layers.${i}.`;
		const b = `blk.${i}.`;
		m.set(b + 'attn_norm.weight', w[h + 'input_layernorm.weight']);
		m.set(b + 'ffn_norm.weight', w[h + 'post_attention_layernorm.weight']);
		for (const [g, s, heads] of [['attn_q', 'q_proj', nh], ['attn_k', 'k_proj', nkv], ['attn_v', 'v_proj', 0], ['attn_output', 'o_proj', 0]] as const)
			for (const k of ['weight', 'bias']) {
				const src = w[`${h}self_attn.${s}.${k}`];
				if (src) m.set(`${b}${g}.${k}`, perm && heads ? P(src, heads) : src);
			}
		m.set(b + 'ffn_gate.weight', w[h + 'mlp.gate_proj.weight']);
		m.set(b + 'ffn_up.weight', w[h + 'mlp.up_proj.weight']);
		m.set(b + 'ffn_down.weight', w[h + 'mlp.down_proj.weight']);
	}
	return m;
}

/** Expected type: F32 for 1-D, norms, biases and position embeddings, else the file's. */
function typeOf(name: string, shape: number[], type: GgmlType): GgmlType {
	if (shape.length <= 1 || name.endsWith('_norm.weight') || !name.endsWith('.weight') || name === 'position_embd.weight') return 'F32';
	return type;
}

const CODE = { F32: GGMLQuantizationType.F32, F16: GGMLQuantizationType.F16, Q8_0: GGMLQuantizationType.Q8_0 };

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe.each(['llama', 'qwen2', 'gpt2'])('GGUF export of the tiny %s', (arch) => {
	const cfg = fixtureJson(arch, 'config.json');
	const w = weightsOf(arch);

	it.each(['F32', 'F16', 'Q8_0'] as GgmlType[])('%s: metadata, names, shapes, types and values read back', async (type) => {
		const out = exportGguf({ hfConfig: cfg, weights: w, tokenizer: tokenizerOf(arch), type, name: `tiny-${arch}` });
		const { parsed, tensors, start } = await readBack(out.bytes, `${arch}-${type}.gguf`);
		const md = parsed.metadata as Record<string, unknown>;
		const tm = parsed.typedMetadata as Record<string, { type: GGUFValueType; value: unknown; subType?: GGUFValueType }>;
		expect(md.version).toBe(3);
		expect(md['general.architecture']).toBe(arch);
		expect(md['general.name']).toBe(`tiny-${arch}`);
		expect(md['general.file_type']).toBe({ F32: 0, F16: 1, Q8_0: 7 }[type]);
		expect(md['general.alignment']).toBe(GGUF_ALIGNMENT);
		expect(start % GGUF_ALIGNMENT).toBe(0);
		const d = Number(cfg.hidden_size ?? cfg.n_embd);
		const hp: Record<string, number> =
			arch === 'gpt2'
				? { context_length: 64, embedding_length: 32, block_count: 2, feed_forward_length: 4 * d, 'attention.head_count': 4, 'attention.layer_norm_epsilon': 1e-5 }
				: { context_length: 64, embedding_length: 32, block_count: 2, feed_forward_length: 64, 'attention.head_count': 4, 'attention.head_count_kv': 2, 'attention.layer_norm_rms_epsilon': 1e-5, 'rope.freq_base': 10000, 'rope.dimension_count': 8 };
		for (const [k, v] of Object.entries(hp)) {
			expect(md[`${arch}.${k}`], k).toBeCloseTo(v, 10);
			expect(tm[`${arch}.${k}`].type, k).toBe(k.includes('epsilon') || k.includes('freq') ? GGUFValueType.FLOAT32 : GGUFValueType.UINT32);
		}

		// tokenizer: byte-level BPE ("gpt2"), padded to the 128 embedding rows, with the special ids
		const tj = JSON.parse(tokenizerOf(arch).tokenizerJson);
		const tokens = md['tokenizer.ggml.tokens'] as string[];
		expect(md['tokenizer.ggml.model']).toBe('gpt2');
		expect(tokens).toHaveLength(128);
		for (const [s, id] of Object.entries(tj.model.vocab as Record<string, number>)) expect(tokens[id]).toBe(s);
		for (const a of tj.added_tokens) expect(tokens[a.id]).toBe(a.content);
		const types = md['tokenizer.ggml.token_type'] as number[];
		expect(tokens[127]).toBe('[PAD127]');
		expect(types[127]).toBe(5);
		expect(types[0]).toBe(3); // <|endoftext|>: control
		expect(types[tj.model.vocab['a']]).toBe(1);
		expect(md['tokenizer.ggml.merges']).toEqual([]);
		const eos = { gpt2: 0, llama: 2, qwen2: 0 }[arch];
		expect(md['tokenizer.ggml.eos_token_id']).toBe(eos);
		expect(md['tokenizer.ggml.padding_token_id']).toBe(0);
		if (arch === 'llama') {
			expect(md['tokenizer.ggml.bos_token_id']).toBe(1);
			expect(md['tokenizer.chat_template']).toBe(tokenizerOf('llama').tokenizerConfig.chat_template);
		} else expect(md['tokenizer.chat_template']).toBeUndefined();

		// every tensor: name, ne (reversed shape), type, alignment, values
		const want = expected(arch, w, cfg);
		expect([...tensors.keys()].sort()).toEqual([...want.keys()].sort());
		for (const [name, src] of want) {
			const got = tensors.get(name)!;
			expect(got.ne, name).toEqual([...src.shape].reverse());
			expect(got.offset % GGUF_ALIGNMENT).toBe(0);
			const t = typeOf(name, src.shape, type);
			expect(got.dtype, name).toBe(CODE[t]);
			if (t === 'F32') expect(got.data, name).toEqual(src.data);
			else if (t === 'F16') expect(got.data, name).toEqual(roundToHalf(src.data));
			else
				for (let b = 0; b < src.data.length / 32; b++) {
					const block = src.data.subarray(32 * b, 32 * b + 32);
					const step = Math.max(...block.map(Math.abs)) / 127;
					// half a step from rounding, plus the f16 rounding of the scale times |q| ≤ 127
					for (let j = 0; j < 32; j++) expect(Math.abs(got.data[32 * b + j] - block[j]), name).toBeLessThanOrEqual(step * (0.5 + 127 * 2 ** -11) + 1e-12);
				}
		}
	});
});

describe('GGUF: LoRA merged, tokenizers, Modelfile, refusals', () => {
	it('a LoRA-merged Llama: attn_q holds the permuted W + (alpha/r)·B·A', async () => {
		const cfg = fixtureJson('llama', 'config.json');
		const w = weightsOf('llama');
		const q = 'model.layers.1.self_attn.q_proj';
		const r = 4;
		const A = tf.randomNormal([r, 32], 0, 0.3, 'float32', 1);
		const B = tf.randomNormal([32, r], 0, 0.3, 'float32', 2);
		const merged = mergeAdapters({ [`${q}.weight`]: tf.tensor(w[`${q}.weight`].data, [32, 32]) }, { [`${q}.lora_A.weight`]: A, [`${q}.lora_B.weight`]: B }, { rank: r, alpha: 8 });
		const mw = { ...w, [`${q}.weight`]: { shape: [32, 32], data: (await merged[`${q}.weight`].data()) as Float32Array } };
		// W + 2·B·A by hand
		const a = await A.data();
		const bb = await B.data();
		const byHand = new Float32Array(32 * 32);
		for (let i = 0; i < 32; i++)
			for (let j = 0; j < 32; j++) {
				let s = 0;
				for (let k = 0; k < r; k++) s += bb[i * r + k] * a[k * 32 + j];
				byHand[i * 32 + j] = w[`${q}.weight`].data[i * 32 + j] + 2 * s;
			}
		const out = exportGguf({ hfConfig: cfg, weights: mw, tokenizer: tokenizerOf('llama'), type: 'F32', name: 'lora' });
		const { tensors } = await readBack(out.bytes, 'lora.gguf');
		const got = tensors.get('blk.1.attn_q.weight')!.data;
		const want = P({ shape: [32, 32], data: byHand }, 4).data;
		for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
		expect(tensors.get('blk.0.attn_q.weight')!.data).toEqual(P(w['model.layers.0.self_attn.q_proj.weight'], 4).data);
		tf.dispose([A, B, merged[`${q}.weight`]]);
	});

	it("the Llama permutation turns transformers' rotate-half RoPE into llama.cpp's interleaved RoPE", () => {
		const hs = 8;
		const heads = 2;
		const x = Float32Array.from({ length: heads * hs }, (_, i) => Math.sin(i + 1));
		const pos = 3;
		const theta = (i: number) => pos * 10000 ** (-(2 * i) / hs);
		// transformers: pairs (i, i + hs/2) within a head
		const halves = new Float32Array(x.length);
		// llama.cpp LLAMA (rope type NORM): pairs (2i, 2i + 1)
		const px = permuteRope({ shape: [heads * hs, 1], data: x }, heads).data;
		const inter = new Float32Array(x.length);
		for (let h = 0; h < heads; h++)
			for (let i = 0; i < hs / 2; i++) {
				const [c, s] = [Math.cos(theta(i)), Math.sin(theta(i))];
				const a = h * hs + i;
				const b = a + hs / 2;
				halves[a] = x[a] * c - x[b] * s;
				halves[b] = x[b] * c + x[a] * s;
				const e = h * hs + 2 * i;
				inter[e] = px[e] * c - px[e + 1] * s;
				inter[e + 1] = px[e + 1] * c + px[e] * s;
			}
		const permutedHalves = permuteRope({ shape: [heads * hs, 1], data: halves }, heads).data;
		for (let i = 0; i < x.length; i++) expect(inter[i]).toBeCloseTo(permutedHalves[i], 6);
	});

	it('a SentencePiece-style tokenizer is written as "llama" with scores and byte tokens', async () => {
		const tok = {
			tokenizerJson: JSON.stringify({
				model: { type: 'BPE', byte_fallback: true, unk_token: '<unk>', vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x0A>': 3, '▁t': 4, h: 5 }, merges: ['▁ t'] },
				added_tokens: [{ id: 0, content: '<unk>', special: true }, { id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }],
				normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }] },
				post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] }
			}),
			tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }
		};
		const out = exportGguf({ hfConfig: fixtureJson('llama', 'config.json'), weights: weightsOf('llama'), tokenizer: tok, type: 'F16', name: 'spm' });
		const md = (await readBack(out.bytes, 'spm.gguf')).parsed.metadata as Record<string, unknown>;
		expect(md['tokenizer.ggml.model']).toBe('llama');
		expect((md['tokenizer.ggml.token_type'] as number[]).slice(0, 7)).toEqual([2, 3, 3, 6, 1, 1, 5]);
		expect((md['tokenizer.ggml.scores'] as number[]).slice(0, 6)).toEqual([0, 0, 0, 0, -4, -5]);
		expect(md['tokenizer.ggml.merges']).toEqual(['▁ t']);
		expect(md['tokenizer.ggml.add_bos_token']).toBe(true);
		expect(md['tokenizer.ggml.bos_token_id']).toBe(1);
	});

	it("names llama.cpp's pre-tokenizer from tokenizer.json: GPT-2, Llama-3, Qwen2, SmolLM; 'default' with a warning otherwise", () => {
		const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
		const split = (regex: string) => ({ type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] });
		const t = (pre: unknown) => ({ model: { type: 'BPE', vocab: {} }, pre_tokenizer: pre }) as Parameters<typeof ggmlPreTokenizer>[0];
		const w: string[] = [];
		expect(ggmlPreTokenizer(t({ type: 'ByteLevel', add_prefix_space: false, use_regex: true }), w)).toBe('gpt-2');
		expect(ggmlPreTokenizer(t(split(llama3)), w)).toBe('llama-bpe');
		expect(ggmlPreTokenizer(t(split(llama3.replace('\\p{N}{1,3}', '\\p{N}'))), w)).toBe('qwen2');
		expect(ggmlPreTokenizer(t({ type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel', use_regex: true }] }), w)).toBe('smollm');
		expect(w).toEqual([]);
		expect(ggmlPreTokenizer(t(split('\\s+')), w)).toBe('default');
		expect(w[0]).toContain("not one llama.cpp knows by name");
	});

	it('the Ollama Modelfile points at the file, with a ChatML template and stop words for a ChatML model', () => {
		const out = exportGguf({ hfConfig: fixtureJson('llama', 'config.json'), weights: weightsOf('llama'), tokenizer: tokenizerOf('llama'), type: 'Q8_0', name: 'm' });
		const mf = ollamaModelfile(out, 'model-Q8_0.gguf', 32);
		expect(mf).toContain('FROM ./model-Q8_0.gguf');
		expect(mf).toMatch(/TEMPLATE """\{\{- range \.Messages \}\}<\|im_start\|>\{\{ \.Role \}\}/);
		expect(mf).toContain('PARAMETER stop "<|im_end|>"');
		expect(mf).toContain('PARAMETER num_ctx 32');
		const plain = ollamaModelfile(exportGguf({ hfConfig: fixtureJson('gpt2', 'config.json'), weights: weightsOf('gpt2'), tokenizer: tokenizerOf('gpt2'), type: 'F16', name: 'g' }), 'g.gguf', 64);
		expect(plain).toContain('TEMPLATE """{{ .Prompt }}"""');
		expect(plain).toContain('PARAMETER stop "<|endoftext|>"');
	});

	it('refuses classifiers, other architectures and tokenizers smaller than the embedding allows', () => {
		const cls = { ...fixtureJson('llama', 'config.json'), architectures: ['LlamaForSequenceClassification'], num_labels: 3 };
		expect(() => exportGguf({ hfConfig: cls, weights: weightsOf('llama'), tokenizer: tokenizerOf('llama'), type: 'F16', name: 'x' })).toThrow(/Export this classifier as the Hugging Face folder/);
		expect(() => exportGguf({ hfConfig: fixtureJson('bert', 'config.json'), weights: {}, tokenizer: tokenizerOf('llama'), type: 'F16', name: 'x' })).toThrow(/GGUF export covers llama, qwen2, gpt2/);
		const small = { ...fixtureJson('llama', 'config.json'), vocab_size: 64 };
		const w = weightsOf('llama');
		w['model.embed_tokens.weight'] = { shape: [64, 32], data: w['model.embed_tokens.weight'].data.slice(0, 64 * 32) };
		expect(() => exportGguf({ hfConfig: small, weights: w, tokenizer: tokenizerOf('llama'), type: 'F16', name: 'x' })).toThrow(/ids up to 100 but the model's embedding has 64 rows/);
	});
});
