/**
 * Near-duplicate texts by MinHash (Broder 1997) with locality-sensitive hashing in bands (Leskovec,
 * Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3), as datatrove's `minhash.py` and
 * datasketch's `MinHashLSH` do it:
 *
 *   1. each text becomes a set of shingles (character n-grams or word n-grams of its normalised
 *      form), each shingle a 32-bit hash;
 *   2. its signature is, for each of `numPerm` seeded hash functions, the minimum over its shingles;
 *      two signatures agree in a position with probability equal to the sets' Jaccard similarity;
 *   3. signatures are cut into b bands of r rows; texts that agree on a whole band become candidate
 *      pairs (probability 1 − (1 − s^r)^b at similarity s);
 *   4. every candidate pair is checked with the exact Jaccard of its shingle sets, so a reported
 *      pair is always at or above the threshold; pairs join into clusters by union-find.
 *
 * Copies of one text (the same normalised text) are searched once: a text repeated thousands of
 * times ("thanks!", "ok") would otherwise make millions of candidate pairs, in every band.
 *
 * Bands and rows favour recall: the largest r (fewest spurious candidates) whose detection
 * probability at the threshold is still at least 0.99, since step 4 removes false positives.
 * Pure functions, no DOM: runs in the data worker and in Node.
 */
import { UserError } from '../shared/errors';
import { runInSlices, runToEnd, type Work } from './sliced';

export interface NearDupOptions {
	/** Jaccard similarity at or above which two texts are near-duplicates (0-1). Default 0.8. */
	threshold?: number;
	/** 'char': character n-grams (default, suits short texts); 'word': word n-grams. */
	shingle?: 'char' | 'word';
	/** n of the n-grams: default 5 for characters, 3 for words. */
	size?: number;
	/** Hash functions in a signature. Default 128. */
	numPerm?: number;
	/** Seed of the hash functions. */
	seed?: number;
	/** Most pairs listed before the search stops with a UserError (default MAX_NEAR_PAIRS). */
	maxPairs?: number;
}

export interface NearDupPair {
	a: number;
	b: number;
	/** Exact Jaccard similarity of the two shingle sets. */
	jaccard: number;
}

export interface NearDupResult {
	/**
	 * Pairs of different texts at or above the threshold, a < b, by index into the input. A text with
	 * copies (`copies`) appears by its first row only: every copy makes the same pairs.
	 */
	pairs: NearDupPair[];
	/**
	 * Rows with the same normalised text (so the same shingle set: Jaccard 1 with each other), in
	 * groups of two or more, each sorted, by first row. The first row stands for the group in `pairs`.
	 */
	copies: number[][];
	/** Groups of two or more indices joined by copies and pairs, each sorted, largest group first. */
	clusters: number[][];
	bands: number;
	rows: number;
	/** Candidate pairs of rows the bands proposed (before the exact check), copies counted as if each were searched. */
	candidates: number;
}

