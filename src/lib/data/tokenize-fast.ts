/**
 * A fast encoder for byte-level BPE `tokenizer.json` files of the shape `bpe.ts` writes (GPT-2's
 * scheme: optional Lowercase normalizer, ByteLevel pre-tokenizer without a prefix space, BPE
 * without suffixes, dropout or byte fallback). It gives the same ids as `@huggingface/tokenizers`
 * (the reference, `TextTokenizer.encode`), which the tests check on fixtures and random text, at
 * several times its speed:
 *
 * - pre-tokenized words repeat heavily in real text, so a word's ids are cached by the word;
 * - a new word is merged on integer symbol ids with an open-addressing table of (left, right) →
 *   (rank, merged id) instead of string keys; short words by scanning for the lowest rank, long
 *   ones with a heap of (rank, position) over a linked list, as the Rust `tokenizers` `Word`
 *   does (lowest rank first, leftmost first among equal ranks);
 * - ids are written into growing typed arrays, and a row stops once it has `maxLength` ids
 *   (pre-tokenization runs left to right, so the first ids do not depend on the rest).
 *
 * `FastBpe.fromSpec` returns undefined for any other tokenizer; callers then use tokenizers.js.
 */

/** The GPT-2 pre-tokenizer pattern, as the ByteLevel pre-tokenizer applies it (same as `bpe.ts`). */
const PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's `bytes_to_unicode` (as in bpe.ts; repeated so this file can load in a sub-worker alone). */
const BYTE_CHARS: string[] = (() => {
	const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
	const out: string[] = new Array(256);
	let n = 0;
	for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
	return out;
})();

/** Words above this many bytes are merged with the heap; shorter ones by scanning. */
const SCAN_MAX = 48;
/** Words in each of the cache's two generations (unique ids in every row would otherwise fill it). */
const CACHE_MAX = 100_000;
/** Words longer than this (in UTF-16 units) are not cached. */
const CACHE_WORD_MAX = 128;
/** Texts longer than this are pre-tokenized word by word, so a row can stop at its maximum length. */
const LONG_TEXT = 4096;

interface SpecToken {
	id: number;
	content: string;
	lstrip?: boolean;
	rstrip?: boolean;
	normalized?: boolean;
	special?: boolean;
}

interface Spec {
	normalizer?: { type?: string } | null;
	pre_tokenizer?: { type?: string; add_prefix_space?: boolean; use_regex?: boolean } | null;
	added_tokens?: SpecToken[];
	model?: {
		type?: string;
		vocab?: Record<string, number>;
		merges?: ([string, string] | string)[];
		dropout?: number | null;
		continuing_subword_prefix?: string | null;
		continuing_subword_suffix?: string | null;
		end_of_word_suffix?: string | null;
		byte_fallback?: boolean;
		ignore_merges?: boolean;
	};
}

/** A growing list of int32 ids. */
export class IdList {
	data: Int32Array;
	length = 0;
	constructor(capacity = 1024) {
		this.data = new Int32Array(Math.max(16, capacity));
	}
	push(v: number): void {
		if (this.length === this.data.length) this.grow(this.length + 1);
		this.data[this.length++] = v;
	}
	grow(need: number): void {
		let cap = this.data.length * 2;
		while (cap < need) cap *= 2;
		const next = new Int32Array(cap);
		next.set(this.data.subarray(0, this.length));
		this.data = next;
	}
	/** A copy of the ids, exactly as long as the list. */
	toArray(): Int32Array {
		return this.data.slice(0, this.length);
	}
}

export class FastBpe {
	/** Id of each byte's character. */
	private readonly byteId = new Int32Array(256);
	// The merge table: open addressing, keys (left, right), values (rank, merged id).
	private readonly mask: number;
	private readonly keyLeft: Int32Array;
	private readonly keyRight: Int32Array;
	private readonly valRank: Int32Array;
	private readonly valId: Int32Array;
	private cache = new Map<string, Int32Array>();
	private older = new Map<string, Int32Array>();
	/** Added tokens by content (split out of the text before normalization), and a pattern that finds them. */
	private readonly added = new Map<string, number>();
	private readonly addedPattern: RegExp | undefined;
	private readonly lowercase: boolean;
	// Scratch space for merging one word.
	private sym = new Int32Array(256);
	private rank = new Int32Array(256);
	private utf8 = new Uint8Array(1024);

