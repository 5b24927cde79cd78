/**
 * The full evaluation of a classifier from its per-example class probabilities: label metrics
 * (report.ts), ranking (ROC AUC, average precision, ROC curves), calibration (log loss, Brier,
 * ECE with a reliability diagram), percentile-bootstrap intervals (Efron & Tibshirani 1993), slices
 * by metadata, and the per-example records; plus the paired bootstrap between two systems scored
 * on the same rows (Koehn 2004). Anything that yields a probability matrix fits: a trained
 * model, the majority baseline, a prompted LM. Plain numbers only: it runs in the worker or the page.
 */
import type { ClassCurve, EvalExamples, EvaluationResult, MetricInterval, PrfSummary } from '../../shared/types';
import { Prng } from '../../shared/prng';
import { balancedAccuracy, classCounts, cohenKappa, matthewsCorrcoef } from './classification';
import { brierScore, expectedCalibrationError } from './calibration';
import { averagePrecision, rocAuc, rocAucOvr, rocCurve } from './ranking';
import { bootstrapCI, quantile } from './bootstrap';
import { npMean } from './numeric';
import { prfAverage, type PrfCounts } from './prf';
import { classificationReport, sliceReport, type SliceOptions } from './report';

export interface EvaluationInput {
	labels: string[];
	/** Dataset row index of each example (stored order of the dataset version). */
	rows: ArrayLike<number>;
	yTrue: ArrayLike<number>;
	/** Row-major (n, K) class probabilities; rounded to float32 before anything is computed. */
	probs: ArrayLike<number>;
	/** Each example's metadata, for slices. */
	meta?: ReadonlyArray<Record<string, string> | undefined>;
	datasetVersionId?: string;
	datasetHash?: string;
}

export interface EvaluationOptions extends SliceOptions {
	resamples?: number;
	seed?: number;
	/** Two-sided level of the intervals: they cover 1 − alpha. */
	alpha?: number;
	/** Most points kept per ROC curve (for display). */
	rocPoints?: number;
}

export type EvaluationMetrics = Omit<EvaluationResult, 'split' | 'checkpointId' | 'step' | 'createdAt'>;

const FLOAT64_EPS = Number.EPSILON;

/** First index of each row's maximum, as `np.argmax`. */
export function argmaxRows(probs: ArrayLike<number>, k: number): Int32Array {
	const n = probs.length / k;
	const out = new Int32Array(n);
	for (let i = 0; i < n; i++) {
		let best = 0;
		for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
		out[i] = best;
	}
	return out;
}

/** −ln p(true class) per example, clipped to [eps, 1−eps] and renormalised as sklearn `log_loss`. */
export function exampleLosses(probs: ArrayLike<number>, yTrue: ArrayLike<number>, k: number): Float64Array {
	const out = new Float64Array(yTrue.length);
	for (let i = 0; i < yTrue.length; i++) {
		let sum = 0;
		for (let c = 0; c < k; c++) sum += Math.min(Math.max(probs[i * k + c], FLOAT64_EPS), 1 - FLOAT64_EPS);
		const p = Math.min(Math.max(probs[i * k + yTrue[i]], FLOAT64_EPS), 1 - FLOAT64_EPS);
		out[i] = -Math.log(p / sum);
	}
	return out;
}

/** Metrics of the examples picked by an index array (repeats allowed), as the bootstrap needs them. */
export interface IndexedStats {
	accuracy: (idx: ArrayLike<number>) => number;
	macroF1: (idx: ArrayLike<number>) => number;
	logLoss: (idx: ArrayLike<number>) => number;
}

export function indexedStats(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, losses: ArrayLike<number>, k: number): IndexedStats {
	const tp = new Float64Array(k);
	const predicted = new Float64Array(k);
	const actual = new Float64Array(k);
	return {
		accuracy(idx) {
			let right = 0;
			for (let j = 0; j < idx.length; j++) if (yTrue[idx[j]] === yPred[idx[j]]) right++;
			return right / idx.length;
		},
		macroF1(idx) {
			tp.fill(0);
			predicted.fill(0);
			actual.fill(0);
			for (let j = 0; j < idx.length; j++) {
				const t = yTrue[idx[j]];
				const p = yPred[idx[j]];
				actual[t]++;
				predicted[p]++;
				if (t === p) tp[t]++;
			}
			// All K classes, as the headline macro F1 (precisionRecallF1Average over K).
			return prfAverage({ tp, predicted, actual } satisfies PrfCounts, 'macro').f1;
		},
		logLoss(idx) {
			const picked = new Float64Array(idx.length);
			for (let j = 0; j < idx.length; j++) picked[j] = losses[idx[j]];
			return npMean(picked);
		}
	};
}

