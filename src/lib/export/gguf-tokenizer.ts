/**
 * A Hugging Face tokenizer as the `tokenizer.*` metadata of a GGUF file, as llama.cpp's
 * convert_hf_to_gguf.py writes it (`get_vocab_base` / `_set_vocab_gpt2`, `LlamaHfVocab`,
 * gguf-py `SpecialVocab`) and llama-vocab.cpp reads it:
 *
 * - byte-level BPE (GPT-2, Qwen2, Llama-3, the studio's own BPE): `tokenizer.ggml.model` "gpt2",
 *   the vocabulary by id, `merges` as "a b", and `tokenizer.ggml.pre` naming the pre-tokenizer
 *   regex llama.cpp applies ("gpt-2", "qwen2", "llama-bpe", "smollm"; "default" when it is none of these);
 * - SentencePiece-style BPE (Llama-2, TinyLlama: `▁` for spaces, `<0xNN>` byte fallback):
 *   "llama", with scores. Without tokenizer.model, a score is minus the token's id, so earlier
 *   (more frequent) pieces merge first, as in a SentencePiece BPE model's own scores.
 *
 * Ids the model's embedding has beyond the tokenizer's are padded with `[PAD<id>]` tokens of type
 * UNUSED, as convert does, so the vocabulary matches the embedding rows llama.cpp checks against.
 * Token types: 1 normal, 2 unknown, 3 control (special added tokens), 4 user-defined, 5 unused, 6 byte.
 */
import { UserError } from '../shared/errors';
import type { GgufValue } from './gguf';

export interface TokenizerFiles {
	/** tokenizer.json text. */
	tokenizerJson: string;
	/** tokenizer_config.json, parsed. */
	tokenizerConfig?: Record<string, unknown>;
	/** chat_template.jinja, when the repo keeps the template in its own file. */
	chatTemplate?: string;
}

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

// Split regexes of the pre-tokenizers llama.cpp knows by name (tokenizer.json `pre_tokenizer`).
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface TokenizerJson {
	model: { type: string; vocab: Record<string, number> | [string, number][]; merges?: (string | [string, string])[]; byte_fallback?: boolean; unk_token?: string | null };
	added_tokens?: { id: number; content: string; special: boolean }[];
	normalizer?: unknown;
	pre_tokenizer?: unknown;
	decoder?: unknown;
	post_processor?: unknown;
}

/** Every `type` field and string in a tokenizer.json component, for recognizing its kind. */
function flat(v: unknown, out: string[] = []): string[] {
	if (typeof v === 'string') out.push(v);
	else if (Array.isArray(v)) for (const x of v) flat(x, out);
	else if (v && typeof v === 'object') for (const x of Object.values(v)) flat(x, out);
	return out;
}

/** "llama" for SentencePiece-style BPE, "gpt2" for byte-level BPE. */
export function ggmlTokenizerModel(t: TokenizerJson): 'llama' | 'gpt2' {
	if (t.model.type !== 'BPE')
		throw new UserError(
			'invalid-config',
			`This model's tokenizer is ${t.model.type}, which the GGUF export does not map (it writes BPE tokenizers: GPT-2, Qwen2, Llama). Export the Hugging Face folder and convert it with llama.cpp's convert_hf_to_gguf.py.`
		);
	const parts = [...flat(t.normalizer), ...flat(t.pre_tokenizer), ...flat(t.decoder)];
	const spm = t.model.byte_fallback === true || parts.includes('Metaspace') || parts.includes('▁');
	return spm ? 'llama' : 'gpt2';
}

/** The pre-tokenizer llama.cpp should apply, by name (llama-vocab.cpp `tokenizer_pre`). */
export function ggmlPreTokenizer(t: TokenizerJson, warnings: string[]): string {
	const parts = flat(t.pre_tokenizer);
	if (parts.includes(LLAMA3_SPLIT)) return 'llama-bpe';
	if (parts.includes(QWEN2_SPLIT)) return 'qwen2';
	const pre = t.pre_tokenizer as { type?: string; use_regex?: boolean; pretokenizers?: { type?: string; use_regex?: boolean; individual_digits?: boolean }[] } | null | undefined;
	if (pre?.type === 'ByteLevel' && pre.use_regex !== false) return 'gpt-2';
	// SmolLM / SmolLM2: single digits, then GPT-2's regex (llama.cpp's "smollm")
	const seq = pre?.type === 'Sequence' ? (pre.pretokenizers ?? []) : [];
	if (seq.length === 2 && seq[0].type === 'Digits' && seq[0].individual_digits && seq[1].type === 'ByteLevel' && seq[1].use_regex !== false) return 'smollm';
	warnings.push(
		pre
			? "The tokenizer's pre-tokenizer is not one llama.cpp knows by name; the GGUF says 'default', so llama.cpp may split text differently from transformers (token ids given directly are unaffected)."
			: "The tokenizer has no byte-level pre-tokenizer; llama.cpp's BPE reads text as GPT-2 byte-level tokens, so it may split text differently from transformers (token ids given directly are unaffected)."
	);
	return 'default';
}

function tokenText(v: unknown): string | undefined {
	if (typeof v === 'string') return v;
	if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
	return undefined;
}

/** The chat template a GGUF should carry: tokenizer_config's (its default, if it is a list) or chat_template.jinja. */
export function chatTemplateOf(files: TokenizerFiles): string | undefined {
	const c = files.tokenizerConfig?.chat_template;
	if (typeof c === 'string') return c;
	if (Array.isArray(c)) {
		const d = (c as { name?: string; template?: string }[]).find((x) => x.name === 'default') ?? c[0];
		if (typeof d?.template === 'string') return d.template;
	}
	return files.chatTemplate;
}

