/**
 * Multi-label metrics on n×L 0/1 indicator matrices: precision / recall / F1 (per label, micro,
 * macro, weighted, samples), Hamming loss, Jaccard and subset accuracy. Matches sklearn.metrics
 * 1.2.1 with zero_division=0: a row or label whose denominator is 0 scores 0 (an empty row is
 * not a perfect row), and a label absent from both matrices still counts in the macro mean.
 */
import { npAverage, npMean, npSum } from './numeric';
import { prfAverage, prfPerLabel, ratioOrZero, type Prf, type PrfAverage, type PrfCounts, type PrfPerLabel } from './prf';
import type { ClassReport, MultiLabelEvaluation, PrfSummary } from '../../shared/types';
import type { BootstrapOptions } from './bootstrap';
import { multilabelIntervals } from './multilabel-bootstrap';

export type Indicator = ReadonlyArray<ArrayLike<number>>;

/** Multi-label decisions: a label is predicted when its sigmoid probability is at least this (logit ≥ 0). */
export const MULTILABEL_THRESHOLD = 0.5;

/** The threshold a multi-label run decides at: the one saved for it on Evaluate, else MULTILABEL_THRESHOLD. */
export function runThreshold(run: { multiLabelThreshold?: number } | null | undefined): number {
	return run?.multiLabelThreshold ?? MULTILABEL_THRESHOLD;
}

/** The label ids of one indicator row (its 1s), ascending. */
export function labelIds(row: ArrayLike<number>): number[] {
	const ids: number[] = [];
	for (let j = 0; j < row.length; j++) if (row[j] === 1) ids.push(j);
	return ids;
}
export type MultilabelAverage = PrfAverage | 'samples';

function check(yTrue: Indicator, yPred: Indicator): number {
	if (yTrue.length !== yPred.length) throw new RangeError(`y_true has ${yTrue.length} rows but y_pred has ${yPred.length}`);
	const labels = yTrue[0]?.length ?? 0;
	for (const m of [yTrue, yPred]) {
		m.forEach((row, i) => {
			if (row.length !== labels) throw new RangeError(`row ${i} has ${row.length} labels, expected ${labels}`);
			for (let j = 0; j < row.length; j++) {
				if (row[j] !== 0 && row[j] !== 1) throw new RangeError(`entry [${i}][${j}] = ${row[j]} is not 0 or 1`);
			}
		});
	}
	return labels;
}

/** Counts per label (column), or per sample (row) with `bySample`. */
export function multilabelCounts(yTrue: Indicator, yPred: Indicator, bySample = false): PrfCounts {
	const labels = check(yTrue, yPred);
	const size = bySample ? yTrue.length : labels;
	const c = { tp: new Array<number>(size).fill(0), predicted: new Array<number>(size).fill(0), actual: new Array<number>(size).fill(0) };
	yTrue.forEach((row, i) => {
		for (let j = 0; j < labels; j++) {
			const at = bySample ? i : j;
			c.tp[at] += row[j] & yPred[i][j];
			c.predicted[at] += yPred[i][j];
			c.actual[at] += row[j];
		}
	});
	return c;
}

export function multilabelPrf(yTrue: Indicator, yPred: Indicator): PrfPerLabel {
	return prfPerLabel(multilabelCounts(yTrue, yPred));
}

export function multilabelPrfAverage(yTrue: Indicator, yPred: Indicator, average: MultilabelAverage): Prf {
	if (average === 'samples') return prfAverage(multilabelCounts(yTrue, yPred, true), 'macro');
	return prfAverage(multilabelCounts(yTrue, yPred), average);
}

/** Fraction of label slots that differ. */
export function hammingLoss(yTrue: Indicator, yPred: Indicator): number {
	const labels = check(yTrue, yPred);
	let diff = 0;
	yTrue.forEach((row, i) => {
		for (let j = 0; j < labels; j++) if (row[j] !== yPred[i][j]) diff++;
	});
	return diff / (yTrue.length * labels);
}

