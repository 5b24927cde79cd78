/**
 * Datasets with thousands of copies of one text ("thanks!", "ok", a reply kept with "keep
 * duplicates"): the near-duplicate search treats the copies as one text (minhash.ts `copies`), so
 * it finishes where k copies' k(k-1)/2 pairs once stopped it at MAX_NEAR_PAIRS, and the clusters,
 * the leakage counts and the rows a "keep one per cluster" step drops are those of every pair
 * compared by brute force.
 */
import { describe, expect, it } from 'vitest';
import { checkRows } from '../../../src/lib/data/clean';
import { findLeakage, fixLeakage } from '../../../src/lib/data/leakage';
import { findNearDuplicates, findNearDuplicatesInSlices, normaliseForShingles } from '../../../src/lib/data/minhash';
import { Prng } from '../../../src/lib/shared/prng';
import { bruteForce, bruteLeakage, rowPairs } from './near-pairs';

const THANKS = 'thanks, that fixed it for me!';
/** The same text as THANKS once normalised (case, spacing). */
const THANKS_COPIES = [THANKS, 'Thanks, that fixed it for me!', 'THANKS,  THAT FIXED IT FOR ME!', ' thanks, that fixed\tit for me! '];
/** Near THANKS (Jaccard 0.96, 0.86) and not near it (0.69, 0.44). */
const THANKS_NEAR = ['thanks, that fixed it for me!!', 'thanks, that fixed it for me :)'];
const THANKS_FAR = ['thanks that fixed it for me!', 'thanks, that did not fix it for me!'];

/**
 * Tickets of a skewed vocabulary with near-copies (a word or two changed) and exact copies planted,
 * 150 copies of THANKS and 100 of "ok" among them, its near and far variants, then `extra` more
 * copies of THANKS at the end: the rows before them are the same whatever `extra` is.
 */
function corpus(extra: number): string[] {
	const rng = new Prng(5);
	const vocab = Array.from({ length: 600 }, (_, i) => `w${i.toString(36)}${'xyz'[i % 3]}`);
	const word = () => vocab[Math.floor(vocab.length * rng.next() ** 2)];
	const texts: string[] = [];
	const docs: string[] = [];
	for (let d = 0; d < 700; d++) {
		const doc = Array.from({ length: 12 + rng.int(20) }, word).join(' ');
		docs.push(doc);
		texts.push(doc);
		if (d % 5 === 0) texts.push(THANKS_COPIES[rng.int(4)]);
		if (d % 7 === 0) texts.push(rng.next() < 0.5 ? 'ok' : 'OK');
		const roll = rng.next();
		if (roll < 0.25) {
			const words = docs[rng.int(docs.length)].split(' ');
			words[rng.int(words.length)] = word();
			texts.push(words.join(' '));
		} else if (roll < 0.35) texts.push(docs[rng.int(docs.length)]);
	}
	texts.push(...THANKS_NEAR, ...THANKS_FAR, ...THANKS_COPIES);
	for (let k = 0; k < extra; k++) texts.push(THANKS_COPIES[k % 4]);
	return texts;
}

/** Training for 7 rows in 10, validation 2, test 1, by row: copies of one text land in every split. */
const splitOf = (i: number) => (i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2);