export interface GgufTokenizer {
	metadata: Record<string, GgufValue>;
	model: 'llama' | 'gpt2';
	tokens: string[];
	/** Special ids found (for the Modelfile's stop words). */
	special: { bos?: number; eos?: number; unk?: number; pad?: number };
	chatTemplate?: string;
}

/**
 * The tokenizer metadata for a model whose embedding has `vocabSize` rows. `fallback` gives the
 * config.json special ids for tokens tokenizer_config.json does not name.
 */
export function ggufTokenizer(files: TokenizerFiles, vocabSize: number, fallback: { bos?: number | null; eos?: number | null; pad?: number | null }, warnings: string[]): GgufTokenizer {
	let t: TokenizerJson;
	try {
		t = JSON.parse(files.tokenizerJson);
	} catch {
		throw new UserError('invalid-config', 'The tokenizer.json of this model is not valid JSON; download the model again.');
	}
	const model = ggmlTokenizerModel(t);
	const byId = new Map<number, string>();
	const vocab = Array.isArray(t.model.vocab) ? Object.fromEntries(t.model.vocab.map(([s], i) => [s, i])) : t.model.vocab;
	for (const [s, id] of Object.entries(vocab)) byId.set(id, s);
	const added = new Map<number, { content: string; special: boolean }>();
	for (const a of t.added_tokens ?? []) {
		byId.set(a.id, a.content);
		added.set(a.id, a);
	}
	const top = Math.max(-1, ...byId.keys()) + 1;
	if (top > vocabSize)
		throw new UserError('invalid-config', `The tokenizer has ids up to ${top - 1} but the model's embedding has ${vocabSize} rows; llama.cpp needs one embedding row per token.`);
	const idOf = new Map<string, number>();
	for (const [id, s] of byId) if (!idOf.has(s)) idOf.set(s, id);
	const unk = tokenText(files.tokenizerConfig?.unk_token) ?? t.model.unk_token ?? undefined;
	const unkId = unk !== undefined ? idOf.get(unk) : undefined;

	const tokens: string[] = [];
	const types: number[] = [];
	const scores: number[] = [];
	for (let id = 0; id < vocabSize; id++) {
		const s = byId.get(id);
		if (s === undefined) {
			tokens.push(`[PAD${id}]`);
			types.push(TOKEN_TYPE.unused);
			scores.push(-1000);
			continue;
		}
		tokens.push(s);
		const a = added.get(id);
		if (id === unkId) types.push(TOKEN_TYPE.unknown);
		else if (a) types.push(a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
		else if (model === 'llama' && /^<0x[0-9A-Fa-f]{2}>$/.test(s)) types.push(TOKEN_TYPE.byte);
		else types.push(TOKEN_TYPE.normal);
		scores.push(a || types[id] === TOKEN_TYPE.byte ? 0 : -id);
	}

	const metadata: Record<string, GgufValue> = { 'tokenizer.ggml.model': { type: 'str', value: model } };
	if (model === 'gpt2') metadata['tokenizer.ggml.pre'] = { type: 'str', value: ggmlPreTokenizer(t, warnings) };
	else metadata['tokenizer.ggml.pre'] = { type: 'str', value: 'default' };
	metadata['tokenizer.ggml.tokens'] = { type: 'arr', of: 'str', value: tokens };
	if (model === 'llama') metadata['tokenizer.ggml.scores'] = { type: 'arr', of: 'f32', value: scores };
	metadata['tokenizer.ggml.token_type'] = { type: 'arr', of: 'i32', value: types };
	const merges = (t.model.merges ?? []).map((m) => (Array.isArray(m) ? m.join(' ') : m));
	if (model === 'gpt2' || merges.length) metadata['tokenizer.ggml.merges'] = { type: 'arr', of: 'str', value: merges };

	const cfg = files.tokenizerConfig ?? {};
	const named = (key: string) => {
		const s = tokenText(cfg[key]);
		return s !== undefined ? idOf.get(s) : undefined;
	};
	const inVocab = (id: number | null | undefined) => (id !== null && id !== undefined && id >= 0 && id < vocabSize ? id : undefined);
	const special = {
		bos: named('bos_token') ?? inVocab(fallback.bos),
		eos: named('eos_token') ?? inVocab(fallback.eos),
		unk: unkId,
		pad: named('pad_token') ?? inVocab(fallback.pad)
	};
	if (special.bos !== undefined) metadata['tokenizer.ggml.bos_token_id'] = { type: 'u32', value: special.bos };
	if (special.eos !== undefined) metadata['tokenizer.ggml.eos_token_id'] = { type: 'u32', value: special.eos };
	if (special.unk !== undefined) metadata['tokenizer.ggml.unknown_token_id'] = { type: 'u32', value: special.unk };
	if (special.pad !== undefined) metadata['tokenizer.ggml.padding_token_id'] = { type: 'u32', value: special.pad };
	// transformers adds BOS when tokenizer_config says so, or (SentencePiece Llama) by its post-processor's template.
	const addBos = typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : model === 'llama' && special.bos !== undefined && flat(t.post_processor).includes(byId.get(special.bos)!);
	metadata['tokenizer.ggml.add_bos_token'] = { type: 'bool', value: addBos };
	metadata['tokenizer.ggml.add_eos_token'] = { type: 'bool', value: cfg.add_eos_token === true };
	const chatTemplate = chatTemplateOf(files);
	if (chatTemplate) metadata['tokenizer.chat_template'] = { type: 'str', value: chatTemplate };
	if (t.normalizer && flat(t.normalizer).includes('Lowercase')) warnings.push("The tokenizer lowercases its input; llama.cpp's BPE does not, so lowercase prompts yourself before giving them to llama.cpp or Ollama.");
	return { metadata, model, tokens, special, chatTemplate };
}
