/**
 * Scoring generated answers against reference answers, for instruction-tuned runs and generation
 * baselines: corpus BLEU as sacrebleu 2.6.0 with its defaults (`bleu.ts`), ROUGE-1/2/L F as
 * rouge-score 0.1.2 with the Porter stemmer (`RougeScorer(..., use_stemmer=True)`, averaged over
 * examples as its common use does), and exact match, defined here as string equality after
 * trimming leading and trailing whitespace. Intervals are percentile bootstraps over examples
 * (`bootstrap.ts`); corpus BLEU is recomputed on each resample from per-example sufficient
 * statistics, so a resample scores exactly what `corpusBleu` would on those examples.
 *
 * Paired comparison of two systems scored on the same rows: per-example ROUGE-L and exact match,
 * resampled together (Koehn 2004), as `pairedComparison` does for classification.
 */
import { bleuFromStats, bleuSignature, corpusBleu } from './bleu';
import { rougeScores } from './rouge';
import { bootstrapCI, quantile } from './bootstrap';
import { Prng } from '../../shared/prng';
import type { GenerationEvaluation } from '../../shared/types';

export interface GenerationScoreOptions {
	resamples?: number;
	seed?: number;
	alpha?: number;
}

/** The stored generation metrics (shared/types.ts) plus every example's scores, index-aligned with the inputs. */
export interface GenerationScores extends Omit<GenerationEvaluation, 'split' | 'rows' | 'maxNewTokens' | 'examples'> {
	perExample: { bleu: number[]; rouge1: number[]; rouge2: number[]; rougeL: number[]; exact: boolean[] };
}

/** Exact match: string equality after trimming whitespace at both ends (case and inner spacing count). */
export function exactMatch(reference: string, output: string): boolean {
	return reference.trim() === output.trim();
}

/** One segment's BLEU statistics [sysLen, refLen, counts×4, totals×4], as sacrebleu sums them. */
function segmentStats(reference: string, output: string): number[] {
	const s = corpusBleu([output], [[reference]]);
	return [s.sysLen, s.refLen, ...s.counts, ...s.totals];
}

function mean(values: ArrayLike<number>, idx: Int32Array): number {
	let sum = 0;
	for (let i = 0; i < idx.length; i++) sum += values[idx[i]];
	return sum / idx.length;
}

export function scoreGenerations(references: readonly string[], outputs: readonly string[], { resamples = 1000, seed = 0, alpha = 0.05 }: GenerationScoreOptions = {}): GenerationScores {
	const n = references.length;
	if (outputs.length !== n) throw new RangeError(`${outputs.length} outputs but ${references.length} references`);
	if (n < 1) throw new RangeError('scoring generations needs at least one example');
	const stats = references.map((r, i) => segmentStats(r, outputs[i]));
	const rouge = references.map((r, i) => rougeScores(r, outputs[i], { rougeTypes: ['rouge1', 'rouge2', 'rougeL'], useStemmer: true }));
	const perExample = {
		bleu: stats.map((s) => bleuFromStats(s, { effectiveOrder: true }).score),
		rouge1: rouge.map((r) => r.rouge1.fmeasure),
		rouge2: rouge.map((r) => r.rouge2.fmeasure),
		rougeL: rouge.map((r) => r.rougeL.fmeasure),
		exact: references.map((r, i) => exactMatch(r, outputs[i]))
	};
	const width = stats[0].length;
	const total = new Array<number>(width);
	const corpus = (idx: Int32Array) => {
		total.fill(0);
		for (let i = 0; i < idx.length; i++) {
			const s = stats[idx[i]];
			for (let k = 0; k < width; k++) total[k] += s[k];
		}
		return bleuFromStats(total).score;
	};
	const exact = Float64Array.from(perExample.exact, (e) => (e ? 1 : 0));
	const opts = { resamples, seed, alpha };
	const all = Int32Array.from({ length: n }, (_, i) => i);
	const intervals = {
		bleu: bootstrapCI(n, corpus, opts),
		rougeL: bootstrapCI(n, (idx) => mean(perExample.rougeL, idx), opts),
		exactMatch: bootstrapCI(n, (idx) => mean(exact, idx), opts)
	};
	return {
		bleu: intervals.bleu.estimate,
		rouge1: mean(perExample.rouge1, all),
		rouge2: mean(perExample.rouge2, all),
		rougeL: intervals.rougeL.estimate,
		exactMatch: intervals.exactMatch.estimate,
		intervals,
		bootstrap: opts,
		signature: bleuSignature(references.map((r) => [r])),
		perExample
	};
}

// ---- Paired comparison of two generation systems on the same rows ----

export type GenerationMetric = 'rougeL' | 'exactMatch';