/** Fraction of rows predicted exactly. */
export function subsetAccuracy(yTrue: Indicator, yPred: Indicator): number {
	const labels = check(yTrue, yPred);
	let exact = 0;
	yTrue.forEach((row, i) => {
		let same = true;
		for (let j = 0; j < labels && same; j++) same = row[j] === yPred[i][j];
		if (same) exact++;
	});
	return exact / yTrue.length;
}

/** |Y ∩ P| / |Y ∪ P| per label (or per row with `bySample`). */
function jaccardParts(yTrue: Indicator, yPred: Indicator, bySample: boolean) {
	const c = multilabelCounts(yTrue, yPred, bySample);
	const union = Array.from(c.tp, (tp, i) => c.predicted[i] + c.actual[i] - tp);
	return { tp: Array.from(c.tp), union, support: Array.from(c.actual) };
}

export function jaccardPerLabel(yTrue: Indicator, yPred: Indicator): number[] {
	const { tp, union } = jaccardParts(yTrue, yPred, false);
	return tp.map((t, i) => ratioOrZero(t, union[i]));
}

export function jaccardScore(yTrue: Indicator, yPred: Indicator, average: MultilabelAverage): number {
	const { tp, union, support } = jaccardParts(yTrue, yPred, average === 'samples');
	if (average === 'micro') return ratioOrZero(npSum(tp), npSum(union));
	const scores = tp.map((t, i) => ratioOrZero(t, union[i]));
	// Unlike precision/recall, sklearn's jaccard falls back to an unweighted mean when no label occurs.
	if (average === 'weighted' && support.some((s) => s > 0)) return npAverage(scores, support);
	return npMean(scores);
}

/** Flat row-major (n, L) 0/1 data as indicator rows (views, not copies). */
export function indicatorRows(flat: Uint8Array, labels: number): Uint8Array[] {
	const n = labels ? flat.length / labels : 0;
	return Array.from({ length: n }, (_, i) => flat.subarray(i * labels, (i + 1) * labels));
}

const EXAMPLES = 500;

/**
 * What the Evaluate screen shows for a multi-label run: micro and macro P/R/F1, Hamming loss,
 * subset accuracy, each headline figure with its percentile-bootstrap interval over the rows,
 * per-label P/R/F1 with support, from the true and predicted (n, L) indicators.
 * `rows` are the scored rows' indexes in the version (for the example list).
 */
export function multilabelReport(
	truth: Uint8Array,
	predicted: Uint8Array,
	labels: readonly string[],
	rows: ArrayLike<number>,
	threshold: number,
	boot: BootstrapOptions = {}
): { perClass: ClassReport[]; multiLabel: MultiLabelEvaluation; bootstrap: Required<BootstrapOptions> } {
	const l = labels.length;
	const yTrue = indicatorRows(truth, l);
	const yPred = indicatorRows(predicted, l);
	const per = multilabelPrf(yTrue, yPred);
	const micro = multilabelPrfAverage(yTrue, yPred, 'micro');
	const macro = multilabelPrfAverage(yTrue, yPred, 'macro');
	const weighted = multilabelPrfAverage(yTrue, yPred, 'weighted');
	const n = Math.max(1, yTrue.length);
	// Drawn as `buildEvaluation` draws a single-label run's, unless the caller says otherwise.
	const bootstrap = { resamples: boot.resamples ?? 1000, seed: boot.seed ?? 0, alpha: boot.alpha ?? 0.05 };
	return {
		perClass: labels.map((label, j) => ({ label, precision: per.precision[j], recall: per.recall[j], f1: per.f1[j], support: per.support[j] })),
		multiLabel: {
			threshold,
			micro: { precision: micro.precision, recall: micro.recall, f1: micro.f1 },
			macro: { precision: macro.precision, recall: macro.recall, f1: macro.f1 },
			weighted: { precision: weighted.precision, recall: weighted.recall, f1: weighted.f1 },
			hammingLoss: yTrue.length ? hammingLoss(yTrue, yPred) : 0,
			subsetAccuracy: yTrue.length ? subsetAccuracy(yTrue, yPred) : 0,
			meanTrue: npSum(Array.from(truth)) / n,
			meanPredicted: npSum(Array.from(predicted)) / n,
			examples: yTrue.slice(0, EXAMPLES).map((t, i) => ({ row: rows[i], truth: labelIds(t), predicted: labelIds(yPred[i]) })),
			...(yTrue.length && l ? { intervals: multilabelIntervals(truth, predicted, l, bootstrap) } : {})
		},
		bootstrap
	};
}

