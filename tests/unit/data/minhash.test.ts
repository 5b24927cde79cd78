/**
 * MinHash-LSH near-duplicates on a generated corpus: random documents, and near-copies planted by
 * small edits. Ground truth is the exact Jaccard of every pair (brute force); the detector must
 * find at least 95% of the pairs at or above the threshold (recall) and report at least 95% true
 * ones (precision), at the default threshold 0.8 and at 0.6, with character and word shingles.
 */
import { describe, expect, it } from 'vitest';
import { bandsFor, detectionProbability, findNearDuplicates, jaccard, shingleSet } from '../../../src/lib/data/minhash';
import { Prng } from '../../../src/lib/shared/prng';
import { rowPairs } from './near-pairs';

function corpus(seed: number, docs = 400, plantedPerDoc = 0.5) {
	const rng = new Prng(seed);
	const vocab = Array.from({ length: 3000 }, (_, i) => `w${i.toString(36)}${'xyz'[i % 3]}`);
	const word = () => vocab[rng.int(vocab.length)];
	const texts: string[] = [];
	for (let d = 0; d < docs; d++) {
		const len = 25 + rng.int(40);
		texts.push(Array.from({ length: len }, word).join(' '));
	}
	// near-copies: a few words replaced, inserted or deleted; some with changed case and spacing
	const base = texts.length;
	for (let d = 0; d < base; d++) {
		if (rng.next() >= plantedPerDoc) continue;
		const words = texts[d].split(' ');
		const edits = rng.int(4);
		for (let e = 0; e < edits; e++) {
			const at = rng.int(words.length);
			const op = rng.int(3);
			if (op === 0) words[at] = word();
			else if (op === 1) words.splice(at, 0, word());
			else if (words.length > 5) words.splice(at, 1);
		}
		let t = words.join(' ');
		if (rng.next() < 0.3) t = t.toUpperCase().replace(/ /g, '  ');
		texts.push(t);
	}
	return texts;
}

function truth(texts: string[], threshold: number, shingle: 'char' | 'word') {
	const sets = texts.map((t) => shingleSet(t, shingle));
	const pairs = new Set<string>();
	for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) if (jaccard(sets[a], sets[b]) >= threshold) pairs.add(`${a},${b}`);
	return pairs;
}

describe('MinHash LSH', () => {
	it('chooses bands that find a pair at the threshold with probability >= 0.99', () => {
		for (const t of [0.5, 0.7, 0.8, 0.9]) {
			const { bands, rows } = bandsFor(t, 128);
			expect(bands * rows).toBeLessThanOrEqual(128);
			expect(detectionProbability(t, bands, rows)).toBeGreaterThanOrEqual(0.99);
			// one more row per band would miss more than 1%
			expect(detectionProbability(t, Math.floor(128 / (rows + 1)), rows + 1)).toBeLessThan(0.99);
		}
		expect(bandsFor(0.8, 128)).toEqual({ bands: 21, rows: 6 });
	});

	it('exact Jaccard of shingle sets', () => {
		expect(jaccard(shingleSet('the cat sat', 'word', 1), shingleSet('the cat ran', 'word', 1))).toBeCloseTo(2 / 4);
		expect(jaccard(shingleSet('Hello   World'), shingleSet('hello world'))).toBe(1);
	});

	for (const [shingle, threshold] of [
		['char', 0.8],
		['word', 0.8],
		['char', 0.6]
	] as const)
		it(`${shingle} shingles at ${threshold}: recall and precision >= 95% on planted near-duplicates`, () => {
			const texts = corpus(threshold * 10 + (shingle === 'char' ? 1 : 2));
			const want = truth(texts, threshold, shingle);
			const got = findNearDuplicates(texts, { threshold, shingle });
			const reported = rowPairs(got);
			const found = new Set(reported.map((p) => `${p.a},${p.b}`));
			const hits = [...want].filter((p) => found.has(p)).length;
			const recall = hits / want.size;
			const precision = reported.length ? [...found].filter((p) => want.has(p)).length / found.size : 1;
			console.log(`${shingle} @ ${threshold}: ${texts.length} texts, ${want.size} true pairs, ${got.candidates} candidates, ${reported.length} reported; recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)} (b=${got.bands}, r=${got.rows})`);
			expect(want.size).toBeGreaterThan(50); // the corpus really plants pairs
			expect(recall).toBeGreaterThanOrEqual(0.95);
			expect(precision).toBeGreaterThanOrEqual(0.95);
			for (const p of reported) expect(p.jaccard).toBeGreaterThanOrEqual(threshold);
		});

	it('clusters join pairs transitively; unrelated texts stay out', () => {
		const a = 'the parcel was delivered to the wrong address yesterday evening';
		const texts = [a, a.replace('yesterday', 'Yesterday'), 'my invoice shows a double charge for march', a + '!', 'completely different words here now'];
		const got = findNearDuplicates(texts, { threshold: 0.8 });
		expect(got.clusters).toEqual([[0, 1, 3]]);
	});

	it('rejects a threshold outside (0, 1] and can be cancelled', () => {
		expect(() => findNearDuplicates(['a'], { threshold: 0 })).toThrow(/threshold/);
		expect(() => findNearDuplicates(['a', 'b'], {}, undefined, () => true)).toThrow(/cancelled/);
	});
});
