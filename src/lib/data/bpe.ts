/**
 * Trains a byte-level BPE tokenizer on the training texts and writes it as a Hugging Face
 * `tokenizer.json`, so the same file loads in tokenizers.js here and in Python `tokenizers` /
 * `transformers` after export.
 *
 * Follows GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask Learners"):
 * text is split by the GPT-2 regex, each piece's UTF-8 bytes are mapped to printable characters
 * (`bytes_to_unicode`), and the most frequent adjacent pair is merged until the vocabulary is
 * full. The training loop mirrors the Rust `tokenizers` BpeTrainer: pair counts are updated
 * incrementally from the words a merge touched, with a max-heap of lazily refreshed counts.
 */
import type { TokenizerConfig } from '../shared/config';
import { Prng } from '../shared/prng';
import { Slicer } from './tokenize-slices';

/** Special tokens, at ids 0..3, in this order. */
export const SPECIAL_TOKENS = ['<pad>', '<cls>', '<eos>', '<unk>'] as const;

/** The GPT-2 pre-tokenizer pattern, as the ByteLevel pre-tokenizer applies it. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to U+0100 upwards, so
 * every byte is one visible character and no token is whitespace or a control code.
 */
export const BYTE_TO_UNICODE: string[] = (() => {
	const printable = (b: number) =>
		(b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
	const out: string[] = new Array(256);
	let n = 0;
	for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
	return out;
})();

/** Normalize and pre-tokenize one text into byte-level words, as the tokenizer will at encode time. */
export function preTokenize(text: string, lowercase: boolean): string[] {
	const norm = lowercase ? text.toLowerCase() : text;
	return norm.match(GPT2_PATTERN) ?? [];
}

const encoder = new TextEncoder();

// Symbol ids are < 2^16 (vocab ≤ 32768 + 256), so a pair packs into one number.
const PAIR = 0x10000;

/** A binary max-heap of (count, pair), ties broken by the pair's strings, smallest first. */
class PairHeap {
	private counts: number[] = [];
	private pairs: number[] = [];
	constructor(private symbols: string[]) {}

	get size() {
		return this.counts.length;
	}

	private above(i: number, j: number): boolean {
		const ci = this.counts[i], cj = this.counts[j];
		if (ci !== cj) return ci > cj;
		const pi = this.pairs[i], pj = this.pairs[j];
		const li = this.symbols[(pi / PAIR) | 0], lj = this.symbols[(pj / PAIR) | 0];
		if (li !== lj) return li < lj;
		return this.symbols[pi % PAIR] < this.symbols[pj % PAIR];
	}

	private swap(i: number, j: number) {
		[this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
		[this.pairs[i], this.pairs[j]] = [this.pairs[j], this.pairs[i]];
	}

	push(count: number, pair: number) {
		this.counts.push(count);
		this.pairs.push(pair);
		let i = this.counts.length - 1;
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (!this.above(i, p)) break;
			this.swap(i, p);
			i = p;
		}
	}

	pop(): { count: number; pair: number } {
		const top = { count: this.counts[0], pair: this.pairs[0] };
		const lastCount = this.counts.pop()!;
		const lastPair = this.pairs.pop()!;
		if (this.counts.length > 0) {
			this.counts[0] = lastCount;
			this.pairs[0] = lastPair;
			let i = 0;
			for (;;) {
				const l = 2 * i + 1, r = l + 1;
				let m = i;
				if (l < this.counts.length && this.above(l, m)) m = l;
				if (r < this.counts.length && this.above(r, m)) m = r;
				if (m === i) break;
				this.swap(i, m);
				i = m;
			}
		}
		return top;
	}
}

export interface BpeModel {
	/** Token strings by id (specials first, then the 256 bytes, then merged tokens). */
	vocab: string[];
	merges: [string, string][];
}

/** Merges learned so far and the most there can be, reported every few merges while a BPE trains. */
export type BpeProgress = (merges: number, maxMerges: number) => void;

/** The BPE vocabulary and merges learned from `texts`; `trainBpe` wraps it as tokenizer.json. */
export function learnBpe(texts: string[], cfg: TokenizerConfig, onProgress?: BpeProgress): BpeModel {
	const steps = learnBpeSteps(texts, cfg, onProgress);
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
	}
}

