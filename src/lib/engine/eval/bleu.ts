/**
 * BLEU (Papineni et al. 2002) as sacrebleu 2.6.0 computes it with its defaults: 13a tokenization,
 * mixed case, 'exp' smoothing (mteval-v13a: the k-th zero n-gram count becomes 1/2^k), clipped
 * counts taken as the max over a segment's references, reference length = the one closest to the
 * hypothesis (ties → shorter), statistics summed over the corpus. `corpusBleu` is
 * `BLEU().corpus_score`; `sentenceBleu` is `BLEU(effective_order=True).sentence_score`, i.e.
 * `sacrebleu.sentence_bleu`.
 */
import { pyRstrip, pySplit } from './pystr';
import { tokenize13a } from './tokenizer-13a';
import { ngramCounts } from './ngrams';

export const SACREBLEU_VERSION = '2.6.0';
const MAX_ORDER = 4;
/** sacrebleu's `my_log(0)`: a finite stand-in so a zero precision zeroes the score. */
const LOG_ZERO = -9999999999;

export interface BleuScore {
	/** 0–100, unrounded. */
	score: number;
	/** Clipped n-gram matches, n = 1..4. */
	counts: number[];
	/** Hypothesis n-grams, n = 1..4. */
	totals: number[];
	/** Percent, n = 1..4. */
	precisions: number[];
	bp: number;
	sysLen: number;
	refLen: number;
}

export interface BleuOptions {
	/** Average only over the n-gram orders the hypotheses have (sentence-level BLEU). */
	effectiveOrder?: boolean;
}

/** Sufficient statistics of one or more segments: [sysLen, refLen, counts×4, totals×4]. */
type Stats = number[];


function preprocess(segment: string): string[] {
	return pySplit(tokenize13a(pyRstrip(segment)));
}

function closestRefLen(hypLen: number, refLens: number[]): number {
	let best = refLens[0];
	for (const len of refLens) {
		const d = Math.abs(hypLen - len);
		const bestD = Math.abs(hypLen - best);
		if (d < bestD || (d === bestD && len < best)) best = len;
	}
	return best;
}

function segmentStats(hypothesis: string, references: readonly string[]): Stats {
	if (references.length === 0) throw new RangeError('every hypothesis needs at least one reference');
	const hyp = preprocess(hypothesis);
	const refs = references.map(preprocess);
	const stats: Stats = [hyp.length, closestRefLen(hyp.length, refs.map((r) => r.length))];
	const counts: number[] = [];
	const totals: number[] = [];
	for (let n = 1; n <= MAX_ORDER; n++) {
		const maxRef = new Map<string, number>();
		for (const ref of refs) {
			for (const [g, c] of ngramCounts(ref, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
		}
		let correct = 0;
		let total = 0;
		for (const [g, c] of ngramCounts(hyp, n)) {
			total += c;
			correct += Math.min(c, maxRef.get(g) ?? 0);
		}
		counts.push(correct);
		totals.push(total);
	}
	return [...stats, ...counts, ...totals];
}

function brevityPenalty(sysLen: number, refLen: number): number {
	if (sysLen >= refLen) return 1;
	return sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
}

/** sacrebleu `BLEU.compute_bleu` with smooth_method='exp'. */
export function bleuFromStats(stats: Stats, { effectiveOrder = false }: BleuOptions = {}): BleuScore {
	const [sysLen, refLen] = stats;
	const counts = stats.slice(2, 2 + MAX_ORDER);
	const totals = stats.slice(2 + MAX_ORDER);
	const bp = brevityPenalty(sysLen, refLen);
	const precisions = new Array<number>(MAX_ORDER).fill(0);
	const result = { counts, totals, precisions, bp, sysLen, refLen };
	if (counts.every((c) => c === 0)) return { score: 0, ...result };

	let smooth = 1;
	let order = MAX_ORDER;
	for (let n = 0; n < MAX_ORDER; n++) {
		if (totals[n] === 0) break;
		if (effectiveOrder) order = n + 1;
		if (counts[n] === 0) {
			smooth *= 2;
			precisions[n] = 100 / (smooth * totals[n]);
		} else {
			precisions[n] = (100 * counts[n]) / totals[n];
		}
	}
	let logSum = 0;
	for (const p of precisions.slice(0, order)) logSum += p === 0 ? LOG_ZERO : Math.log(p);
	return { score: bp * Math.exp(logSum / order), ...result };
}

/**
 * Corpus BLEU. `references[i]` lists the references of `hypotheses[i]` (any number per segment,
 * at least one; an empty string is a valid, empty reference).
 */
export function corpusBleu(hypotheses: readonly string[], references: readonly (readonly string[])[], options: BleuOptions = {}): BleuScore {
	if (hypotheses.length !== references.length) {
		throw new RangeError(`${hypotheses.length} hypotheses but ${references.length} reference lists`);
	}
	const total = new Array<number>(2 + 2 * MAX_ORDER).fill(0);
	hypotheses.forEach((h, i) => segmentStats(h, references[i]).forEach((v, k) => (total[k] += v)));
	return bleuFromStats(total, options);
}

/** Sentence BLEU with effective order, as `sacrebleu.sentence_bleu`. */
export function sentenceBleu(hypothesis: string, references: readonly string[]): BleuScore {
	return bleuFromStats(segmentStats(hypothesis, references), { effectiveOrder: true });
}

/** The sacrebleu signature these settings reproduce, e.g. for a report footer. */
export function bleuSignature(references: readonly (readonly string[])[], { effectiveOrder = false }: BleuOptions = {}): string {
	const counts = new Set(references.map((r) => r.length));
	const nrefs = counts.size === 1 ? String([...counts][0]) : 'var';
	return `nrefs:${nrefs}|case:mixed|eff:${effectiveOrder ? 'yes' : 'no'}|tok:13a|smooth:exp|version:${SACREBLEU_VERSION}`;
}