/** Evenly spaced points of a curve, first and last kept. */
function thin(fpr: number[], tpr: number[], most: number): { fpr: number[]; tpr: number[] } {
	if (fpr.length <= most) return { fpr, tpr };
	const keep = Array.from({ length: most }, (_, j) => Math.round((j * (fpr.length - 1)) / (most - 1)));
	return { fpr: keep.map((i) => fpr[i]), tpr: keep.map((i) => tpr[i]) };
}

function column(probs: Float32Array, k: number, c: number): Float64Array {
	const n = probs.length / k;
	const out = new Float64Array(n);
	for (let i = 0; i < n; i++) out[i] = probs[i * k + c];
	return out;
}

function curve(label: string, yTrue: ArrayLike<number>, score: Float64Array, pos: number, most: number): ClassCurve {
	const auc = rocAuc(yTrue, score, pos);
	const ap = averagePrecision(yTrue, score, pos);
	if (auc === null) return { label, auc, averagePrecision: ap, fpr: [], tpr: [] };
	const { fpr, tpr } = rocCurve(yTrue, score, { posLabel: pos });
	return { label, auc, averagePrecision: ap, ...thin(fpr, tpr, most) };
}

/** Mean Σ_k (p_k − y_k)² over the examples: Brier's (1950) multi-class score. */
function multiclassBrier(probs: Float32Array, yTrue: ArrayLike<number>, k: number): number {
	const per = new Float64Array(yTrue.length);
	for (let i = 0; i < yTrue.length; i++) {
		let s = 0;
		for (let c = 0; c < k; c++) {
			const d = probs[i * k + c] - (yTrue[i] === c ? 1 : 0);
			s += d * d;
		}
		per[i] = s;
	}
	return npMean(per);
}

function averages(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): { macro: PrfSummary; micro: PrfSummary; weighted: PrfSummary } {
	const counts = classCounts(yTrue, yPred, k);
	return { macro: prfAverage(counts, 'macro'), micro: prfAverage(counts, 'micro'), weighted: prfAverage(counts, 'weighted') };
}

export function buildEvaluation(input: EvaluationInput, options: EvaluationOptions = {}): EvaluationMetrics {
	const { labels, yTrue } = input;
	const { resamples = 1000, seed = 0, alpha = 0.05, rocPoints = 200 } = options;
	const k = labels.length;
	const n = yTrue.length;
	if (k < 2) throw new RangeError(`an evaluation needs at least 2 classes, got ${k}`);
	if (n < 1) throw new RangeError('an evaluation needs at least one example');
	if (input.probs.length !== n * k) throw new RangeError(`probs has ${input.probs.length} values, expected ${n} × ${k}`);
	if (input.rows.length !== n) throw new RangeError(`rows has ${input.rows.length} entries, expected ${n}`);

	const probs = Float32Array.from(input.probs);
	const rowsP = Array.from({ length: n }, (_, i) => probs.subarray(i * k, (i + 1) * k));
	const pred = argmaxRows(probs, k);
	const losses = exampleLosses(probs, yTrue, k);
	const report = classificationReport(yTrue, pred, labels);

	const roc =
		k === 2
			? [curve(labels[1], yTrue, column(probs, k, 1), 1, rocPoints)]
			: labels.map((label, c) => curve(label, yTrue, column(probs, k, c), c, rocPoints));
	const rocAucSummary =
		k === 2 ? { macro: roc[0].auc, weighted: roc[0].auc } : { macro: rocAucOvr(yTrue, rowsP, 'macro'), weighted: rocAucOvr(yTrue, rowsP, 'weighted') };
	const calibration = expectedCalibrationError(yTrue, rowsP, 10);

	const stats = indexedStats(yTrue, pred, losses, k);
	const boot = { resamples, seed, alpha };
	const intervals: { accuracy: MetricInterval; macroF1: MetricInterval; logLoss: MetricInterval } = {
		accuracy: bootstrapCI(n, stats.accuracy, boot),
		macroF1: bootstrapCI(n, stats.macroF1, boot),
		logLoss: bootstrapCI(n, stats.logLoss, boot)
	};
	const logLoss = intervals.logLoss.estimate;

	return {
		...report,
		loss: logLoss,
		count: n,
		datasetVersionId: input.datasetVersionId,
		datasetHash: input.datasetHash,
		balancedAccuracy: balancedAccuracy(yTrue, pred),
		averages: averages(yTrue, pred, k),
		mcc: matthewsCorrcoef(yTrue, pred),
		kappa: cohenKappa(yTrue, pred),
		logLoss,
		brier: k === 2 ? brierScore(yTrue, column(probs, k, 1)) : multiclassBrier(probs, yTrue, k),
		rocAuc: rocAucSummary,
		averagePrecision: k === 2 ? roc[0].averagePrecision : npMean(roc.map((r) => r.averagePrecision)),
		roc,
		ece: calibration.ece,
		reliability: calibration.bins,
		intervals,
		bootstrap: boot,
		examples: {
			row: Int32Array.from(input.rows),
			label: Int32Array.from(yTrue),
			pred,
			probs,
			loss: Float32Array.from(losses)
		},
		slices: input.meta ? sliceReport(yTrue, pred, k, input.meta, options) : undefined
	};
}