/** `learnBpe`, giving the worker's event loop a turn every few tens of milliseconds (see tokenize-rows.ts). */
export async function learnBpeAsync(texts: string[], cfg: TokenizerConfig, onProgress?: BpeProgress): Promise<BpeModel> {
	const steps = learnBpeSteps(texts, cfg, onProgress);
	const slicer = new Slicer();
	for (;;) {
		const step = steps.next();
		if (step.done) return step.value;
		if (slicer.due()) await slicer.yield();
	}
}

/**
 * The training as a generator that pauses (yields) after every few texts counted and every
 * merge, so `learnBpeAsync` can yield to the event loop and `learnBpe` can run it straight through.
 */
function* learnBpeSteps(texts: string[], cfg: TokenizerConfig, onProgress?: BpeProgress): Generator<void, BpeModel> {
	// Count raw pieces first: far fewer distinct pieces than occurrences, so UTF-8 encoding and
	// byte mapping run once per distinct piece.
	const pieceCounts = new Map<string, number>();
	for (let i = 0; i < texts.length; i++) {
		for (const p of preTokenize(texts[i], cfg.lowercase)) pieceCounts.set(p, (pieceCounts.get(p) ?? 0) + 1);
		if ((i & 255) === 255) yield;
	}

	// Internal symbol ids: 0..255 are the bytes, merged symbols follow.
	const symbols = BYTE_TO_UNICODE.slice();
	const symbolId = new Map(symbols.map((s, i) => [s, i]));
	const words: number[][] = [];
	const freq: number[] = [];
	for (const [piece, f] of pieceCounts) {
		words.push(Array.from(encoder.encode(piece)));
		freq.push(f);
	}

	const pairCount = new Map<number, number>();
	const pairWords = new Map<number, Set<number>>();
	for (let wi = 0; wi < words.length; wi++) {
		const w = words[wi];
		for (let i = 0; i + 1 < w.length; i++) {
			const p = w[i] * PAIR + w[i + 1];
			pairCount.set(p, (pairCount.get(p) ?? 0) + freq[wi]);
			let set = pairWords.get(p);
			if (!set) pairWords.set(p, (set = new Set()));
			set.add(wi);
		}
		if ((wi & 1023) === 1023) yield;
	}
	const heap = new PairHeap(symbols);
	for (const [p, c] of pairCount) heap.push(c, p);

	const merges: [string, string][] = [];
	const target = cfg.vocabSize - SPECIAL_TOKENS.length;
	const maxMerges = Math.max(0, target - symbols.length);
	onProgress?.(0, maxMerges);
	while (symbols.length < target && heap.size > 0) {
		yield;
		if (onProgress && merges.length % 16 === 0 && merges.length) onProgress(merges.length, maxMerges);
		const { count, pair } = heap.pop();
		const current = pairCount.get(pair) ?? 0;
		// Stale entry: the count changed since it was pushed. Re-queue with the true count.
		if (current !== count) {
			if (current > 0) heap.push(current, pair);
			continue;
		}
		const a = (pair / PAIR) | 0;
		const b = pair % PAIR;
		const merged = symbols[a] + symbols[b];
		// Two different merges can spell the same token ("ab"+"c", "a"+"bc"); it keeps one id.
		let id = symbolId.get(merged);
		if (id === undefined) {
			id = symbols.length;
			symbols.push(merged);
			symbolId.set(merged, id);
		}
		merges.push([symbols[a], symbols[b]]);

		const delta = new Map<number, number>();
		for (const wi of pairWords.get(pair) ?? []) {
			const w = words[wi];
			const next: number[] = [];
			for (let i = 0; i < w.length; i++) {
				if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
					next.push(id);
					i++;
				} else next.push(w[i]);
			}
			if (next.length === w.length) continue; // the set is never pruned, so it can be stale
			const f = freq[wi];
			// Words are short, so recounting the whole word is simpler than patching neighbours
			// and costs about the same.
			for (let i = 0; i + 1 < w.length; i++) {
				const p = w[i] * PAIR + w[i + 1];
				delta.set(p, (delta.get(p) ?? 0) - f);
			}
			for (let i = 0; i + 1 < next.length; i++) {
				const p = next[i] * PAIR + next[i + 1];
				delta.set(p, (delta.get(p) ?? 0) + f);
				let set = pairWords.get(p);
				if (!set) pairWords.set(p, (set = new Set()));
				set.add(wi);
			}
			words[wi] = next;
		}
		pairWords.delete(pair);
		for (const [p, d] of delta) {
			if (d === 0) continue;
			const c = (pairCount.get(p) ?? 0) + d;
			if (c > 0) pairCount.set(p, c);
			else pairCount.delete(p);
			// Decreases leave a stale, higher entry behind, refreshed when popped (see above).
			if (d > 0) heap.push(c, p);
		}
	}
	onProgress?.(merges.length, maxMerges);
	return { vocab: [...SPECIAL_TOKENS, ...symbols], merges };
}

