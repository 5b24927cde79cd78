/**
 * Encodes and decodes text with a Hugging Face `tokenizer.json` (ours from `bpe.ts`, or a
 * pretrained model's). Built on `Tokenizer` from @huggingface/tokenizers: the same class that
 * transformers.js' `PreTrainedTokenizer` wraps, without pulling in onnxruntime, so it loads
 * offline in a Web Worker and in Node.
 *
 * A pretrained model's special tokens come from its `tokenizer_config.json` (and
 * `special_tokens_map.json`, which wins, as in transformers' `from_pretrained`), given as strings
 * or as `{"content": …}` AddedToken objects. `encode(text, {addSpecialTokens: true})` adds what
 * the model's post-processor adds (BERT: [CLS] … [SEP]; Llama: BOS), and truncation to
 * `maxLength` cuts the content first and then adds the special tokens, as transformers'
 * `truncation=True` does. Our byte-level BPE is encoded by `FastBpe` (tokenize-fast.ts), which
 * gives tokenizers.js' ids (tested) several times faster.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../shared/errors';
import { bpeTokenizerConfig } from './bpe';
import { FastBpe } from './tokenize-fast';

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object. */
export type TokenSpec = string | { content: string; [key: string]: unknown } | null | undefined;

/** The parts of a model's tokenizer_config.json the studio reads; the rest is kept as it is. */
export interface HubTokenizerConfig {
	bos_token?: TokenSpec;
	eos_token?: TokenSpec;
	unk_token?: TokenSpec;
	sep_token?: TokenSpec;
	pad_token?: TokenSpec;
	cls_token?: TokenSpec;
	mask_token?: TokenSpec;
	additional_special_tokens?: TokenSpec[];
	/** A Jinja template, or named templates (`default` is used); see `chat.ts`. */
	chat_template?: string | { name: string; template: string }[] | null;
	model_max_length?: number;
	[key: string]: unknown;
}

export const SPECIAL_TOKEN_NAMES = ['bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask'] as const;
export type SpecialTokenName = (typeof SPECIAL_TOKEN_NAMES)[number];

/** The text of a special token given as a string or an AddedToken object. */
export function tokenString(spec: unknown): string | undefined {
	if (typeof spec === 'string') return spec || undefined;
	if (spec && typeof spec === 'object' && typeof (spec as { content?: unknown }).content === 'string')
		return (spec as { content: string }).content || undefined;
	return undefined;
}

/** The config with every special token written as a plain string (what tokenizers.js expects). */
export function normalizeTokenizerConfig(config: HubTokenizerConfig): HubTokenizerConfig {
	const out: HubTokenizerConfig = { ...config };
	for (const name of SPECIAL_TOKEN_NAMES) {
		const key = `${name}_token` as const;
		if (key in out) out[key] = tokenString(out[key]) ?? null;
	}
	if (Array.isArray(out.additional_special_tokens))
		out.additional_special_tokens = out.additional_special_tokens.map(tokenString).filter((t): t is string => !!t);
	return out;
}

/**
 * End-of-text tokens to fall back on when the config names none: GPT-2's tokenizer_config.json
 * has no special tokens (transformers' GPT2Tokenizer defaults bos = eos = unk to `<|endoftext|>`).
 */
const EOS_FALLBACKS = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>'];

export interface EncodeOptions {
	/** Add what the tokenizer's post-processor adds (BERT's [CLS]/[SEP], Llama's BOS). Default false. */
	addSpecialTokens?: boolean;
	/** Truncate to this many ids; with special tokens, the content is cut and the specials kept. */
	maxLength?: number;
}

/** Reads a file of a downloaded model; undefined when the model does not have it. */
export type ReadModelFile = (file: string) => Promise<ArrayBuffer | undefined>;