/** Lowercase, NFKC, whitespace collapsed: near-duplicates should not differ by case or spacing. */
export function normaliseForShingles(text: string): string {
	return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser: a well-mixed 32-bit hash of a string. */
export function hashString(s: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < s.length; i++) {
		h ^= s.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return fmix32(h);
}

/** murmur3's 32-bit finaliser: an avalanche mix of a 32-bit integer. */
function fmix32(h: number): number {
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/** FNV-1a over the code units [from, to) of `s`, then fmix32: `hashString(s.slice(from, to))` without the slice. */
function hashRange(s: string, from: number, to: number): number {
	let h = 0x811c9dc5;
	for (let i = from; i < to; i++) {
		h ^= s.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return fmix32(h);
}

/** Sorts the hashes and keeps each once, in place; returns the distinct ones as their own array. */
function distinctSorted(hashes: Uint32Array): Uint32Array {
	hashes.sort();
	let k = 0;
	for (let i = 0; i < hashes.length; i++) if (i === 0 || hashes[i] !== hashes[k - 1]) hashes[k++] = hashes[i];
	return k === hashes.length ? hashes : hashes.slice(0, k);
}

/**
 * The text's shingles as a sorted array of distinct 32-bit hashes. Each n-gram is hashed where it
 * lies in the normalised text (no substring made), and the hashes are sorted and deduplicated in a
 * typed array: a million texts make no per-shingle strings or sets.
 */
export function shingleSet(text: string, shingle: 'char' | 'word' = 'char', size?: number): Uint32Array {
	const norm = normaliseForShingles(text);
	if (shingle === 'word') {
		const n = size ?? 3;
		// the normalised text is single-spaced and trimmed: words lie between single spaces
		const starts: number[] = [];
		const ends: number[] = [];
		if (norm.length) {
			let from = 0;
			for (let i = 0; i <= norm.length; i++)
				if (i === norm.length || norm.charCodeAt(i) === 32) {
					starts.push(from);
					ends.push(i);
					from = i + 1;
				}
		}
		if (starts.length <= n) return Uint32Array.of(hashString(norm));
		const hashes = new Uint32Array(starts.length - n + 1);
		for (let i = 0; i < hashes.length; i++) hashes[i] = hashRange(norm, starts[i], ends[i + n - 1]);
		return distinctSorted(hashes);
	}
	const n = size ?? 5;
	if (norm.length <= n) return Uint32Array.of(hashString(norm));
	const hashes = new Uint32Array(norm.length - n + 1);
	for (let i = 0; i < hashes.length; i++) hashes[i] = hashRange(norm, i, i + n);
	return distinctSorted(hashes);
}

/** Exact Jaccard similarity of two sorted sets of distinct hashes. */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
	if (a.length === 0 && b.length === 0) return 1;
	let i = 0;
	let j = 0;
	let both = 0;
	while (i < a.length && j < b.length) {
		if (a[i] === b[j]) {
			both++;
			i++;
			j++;
		} else if (a[i] < b[j]) i++;
		else j++;
	}
	return both / (a.length + b.length - both);
}

/** Seeds of the `numPerm` hash functions h_k(x) = fmix32(x ^ seed_k). */
function permSeeds(numPerm: number, seed: number): Uint32Array {
	const seeds = new Uint32Array(numPerm);
	let s = (seed ^ 0x9e3779b9) >>> 0;
	for (let k = 0; k < numPerm; k++) {
		s = fmix32((s + 0x9e3779b9) >>> 0);
		seeds[k] = s;
	}
	return seeds;
}

/** The MinHash signature of a shingle set: for each hash function, its minimum over the set. */
export function signature(set: Uint32Array, seeds: Uint32Array): Uint32Array {
	const flipped = new Int32Array(seeds.length);
	signatureInto(set, seeds, flipped);
	const sig = new Uint32Array(seeds.length);
	for (let k = 0; k < sig.length; k++) sig[k] = (flipped[k] ^ 0x80000000) >>> 0;
	return sig;
}

/**
 * `signature` written into `out` with each value's top bit flipped and read as a signed integer:
 * the order of unsigned values is then the order of signed ones, so the minimum is found on
 * small integers (V8 keeps values above 2^31 as doubles, several times slower here).
 */
function signatureInto(set: Uint32Array, seeds: Uint32Array, out: Int32Array): void {
	const items = new Int32Array(set.buffer, set.byteOffset, set.length);
	for (let k = 0; k < seeds.length; k++) {
		const sk = seeds[k] | 0;
		let min = 0x7fffffff;
		for (let i = 0; i < items.length; i++) {
			// fmix32(item ^ seed), as in fmix32 above, kept signed
			let h = items[i] ^ sk;
			h ^= h >>> 16;
			h = Math.imul(h, 0x85ebca6b);
			h ^= h >>> 13;
			h = Math.imul(h, 0xc2b2ae35);
			h ^= h >>> 16;
			h ^= 0x80000000;
			if (h < min) min = h;
		}
		out[k] = min;
	}
}

/** murmur3's 32-bit body and finaliser over one band (`rows` values from `at`) of a signature: the band's bucket key. */
function bandKey(sig: Int32Array, at: number, rows: number, band: number): number {
	let h = Math.imul(band + 1, 0x9e3779b9);
	for (let j = 0; j < rows; j++) {
		let k = Math.imul(sig[at + j], 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		h ^= Math.imul(k, 0x1b873593);
		h = (h << 13) | (h >>> 19);
		h = (Math.imul(h, 5) + 0xe6546b64) | 0;
	}
	return fmix32(h ^ rows) | 0;
}

/** Probability that a pair at Jaccard `s` shares a band of `r` rows among `b` bands. */
export function detectionProbability(s: number, b: number, r: number): number {
	return 1 - Math.pow(1 - Math.pow(s, r), b);
}

/** The largest r (with b = ⌊numPerm / r⌋) that still finds a pair at the threshold with probability ≥ 0.99. */
export function bandsFor(threshold: number, numPerm: number): { bands: number; rows: number } {
	let best = { bands: numPerm, rows: 1 };
	for (let r = 1; r <= numPerm; r++) {
		const b = Math.floor(numPerm / r);
		if (detectionProbability(threshold, b, r) >= 0.99) best = { bands: b, rows: r };
	}
	return best;
}

class UnionFind {
	private parent: Int32Array;
	constructor(n: number) {
		this.parent = new Int32Array(n);
		for (let i = 0; i < n; i++) this.parent[i] = i;
	}
	find(x: number): number {
		while (this.parent[x] !== x) {
			this.parent[x] = this.parent[this.parent[x]];
			x = this.parent[x];
		}
		return x;
	}
	union(a: number, b: number): void {
		const ra = this.find(a);
		const rb = this.find(b);
		if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
	}
}

/**
 * Band keys kept from one search for the next over mostly the same texts (cleaning: the leakage
 * fix after near-duplicates were dropped and a few rows redacted). After a search, `keys` holds its
 * band keys (band-major, of its `rows` texts, `texts`) under `options`; before the next, `from[i]`
 * names the text of that search that row i was (-1: none). A row's keys are copied only when its
 * text is still that text and the options are the same; otherwise they are made again.
 */
export interface KnownBandKeys {
	keys?: Int32Array;
	texts?: readonly string[];
	rows: number;
	options: string;
	from: ArrayLike<number>;
}

/** One text's band keys, written at `keys[band * stride + at]`. */
function rowKeys(text: string, shingle: 'char' | 'word', size: number | undefined, seeds: Uint32Array, sig: Int32Array, keys: Int32Array, at: number, stride: number, bands: number, rows: number): void {
	signatureInto(shingleSet(text, shingle, size), seeds, sig);
	for (let band = 0; band < bands; band++) keys[band * stride + at] = bandKey(sig, band * rows, rows, band);
}

/**
 * The band keys of `texts` (band-major) as `nearDuplicateWork` makes them, for a search given
 * them as known (KnownBandKeys): sub-workers make them for shards of the rows on every core
 * (workers/minhash-pool.ts). `onRows(done)` hears progress every 1,000 rows.
 */
export function bandKeys(texts: readonly string[], opts: NearDupOptions = {}, onRows?: (done: number) => void): Int32Array {
	const numPerm = opts.numPerm ?? 128;
	const { bands, rows } = bandsFor(opts.threshold ?? 0.8, numPerm);
	const seeds = permSeeds(numPerm, opts.seed ?? 1);
	const n = texts.length;
	const keys = new Int32Array(bands * n);
	const sig = new Int32Array(numPerm);
	for (let i = 0; i < n; i++) {
		if (i % 1000 === 999) onRows?.(i + 1);
		rowKeys(texts[i], opts.shingle ?? 'char', opts.size, seeds, sig, keys, i, n, bands, rows);
	}
	return keys;
}

/** Band keys of shards (each band-major, in order) joined as those of all their rows. */
export function joinBandKeys(parts: readonly { keys: Int32Array; rows: number }[], opts: NearDupOptions = {}): Int32Array {
	const { bands } = bandsFor(opts.threshold ?? 0.8, opts.numPerm ?? 128);
	const n = parts.reduce((a, p) => a + p.rows, 0);
	const keys = new Int32Array(bands * n);
	let at = 0;
	for (const p of parts) {
		for (let band = 0; band < bands; band++) keys.set(p.keys.subarray(band * p.rows, (band + 1) * p.rows), band * n + at);
		at += p.rows;
	}
	return keys;
}

/** The options that decide a text's band keys, as one string to compare (KnownBandKeys.options). */
export function keyOptions(opts: NearDupOptions): string {
	return JSON.stringify([opts.threshold ?? 0.8, opts.numPerm ?? 128, opts.shingle ?? 'char', opts.size ?? null, opts.seed ?? 1]);
}

/**
 * Most pairs of different texts a check lists. Copies of one text are not counted (they are listed
 * once, as `copies`); each pair of different texts costs memory and an exact Jaccard, and past this
 * many the texts are mostly near-copies of a few (one template filled with many names or numbers),
 * so the check stops with a message rather than running the worker out of memory.
 */
export const MAX_NEAR_PAIRS = 4_000_000;

/**
 * Near-duplicate pairs and clusters among `texts`. `onProgress(done, total)` is called as the
 * signatures are computed; `cancelled()` is polled and stops the work by throwing.
 */
export function findNearDuplicates(
	texts: readonly string[],
	opts: NearDupOptions = {},
	onProgress?: (done: number, total: number) => void,
	cancelled?: () => boolean
): NearDupResult {
	return runToEnd(nearDuplicateWork(texts, opts, onProgress, cancelled));
}

/** `findNearDuplicates` in slices that give the event loop back (a worker's heartbeat): the same result. */
export function findNearDuplicatesInSlices(
	texts: readonly string[],
	opts: NearDupOptions = {},
	onProgress?: (done: number, total: number) => void,
	cancelled?: () => boolean
): Promise<NearDupResult> {
	return runInSlices(nearDuplicateWork(texts, opts, onProgress, cancelled));
}

/** Each row's representative (itself, or the first row of its copies) from a result over `n` texts. */
export function representatives(result: Pick<NearDupResult, 'copies'>, n: number): Int32Array {
	const rep = new Int32Array(n);
	for (let i = 0; i < n; i++) rep[i] = i;
	for (const g of result.copies) for (const i of g) rep[i] = g[0];
	return rep;
}

/**
 * Rows chained by a 32-bit key in an open-addressed table of typed arrays: the rows of one key
 * follow each other in `next`, in the order they were added, from `head[slot]`.
 */
class Chains {
	readonly capacity: number;
	private readonly mask: number;
	private readonly slotKey: Int32Array;
	readonly head: Int32Array;
	private readonly tail: Int32Array;
	readonly next: Int32Array;

	constructor(n: number) {
		let capacity = 16;
		while (capacity < 2 * n) capacity *= 2;
		this.capacity = capacity;
		this.mask = capacity - 1;
		this.slotKey = new Int32Array(capacity);
		this.head = new Int32Array(capacity);
		this.tail = new Int32Array(capacity);
		this.next = new Int32Array(n);
	}

	/** Chains the rows `ids` (ascending) by `keys[offset + row]`, replacing what was there. */
	*fill(keys: Int32Array, offset: number, ids: Int32Array): Work<void> {
		const { head, tail, next, slotKey, mask } = this;
		head.fill(-1);
		for (let x = 0; x < ids.length; x++) {
			if (x % 8192 === 8191) yield;
			const i = ids[x];
			const key = keys[offset + i];
			let slot = key & mask;
			while (head[slot] !== -1 && slotKey[slot] !== key) slot = (slot + 1) & mask;
			next[i] = -1;
			if (head[slot] === -1) {
				slotKey[slot] = key;
				head[slot] = i;
			} else next[tail[slot]] = i;
			tail[slot] = i;
		}
	}
}

/**
 * The work of `findNearDuplicates`, yielding between small pieces (sliced.ts). Memory grows with
 * the rows, not their shingles: a row keeps only its band keys (one 32-bit hash of each band of
 * its signature, `bands` × 4 bytes, in one typed array), not its shingle set or signature; the
 * buckets of one band at a time are an open-addressed table of typed arrays with chained rows.
 * A band key is a hash, so two different bands can share one (about n²/2³³ times a band): that
 * only adds a candidate, which the exact check then rejects; a pair is never lost by it. Shingle
 * sets are made again for the rows in a bucket when their pairs are checked.
 *
 * Copies of one text (the same normalised text, so the same shingle set and band keys) are
 * searched as one row, the first of them: k copies would otherwise make k(k-1)/2 pairs, in every
 * band. They join their first row in the clusters (Jaccard 1), which are what they would be with
 * every pair listed; `pairs` lists the pairs between different texts, by their first rows.
 */
export function* nearDuplicateWork(
	texts: readonly string[],
	opts: NearDupOptions = {},
	onProgress?: (done: number, total: number) => void,
	cancelled?: () => boolean,
	known?: KnownBandKeys,
	onBand?: (band: number, bands: number) => void
): Work<NearDupResult> {
	const threshold = opts.threshold ?? 0.8;
	if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`The near-duplicate threshold must be in (0, 1], not ${threshold}.`);
	const numPerm = opts.numPerm ?? 128;
	const shingle = opts.shingle ?? 'char';
	const { bands, rows } = bandsFor(threshold, numPerm);
	const seeds = permSeeds(numPerm, opts.seed ?? 1);
	const n = texts.length;
	const maxPairs = opts.maxPairs ?? MAX_NEAR_PAIRS;
	const stop = () => {
		if (cancelled?.()) throw new DOMException('Finding near-duplicates was cancelled.', 'AbortError');
	};
	// 1. band keys, band-major: keys[band * n + i]; a row whose keys are known is copied, not hashed again
	const signed = keyOptions(opts);
	const reuse = known?.keys && known.texts && known.options === signed && known.from.length === n ? known : undefined;
	const keys = new Int32Array(bands * n);
	const sig = new Int32Array(numPerm);
	for (let i = 0; i < n; i++) {
		if (i % 1000 === 0) {
			stop();
			onProgress?.(i, n);
		}
		if (i % 64 === 63) yield;
		const from = reuse ? reuse.from[i] : -1;
		if (from >= 0 && reuse!.texts![from] === texts[i]) {
			for (let band = 0; band < bands; band++) keys[band * n + i] = reuse!.keys![band * reuse!.rows + from];
			continue;
		}
		rowKeys(texts[i], shingle, opts.size, seeds, sig, keys, i, n, bands, rows);
	}
	onProgress?.(n, n);
	if (known) {
		known.keys = keys;
		known.rows = n;
		known.texts = texts;
		known.options = signed;
	}
	const table = new Chains(n);
	const { head, next } = table;
	// 2. copies: rows chained by one hash of all their band keys; in a chain, rows with the same keys and normalised text join the first
	const rep = new Int32Array(n);
	const print = new Int32Array(n);
	for (let i = 0; i < n; i++) rep[i] = i;
	for (let band = 0; band < bands; band++) {
		const offset = band * n;
		for (let i = 0; i < n; i++) {
			if (i % 8192 === 8191) yield;
			print[i] = (Math.imul(print[i] ^ keys[offset + i], 0x01000193) + band) | 0;
		}
	}
	for (let i = 0; i < n; i++) print[i] = fmix32(print[i]) | 0;
	yield* table.fill(print, 0, rep); // rep is 0..n-1 here: every row
	const sameKeys = (a: number, b: number) => {
		for (let band = 0; band < bands; band++) if (keys[band * n + a] !== keys[band * n + b]) return false;
		return true;
	};
	const byText = new Map<string, number>();
	const byNorm = new Map<string, number>();
	let grouped = 0;
	for (let slot = 0; slot < table.capacity; slot++) {
		if (slot % 16384 === 16383) yield;
		const first = head[slot];
		if (first === -1 || next[first] === -1) continue;
		stop();
		byText.clear();
		byNorm.clear();
		for (let i = first; i !== -1; i = next[i]) {
			if (++grouped % 1024 === 0) yield;
			// copies are mostly the same string: it is normalised once
			let leader = byText.get(texts[i]);
			if (leader === undefined) {
				const norm = normaliseForShingles(texts[i]);
				leader = byNorm.get(norm);
				if (leader === undefined) byNorm.set(norm, (leader = i));
				byText.set(texts[i], leader);
			}
			if (leader !== i && sameKeys(leader, i)) rep[i] = leader;
		}
	}
	byText.clear();
	byNorm.clear();
	/** Rows of each text, by its first row. */
	const size = new Int32Array(n);
	let distinct = 0;
	for (let i = 0; i < n; i++) if (size[rep[i]]++ === 0) distinct++;
	const ids = new Int32Array(distinct);
	for (let i = 0, x = 0; i < n; i++) if (rep[i] === i) ids[x++] = i;
	// 3. per band, the first rows of texts with the same key chained; every pair in a chain is a candidate, checked once
	const seen = new Set<number>();
	const pairs: NearDupPair[] = [];
	const uf = new UnionFind(n);
	// candidates count rows, as if every copy were searched: k copies are k(k-1)/2 pairs, two texts' copies k × l
	let candidates = 0;
	for (let x = 0; x < distinct; x++) candidates += (size[ids[x]] * (size[ids[x]] - 1)) / 2;
	let visited = 0;
	let sets = new Map<number, Uint32Array>();
	const setOf = (i: number) => {
		let s = sets.get(i);
		if (!s) {
			if (sets.size >= 50_000) sets = new Map();
			s = shingleSet(texts[i], shingle, opts.size);
			sets.set(i, s);
		}
		return s;
	};
	const members: number[] = [];
	for (let band = 0; band < bands; band++) {
		stop();
		onBand?.(band, bands);
		yield* table.fill(keys, band * n, ids);
		for (let slot = 0; slot < table.capacity; slot++) {
			if (slot % 16384 === 16383) yield;
			const first = head[slot];
			if (first === -1 || next[first] === -1) continue;
			members.length = 0;
			for (let i = first; i !== -1; i = next[i]) members.push(i);
			// rows were chained in order, so a < b
			for (let x = 0; x < members.length; x++)
				for (let y = x + 1; y < members.length; y++) {
					const a = members[x];
					const b = members[y];
					// every pair visited counts toward a slice, seen before or not: a bucket of thousands of texts is visited in every band
					if (++visited % 256 === 0) yield;
					const pair = a * n + b;
					if (seen.has(pair)) continue;
					seen.add(pair);
					candidates += size[a] * size[b];
					const j = jaccard(setOf(a), setOf(b));
					if (j >= threshold) {
						if (pairs.length >= maxPairs)
							throw new UserError(
								'invalid-config',
								`More than ${maxPairs.toLocaleString('en-US')} near-duplicate pairs between different texts among ${n.toLocaleString('en-US')} rows (${distinct.toLocaleString('en-US')} different texts; exact copies are not counted): many texts are near-copies of a few, such as one template filled with different names or numbers. Raise the threshold, or check a smaller version (a length filter, or a split); nothing was changed.`
							);
						pairs.push({ a, b, jaccard: j });
						uf.union(a, b);
					}
				}
		}
	}
	onBand?.(bands, bands);
	seen.clear();
	sets.clear();
	pairs.sort((p, q) => p.a - q.a || p.b - q.b);
	// 4. clusters: texts joined by pairs, each with all its copies; copy groups by their first row
	const inPair = new Uint8Array(n);
	for (const p of pairs) inPair[p.a] = inPair[p.b] = 1;
	const groups = new Map<number, number[]>();
	const copyGroups = new Map<number, number[]>();
	for (let i = 0; i < n; i++) {
		const r = rep[i];
		if (size[r] > 1) {
			if (r !== i) uf.union(r, i);
			const g = copyGroups.get(r);
			if (g) g.push(i);
			else copyGroups.set(r, [i]);
		}
	}
	for (let i = 0; i < n; i++) {
		const r = rep[i];
		if (size[r] < 2 && !inPair[r]) continue;
		const root = uf.find(i);
		const g = groups.get(root);
		// rows come in order: each group is sorted
		if (g) g.push(i);
		else groups.set(root, [i]);
	}
	const clusters = [...groups.values()].sort((g, h) => h.length - g.length || g[0] - h[0]);
	return { pairs, copies: [...copyGroups.values()], clusters, bands, rows, candidates };
}
