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
 * Bands and rows favour recall: the largest r (fewest spurious candidates) whose detection
 * probability at the threshold is still at least 0.99, since step 4 removes false positives.
 * Pure functions, no DOM: runs in the data worker and in Node.
 */

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
}

export interface NearDupPair {
	a: number;
	b: number;
	/** Exact Jaccard similarity of the two shingle sets. */
	jaccard: number;
}

export interface NearDupResult {
	/** Pairs at or above the threshold, a < b, by index into the input. */
	pairs: NearDupPair[];
	/** Groups of two or more indices joined by those pairs, each sorted, largest group first. */
	clusters: number[][];
	bands: number;
	rows: number;
	/** Candidate pairs the bands proposed (before the exact check). */
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

/** The text's shingles as a sorted array of distinct 32-bit hashes. */
export function shingleSet(text: string, shingle: 'char' | 'word' = 'char', size?: number): Uint32Array {
	const norm = normaliseForShingles(text);
	const hashes = new Set<number>();
	if (shingle === 'word') {
		const n = size ?? 3;
		const words = norm.split(' ').filter(Boolean);
		if (words.length <= n) hashes.add(hashString(words.join(' ')));
		else for (let i = 0; i + n <= words.length; i++) hashes.add(hashString(words.slice(i, i + n).join(' ')));
	} else {
		const n = size ?? 5;
		if (norm.length <= n) hashes.add(hashString(norm));
		else for (let i = 0; i + n <= norm.length; i++) hashes.add(hashString(norm.slice(i, i + n)));
	}
	return Uint32Array.from(hashes).sort();
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
	const sig = new Uint32Array(seeds.length).fill(0xffffffff);
	for (let k = 0; k < seeds.length; k++) {
		const sk = seeds[k];
		let min = 0xffffffff;
		for (let i = 0; i < set.length; i++) {
			const h = fmix32((set[i] ^ sk) >>> 0);
			if (h < min) min = h;
		}
		sig[k] = min;
	}
	return sig;
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
		this.parent = Int32Array.from({ length: n }, (_, i) => i);
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
 * Near-duplicate pairs and clusters among `texts`. `onProgress(done, total)` is called as the
 * signatures are computed; `cancelled()` is polled and stops the work by throwing.
 */
export function findNearDuplicates(
	texts: readonly string[],
	opts: NearDupOptions = {},
	onProgress?: (done: number, total: number) => void,
	cancelled?: () => boolean
): NearDupResult {
	const threshold = opts.threshold ?? 0.8;
	if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`The near-duplicate threshold must be in (0, 1], not ${threshold}.`);
	const numPerm = opts.numPerm ?? 128;
	const shingle = opts.shingle ?? 'char';
	const { bands, rows } = bandsFor(threshold, numPerm);
	const seeds = permSeeds(numPerm, opts.seed ?? 1);
	const sets: Uint32Array[] = new Array(texts.length);
	const buckets: Map<string, number[]>[] = Array.from({ length: bands }, () => new Map());
	for (let i = 0; i < texts.length; i++) {
		if (i % 1000 === 0) {
			if (cancelled?.()) throw new DOMException('Finding near-duplicates was cancelled.', 'AbortError');
			onProgress?.(i, texts.length);
		}
		sets[i] = shingleSet(texts[i], shingle, opts.size);
		const sig = signature(sets[i], seeds);
		for (let band = 0; band < bands; band++) {
			const key = sig.subarray(band * rows, band * rows + rows).join(',');
			const bucket = buckets[band].get(key);
			if (bucket) bucket.push(i);
			else buckets[band].set(key, [i]);
		}
	}
	onProgress?.(texts.length, texts.length);
	// candidate pairs from every bucket, each pair once
	const seen = new Set<number>();
	const pairs: NearDupPair[] = [];
	const uf = new UnionFind(texts.length);
	let candidates = 0;
	const n = texts.length;
	for (const band of buckets)
		for (const members of band.values()) {
			if (members.length < 2) continue;
			for (let x = 0; x < members.length; x++)
				for (let y = x + 1; y < members.length; y++) {
					const a = members[x];
					const b = members[y];
					const key = a * n + b;
					if (seen.has(key)) continue;
					seen.add(key);
					candidates++;
					const j = jaccard(sets[a], sets[b]);
					if (j >= threshold) {
						pairs.push({ a, b, jaccard: j });
						uf.union(a, b);
					}
				}
		}
	pairs.sort((p, q) => p.a - q.a || p.b - q.b);
	const groups = new Map<number, Set<number>>();
	for (const p of pairs)
		for (const i of [p.a, p.b]) {
			const root = uf.find(i);
			const g = groups.get(root) ?? new Set<number>();
			g.add(i);
			groups.set(root, g);
		}
	const clusters = [...groups.values()].map((g) => [...g].sort((x, y) => x - y)).sort((g, h) => h.length - g.length || g[0] - h[0]);
	return { pairs, clusters, bands, rows, candidates };
}
