/**
 * Precision, recall and F1 from per-label counts, shared by the multi-class and multi-label
 * metrics. Follows sklearn.metrics.precision_recall_fscore_support 1.2.1 with
 * zero_division=0, beta=1: a 0/0 ratio is 0, F = 2·P·R / (P + R) computed from the rounded P
 * and R (not from tp/fp/fn, which sklearn only adopted in 1.3), and the averages are numpy
 * means of the per-label values.
 */
import { npAverage, npMean, npSum } from './numeric';

/** Per-label (or, for `samples`, per-row) sufficient statistics. */
export interface PrfCounts {
	/** True positives. */
	tp: ArrayLike<number>;
	/** Predicted positives (tp + fp). */
	predicted: ArrayLike<number>;
	/** Actual positives (tp + fn): the support. */
	actual: ArrayLike<number>;
}

export interface Prf {
	precision: number;
	recall: number;
	f1: number;
}

export interface PrfPerLabel {
	precision: number[];
	recall: number[];
	f1: number[];
	support: number[];
}

/** `macro`: unweighted mean over labels; `weighted`: by support; `micro`: from summed counts. */
export type PrfAverage = 'macro' | 'micro' | 'weighted';

export function ratioOrZero(numerator: number, denominator: number): number {
	return denominator === 0 ? 0 : numerator / denominator;
}

export function f1FromPR(precision: number, recall: number): number {
	const denom = precision + recall;
	return denom === 0 ? 0 : (2 * precision * recall) / denom;
}

export function prfPerLabel(c: PrfCounts): PrfPerLabel {
	const n = c.tp.length;
	const out: PrfPerLabel = { precision: [], recall: [], f1: [], support: [] };
	for (let i = 0; i < n; i++) {
		const p = ratioOrZero(c.tp[i], c.predicted[i]);
		const r = ratioOrZero(c.tp[i], c.actual[i]);
		out.precision.push(p);
		out.recall.push(r);
		out.f1.push(f1FromPR(p, r));
		out.support.push(c.actual[i]);
	}
	return out;
}

export function prfAverage(c: PrfCounts, average: PrfAverage): Prf {
	if (average === 'micro') {
		const tp = npSum(c.tp);
		const p = ratioOrZero(tp, npSum(c.predicted));
		const r = ratioOrZero(tp, npSum(c.actual));
		return { precision: p, recall: r, f1: f1FromPR(p, r) };
	}
	const per = prfPerLabel(c);
	if (average === 'macro') {
		return { precision: npMean(per.precision), recall: npMean(per.recall), f1: npMean(per.f1) };
	}
	// sklearn short-cuts an all-zero support to zero_division (0) before averaging.
	if (npSum(per.support) === 0) return { precision: 0, recall: 0, f1: 0 };
	return {
		precision: npAverage(per.precision, per.support),
		recall: npAverage(per.recall, per.support),
		f1: npAverage(per.f1, per.support)
	};
}
