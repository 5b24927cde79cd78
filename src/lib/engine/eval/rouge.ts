/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum (Lin 2004, "ROUGE: A Package for Automatic Evaluation of
 * Summaries") exactly as Google's rouge-score 0.1.2 computes them with its default tokenizer:
 * lower-case, every run outside [a-z0-9] becomes a space (so "café" → "caf" and CJK vanishes),
 * optional nltk Porter stemming of tokens longer than 3 characters. ROUGE-Lsum splits both texts
 * on "\n" and scores the summary-level union LCS with hits capped by token counts, as
 * ROUGE-1.5.5. Precision is relative to the prediction, recall to the target.
 */
import { porterStem } from './porter';
import { ngramCounts } from './ngrams';

export interface RougeScore {
	precision: number;
	recall: number;
	fmeasure: number;
}

export interface RougeOptions {
	/** 'rouge1'..'rouge9', 'rougeL', 'rougeLsum'. */
	rougeTypes?: string[];
	useStemmer?: boolean;
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

function score(precision: number, recall: number): RougeScore {
	const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
	return { precision, recall, fmeasure };
}

export function rougeTokenize(text: string, useStemmer = false): string[] {
	const words = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
	const stemmed = useStemmer ? words.map((w) => (w.length > 3 ? porterStem(w) : w)) : words;
	return stemmed.filter((w) => /^[a-z0-9]+$/.test(w));
}


/** Clipped n-gram overlap; an empty side counts as 1 n-gram so the ratio is 0, not NaN. */
export function rougeN(target: string[], prediction: string[], n: number): RougeScore {
	const t = ngramCounts(target, n);
	const p = ngramCounts(prediction, n);
	let overlap = 0;
	for (const [g, c] of t) overlap += Math.min(c, p.get(g) ?? 0);
	const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
	return score(overlap / Math.max(total(p), 1), overlap / Math.max(total(t), 1));
}

/** table[i][j] = LCS length of ref[:i] and can[:j], flattened row-major. */
function lcsTable(ref: string[], can: string[]): Int32Array {
	const cols = can.length + 1;
	const t = new Int32Array((ref.length + 1) * cols);
	for (let i = 1; i <= ref.length; i++) {
		for (let j = 1; j <= can.length; j++) {
			t[i * cols + j] = ref[i - 1] === can[j - 1] ? t[(i - 1) * cols + j - 1] + 1 : Math.max(t[(i - 1) * cols + j], t[i * cols + j - 1]);
		}
	}
	return t;
}

export function rougeL(target: string[], prediction: string[]): RougeScore {
	if (target.length === 0 || prediction.length === 0) return ZERO;
	const lcs = lcsTable(target, prediction)[target.length * (prediction.length + 1) + prediction.length];
	return score(lcs / prediction.length, lcs / target.length);
}

/** Indices into `ref` of one LCS, read back with rouge-score's tie-breaking. */
function lcsIndices(ref: string[], can: string[]): number[] {
	const t = lcsTable(ref, can);
	const cols = can.length + 1;
	const out: number[] = [];
	let i = ref.length;
	let j = can.length;
	while (i > 0 && j > 0) {
		if (ref[i - 1] === can[j - 1]) {
			out.push(i - 1);
			i--;
			j--;
		} else if (t[i * cols + j - 1] > t[(i - 1) * cols + j]) j--;
		else i--;
	}
	return out.reverse();
}

function unionLcs(ref: string[], candidates: string[][]): string[] {
	const union = new Set<number>();
	for (const c of candidates) for (const i of lcsIndices(ref, c)) union.add(i);
	return [...union].sort((a, b) => a - b).map((i) => ref[i]);
}

function tokenCounts(sentences: string[][]): Map<string, number> {
	const out = new Map<string, number>();
	for (const s of sentences) for (const tok of s) out.set(tok, (out.get(tok) ?? 0) + 1);
	return out;
}

/** Summary-level LCS over tokenized sentences. */
export function rougeLsum(targetSents: string[][], predictionSents: string[][]): RougeScore {
	const m = targetSents.reduce((a, s) => a + s.length, 0);
	const n = predictionSents.reduce((a, s) => a + s.length, 0);
	if (m === 0 || n === 0) return ZERO;
	const left = { r: tokenCounts(targetSents), c: tokenCounts(predictionSents) };
	let hits = 0;
	for (const ref of targetSents) {
		for (const tok of unionLcs(ref, predictionSents)) {
			// ROUGE-1.5.5 caps hits by the tokens still unmatched on both sides.
			const r = left.r.get(tok) ?? 0;
			const c = left.c.get(tok) ?? 0;
			if (r > 0 && c > 0) {
				hits++;
				left.r.set(tok, r - 1);
				left.c.set(tok, c - 1);
			}
		}
	}
	return score(hits / n, hits / m);
}

/** Sentences for ROUGE-Lsum: one per line, empty lines dropped (rouge-score split_summaries=False). */
export function rougeSentences(text: string, useStemmer = false): string[][] {
	return text
		.split('\n')
		.filter((s) => s.length > 0)
		.map((s) => rougeTokenize(s, useStemmer));
}

/** rouge-score `RougeScorer(rougeTypes, use_stemmer).score(target, prediction)`. */
export function rougeScores(
	target: string,
	prediction: string,
	{ rougeTypes = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'], useStemmer = false }: RougeOptions = {}
): Record<string, RougeScore> {
	const t = rougeTokenize(target, useStemmer);
	const p = rougeTokenize(prediction, useStemmer);
	const out: Record<string, RougeScore> = {};
	for (const type of rougeTypes) {
		if (type === 'rougeL') out[type] = rougeL(t, p);
		else if (type === 'rougeLsum') out[type] = rougeLsum(rougeSentences(target, useStemmer), rougeSentences(prediction, useStemmer));
		else if (/^rouge[1-9]$/.test(type)) out[type] = rougeN(t, p, Number(type.slice(5)));
		else throw new RangeError(`unknown ROUGE type '${type}': use rouge1..rouge9, rougeL or rougeLsum`);
	}
	return out;
}
