/**
 * The full evaluation of a classifier from its per-example class probabilities: label metrics
 * (report.ts), ranking (ROC AUC, average precision, ROC curves), calibration (log loss, Brier,
 * ECE with a reliability diagram), percentile-bootstrap intervals (Efron & Tibshirani 1993), slices
 * by metadata, and the per-example records; plus the paired bootstrap between two systems scored
 * on the same rows (Koehn 2004), and whether two evaluations (single- or multi-label) can be
 * paired. Anything that yields a probability matrix fits: a trained model, the majority baseline,
 * a prompted LM. Plain numbers only: it runs in the worker or the page.
 */
import type { ClassCurve, EvalExamples, EvaluationResult, MetricInterval, PrfSummary } from '../../shared/types';
import { balancedAccuracy, classCounts, cohenKappa, matthewsCorrcoef } from './classification';
import { brierScore, expectedCalibrationError } from './calibration';
import { averagePrecision, rocAuc, rocAucOvr, rocCurve } from './ranking';
import { bootstrapCI, pairedBootstrapMany, type PairedComparisonOf, type PairedMetricOf } from './bootstrap';
import { decide } from './multilabel';
import type { MultiLabelExamples } from './multilabel-bootstrap';
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

export type PairedMetric = PairedMetricOf<ComparedMetric>;
export type PairedComparison = PairedComparisonOf<ComparedMetric>;

/**
 * The per-row record of a stored multi-label evaluation: every row's dataset index, true set and
 * the set decided at the evaluation's threshold; null when it predates it. The scores (true sets,
 * probabilities) were kept from the start, every row's index only later: until then only the
 * first 500 examples name their rows, which is every row of a small split.
 */
export function multilabelExamples(ev: Pick<EvaluationResult, 'labels' | 'count' | 'multiLabel'>): MultiLabelExamples | null {
	const ml = ev.multiLabel;
	if (!ml?.scores) return null;
	const rows = ml.scores.rows ?? (ml.examples.length === ev.count ? Int32Array.from(ml.examples, (e) => e.row) : null);
	if (!rows) return null;
	return { rows, truth: ml.scores.truth, predicted: decide(ml.scores.probs, ml.threshold), labels: ev.labels.length };
}

const sameValues = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i]);

/**
 * Why two evaluations cannot be compared example by example, or null when they can: both
 * single-label (`pairedComparison`) or both multi-label (`pairedMultiLabel`), on the same rows of
 * the same dataset version and split, with the same labels and the same truth on every row.
 */
export function pairingProblem(a: EvaluationResult, b: EvaluationResult): string | null {
	if (!a.multiLabel !== !b.multiLabel)
		return 'One of them decides a set of labels per row (multi-label) and the other one class per row: their figures measure different things, so they are not paired.';
	const multi = !!a.multiLabel;
	const ea = multi ? multilabelExamples(a) : a.examples && { rows: a.examples.row, truth: a.examples.label };
	const eb = multi ? multilabelExamples(b) : b.examples && { rows: b.examples.row, truth: b.examples.label };
	if (!ea || !eb)
		return multi ? "One of them was evaluated before every row's label decisions were kept: evaluate it again." : 'One of them was evaluated before per-example results were kept: evaluate it again.';
	if (a.datasetVersionId && b.datasetVersionId && a.datasetVersionId !== b.datasetVersionId)
		return 'They were scored on different dataset versions, so their test rows differ.';
	if (a.split !== b.split) return `They were scored on different splits (${a.split} and ${b.split}).`;
	if (a.labels.join('\u0000') !== b.labels.join('\u0000')) return multi ? 'Their label names differ.' : 'Their label sets differ.';
	if (!sameValues(ea.rows, eb.rows)) return 'They were scored on different rows of the dataset.';
	if (!sameValues(ea.truth, eb.truth)) return multi ? 'The true label sets of their rows differ.' : 'The true labels of their rows differ.';
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
	options: { resamples?: number; seed?: number; alpha?: number } = {}
): PairedComparison {
	const n = a.label.length;
	if (n < 1 || b.label.length !== n) throw new RangeError(`paired comparison needs the same examples, got ${n} and ${b.label.length}`);
	const sa = indexedStats(a.label, a.pred, exampleLosses(a.probs, a.label, nClasses), nClasses);
	const sb = indexedStats(b.label, b.pred, exampleLosses(b.probs, b.label, nClasses), nClasses);
	return pairedBootstrapMany<ComparedMetric>(n, sa, sb, HIGHER_IS_BETTER, options);
}