	private constructor(spec: Spec, byteIds: number[], merges: [number, number, number, number][]) {
		this.lowercase = spec.normalizer?.type === 'Lowercase';
		this.byteId.set(byteIds);
		let size = 16;
		while (size < merges.length * 2) size *= 2;
		this.mask = size - 1;
		this.keyLeft = new Int32Array(size).fill(-1);
		this.keyRight = new Int32Array(size);
		this.valRank = new Int32Array(size);
		this.valId = new Int32Array(size);
		for (const [a, b, rank, merged] of merges) {
			let h = this.slot(a, b);
			while (this.keyLeft[h] !== -1 && !(this.keyLeft[h] === a && this.keyRight[h] === b)) h = (h + 1) & this.mask;
			// A pair listed twice keeps its last rank, as tokenizers.js' and Rust's maps do.
			this.keyLeft[h] = a;
			this.keyRight[h] = b;
			this.valRank[h] = rank;
			this.valId[h] = merged;
		}
		const contents: string[] = [];
		for (const t of spec.added_tokens ?? []) {
			if (!t.content) continue;
			this.added.set(t.content, t.id);
			contents.push(t.content);
		}
		// tokenizers.js splits with a trie, longest match at the earliest position: an alternation
		// with longer tokens first finds the same matches.
		contents.sort((x, y) => y.length - x.length);
		this.addedPattern = contents.length
			? new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
			: undefined;
	}

	private slot(a: number, b: number): number {
		return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
	}

	/** Index of the pair's entry in the merge table, or -1. */
	private find(a: number, b: number): number {
		let h = this.slot(a, b);
		for (;;) {
			const k = this.keyLeft[h];
			if (k === -1) return -1;
			if (k === a && this.keyRight[h] === b) return h;
			h = (h + 1) & this.mask;
		}
	}

	/**
	 * An encoder for `spec` (a parsed tokenizer.json), or undefined when it is not a byte-level BPE
	 * this encoder reproduces exactly; use tokenizers.js then.
	 */
	static fromSpec(spec: unknown): FastBpe | undefined {
		const s = spec as Spec;
		if (!s || typeof s !== 'object') return undefined;
		const norm = s.normalizer;
		if (norm && norm.type !== 'Lowercase') return undefined;
		const pre = s.pre_tokenizer;
		if (!pre || pre.type !== 'ByteLevel' || pre.add_prefix_space || pre.use_regex === false) return undefined;
		const m = s.model;
		if (!m || m.type !== 'BPE' || !m.vocab || !Array.isArray(m.merges)) return undefined;
		if (m.dropout || m.continuing_subword_prefix || m.continuing_subword_suffix || m.end_of_word_suffix || m.byte_fallback || m.ignore_merges) return undefined;
		if ((s as { post_processor?: unknown }).post_processor) return undefined;
		const added = s.added_tokens ?? [];
		for (const t of added) {
			if (t.lstrip || t.rstrip) return undefined;
			// Normalized added tokens are looked for after normalization; ours never are.
			const normalized = t.normalized ?? !t.special;
			if (normalized && norm) return undefined;
		}
		// Token string → id as tokenizers.js builds it: the vocabulary, then the added tokens over it.
		const byString = new Map<string, number>(Object.entries(m.vocab));
		for (const t of added) byString.set(t.content, t.id);
		// Merging on ids equals merging on strings only if every string used has its own id.
		const stringOf = new Map<number, string>();
		const idOf = (str: string): number | undefined => {
			const id = byString.get(str);
			if (id === undefined) return undefined;
			const seen = stringOf.get(id);
			if (seen !== undefined && seen !== str) throw new Error('shared id');
			stringOf.set(id, str);
			return id;
		};
		const byteIds: number[] = [];
		const merges: [number, number, number, number][] = [];
		try {
			for (const c of BYTE_CHARS) {
				const id = idOf(c);
				if (id === undefined) return undefined;
				byteIds.push(id);
			}
			m.merges.forEach((pair, rank) => {
				const [x, y] = typeof pair === 'string' ? (pair.split(' ', 2) as [string, string]) : pair;
				const a = idOf(x);
				const b = idOf(y);
				const merged = idOf(x + y);
				// A piece outside the vocabulary never occurs in a word, so its merge never applies.
				if (a === undefined || b === undefined) return;
				if (merged === undefined) throw new Error('merge outside the vocabulary');
				merges.push([a, b, rank, merged]);
			});
		} catch {
			return undefined;
		}
		return new FastBpe(s, byteIds, merges);
	}