export class TextTokenizer {
	readonly vocabSize: number;
	readonly padId: number | undefined;
	readonly clsId: number | undefined;
	readonly eosId: number | undefined;
	readonly bosId: number | undefined;
	readonly unkId: number | undefined;
	readonly sepId: number | undefined;
	/** Special tokens by name, as strings, for those the vocabulary has. */
	readonly special: Partial<Record<SpecialTokenName, string>> = {};
	/** Ids the post-processor puts before and after one sequence's content. */
	readonly prefixIds: number[];
	readonly suffixIds: number[];
	/** The tokenizer config in effect (special tokens as strings). */
	readonly config: HubTokenizerConfig;
	private tok: Tokenizer;
	/** Our byte-level BPE's encoder: the same ids as `tok`, several times faster (tokenize-fast.ts). */
	private fast: FastBpe | undefined;

	/**
	 * @param config tokenizer_config.json's values; merged over `base`.
	 * @param base defaults: our from-scratch BPE's config (`<pad>`, `<cls>`, `<eos>`, `<unk>`).
	 */
	constructor(json: string | object, config?: object, base: object = bpeTokenizerConfig()) {
		const spec = typeof json === 'string' ? JSON.parse(json) : json;
		this.config = normalizeTokenizerConfig({ ...base, ...(config ?? {}) });
		this.tok = new Tokenizer(spec, this.config);
		this.fast = FastBpe.fromSpec(spec);
		let maxId = -1;
		for (const id of this.tok.get_vocab(true).values()) if (id > maxId) maxId = id;
		this.vocabSize = maxId + 1;

		const added = new Set<string>();
		for (const t of this.tok.get_added_tokens_decoder().values()) added.add(t.content);
		const known = (t: string | undefined) => (t !== undefined && this.tok.token_to_id(t) !== undefined ? t : undefined);
		for (const name of SPECIAL_TOKEN_NAMES) {
			const t = known(tokenString(this.config[`${name}_token`]));
			if (t !== undefined) this.special[name] = t;
		}
		if (this.special.eos === undefined && !this.config.eos_token) {
			const eos = EOS_FALLBACKS.find((t) => added.has(t));
			if (eos !== undefined) {
				this.special.eos = eos;
				// GPT-2's defaults: the one end-of-text token is also BOS and UNK.
				if (eos === '<|endoftext|>') {
					if (!this.config.bos_token) this.special.bos ??= eos;
					if (!this.config.unk_token) this.special.unk ??= eos;
				}
			}
		}
		const id = (name: SpecialTokenName) => {
			const t = this.special[name];
			return t === undefined ? undefined : this.tok.token_to_id(t);
		};
		this.eosId = id('eos');
		this.bosId = id('bos');
		this.unkId = id('unk');
		this.sepId = id('sep');
		this.clsId = id('cls');
		// Models without a pad token (GPT-2, Llama) pad with EOS; padding is masked out anyway.
		this.padId = id('pad') ?? this.eosId;

		// What the post-processor adds around one sequence: run it on a placeholder and look
		// on either side of it.
		const SENTINEL = '\u{F0000}whetstone-content\u{F0000}';
		const processed = this.tok.post_processor?.post_process([SENTINEL], null, true).tokens ?? [SENTINEL];
		const at = processed.indexOf(SENTINEL);
		const ids = (tokens: string[]) =>
			tokens.map((t) => {
				const i = this.tok.token_to_id(t);
				if (i === undefined) throw new Error(`The tokenizer's post-processor adds "${t}", which is not in its vocabulary.`);
				return i;
			});
		this.prefixIds = ids(processed.slice(0, at));
		this.suffixIds = ids(processed.slice(at + 1));
	}

	/** Async so callers need not change if loading ever becomes lazy (e.g. a dynamic import). */
	static async fromJson(json: string, config?: object): Promise<TextTokenizer> {
		return new TextTokenizer(json, config);
	}