/** Hugging Face `tokenizer_config.json` for a tokenizer from `trainBpe`. */
export function bpeTokenizerConfig(modelMaxLength?: number): Record<string, unknown> {
	return {
		tokenizer_class: 'PreTrainedTokenizerFast',
		pad_token: '<pad>',
		cls_token: '<cls>',
		eos_token: '<eos>',
		unk_token: '<unk>',
		// Cleanup rewrites " ." as "." and similar, which would break exact decode round trips.
		clean_up_tokenization_spaces: false,
		...(modelMaxLength ? { model_max_length: modelMaxLength } : {})
	};
}

/** Trains a byte-level BPE on `texts`; returns the Hugging Face `tokenizer.json` text. */
export function trainBpe(texts: string[], cfg: TokenizerConfig, onProgress?: BpeProgress): string {
	return tokenizerJson(learnBpe(texts, cfg, onProgress), cfg);
}

/** `trainBpe` in slices that let the worker answer its heartbeat (see `learnBpeAsync`). */
export async function trainBpeAsync(texts: string[], cfg: TokenizerConfig, onProgress?: BpeProgress): Promise<string> {
	return tokenizerJson(await learnBpeAsync(texts, cfg, onProgress), cfg);
}

/**
 * The BPE learns from at most this many characters of the training split (about 16 MB of
 * text): a vocabulary of up to 32k tokens is settled long before that, and training time grows
 * with the text. Larger training splits are sampled (`sampleForBpe`).
 */
export const BPE_SAMPLE_CHARS = 16_000_000;

/**
 * The texts the BPE learns from: all of them when they hold at most `maxChars` characters, else
 * a seeded random sample of whole texts until that many are reached (the same sample every time for the
 * same texts in the same order, so training stays deterministic), kept in their order.
 */
export function sampleForBpe(texts: string[], maxChars = BPE_SAMPLE_CHARS): string[] {
	let total = 0;
	for (const t of texts) total += t.length;
	if (total <= maxChars) return texts;
	const order = new Prng(0x62706531).shuffle(Array.from(texts.keys()));
	const picked: number[] = [];
	let chars = 0;
	for (const i of order) {
		if (chars >= maxChars) break;
		chars += texts[i].length;
		picked.push(i);
	}
	return picked.sort((a, b) => a - b).map((i) => texts[i]);
}

function tokenizerJson({ vocab, merges }: BpeModel, cfg: TokenizerConfig): string {
	const tokenizer = {
		version: '1.0',
		truncation: null,
		padding: null,
		added_tokens: SPECIAL_TOKENS.map((content, id) => ({
			id,
			content,
			single_word: false,
			lstrip: false,
			rstrip: false,
			normalized: false,
			special: true
		})),
		normalizer: cfg.lowercase ? { type: 'Lowercase' } : null,
		pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
		post_processor: null,
		decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
		model: {
			type: 'BPE',
			dropout: null,
			unk_token: null,
			continuing_subword_prefix: null,
			end_of_word_suffix: null,
			fuse_unk: false,
			byte_fallback: false,
			ignore_merges: false,
			// fromEntries defines own properties, so a token spelled "__proto__" stays a key.
			vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
			merges
		}
	};
	return JSON.stringify(tokenizer);
}
