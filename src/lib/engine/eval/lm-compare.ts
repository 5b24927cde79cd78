/**
 * Comparing two language-modelling evaluations: perplexity (exp of the token-weighted mean NLL)
 * and next-token accuracy. Where both stored per-sequence sums (NLL, predicted tokens, correct
 * tokens) the comparison is paired on the sequences both scored, by dataset row id: each bootstrap
 * resample draws the same sequences for both systems and recomputes each metric from the summed
 * statistics of the draw (the ratio estimator, as corpus BLEU is resampled in generation-eval.ts;
 * Koehn 2004). Without per-sequence sums only the two point estimates can be set side by side.
 */
import { Prng } from '../../shared/prng';
import type { EvaluationResult, LmExamples } from '../../shared/types';
import { quantile, type PairedMetricOf } from './bootstrap';

export type LmMetric = 'perplexity' | 'tokenAccuracy';
export const LM_HIGHER_IS_BETTER: Record<LmMetric, boolean> = { perplexity: false, tokenAccuracy: true };

/** A paired difference of perplexity (lower is better) or token accuracy, without a two-sided p-value. */
export type LmPairedMetric = Omit<PairedMetricOf<LmMetric>, 'pValue'>;

export interface LmComparison {
	/** Sequences both scored, and how many each scored. */
	n: number;
	sizes: [number, number];
	resamples: number;
	seed: number;
	alpha: number;
	metrics: LmPairedMetric[];
}

/** The sequences both scored, by dataset row id, in A's order: index pairs into each one's examples. */
export function sharedLmRows(a: LmExamples, b: LmExamples): { a: number[]; b: number[] } {
	const inB = new Map<number, number>();
	b.row.forEach((r, i) => inB.set(r, i));
	const out = { a: [] as number[], b: [] as number[] };
	a.row.forEach((r, i) => {
		const j = inB.get(r);
		if (j === undefined) return;
		out.a.push(i);
		out.b.push(j);
	});
	return out;
}

/** Why two LM evaluations cannot be paired sequence by sequence, or null when they can. */
export function lmPairingProblem(a: EvaluationResult, b: EvaluationResult): string | null {
	if (!a.lm || !b.lm) return 'One of them has no language-modelling score.';
	if (a.datasetVersionId && b.datasetVersionId && a.datasetVersionId !== b.datasetVersionId) return 'They were scored on different dataset versions, so their test text differs.';
	if (a.split !== b.split) return `They were scored on different splits (${a.split} and ${b.split}).`;
	if (!a.lm.examples || !b.lm.examples) return 'One of them was scored before per-sequence losses were kept: evaluate it again on the Evaluate screen to pair them.';
	if (!sharedLmRows(a.lm.examples, b.lm.examples).a.length) return 'They scored no sequence in common.';
	return null;
}

function sums(e: LmExamples, at: ArrayLike<number>, idx: ArrayLike<number>): { nll: number; tokens: number; correct: number } {
	let nll = 0;
	let tokens = 0;
	let correct = 0;
	for (let j = 0; j < idx.length; j++) {
		const i = at[idx[j]];
		nll += e.nll[i];
		tokens += e.tokens[i];
		correct += e.correct[i];
	}
	return { nll, tokens, correct };
}

const metricOf = (s: { nll: number; tokens: number; correct: number }, m: LmMetric) => (m === 'perplexity' ? Math.exp(s.nll / s.tokens) : s.correct / s.tokens);

/** Paired bootstrap of A − B for perplexity and next-token accuracy over the sequences both scored. */
export function pairedLmComparison(a: LmExamples, b: LmExamples, { resamples = 1000, seed = 0, alpha = 0.05 }: { resamples?: number; seed?: number; alpha?: number } = {}): LmComparison {
	const shared = sharedLmRows(a, b);
	const n = shared.a.length;
	if (n < 1) throw new RangeError('paired comparison needs at least one shared sequence');
	const names: LmMetric[] = ['perplexity', 'tokenAccuracy'];
	const all = Int32Array.from({ length: n }, (_, i) => i);
	const fa = sums(a, shared.a, all);
	const fb = sums(b, shared.b, all);
	const diffs = names.map(() => new Float64Array(resamples));
	const prng = new Prng(seed);
	const idx = new Int32Array(n);
	for (let r = 0; r < resamples; r++) {
		for (let i = 0; i < n; i++) idx[i] = prng.int(n);
		const ra = sums(a, shared.a, idx);
		const rb = sums(b, shared.b, idx);
		names.forEach((m, j) => (diffs[j][r] = metricOf(ra, m) - metricOf(rb, m)));
	}
	const metrics = names.map((metric, j): LmPairedMetric => {
		const ma = metricOf(fa, metric);
		const mb = metricOf(fb, metric);
		let notBetter = 0;
		for (const v of diffs[j]) if (LM_HIGHER_IS_BETTER[metric] ? !(v > 0) : !(v < 0)) notBetter++;
		const sorted = Float64Array.from(diffs[j].filter(Number.isFinite)).sort();
		return { metric, a: ma, b: mb, diff: ma - mb, low: quantile(sorted, alpha / 2), high: quantile(sorted, 1 - alpha / 2), shareNotBetter: notBetter / resamples };
	});
	return { n, sizes: [a.row.length, b.row.length], resamples, seed, alpha, metrics };
}
