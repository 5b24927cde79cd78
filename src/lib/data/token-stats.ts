/**
 * What the Data screen's token view shows, computed from a loaded tokenizer and rows (pure: no
 * storage, no worker): one example's tokens with their ids and kinds, the token length of every
 * row, the length histogram per split, how many rows a context length truncates, the unknown and
 * byte-fallback rate, and tokens per word for comparing two tokenizers.
 *
 * Every count comes from `TextTokenizer.encode` (the one tokenizer the pipeline trains and runs
 * with), with the special tokens its post-processor adds, so a row's length here is the length
 * `hub-tokens.ts` truncates against. Unknown tokens are the model's `unk_token` (WordPiece's
 * [UNK], a BPE's `<unk>`); byte-fallback tokens are `<0xNN>` pieces of a BPE with `byte_fallback`
 * (Llama/SentencePiece style), as Hugging Face `tokenizers` defines them.
 */
import { SPLITS, type StoredRow } from '../shared/types';
import type { TextTokenizer } from './tokenizer';
import { BYTE_TO_UNICODE } from './bpe';

/** How a token is shown: ordinary text, a special token, the unknown token, or a raw byte. */
export type TokenKind = 'text' | 'special' | 'unknown' | 'byte';

/** A tokenizer with what the token view needs to mark its tokens. */
export interface ViewTokenizer {
	tokenizer: TextTokenizer;
	/** The id the model emits for text it cannot encode, if it has one. */
	unknownId: number | undefined;
	/** Ids of added special tokens ([CLS], <|endoftext|>, …). */
	specialIds: Set<number>;
	/** Whether the BPE falls back to `<0xNN>` byte tokens. */
	byteFallback: boolean;
}

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

/** Reads the marks from the tokenizer.json the tokenizer was built from. */
export function viewTokenizer(tokenizer: TextTokenizer, json: string | object): ViewTokenizer {
	const spec = (typeof json === 'string' ? JSON.parse(json) : json) as {
		model?: { unk_token?: string | null; byte_fallback?: boolean };
		added_tokens?: { id: number; special?: boolean }[];
	};
	const unk = spec.model?.unk_token;
	return {
		tokenizer,
		unknownId: unk ? tokenizer.tokenId(unk) : undefined,
		specialIds: new Set((spec.added_tokens ?? []).filter((t) => t.special).map((t) => t.id)),
		byteFallback: spec.model?.byte_fallback === true
	};
}

export interface ShownToken {
	id: number;
	/** The text the token stands for, decoded alone (a byte-level piece of a character as its bytes, "<C3>"). */
	text: string;
	/** The token as the vocabulary spells it (e.g. "Ġhello", "##ing", "<0xC3>"). */
	token: string;
	kind: TokenKind;
}

export interface ExampleTokens {
	text: string;
	/** The ids of `encode(text, {addSpecialTokens: true})`, one entry each. */
	tokens: ShownToken[];
	words: number;
	/** tokens.length / words (0 for a text with no words). */
	tokensPerWord: number;
	unknown: number;
	byteFallback: number;
}

/** Words are runs of non-space characters, the unit "tokens per word" is counted in. */
export function countWords(text: string): number {
	return text.match(/\S+/g)?.length ?? 0;
}

const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

/**
 * What a token shows: its decoded text, except that a byte-level token holding part of a
 * character (decoded alone it is only �) shows its bytes in hex, e.g. "<C3>" for the first half of é.
 */
