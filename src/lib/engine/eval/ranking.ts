/**
 * Threshold-free ranking metrics of a score against binary truth: the ROC curve, ROC AUC (binary
 * and one-vs-rest multi-class), the precision-recall curve and average precision. Matches
 * sklearn.metrics 1.2.1 `roc_curve` (drop_intermediate=True, thresholds[0] = max score + 1, not
 * +inf as in >= 1.3), `roc_auc_score`, `precision_recall_curve` (full curve, as since 1.1) and
 * `average_precision_score` (step integral, no interpolation).
 *
 * Where sklearn raises because ROC AUC is undefined (only one class in y_true, or a multi-class
 * y_true missing a class) it returns null here; where sklearn only warns (rates with a zero
 * denominator, average precision of a single class) the same numbers or NaN come back.
 */
import { npAverage, npMean, npSum } from './numeric';

/** Points of the curve at each distinct score, highest first: sklearn `_binary_clf_curve`. */
export interface ThresholdCounts {
	/** False positives with score >= threshold. */
	fps: number[];
	/** True positives with score >= threshold. */
	tps: number[];
	thresholds: number[];
}

export interface RocCurve {
	fpr: number[];
	tpr: number[];
	thresholds: number[];
}

export interface PrCurve {
	precision: number[];
	recall: number[];
	thresholds: number[];
}

function isPositive(yTrue: ArrayLike<number>, posLabel: number): Uint8Array {
	const out = new Uint8Array(yTrue.length);
	for (let i = 0; i < yTrue.length; i++) out[i] = yTrue[i] === posLabel ? 1 : 0;
	return out;
}

function checkScores(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): void {
	if (yTrue.length !== yScore.length) {
		throw new RangeError(`y_true has ${yTrue.length} entries but y_score has ${yScore.length}`);
	}
	for (let i = 0; i < yScore.length; i++) {
		if (!Number.isFinite(yScore[i])) throw new RangeError(`score ${yScore[i]} at ${i} is not finite`);
	}
}

export function thresholdCounts(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, posLabel = 1): ThresholdCounts {
	checkScores(yTrue, yScore);
	const pos = isPositive(yTrue, posLabel);
	const order = Array.from({ length: yScore.length }, (_, i) => i).sort((a, b) => yScore[b] - yScore[a]);
	const out: ThresholdCounts = { fps: [], tps: [], thresholds: [] };
	let tp = 0;
	for (let k = 0; k < order.length; k++) {
		tp += pos[order[k]];
		// Ties share one point: emit only where the next score differs (or at the end).
		if (k === order.length - 1 || yScore[order[k + 1]] !== yScore[order[k]]) {
			out.tps.push(tp);
			out.fps.push(k + 1 - tp);
			out.thresholds.push(yScore[order[k]]);
		}
	}
	return out;
}

/** Keeps the corners: a point is dropped when both counts are collinear with its neighbours. */
function dropCollinear(c: ThresholdCounts): ThresholdCounts {
	const n = c.fps.length;
	if (n <= 2) return c;
	const bends = (v: number[], i: number) => v[i + 1] - v[i] !== v[i] - v[i - 1];
	const keep = c.fps.map((_, i) => i === 0 || i === n - 1 || bends(c.fps, i) || bends(c.tps, i));
	const pick = (v: number[]) => v.filter((_, i) => keep[i]);
	return { fps: pick(c.fps), tps: pick(c.tps), thresholds: pick(c.thresholds) };
}

/** NaN when the last count is 0 (no negatives for fpr, no positives for tpr), as sklearn. */
function normalise(v: number[]): number[] {
	const last = v[v.length - 1];
	return v.map((x) => (last <= 0 ? NaN : x / last));
}

export function rocCurve(
	yTrue: ArrayLike<number>,
	yScore: ArrayLike<number>,
	{ dropIntermediate = true, posLabel = 1 } = {}
): RocCurve {
	let c = thresholdCounts(yTrue, yScore, posLabel);
	if (dropIntermediate) c = dropCollinear(c);
	return {
		fpr: normalise([0, ...c.fps]),
		tpr: normalise([0, ...c.tps]),
		thresholds: [c.thresholds[0] + 1, ...c.thresholds]
	};
}