/** (n, L) 0/1 decisions from row-major probabilities: a label is predicted at or above `threshold`. */
export function decide(probs: ArrayLike<number>, threshold: number): Uint8Array {
	const out = new Uint8Array(probs.length);
	for (let i = 0; i < probs.length; i++) out[i] = probs[i] >= threshold ? 1 : 0;
	return out;
}

export interface ThresholdPoint {
	threshold: number;
	micro: PrfSummary;
	macroF1: number;
	subsetAccuracy: number;
}

/** The thresholds the sweep tries: 0.05 to 0.95 in steps of 0.05. */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/**
 * Micro P/R/F1, macro F1 and subset accuracy at each threshold of `grid`, from stored scores: how
 * one threshold for every label trades precision for recall. Chosen on the validation split, the
 * best threshold is an honest setting; chosen on the test split it flatters the run.
 */
export function thresholdSweep(truth: Uint8Array, probs: ArrayLike<number>, labels: number, grid: readonly number[] = THRESHOLD_GRID): ThresholdPoint[] {
	// no scored row, nothing to weigh (a mean over no labels or rows would be NaN)
	if (!truth.length || !labels) return [];
	const yTrue = indicatorRows(truth, labels);
	return grid.map((threshold) => {
		const yPred = indicatorRows(decide(probs, threshold), labels);
		const micro = multilabelPrfAverage(yTrue, yPred, 'micro');
		return {
			threshold,
			micro: { precision: micro.precision, recall: micro.recall, f1: micro.f1 },
			macroF1: multilabelPrfAverage(yTrue, yPred, 'macro').f1,
			subsetAccuracy: subsetAccuracy(yTrue, yPred)
		};
	});
}

/** The sweep's point with the highest micro F1 (the lowest threshold among equals). */
export function bestThreshold(points: readonly ThresholdPoint[]): ThresholdPoint | undefined {
	let best: ThresholdPoint | undefined;
	for (const p of points) if (!best || p.micro.f1 > best.micro.f1) best = p;
	return best;
}

/**
 * A stored multi-label evaluation read again at another threshold from the scores it kept (no
 * scoring): every figure as the engine would have stored it had it decided at `threshold`. Null
 * for an evaluation stored before the scores were kept.
 */
export function evaluationAt<
	E extends { labels: string[]; accuracy: number; macroF1: number; perClass: ClassReport[]; multiLabel?: MultiLabelEvaluation; bootstrap?: BootstrapOptions }
>(ev: E, threshold: number): E | null {
	const ml = ev.multiLabel;
	if (!ml?.scores) return null;
	const rows = ml.scores.rows ?? ml.examples.map((e) => e.row);
	// The intervals are drawn again as the evaluation drew them (same resamples and seed).
	const report = multilabelReport(ml.scores.truth, decide(ml.scores.probs, threshold), ev.labels, rows, threshold, ev.bootstrap);
	return {
		...ev,
		accuracy: report.multiLabel.subsetAccuracy,
		macroF1: report.multiLabel.macro.f1,
		perClass: report.perClass,
		multiLabel: { ...report.multiLabel, scores: ml.scores },
		bootstrap: report.bootstrap
	};
}