	/**
	 * A pretrained model's tokenizer from its tokenizer.json and tokenizer_config.json (and, when
	 * there is one, special_tokens_map.json, whose values win).
	 */
	static fromHub(json: string | object, config: HubTokenizerConfig = {}, specialTokensMap: Record<string, unknown> = {}): TextTokenizer {
		return new TextTokenizer(json, { ...config, ...specialTokensMap }, {});
	}

	/** The token id of one token string (a special token, or a vocabulary entry), if it has one. */
	tokenId(token: string): number | undefined {
		return this.tok.token_to_id(token);
	}

	/** Token ids of `text`; by default without special tokens (see `EncodeOptions`). */
	encode(text: string, { addSpecialTokens = false, maxLength }: EncodeOptions = {}): number[] {
		let ids = text.length === 0 ? [] : this.fast ? this.fast.encode(text) : this.tok.encode(text, { add_special_tokens: false }).ids;
		if (!addSpecialTokens) return maxLength === undefined ? ids : ids.slice(0, Math.max(0, maxLength));
		if (maxLength !== undefined) {
			const budget = maxLength - this.prefixIds.length - this.suffixIds.length;
			ids = ids.slice(0, Math.max(0, budget));
		}
		const out = [...this.prefixIds, ...ids, ...this.suffixIds];
		return maxLength === undefined ? out : out.slice(0, Math.max(0, maxLength));
	}

	/** The text of `ids`, special tokens skipped unless asked for. */
	decode(ids: number[], { skipSpecialTokens = true }: { skipSpecialTokens?: boolean } = {}): string {
		// tokenizers.js throws on an empty list; an empty sequence is just the empty string.
		if (ids.length === 0) return '';
		return this.tok.decode(ids, { skip_special_tokens: skipSpecialTokens });
	}

	/** Token strings of `text` (byte-level symbols, e.g. "Ġhello"), for showing tokenization. */
	tokens(text: string): string[] {
		if (text.length === 0) return [];
		return this.tok.tokenize(text);
	}
}

export interface HubTokenizerFiles {
	tokenizer: TextTokenizer;
	/** tokenizer.json as downloaded: what is stored and hashed. */
	json: string;
	/** tokenizer_config.json merged with special_tokens_map.json, special tokens as strings. */
	config: HubTokenizerConfig;
}

const decoder = new TextDecoder();

async function readJson(readFile: ReadModelFile, file: string): Promise<Record<string, unknown> | undefined> {
	const bytes = await readFile(file);
	if (bytes === undefined) return undefined;
	try {
		const v = JSON.parse(decoder.decode(bytes));
		if (v && typeof v === 'object' && !Array.isArray(v)) return v;
	} catch {
		// reported below
	}
	throw new UserError('parse-error', `The model's ${file} is not a JSON object; the download may be damaged. Download the model again.`);
}

/**
 * Loads a downloaded model's tokenizer. `readFile` reads one file of the model, e.g.
 * `(file) => getModelFile(ref, file)`; tokenizer_config.json and special_tokens_map.json are
 * optional, tokenizer.json is not (models with only a slow, sentencepiece tokenizer are not supported).
 */
export async function loadHubTokenizer(readFile: ReadModelFile, modelName = 'this model'): Promise<HubTokenizerFiles> {
	const bytes = await readFile('tokenizer.json');
	if (bytes === undefined)
		throw new UserError(
			'not-found',
			`The tokenizer of ${modelName} is not downloaded (tokenizer.json is missing). Download the model again; a model that has no tokenizer.json on the Hub is not supported.`
		);
	const json = decoder.decode(bytes);
	const config = (await readJson(readFile, 'tokenizer_config.json')) ?? {};
	const map = (await readJson(readFile, 'special_tokens_map.json')) ?? {};
	let tokenizer: TextTokenizer;
	try {
		tokenizer = TextTokenizer.fromHub(json, config, map);
	} catch (e) {
		throw new UserError('parse-error', `The tokenizer of ${modelName} could not be loaded (${(e as Error).message}).`);
	}
	return { tokenizer, json, config: tokenizer.config };
}
