/**
 * nltk 3.8 `nltk.translate.bleu_score.corpus_bleu` with its defaults (weights 0.25×4, no
 * smoothing = `method0`), on pre-tokenized input. Kept as a cross-check of `bleu.ts`, not as a
 * metric to report: it scales 0–1, does no tokenization, counts an empty hypothesis as one
 * n-gram in every denominator (max(1, ·)), and replaces a zero precision by the smallest normal
 * double, so its "zero" scores are tiny positives such as 1e-78.
 */
import { fsum } from './numeric';

const FLOAT_MIN = 2.2250738585072014e-308; // sys.float_info.min
const WEIGHTS = [0.25, 0.25, 0.25, 0.25];

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
	const out = new Map<string, number>();
	for (let i = 0; i + n <= tokens.length; i++) {
		// JSON of the slice: unambiguous whatever the tokens contain.
		const key = JSON.stringify(tokens.slice(i, i + n));
		out.set(key, (out.get(key) ?? 0) + 1);
	}
	return out;
}

/** `modified_precision` as an unreduced fraction. */
function modifiedPrecision(references: readonly (readonly string[])[], hypothesis: readonly string[], n: number) {
	const counts = ngramCounts(hypothesis, n);
	const refCounts = references.map((r) => ngramCounts(r, n));
	let numerator = 0;
	let total = 0;
	for (const [g, c] of counts) {
		const maxRef = Math.max(0, ...refCounts.map((rc) => rc.get(g) ?? 0));
		numerator += Math.min(c, maxRef);
		total += c;
	}
	return { numerator, denominator: Math.max(1, total) };
}

/** Closest reference length, ties to the shorter. */
function closestRefLength(references: readonly (readonly string[])[], hypLen: number): number {
	const lens = references.map((r) => r.length);
	return lens.reduce((best, len) => {
		const d = Math.abs(len - hypLen);
		const bd = Math.abs(best - hypLen);
		return d < bd || (d === bd && len < best) ? len : best;
	});
}

function brevityPenalty(refLen: number, hypLen: number): number {
	if (hypLen > refLen) return 1;
	if (hypLen === 0) return 0;
	return Math.exp(1 - refLen / hypLen);
}

/** `listOfReferences[i]` holds the tokenized references of `hypotheses[i]`. */
export function nltkCorpusBleu(
	listOfReferences: readonly (readonly (readonly string[])[])[],
	hypotheses: readonly (readonly string[])[]
): number {
	if (listOfReferences.length !== hypotheses.length) {
		throw new RangeError(`${hypotheses.length} hypotheses but ${listOfReferences.length} reference lists`);
	}
	const num = WEIGHTS.map(() => 0);
	const den = WEIGHTS.map(() => 0);
	let hypLen = 0;
	let refLen = 0;
	hypotheses.forEach((hyp, s) => {
		WEIGHTS.forEach((_, i) => {
			const p = modifiedPrecision(listOfReferences[s], hyp, i + 1);
			num[i] += p.numerator;
			den[i] += p.denominator;
		});
		hypLen += hyp.length;
		refLen += closestRefLength(listOfReferences[s], hyp.length);
	});
	if (num[0] === 0) return 0;
	const bp = brevityPenalty(refLen, hypLen);
	const p = num.map((x, i) => (x === 0 ? FLOAT_MIN : x / den[i]));
	return bp * Math.exp(fsum(p.map((pi, i) => WEIGHTS[i] * Math.log(pi))));
}
