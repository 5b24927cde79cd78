/**
 * Check & clean at scale: the near-duplicate search keeps a row's band keys in typed arrays and
 * makes shingle sets again only for candidates; the check and the cleaning run as work that
 * yields (src/lib/data/sliced.ts). The results must be those of the straightforward version
 * they replaced (shingle sets of string slices, one signature and set kept per row, buckets keyed
 * by joined strings): the figures below were recorded with it (commit bb1ee14) on a fixed corpus,
 * and must not move.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyCleaning, applyCleaningInSlices, checkRows, checkRowsInSlices, type BandKeyer, type CleanStep } from '../../../src/lib/data/clean';
import { bandKeys, findNearDuplicates, findNearDuplicatesInSlices, hashString, joinBandKeys, nearDuplicateWork, normaliseForShingles, shingleSet, type KnownBandKeys } from '../../../src/lib/data/minhash';
import { runToEnd } from '../../../src/lib/data/sliced';
import { UserError } from '../../../src/lib/shared/errors';
import { Prng } from '../../../src/lib/shared/prng';
import { rowPairs } from './near-pairs';

/** Documents of a skewed vocabulary; near-copies (a few words changed, one more word), exact copies and copies in capitals with doubled spaces. */
function corpus(seed = 11, docs = 1500) {
	const rng = new Prng(seed);
	const vocab = Array.from({ length: 800 }, (_, i) => `w${i.toString(36)}${'xyz'[i % 3]}`);
	const word = () => vocab[Math.floor(vocab.length * rng.next() ** 2)];
	const texts: string[] = [];
	for (let d = 0; d < docs; d++) texts.push(Array.from({ length: 4 + rng.int(30) }, word).join(' '));
	const base = texts.length;
	for (let d = 0; d < base; d++) {
		const roll = rng.next();
		if (roll < 0.3) {
			const words = texts[d].split(' ');
			for (let e = rng.int(3); e > 0; e--) words[rng.int(words.length)] = word();
			texts.push(words.join(' '));
			if (rng.next() < 0.3) texts.push(words.join(' ') + ' ' + word());
		} else if (roll < 0.4) texts.push(rng.next() < 0.5 ? texts[d] : texts[d].toUpperCase().replace(/ /g, '  '));
	}
	return texts;
}

/** FNV-1a of pairs of rows (a, b, Jaccard to 6 places; copies expanded, as they were listed when recorded) and of clusters, as recorded. */
function digest(r: ReturnType<typeof findNearDuplicates>) {
	const pairs = rowPairs(r);
	let h = 0x811c9dc5;
	for (const p of pairs)
		for (const v of [p.a, p.b, Math.round(p.jaccard * 1e6)]) {
			h ^= v;
			h = Math.imul(h, 0x01000193);
		}
	let hc = 0x811c9dc5;
	for (const c of r.clusters) {
		for (const v of c) {
			hc ^= v;
			hc = Math.imul(hc, 0x01000193);
		}
		hc ^= 0xffff;
		hc = Math.imul(hc, 0x01000193);
	}
	return { pairs: pairs.length, pairHash: (h >>> 0).toString(16), clusters: r.clusters.length, clustered: r.clusters.reduce((n, c) => n + c.length, 0), clusterHash: (hc >>> 0).toString(16), candidates: r.candidates };
}