function shownText(decoded: string, token: string): string {
	if (!decoded.includes('\uFFFD') || token.includes('\uFFFD')) return decoded;
	const bytes = [...token].map((c) => UNICODE_TO_BYTE.get(c));
	if (bytes.some((b) => b === undefined)) return decoded;
	return bytes.map((b) => `<${b!.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
}

function kindOf(t: ViewTokenizer, id: number, token: string): TokenKind {
	if (id === t.unknownId) return 'unknown';
	if (t.byteFallback && BYTE_TOKEN.test(token)) return 'byte';
	if (t.specialIds.has(id)) return 'special';
	return 'text';
}

/**
 * One text's tokens with their ids. The token strings come from `tokenize` (no special tokens),
 * which lines up with the content ids of `encode`; the post-processor's ids around them are
 * spelled by decoding them with special tokens kept.
 */
export function exampleTokens(t: ViewTokenizer, text: string): ExampleTokens {
	const tok = t.tokenizer;
	const ids = tok.encode(text, { addSpecialTokens: true });
	const content = tok.tokens(text);
	const before = tok.prefixIds.length;
	if (ids.length !== before + content.length + tok.suffixIds.length)
		throw new Error(`The tokenizer's tokens (${content.length}) and ids (${ids.length}) of one text do not line up.`);
	const tokens = ids.map((id, i) => {
		const inContent = i >= before && i < before + content.length;
		const token = inContent ? content[i - before] : tok.decode([id], { skipSpecialTokens: false });
		const kind = inContent ? kindOf(t, id, token) : 'special';
		return { id, token, text: kind === 'special' ? token : shownText(tok.decode([id], { skipSpecialTokens: false }), token), kind };
	});
	const words = countWords(text);
	return {
		text,
		tokens,
		words,
		tokensPerWord: words ? ids.length / words : 0,
		unknown: tokens.filter((x) => x.kind === 'unknown').length,
		byteFallback: tokens.filter((x) => x.kind === 'byte').length
	};
}

/** The text of a row the model reads: its text, and for prompt/response rows the response after it. */
export function rowText(row: StoredRow): string {
	return row.response !== undefined ? `${row.text}\n${row.response}` : row.text;
}

/** Every row's token length and split, with totals over the version. */
export interface RowLengths {
	lengths: Int32Array;
	splits: Uint8Array;
	tokens: number;
	words: number;
	unknown: number;
	byteFallback: number;
}

export function rowLengths(t: ViewTokenizer, rows: StoredRow[]): RowLengths {
	const lengths = new Int32Array(rows.length);
	const splits = new Uint8Array(rows.length);
	let tokens = 0, words = 0, unknown = 0, byteFallback = 0;
	// Byte tokens are found by their spelling; the set of their ids is built once per call.
	const byteIds = new Set<number>();
	if (t.byteFallback)
		for (let b = 0; b < 256; b++) {
			const id = t.tokenizer.tokenId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
			if (id !== undefined) byteIds.add(id);
		}
	rows.forEach((r, i) => {
		const text = rowText(r);
		const ids = t.tokenizer.encode(text, { addSpecialTokens: true });
		lengths[i] = ids.length;
		splits[i] = r.split;
		tokens += ids.length;
		words += countWords(text);
		for (const id of ids) {
			if (id === t.unknownId) unknown++;
			else if (byteIds.has(id)) byteFallback++;
		}
	});
	return { lengths, splits, tokens, words, unknown, byteFallback };
}

/** A bin width of 1, 2 or 5 × 10^k that puts the longest row in at most `maxBins` bins. */
export function binWidth(longest: number, maxBins = 12): number {
	for (let scale = 1; ; scale *= 10)
		for (const m of [1, 2, 5]) if (Math.ceil((longest + 1) / (m * scale)) <= maxBins) return m * scale;
}

export interface LengthHistogram {
	/** Bin i holds lengths in [i * width, (i + 1) * width). */
	width: number;
	/** counts[split code][bin]; each split's counts sum to its rows. */
	counts: number[][];
}

export function lengthHistogram(lengths: Int32Array, splits: Uint8Array, maxBins = 12): LengthHistogram {
	let longest = 0;
	for (const n of lengths) if (n > longest) longest = n;
	const width = binWidth(longest, maxBins);
	const bins = Math.floor(longest / width) + 1;
	const counts = SPLITS.map(() => new Array<number>(bins).fill(0));
	lengths.forEach((n, i) => counts[splits[i]][Math.floor(n / width)]++);
	return { width, counts };
}

/** Rows per split longer than `contextLength` tokens (what a run with that length cuts). */
export function truncatedBySplit(lengths: Int32Array, splits: Uint8Array, contextLength: number): number[] {
	const out = SPLITS.map(() => 0);
	lengths.forEach((n, i) => {
		if (n > contextLength) out[splits[i]]++;
	});
	return out;
}

export interface VersionTokenStats {
	rows: number;
	/** Rows per split (train, validation, test). */
	splitRows: number[];
	tokens: number;
	meanLength: number;
	longest: number;
	histogram: LengthHistogram;
	contextLength: number;
	/** Rows per split that `contextLength` truncates. */
	truncated: number[];
	unknown: number;
	byteFallback: number;
	/** unknown / tokens and byteFallback / tokens (0 with no tokens). */
	unknownRate: number;
	byteFallbackRate: number;
	tokensPerWord: number;
}

/** The version-wide figures from the row lengths, for one context length. */
export function versionStats(r: RowLengths, contextLength: number): VersionTokenStats {
	const splitRows = SPLITS.map(() => 0);
	let longest = 0;
	r.splits.forEach((s, i) => {
		splitRows[s]++;
		if (r.lengths[i] > longest) longest = r.lengths[i];
	});
	const rows = r.lengths.length;
	return {
		rows,
		splitRows,
		tokens: r.tokens,
		meanLength: rows ? r.tokens / rows : 0,
		longest,
		histogram: lengthHistogram(r.lengths, r.splits),
		contextLength,
		truncated: truncatedBySplit(r.lengths, r.splits, contextLength),
		unknown: r.unknown,
		byteFallback: r.byteFallback,
		unknownRate: r.tokens ? r.unknown / r.tokens : 0,
		byteFallbackRate: r.tokens ? r.byteFallback / r.tokens : 0,
		tokensPerWord: r.words ? r.tokens / r.words : 0
	};
}