export interface GenerationPairedMetric {
	metric: GenerationMetric;
	a: number;
	b: number;
	/** a − b with its percentile-bootstrap interval. */
	diff: number;
	low: number;
	high: number;
	/** Two-sided: 2 × the share of resamples that do not keep the sign of `diff`, capped at 1. */
	pValue: number;
}

export interface GenerationComparison {
	/** Rows both answered (the paired examples), their dataset row ids, and how many each answered. */
	n: number;
	rows: number[];
	sizes: [number, number];
	resamples: number;
	seed: number;
	alpha: number;
	metrics: GenerationPairedMetric[];
}

/** The rows both evaluations answered, by dataset row id, in A's order: index pairs into each one's examples. */
export function sharedGenerationRows(a: GenerationEvaluation, b: GenerationEvaluation): { a: number[]; b: number[]; rows: number[] } {
	const inB = new Map(b.examples.map((e, i) => [e.row, i]));
	const out = { a: [] as number[], b: [] as number[], rows: [] as number[] };
	a.examples.forEach((e, i) => {
		const j = inB.get(e.row);
		if (j === undefined) return;
		out.a.push(i);
		out.b.push(j);
		out.rows.push(e.row);
	});
	return out;
}

/**
 * Why two generation evaluations cannot be compared example by example, or null when they can:
 * they must share at least one row (by dataset row id) of the same split of the same dataset
 * version, generated with the same token limit. A 5-prompt baseline pairs with a run scored on 20
 * prompts on the 5 rows both answered.
 */
export function generationPairingProblem(
	a: GenerationEvaluation & { datasetVersionId?: string },
	b: GenerationEvaluation & { datasetVersionId?: string }
): string | null {
	if (a.datasetVersionId && b.datasetVersionId && a.datasetVersionId !== b.datasetVersionId) return 'They were scored on different dataset versions.';
	if (a.split !== b.split) return `They were scored on different splits (${a.split} and ${b.split}).`;
	if (!sharedGenerationRows(a, b).rows.length) return `They answered no prompt in common (${a.examples.length} and ${b.examples.length} answered).`;
	if (a.maxNewTokens !== b.maxNewTokens) return `They generated with different limits (${a.maxNewTokens} and ${b.maxNewTokens} new tokens); run the baseline again with ${b.maxNewTokens}.`;
	return null;
}

/** "paired on 5 of 20 prompts" when the two answered different numbers of prompts, "paired on 5 prompts" otherwise. */
export function pairedOnText(n: number, a: number, b: number, unit = 'prompts'): string {
	const most = Math.max(a, b);
	const one = unit.replace(/s$/, '');
	return n < most ? `paired on ${n} of ${most} ${most === 1 ? one : unit}` : `paired on ${n} ${n === 1 ? one : unit}`;
}

/** Paired bootstrap of A − B for mean ROUGE-L and exact match: each resample draws the same examples for both. */
export function pairedGenerationComparison(
	a: GenerationEvaluation,
	b: GenerationEvaluation,
	{ resamples = 1000, seed = 0, alpha = 0.05 }: GenerationScoreOptions = {}
): GenerationComparison {
	const shared = sharedGenerationRows(a, b);
	const n = shared.rows.length;
	if (n < 1) throw new RangeError(`paired comparison needs shared examples, got none of ${a.examples.length} and ${b.examples.length}`);
	const values = (g: GenerationEvaluation, at: number[]): Record<GenerationMetric, Float64Array> => ({
		rougeL: Float64Array.from(at, (i) => g.examples[i].rougeL),
		exactMatch: Float64Array.from(at, (i) => (g.examples[i].exact ? 1 : 0))
	});
	const va = values(a, shared.a);
	const vb = values(b, shared.b);
	const names: GenerationMetric[] = ['rougeL', 'exactMatch'];
	const all = Int32Array.from({ length: n }, (_, i) => i);
	const diffs = names.map(() => new Float64Array(resamples));
	const prng = new Prng(seed);
	const idx = new Int32Array(n);
	for (let r = 0; r < resamples; r++) {
		for (let i = 0; i < n; i++) idx[i] = prng.int(n);
		names.forEach((m, j) => (diffs[j][r] = mean(va[m], idx) - mean(vb[m], idx)));
	}
	const metrics = names.map((metric, j): GenerationPairedMetric => {
		const ma = mean(va[metric], all);
		const mb = mean(vb[metric], all);
		const diff = ma - mb;
		let flipped = 0;
		for (const v of diffs[j]) if (!(Math.sign(v) === Math.sign(diff) && v !== 0)) flipped++;
		const sorted = Float64Array.from(diffs[j]).sort();
		return { metric, a: ma, b: mb, diff, low: quantile(sorted, alpha / 2), high: quantile(sorted, 1 - alpha / 2), pValue: Math.min(1, (2 * flipped) / resamples) };
	});
	return { n, rows: shared.rows, sizes: [a.examples.length, b.examples.length], resamples, seed, alpha, metrics };
}
