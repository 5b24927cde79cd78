/**
 * Bootstrap confidence intervals for any metric over n examples (Efron & Tibshirani 1993,
 * percentile interval), and the paired bootstrap test between two systems scored on the same
 * examples (Koehn 2004, "Statistical Significance Tests for Machine Translation Evaluation").
 * The metric sees a resample as an index array, so it can be any function of the examples
 * (accuracy, macro F1, corpus BLEU). Seeded with the shared mulberry32 `Prng`: the same seed
 * gives the same interval on every machine. The `…Many` forms take several metrics through one
 * pass of resamples, each metric getting exactly what the single-metric form gives it.
 */
import { Prng } from '../../shared/prng';

/** A metric of the examples selected by `indices` (repeats allowed). The array is reused between calls: copy it to keep it. */
export type StatFn = (indices: Int32Array) => number;

export interface BootstrapOptions {
	resamples?: number;
	seed?: number;
	/** Two-sided level: the interval covers 1 − alpha. */
	alpha?: number;
}

export interface BootstrapInterval {
	/** The metric on all examples. */
	estimate: number;
	low: number;
	high: number;
}

export interface PairedBootstrapResult {
	/** statA − statB on all examples. */
	diff: number;
	low: number;
	high: number;
	/** Two-sided: 2 × the fraction of resamples whose difference does not keep the sign of `diff`, capped at 1. */
	pValue: number;
}

function identity(n: number): Int32Array {
	return Int32Array.from({ length: n }, (_, i) => i);
}

function* resamples(n: number, count: number, seed: number): Generator<Int32Array> {
	const prng = new Prng(seed);
	const idx = new Int32Array(n);
	for (let r = 0; r < count; r++) {
		for (let i = 0; i < n; i++) idx[i] = prng.int(n);
		yield idx;
	}
}

/** Linear-interpolated quantile of sorted values (numpy's default 'linear' method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
	if (sorted.length === 0) return NaN;
	const h = (sorted.length - 1) * q;
	const lo = Math.floor(h);
	const hi = Math.min(lo + 1, sorted.length - 1);
	return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function interval(values: number[], alpha: number): { low: number; high: number } {
	// A resample can leave a metric undefined (e.g. AUC with one class); those are left out.
	const finite = Float64Array.from(values.filter(Number.isFinite)).sort();
	return { low: quantile(finite, alpha / 2), high: quantile(finite, 1 - alpha / 2) };
}

function checkOptions(n: number, resampleCount: number, alpha: number): void {
	if (!Number.isInteger(n) || n < 1) throw new RangeError(`bootstrap needs at least one example, got n = ${n}`);
	if (!Number.isInteger(resampleCount) || resampleCount < 1) throw new RangeError(`resamples must be a positive integer, got ${resampleCount}`);
	if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
}

export function bootstrapCI(n: number, statFn: StatFn, { resamples: count = 1000, seed = 0, alpha = 0.05 }: BootstrapOptions = {}): BootstrapInterval {
	checkOptions(n, count, alpha);
	const stats: number[] = [];
	for (const idx of resamples(n, count, seed)) stats.push(statFn(idx));
	return { estimate: statFn(identity(n)), ...interval(stats, alpha) };
}

export function pairedBootstrap(
	n: number,
	statA: StatFn,
	statB: StatFn,
	{ resamples: count = 1000, seed = 0, alpha = 0.05 }: BootstrapOptions = {}
): PairedBootstrapResult {
	checkOptions(n, count, alpha);
	const all = identity(n);
	const diff = statA(all) - statB(all);
	const diffs: number[] = [];
	let flipped = 0;
	for (const idx of resamples(n, count, seed)) {
		const d = statA(idx) - statB(idx);
		diffs.push(d);
		// A tie (or an undefined resample) counts against the observed difference: conservative.
		if (!(Math.sign(d) === Math.sign(diff) && d !== 0)) flipped++;
	}
	return { diff, ...interval(diffs, alpha), pValue: Math.min(1, (2 * flipped) / count) };
}

/** A paired difference of one metric, A − B on the same resamples. */
export interface PairedMetricOf<M extends string> {
	metric: M;
	/** The metric of A and of B on all the shared examples. */
	a: number;
	b: number;
	/** a − b, with its percentile-bootstrap interval. */
	diff: number;
	low: number;
	high: number;
	/** Share of resamples in which A is not better than B (diff ≤ 0, or ≥ 0 where lower is better): a one-sided p-value. */
	shareNotBetter: number;
	/** Two-sided, as `pairedBootstrap`: 2 × the share of resamples that do not keep the sign of `diff`. */
	pValue: number;
}

export interface PairedComparisonOf<M extends string> {
	n: number;
	resamples: number;
	seed: number;
	alpha: number;
	metrics: PairedMetricOf<M>[];
}

/** `bootstrapCI` of several metrics from one pass of resamples: each interval equals `bootstrapCI`'s for the same seed. */
export function bootstrapMany<M extends string>(
	n: number,
	stats: Record<M, StatFn>,
	{ resamples: count = 1000, seed = 0, alpha = 0.05 }: BootstrapOptions = {}
): Record<M, BootstrapInterval> {
	checkOptions(n, count, alpha);
	const names = Object.keys(stats) as M[];
	const values = names.map(() => [] as number[]);
	for (const idx of resamples(n, count, seed)) names.forEach((m, j) => values[j].push(stats[m](idx)));
	const all = identity(n);
	return Object.fromEntries(names.map((m, j) => [m, { estimate: stats[m](all), ...interval(values[j], alpha) }])) as Record<M, BootstrapInterval>;
}

/**
 * The paired bootstrap of several metrics at once: every resample draws the same examples for A
 * and B (Koehn 2004), so per metric the difference, interval and p-value equal `pairedBootstrap`'s
 * for the same seed; `higherIsBetter` says which side of zero "not better" is.
 */
export function pairedBootstrapMany<M extends string>(
	n: number,
	a: Record<M, StatFn>,
	b: Record<M, StatFn>,
	higherIsBetter: Record<M, boolean>,
	{ resamples: count = 1000, seed = 0, alpha = 0.05 }: BootstrapOptions = {}
): PairedComparisonOf<M> {
	checkOptions(n, count, alpha);
	const names = Object.keys(higherIsBetter) as M[];
	const all = identity(n);
	const full = names.map((m) => ({ a: a[m](all), b: b[m](all) }));
	const diffs = names.map(() => [] as number[]);
	for (const idx of resamples(n, count, seed)) names.forEach((m, j) => diffs[j].push(a[m](idx) - b[m](idx)));
	const metrics = names.map((metric, j): PairedMetricOf<M> => {
		const diff = full[j].a - full[j].b;
		let notBetter = 0;
		let flipped = 0;
		for (const v of diffs[j]) {
			if (higherIsBetter[metric] ? !(v > 0) : !(v < 0)) notBetter++;
			// A tie (or an undefined resample) counts against the observed difference: conservative.
			if (!(Math.sign(v) === Math.sign(diff) && v !== 0)) flipped++;
		}
		return { metric, ...full[j], diff, ...interval(diffs[j], alpha), shareNotBetter: notBetter / count, pValue: Math.min(1, (2 * flipped) / count) };
	});
	return { n, resamples: count, seed, alpha, metrics };
}