// ---- Paired comparison of two systems on the same rows ----

export type ComparedMetric = 'accuracy' | 'macroF1' | 'logLoss';
export const HIGHER_IS_BETTER: Record<ComparedMetric, boolean> = { accuracy: true, macroF1: true, logLoss: false };

export interface PairedMetric {
	metric: ComparedMetric;
	/** The metric of A and of B on all the shared examples. */
	a: number;
	b: number;
	/** a − b, with its percentile-bootstrap interval. */
	diff: number;
	low: number;
	high: number;
	/** Share of resamples in which A is not better than B (diff ≤ 0; ≥ 0 for log loss): a one-sided p-value. */
	shareNotBetter: number;
	/** Two-sided, as `pairedBootstrap`: 2 × the share of resamples that do not keep the sign of `diff`. */
	pValue: number;
}

export interface PairedComparison {
	n: number;
	resamples: number;
	seed: number;
	alpha: number;
	metrics: PairedMetric[];
}

/** Why two evaluations cannot be compared example by example, or null when they can. */
export function pairingProblem(a: EvaluationResult, b: EvaluationResult): string | null {
	if (a.multiLabel || b.multiLabel)
		return 'Multi-label results are compared by their figures (subset accuracy and macro F1); a paired test over label sets is not run.';
	if (!a.examples || !b.examples) return 'One of them was evaluated before per-example results were kept: evaluate it again.';
	if (a.datasetVersionId && b.datasetVersionId && a.datasetVersionId !== b.datasetVersionId)
		return 'They were scored on different dataset versions, so their test rows differ.';
	if (a.split !== b.split) return `They were scored on different splits (${a.split} and ${b.split}).`;
	if (a.labels.join('\u0000') !== b.labels.join('\u0000')) return 'Their label sets differ.';
	const ra = a.examples.row;
	const rb = b.examples.row;
	if (ra.length !== rb.length || ra.some((r, i) => r !== rb[i])) return 'They were scored on different rows of the dataset.';
	if (a.examples.label.some((y, i) => y !== b.examples!.label[i])) return 'The true labels of their rows differ.';
	return null;
}

/**
 * Paired bootstrap of A − B for accuracy, macro F1 and log loss: every resample draws the same
 * examples for both systems (the resampling of `bootstrap.ts`, so the numbers match
 * `pairedBootstrap` for the same seed).
 */
export function pairedComparison(
	a: EvalExamples,
	b: EvalExamples,
	nClasses: number,
	{ resamples = 1000, seed = 0, alpha = 0.05 }: { resamples?: number; seed?: number; alpha?: number } = {}
): PairedComparison {
	const n = a.label.length;
	if (n < 1 || b.label.length !== n) throw new RangeError(`paired comparison needs the same examples, got ${n} and ${b.label.length}`);
	const sa = indexedStats(a.label, a.pred, exampleLosses(a.probs, a.label, nClasses), nClasses);
	const sb = indexedStats(b.label, b.pred, exampleLosses(b.probs, b.label, nClasses), nClasses);
	const names: ComparedMetric[] = ['accuracy', 'macroF1', 'logLoss'];
	const all = Int32Array.from({ length: n }, (_, i) => i);
	const full = names.map((m) => ({ a: sa[m](all), b: sb[m](all) }));
	const diffs = names.map(() => new Float64Array(resamples));
	const prng = new Prng(seed);
	const idx = new Int32Array(n);
	for (let r = 0; r < resamples; r++) {
		for (let i = 0; i < n; i++) idx[i] = prng.int(n);
		names.forEach((m, j) => (diffs[j][r] = sa[m](idx) - sb[m](idx)));
	}
	const metrics = names.map((metric, j): PairedMetric => {
		const diff = full[j].a - full[j].b;
		const d = diffs[j];
		let notBetter = 0;
		let flipped = 0;
		for (const v of d) {
			if (HIGHER_IS_BETTER[metric] ? !(v > 0) : !(v < 0)) notBetter++;
			if (!(Math.sign(v) === Math.sign(diff) && v !== 0)) flipped++;
		}
		const sorted = Float64Array.from(d.filter(Number.isFinite)).sort();
		return {
			metric,
			...full[j],
			diff,
			low: quantile(sorted, alpha / 2),
			high: quantile(sorted, 1 - alpha / 2),
			shareNotBetter: notBetter / resamples,
			pValue: Math.min(1, (2 * flipped) / resamples)
		};
	});
	return { n, resamples, seed, alpha, metrics };
}