/** The shingle set as it was made before: a substring per n-gram, hashed, in a Set, sorted. */
function referenceShingles(text: string, shingle: 'char' | 'word', size?: number): Uint32Array {
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

const texts = corpus();

describe('near-duplicates at scale give the same pairs and clusters as before', () => {
	const recorded = [
		['char', 0.8, { pairs: 694, pairHash: 'fd96ea74', clusters: 517, clustered: 1127, clusterHash: '2a5d9daa', candidates: 834 }],
		['word', 0.8, { pairs: 549, pairHash: '51ea3b30', clusters: 425, clustered: 916, clusterHash: 'b1e4306f', candidates: 723 }],
		['char', 0.6, { pairs: 837, pairHash: '5a001967', clusters: 590, clustered: 1307, clusterHash: '176bc1ee', candidates: 2885 }],
		['word', 0.5, { pairs: 776, pairHash: 'b65832f1', clusters: 561, clustered: 1232, clusterHash: '5f0a9025', candidates: 842 }]
	] as const;
	for (const [shingle, threshold, want] of recorded)
		it(`${shingle} shingles at ${threshold}: ${want.pairs} pairs in ${want.clusters} clusters among ${texts.length} texts, at once and in slices`, async () => {
			expect(texts).toHaveLength(2241);
			const got = findNearDuplicates(texts, { threshold, shingle });
			expect(digest(got)).toEqual(want);
			expect(await findNearDuplicatesInSlices(texts, { threshold, shingle })).toEqual(got);
		});

	it('shingle sets equal the substring-and-Set ones, for any text', () => {
		const alphabet = fc.constantFrom('a', 'B', ' ', '  ', '\t', '\n', 'é', 'e\u0301', 'ﬁ', '😀', '\u00a0', 'ß', 'İ', 'x');
		fc.assert(
			fc.property(fc.array(alphabet, { maxLength: 40 }).map((cs) => cs.join('')), fc.constantFrom('char', 'word'), fc.integer({ min: 1, max: 6 }), (text, shingle, size) => {
				expect([...shingleSet(text, shingle, size)]).toEqual([...referenceShingles(text, shingle, size)]);
			}),
			{ numRuns: 400 }
		);
	});

	it('gives the event loop turns while it works in slices', async () => {
		let turns = 0;
		const tick = setInterval(() => turns++, 1);
		try {
			await findNearDuplicatesInSlices(texts.concat(texts.map((t) => t + ' tail')), { threshold: 0.8 });
		} finally {
			clearInterval(tick);
		}
		// a timer can run only between slices (40 ms each); one stretch of the whole search (about a second) would give it none
		expect(turns).toBeGreaterThan(0);
	});

	it('a search that reuses the band keys of an earlier one finds what a fresh search finds', () => {
		const known: KnownBandKeys = { rows: 0, options: '', from: [] };
		const first = runToEnd(nearDuplicateWork(texts, { threshold: 0.8 }, undefined, undefined, known));
		expect(known.keys).toHaveLength(first.bands * texts.length);
		// every third text dropped, some changed, the rest where they were
		const from: number[] = [];
		const later: string[] = [];
		texts.forEach((t, i) => {
			if (i % 3 === 0) return;
			from.push(i);
			later.push(i % 7 === 0 ? t.split(' ').reverse().join(' ') : t);
		});
		known.from = from;
		const again = runToEnd(nearDuplicateWork(later, { threshold: 0.8 }, undefined, undefined, known));
		expect(again).toEqual(findNearDuplicates(later, { threshold: 0.8 }));
		// other options: nothing reused, still the same answer
		known.from = from;
		expect(runToEnd(nearDuplicateWork(later, { threshold: 0.6 }, undefined, undefined, known))).toEqual(findNearDuplicates(later, { threshold: 0.6 }));
	});

	it('copies of one text are one text, never refused; only pairs of different texts are capped, with a message saying so', () => {
		const copies = Array.from({ length: 60 }, (_, i) => 'the same complaint about a late parcel, again' + (i % 2 ? '' : ' '));
		// 1,770 pairs of rows, once refused at a cap of 1,000; now one text with 60 copies
		const once = findNearDuplicates(copies, { threshold: 0.8, maxPairs: 1000 });
		expect(once.pairs).toEqual([]);
		expect(once.copies).toEqual([copies.map((_, i) => i)]);
		expect(once.clusters).toEqual([copies.map((_, i) => i)]);
		expect(once.candidates).toBe((60 * 59) / 2);
		// 60 different texts from one template: 1,770 pairs of different texts, past a cap of 1,000
		const template = Array.from({ length: 60 }, (_, i) => `your order number ${1000 + i} has shipped and will arrive on monday`);
		expect(findNearDuplicates(template, { threshold: 0.8 }).pairs).toHaveLength((60 * 59) / 2);
		let thrown: unknown;
		try {
			findNearDuplicates([...template, ...copies], { threshold: 0.8, maxPairs: 1000 });
		} catch (e) {
			thrown = e;
		}
		expect(thrown).toBeInstanceOf(UserError);
		expect((thrown as UserError).message).toMatch(
			/^More than 1,000 near-duplicate pairs between different texts among 120 rows \(61 different texts; exact copies are not counted\): many texts are near-copies of a few, such as one template .* Raise the threshold, or check a smaller version .*nothing was changed\.$/
		);
		expect((thrown as UserError).message).not.toMatch(/Import the file again/);
	});
});

describe('the check and the cleaning give the same figures as before, in slices too', () => {
	const pii = ['write to anna.k@example.org today', 'call +44 20 7946 0958 now', 'card 4111 1111 1111 1111 please', 'from 192.168.0.12'];
	const rows = texts.map((t, i) => ({
		text: (i % 97 === 0 ? pii[i % 4] + ' ' : '') + (i % 50 === 0 ? '  <b>' + t + '</b>  ' : t),
		label: i % 3,
		split: (i * 7) % 10 < 8 ? 0 : (i * 7) % 10 === 8 ? 1 : 2
	}));
	const normalize = { unicode: 'NFC', whitespace: true, stripHtml: false, lowercase: false } as const;

	it('check: clusters, removable rows, PII, leakage, normalisation and length counts; lists capped at 50', async () => {
		const check = checkRows(rows, 0.8, normalize, { min: 20, max: 200 });
		expect({ clusters: check.clusterCount, removable: check.nearRemovable, piiRows: check.piiRows, normalized: check.normalize.changed, outside: check.length.removed }).toEqual({
			clusters: 504,
			removable: 594,
			piiRows: 24,
			normalized: 110,
			outside: 60
		});
		expect(check.pii.map((p) => [p.kind, p.count, p.rows])).toEqual([
			['EMAIL', 6, 6],
			['PHONE', 6, 6],
			['CARD', 6, 6],
			['IP', 6, 6]
		]);
		expect([check.leakage.validation, check.leakage.test, check.leakage.moves]).toEqual([98, 82, 208]);
		expect(check.clusters[0].rows).toEqual([1, 1501, 1502]);
		expect([check.clusters.length, check.leakage.pairs.length, check.normalize.examples.length, check.length.examples.length]).toEqual([50, 50, 5, 5]);
		expect(await checkRowsInSlices(rows, 0.8, normalize, { min: 20, max: 200 })).toEqual(check);
	});

	it('cleaning: rows kept, normalised, removed, redacted and moved', async () => {
		const steps: CleanStep[] = [{ kind: 'normalize', options: { ...normalize } }, { kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }, { kind: 'fix-leakage', threshold: 0.8 }];
		const all = applyCleaning(rows, steps);
		expect([all.rows.length, all.normalized, all.removed, all.redactedRows, all.moved]).toEqual([1647, 110, 594, 22, 0]);
		expect(await applyCleaningInSlices(rows, steps)).toEqual(all);
		const fix = applyCleaning(rows, [{ kind: 'fix-leakage', threshold: 0.8 }]);
		expect(fix.moved).toBe(208);
		expect([0, 1, 2].map((s) => fix.rows.filter((r) => r.split === s).length)).toEqual([2001, 112, 128]);
		// the input is never changed in place
		expect(rows.filter((r) => r.split !== 0)).toHaveLength(448);
	});

	it('band keys made in shards (as sub-workers make them) give the same check and cleaning', async () => {
		const sharded: BandKeyer = async (t, opts) =>
			joinBandKeys(
				[0, 700, 1500].map((from, k, at) => {
					const part = t.slice(from, at[k + 1] ?? t.length);
					return { keys: bandKeys(part, opts), rows: part.length };
				}),
				opts
			);
		const steps: CleanStep[] = [{ kind: 'normalize', options: { ...normalize } }, { kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }, { kind: 'fix-leakage', threshold: 0.8 }];
		expect(await checkRowsInSlices(rows, 0.8, normalize, { min: 20, max: 200 }, sharded)).toEqual(checkRows(rows, 0.8, normalize, { min: 20, max: 200 }));
		expect(await applyCleaningInSlices(rows, steps, sharded)).toEqual(applyCleaning(rows, steps));
		expect(await applyCleaningInSlices(rows, [{ kind: 'fix-leakage', threshold: 0.8 }], sharded)).toEqual(applyCleaning(rows, [{ kind: 'fix-leakage', threshold: 0.8 }]));
		// the keys given are the ones used: keys that share no bucket find nothing
		const apart: BandKeyer = async (t, opts) => bandKeys(t, opts).map((_, i) => i);
		expect((await checkRowsInSlices(rows, 0.8, normalize, { min: 20, max: 200 }, apart)).clusterCount).toBe(0);
		// no keys made elsewhere (no sub-workers): made here, the same answer
		expect(await checkRowsInSlices(rows, 0.8, normalize, { min: 20, max: 200 }, async () => undefined)).toEqual(checkRows(rows, 0.8, normalize, { min: 20, max: 200 }));
	});

	it('the leakage fix after near-duplicates and redaction sees the pairs the redaction made', () => {
		const tail = 'about order 1234, the parcel has not arrived';
		const pair = [
			{ text: `please write to anna.k@example.org ${tail}`, label: 0, split: 0 },
			{ text: `please write to b.smith@mail.example.com ${tail}`, label: 0, split: 2 }
		];
		const mixed = [...rows, ...pair];
		const steps: CleanStep[] = [{ kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }, { kind: 'fix-leakage', threshold: 0.8 }];
		const all = applyCleaning(mixed, steps);
		const upToRedaction = applyCleaning(mixed, steps.slice(0, 2));
		const fresh = applyCleaning(upToRedaction.rows, [steps[2]]);
		expect(all.rows).toEqual(fresh.rows);
		expect(all.moved).toBe(fresh.moved);
		// the two texts are near-duplicates only once redacted: the test copy moves to training
		expect(all.rows.at(-1)).toEqual({ text: `please write to [EMAIL] ${tail}`, label: 0, split: 0 });
	});

	it('a memory allocation that fails becomes a message saying what to do; other errors pass as they are', async () => {
		const failing = (error: Error) => [
			{ label: 0, split: 0, text: 'one' },
			Object.defineProperty({ label: 0, split: 0 }, 'text', {
				get: () => {
					throw error;
				}
			}) as { text: string; label: number; split: number }
		];
		await expect(checkRowsInSlices(failing(new RangeError('Array buffer allocation failed')))).rejects.toMatchObject({
			code: 'quota-exceeded',
			message: expect.stringMatching(/^Checking 2 rows needs more memory than this tab has left \(Array buffer allocation failed\)\. Close other tabs.*nothing was changed\.$/)
		});
		await expect(applyCleaningInSlices(failing(new RangeError('Invalid typed array length: 99999999999')), [{ kind: 'near-duplicates', threshold: 0.8 }])).rejects.toMatchObject({ code: 'quota-exceeded', message: expect.stringMatching(/^Cleaning 2 rows/) });
		await expect(checkRowsInSlices(failing(new TypeError('not a memory problem')))).rejects.toThrow(TypeError);
	});
});