	/** The ids of `text` (no special tokens added), as `TextTokenizer.encode(text)` gives them. */
	encode(text: string, maxLength = Infinity): number[] {
		const out = new IdList(64);
		this.encodeInto(text, out, maxLength);
		return Array.from(out.data.subarray(0, out.length));
	}

	/** Appends the ids of `text` to `out`, at most `maxLength` of them; returns how many. */
	encodeInto(text: string, out: IdList, maxLength = Infinity): number {
		const start = out.length;
		const limit = start + maxLength;
		if (text.length === 0 || maxLength <= 0) return 0;
		const pattern = this.addedPattern;
		if (pattern === undefined) {
			this.encodeSection(text, out, limit);
			return out.length - start;
		}
		pattern.lastIndex = 0;
		let from = 0;
		for (let m = pattern.exec(text); m !== null && out.length < limit; m = pattern.exec(text)) {
			if (m.index > from) this.encodeSection(text.slice(from, m.index), out, limit);
			if (out.length < limit) out.push(this.added.get(m[0])!);
			from = m.index + m[0].length;
		}
		if (from < text.length && out.length < limit) this.encodeSection(from === 0 ? text : text.slice(from), out, limit);
		return out.length - start;
	}

	/** One stretch of text between added tokens: normalize, pre-tokenize, merge each word. */
	private encodeSection(section: string, out: IdList, limit: number): void {
		const text = this.lowercase ? section.toLowerCase() : section;
		// `match` is faster than an `exec` loop; a long text is walked so it can stop at the limit.
		if (text.length <= LONG_TEXT) {
			const words = text.match(PATTERN);
			if (words !== null) for (let w = 0; w < words.length && out.length < limit; w++) this.encodeWord(words[w], out, limit);
			return;
		}
		const pattern = new RegExp(PATTERN);
		for (let m = pattern.exec(text); m !== null && out.length < limit; m = pattern.exec(text)) this.encodeWord(m[0], out, limit);
	}

	private encodeWord(word: string, out: IdList, limit: number): void {
		let ids = this.cache.get(word);
		if (ids === undefined) {
			ids = this.older.get(word) ?? this.merge(word);
			if (word.length <= CACHE_WORD_MAX) {
				// Two generations: when the cache is full it becomes the older one, and words still
				// in use move back on their next lookup, so one-off words (ids, numbers) do not
				// push the frequent ones out for good.
				if (this.cache.size >= CACHE_MAX) {
					this.older = this.cache;
					this.cache = new Map();
				}
				this.cache.set(word, ids);
			}
		}
		const n = Math.min(ids.length, limit - out.length);
		if (out.length + n > out.data.length) out.grow(out.length + n);
		const data = out.data;
		let at = out.length;
		for (let i = 0; i < n; i++) data[at++] = ids[i];
		out.length = at;
	}

	/** The UTF-8 bytes of `word` in `this.utf8`; returns how many. */
	private utf8Of(word: string): number {
		if (this.utf8.length < word.length * 3) this.utf8 = new Uint8Array(word.length * 3);
		const buf = this.utf8;
		let n = 0;
		for (let i = 0; i < word.length; i++) {
			let c = word.charCodeAt(i);
			if (c < 0x80) buf[n++] = c;
			else if (c < 0x800) {
				buf[n++] = 0xc0 | (c >> 6);
				buf[n++] = 0x80 | (c & 63);
			} else {
				if (c >= 0xd800 && c < 0xdc00 && i + 1 < word.length) {
					const d = word.charCodeAt(i + 1);
					if (d >= 0xdc00 && d < 0xe000) {
						c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
						i++;
						buf[n++] = 0xf0 | (c >> 18);
						buf[n++] = 0x80 | ((c >> 12) & 63);
						buf[n++] = 0x80 | ((c >> 6) & 63);
						buf[n++] = 0x80 | (c & 63);
						continue;
					}
				}
				// A lone surrogate is written as U+FFFD, as TextEncoder does.
				if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
				buf[n++] = 0xe0 | (c >> 12);
				buf[n++] = 0x80 | ((c >> 6) & 63);
				buf[n++] = 0x80 | (c & 63);
			}
		}
		return n;
	}