describe('near-duplicates with thousands of copies of one text', () => {
	const small = corpus(0);
	const smallResult = findNearDuplicates(small, { threshold: 0.8 });
	const smallSplits = small.map((_, i) => splitOf(i));

	it('on a smaller analogue, clusters, pairs of rows and leakage equal brute force over every pair', async () => {
		const truth = bruteForce(small, 0.8);
		expect(smallResult.clusters).toEqual(truth.clusters);
		expect(rowPairs(smallResult)).toEqual(truth.pairs);
		const thanks = smallResult.copies.find((g) => normaliseForShingles(small[g[0]]) === THANKS);
		expect(thanks).toHaveLength(144);
		// copies are searched once: pairs name different texts only
		for (const p of smallResult.pairs) expect(smallResult.copies.some((g) => g.includes(p.a) && g.includes(p.b))).toBe(false);

		const leak = findLeakage(small, smallSplits, {}, smallResult);
		const want = bruteLeakage(small, smallSplits, truth.pairs);
		expect(leak.rows).toEqual(want.rows);
		expect(new Map(leak.pairs.map((p) => [p.heldOut, p.kind]))).toEqual(new Map([...want.kinds].sort((a, b) => a[0] - b[0])));
		expect(await findNearDuplicatesInSlices(small, { threshold: 0.8 })).toEqual(smallResult);
	});

	it('5,000 copies of one text (12.5 million pairs of rows) are checked, with the clusters and counts of brute force', () => {
		const extra = 5000 - 144;
		const big = corpus(extra);
		const t0 = performance.now();
		const got = findNearDuplicates(big, { threshold: 0.8 });
		const ms = performance.now() - t0;
		// the extra copies at the end join THANKS's cluster; every other cluster is the smaller corpus's
		const added = Array.from({ length: extra }, (_, k) => small.length + k);
		const thanksCluster = smallResult.clusters.findIndex((c) => c.some((i) => small[i] === THANKS_NEAR[0]));
		const want = smallResult.clusters.map((c, k) => (k === thanksCluster ? [...c, ...added] : c)).sort((g, h) => h.length - g.length || g[0] - h[0]);
		expect(got.clusters).toEqual(want);
		expect(got.clusters[0]).toHaveLength(5000 + THANKS_NEAR.length);
		expect(got.pairs).toEqual(smallResult.pairs);
		expect(got.copies.find((g) => g.length === 5000)).toBeDefined();
		// candidates still count pairs of rows: THANKS's copies alone are 5000 × 4999 / 2
		expect(got.candidates).toBeGreaterThan((5000 * 4999) / 2);
		console.log(`${big.length} rows, 5,000 copies of one text: ${got.clusters.length} clusters, ${got.pairs.length} pairs of different texts, ${Math.round(ms)} ms`);

		// leakage: the smaller corpus's leaked rows, and every held-out extra copy (THANKS has training copies)
		const splits = big.map((_, i) => splitOf(i));
		const smallLeak = findLeakage(small, smallSplits, {}, smallResult);
		const leak = findLeakage(big, splits, {}, got);
		const extraHeld = { validation: added.filter((i) => splits[i] === 1).length, test: added.filter((i) => splits[i] === 2).length };
		expect(leak.rows).toEqual({ validation: smallLeak.rows.validation + extraHeld.validation, test: smallLeak.rows.test + extraHeld.test });
		expect(leak.pairs.filter((p) => added.includes(p.heldOut)).every((p) => p.kind === 'exact' && normaliseForShingles(big[p.train]) === THANKS && splits[p.train] === 0)).toBe(true);

		// what the Check & clean panel shows: clusters, rows "keep one per cluster" drops, leaked rows
		const rows = big.map((text, i) => ({ text, label: 0, split: splits[i] }));
		const check = checkRows(rows, 0.8);
		expect(check.clusterCount).toBe(want.length);
		expect(check.nearRemovable).toBe(want.reduce((n, c) => n + c.length - 1, 0));
		expect([check.leakage.validation, check.leakage.test]).toEqual([leak.rows.validation, leak.rows.test]);
	}, 60_000);
});

describe('leakage when copies of one text sit in several splits', () => {
	const A = 'my parcel never arrived and the tracking page is empty';
	const A_NEAR = 'my parcel never arrived and the tracking page is empty!!';
	const B = 'the invoice for march charged me twice for one order';
	const C = 'please change the delivery address for my next order';
	const C_NEAR = 'please change the delivery address for my next order, thanks';
	const D = 'the app crashes when I open the settings screen on android';
	const texts = [A, 'My parcel never arrived and the tracking page is empty', B, A, C, '  MY PARCEL never arrived and the tracking page is empty', A_NEAR, B, C_NEAR, A, D, D, B.toUpperCase()];
	const splits = [1, 0, 1, 0, 0, 2, 2, 2, 1, 0, 2, 2, 1];
	//              A  A  B  A  C  A  A' B  C' A  D  D  B

	it('counts every held-out copy of a text with a training copy, once, as exact; near copies as near', () => {
		const near = findNearDuplicates(texts, { threshold: 0.8 });
		expect(near.copies).toEqual([
			[0, 1, 3, 5, 9],
			[2, 7, 12],
			[10, 11]
		]);
		const r = findLeakage(texts, splits, { threshold: 0.8 }, near);
		expect(r.pairs.map((p) => [p.heldOut, p.train, p.split, p.kind])).toEqual([
			[0, 1, 'validation', 'exact'],
			[5, 1, 'test', 'exact'],
			[6, 1, 'test', 'near'],
			[8, 4, 'validation', 'near']
		]);
		// B's copies are all held out, D's all in test: neither leaks from training
		expect(r.rows).toEqual({ validation: 2, test: 2 });
		expect(r.rows).toEqual(bruteLeakage(texts, splits, bruteForce(texts, 0.8).pairs).rows);
		// clusters that span splits move whole: A's with its near copy, B's (validation and test), C's; D's stays
		expect(r.clusters).toEqual([
			[0, 1, 3, 5, 6, 9],
			[2, 7, 12],
			[4, 8]
		]);
		expect(Array.from(fixLeakage(splits, r))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0]);
	});
});