/** `np.trapz(y, x)`: Σ Δx · (y_i + y_{i+1}) / 2, summed pairwise. */
export function trapezoid(x: number[], y: number[]): number {
	const terms = new Float64Array(Math.max(0, x.length - 1));
	for (let i = 0; i < terms.length; i++) terms[i] = ((x[i + 1] - x[i]) * (y[i + 1] + y[i])) / 2;
	return npSum(terms);
}

function hasBothClasses(yTrue: ArrayLike<number>, posLabel: number): boolean {
	let pos = 0;
	for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === posLabel) pos++;
	return pos > 0 && pos < yTrue.length;
}

/** Binary ROC AUC; null when y_true holds a single class. */
export function rocAuc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, posLabel = 1): number | null {
	if (!hasBothClasses(yTrue, posLabel)) return null;
	const { fpr, tpr } = rocCurve(yTrue, yScore, { posLabel });
	return trapezoid(fpr, tpr);
}

function rowsSumToOne(yProba: ReadonlyArray<ArrayLike<number>>): boolean {
	// np.allclose(1, row_sum) with its default rtol=1e-5, atol=1e-8.
	return yProba.every((row) => {
		const s = npSum(row);
		return Math.abs(1 - s) <= 1e-8 + 1e-5 * Math.abs(s);
	});
}

/**
 * One-vs-rest multi-class ROC AUC (`multi_class='ovr'`): `macro` is the mean of the per-class
 * AUCs, `weighted` weights them by class prevalence in y_true. Null when a class never occurs in
 * y_true or a probability row does not sum to 1 (sklearn raises in both cases).
 */
export function rocAucOvr(
	yTrue: ArrayLike<number>,
	yProba: ReadonlyArray<ArrayLike<number>>,
	average: 'macro' | 'weighted' = 'macro'
): number | null {
	const k = yProba[0]?.length ?? 0;
	const prevalence = new Array<number>(k).fill(0);
	for (let i = 0; i < yTrue.length; i++) {
		if (!(yTrue[i] >= 0 && yTrue[i] < k)) throw new RangeError(`class id ${yTrue[i]} at ${i} is not in [0, ${k})`);
		prevalence[yTrue[i]]++;
	}
	if (k < 2 || prevalence.some((c) => c === 0) || !rowsSumToOne(yProba)) return null;
	const aucs = prevalence.map((_, c) => rocAuc(yTrue, yProba.map((row) => row[c]), c));
	if (aucs.some((a) => a === null)) return null;
	const scores = aucs as number[];
	return average === 'macro' ? npMean(scores) : npAverage(scores, prevalence);
}

export function precisionRecallCurve(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, posLabel = 1): PrCurve {
	const c = thresholdCounts(yTrue, yScore, posLabel);
	const totalPos = c.tps[c.tps.length - 1];
	const precision = c.tps.map((tp, i) => (tp + c.fps[i] === 0 ? 0 : tp / (tp + c.fps[i])));
	const recall = c.tps.map((tp) => (totalPos === 0 ? 1 : tp / totalPos));
	// Reversed so recall decreases, ending at the (recall 0, precision 1) anchor.
	return {
		precision: [...precision.reverse(), 1],
		recall: [...recall.reverse(), 0],
		thresholds: c.thresholds.slice().reverse()
	};
}

/**
 * Σ_n (R_n − R_{n−1}) · P_n over the precision-recall curve. Defined for a single class as in
 * sklearn (which only warns): 0 without positives, 1 when every example is positive.
 */
export function averagePrecision(yTrue: ArrayLike<number>, yScore: ArrayLike<number>, posLabel = 1): number {
	const { precision, recall } = precisionRecallCurve(yTrue, yScore, posLabel);
	const terms = new Float64Array(recall.length - 1);
	for (let i = 0; i < terms.length; i++) terms[i] = (recall[i + 1] - recall[i]) * precision[i];
	return -npSum(terms);
}