	/** The BPE of one pre-tokenized word. */
	private merge(word: string): Int32Array {
		const n = this.utf8Of(word);
		if (this.sym.length < n) {
			this.sym = new Int32Array(n * 2);
			this.rank = new Int32Array(n * 2);
		}
		const sym = this.sym;
		for (let i = 0; i < n; i++) sym[i] = this.byteId[this.utf8[i]];
		if (n > SCAN_MAX) return this.mergeHeap(n);
		// Scan: the rank of each adjacent pair (or -1), then merge the lowest, leftmost first.
		const rank = this.rank;
		const NONE = 0x7fffffff;
		let len = n;
		for (let i = 0; i + 1 < len; i++) {
			const h = this.find(sym[i], sym[i + 1]);
			rank[i] = h < 0 ? NONE : h;
		}
		for (;;) {
			let best = -1;
			let bestRank = NONE;
			for (let i = 0; i + 1 < len; i++) {
				const h = rank[i];
				if (h !== NONE && this.valRank[h] < bestRank) {
					bestRank = this.valRank[h];
					best = i;
				}
			}
			if (best < 0) break;
			sym[best] = this.valId[rank[best]];
			for (let i = best + 1; i + 1 < len; i++) {
				sym[i] = sym[i + 1];
				rank[i] = rank[i + 1];
			}
			len--;
			if (best > 0) {
				const h = this.find(sym[best - 1], sym[best]);
				rank[best - 1] = h < 0 ? NONE : h;
			}
			if (best + 1 < len) {
				const h = this.find(sym[best], sym[best + 1]);
				rank[best] = h < 0 ? NONE : h;
			}
		}
		return sym.slice(0, len);
	}

	/** The BPE of a long word: a heap of (rank, position) over a linked list of symbols. */
	private mergeHeap(n: number): Int32Array {
		const sym = this.sym.slice(0, n);
		const next = new Int32Array(n);
		const prev = new Int32Array(n);
		for (let i = 0; i < n; i++) {
			next[i] = i + 1 < n ? i + 1 : -1;
			prev[i] = i - 1;
		}
		const alive = new Uint8Array(n).fill(1);
		// Heap entries: rank * 2^32 + position, smallest first (exact in a double below 2^53).
		let heap = new Float64Array(n);
		let size = 0;
		const push = (key: number) => {
			if (size === heap.length) {
				const h = new Float64Array(size * 2);
				h.set(heap);
				heap = h;
			}
			let i = size++;
			while (i > 0) {
				const p = (i - 1) >> 1;
				if (heap[p] <= key) break;
				heap[i] = heap[p];
				i = p;
			}
			heap[i] = key;
		};
		const pop = (): number => {
			const top = heap[0];
			const last = heap[--size];
			let i = 0;
			for (;;) {
				const l = 2 * i + 1;
				if (l >= size) break;
				const c = l + 1 < size && heap[l + 1] < heap[l] ? l + 1 : l;
				if (heap[c] >= last) break;
				heap[i] = heap[c];
				i = c;
			}
			heap[i] = last;
			return top;
		};
		const TWO32 = 4294967296;
		const offer = (i: number) => {
			const j = next[i];
			if (j < 0) return;
			const h = this.find(sym[i], sym[j]);
			if (h >= 0) push(this.valRank[h] * TWO32 + i);
		};
		for (let i = 0; i + 1 < n; i++) offer(i);
		while (size > 0) {
			const key = pop();
			const rank = Math.floor(key / TWO32);
			const i = key - rank * TWO32;
			if (!alive[i]) continue;
			const j = next[i];
			if (j < 0) continue;
			// Stale: the pair at i changed since this entry was pushed.
			const h = this.find(sym[i], sym[j]);
			if (h < 0 || this.valRank[h] !== rank) continue;
			sym[i] = this.valId[h];
			alive[j] = 0;
			next[i] = next[j];
			if (next[j] >= 0) prev[next[j]] = i;
			if (prev[i] >= 0) offer(prev[i]);
			offer(i);
		}
		const out: number[] = [];
		for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
		return Int32Array.from(out);
	}
}
