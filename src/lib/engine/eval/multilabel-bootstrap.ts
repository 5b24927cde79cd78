/**
 * The bootstrap for multi-label classifiers: percentile intervals of subset accuracy, micro F1,
 * macro F1 and Hamming loss (Efron & Tibshirani 1993), and the paired bootstrap of A − B between
 * two systems scored on the same rows (Koehn 2004). The resampling is bootstrap.ts's (the shared
 * `Prng`, one seed): a resample draws rows, each with its whole label set, and both systems see the
 * same draws. Each metric of a resample is sklearn's (multilabel.ts) on the drawn rows, repeats
 * counted. A row's outcomes are kept sparse (the labels it gets right, predicts wrongly and
 * misses), so a resample costs the labels its rows touch, not rows × labels.
 */
import type { MetricInterval, MultiLabelEvaluation } from '../../shared/types';
import { bootstrapMany, pairedBootstrapMany, type BootstrapOptions, type PairedComparisonOf, type PairedMetricOf, type StatFn } from './bootstrap';
import { prfAverage } from './prf';

export type MultiLabelMetric = keyof NonNullable<MultiLabelEvaluation['intervals']>;
export type MultiLabelIntervals = Record<MultiLabelMetric, MetricInterval>;

/** Hamming loss counts label slots decided wrong: lower is better. */
export const MULTILABEL_HIGHER_IS_BETTER: Record<MultiLabelMetric, boolean> = { subsetAccuracy: true, microF1: true, macroF1: true, hammingLoss: false };
export const MULTILABEL_METRIC_NAMES: Record<MultiLabelMetric, string> = { subsetAccuracy: 'subset accuracy', microF1: 'micro F1', macroF1: 'macro F1', hammingLoss: 'Hamming loss' };

export type MultiLabelPairedMetric = PairedMetricOf<MultiLabelMetric>;
export type MultiLabelComparison = PairedComparisonOf<MultiLabelMetric>;

const TP = 0;
const FP = 1;
const FN = 2;

/**
 * The four metrics of the rows an index array picks (repeats allowed), from row-major (n, L) 0/1
 * true and predicted sets. On all rows they equal multilabel.ts's `subsetAccuracy`,
 * `multilabelPrfAverage` (micro, macro) and `hammingLoss`.
 */
export function multilabelIndexedStats(truth: Uint8Array, predicted: Uint8Array, labels: number): Record<MultiLabelMetric, StatFn> {
	if (labels < 1 || truth.length !== predicted.length || truth.length % labels) throw new RangeError(`need two (n, ${labels}) indicator matrices, got ${truth.length} and ${predicted.length} values`);
	const n = truth.length / labels;
	// Per row, its label outcomes other than true negatives: (label, kind) pairs from start[i] to start[i + 1].
	const start = new Int32Array(n + 1);
	const label: number[] = [];
	const kind: number[] = [];
	const wrong = new Int32Array(n);
	for (let i = 0; i < n; i++) {
		for (let j = 0; j < labels; j++) {
			const t = truth[i * labels + j];
			const p = predicted[i * labels + j];
			if (!t && !p) continue;
			label.push(j);
			kind.push(t && p ? TP : p ? FP : FN);
			if (t !== p) wrong[i]++;
		}
		start[i + 1] = label.length;
	}
	const tp = new Float64Array(labels);
	const pred = new Float64Array(labels);
	const actual = new Float64Array(labels);
	const count = (idx: ArrayLike<number>) => {
		tp.fill(0);
		pred.fill(0);
		actual.fill(0);
		for (let r = 0; r < idx.length; r++) {
			const i = idx[r];
			for (let e = start[i]; e < start[i + 1]; e++) {
				const j = label[e];
				if (kind[e] === TP) {
					tp[j]++;
					pred[j]++;
					actual[j]++;
				} else if (kind[e] === FP) pred[j]++;
				else actual[j]++;
			}
		}
		return { tp, predicted: pred, actual };
	};
	return {
		subsetAccuracy(idx) {
			let exact = 0;
			for (let r = 0; r < idx.length; r++) if (!wrong[idx[r]]) exact++;
			return exact / idx.length;
		},
		microF1: (idx) => prfAverage(count(idx), 'micro').f1,
		// Over all L labels, a label absent from the drawn rows counting 0, as the headline macro F1.
		macroF1: (idx) => prfAverage(count(idx), 'macro').f1,
		hammingLoss(idx) {
			let slots = 0;
			for (let r = 0; r < idx.length; r++) slots += wrong[idx[r]];
			return slots / (idx.length * labels);
		}
	};
}

/** Percentile-bootstrap intervals of the four metrics, one pass of resamples (each equals `bootstrapCI`'s for the seed). */
export function multilabelIntervals(truth: Uint8Array, predicted: Uint8Array, labels: number, options: BootstrapOptions = {}): MultiLabelIntervals {
	return bootstrapMany(truth.length / labels, multilabelIndexedStats(truth, predicted, labels), options);
}

/** Every scored row of a multi-label evaluation: its dataset row, true set and decided set, row-major (n, L). */
export interface MultiLabelExamples {
	rows: Int32Array;
	truth: Uint8Array;
	predicted: Uint8Array;
	labels: number;
}

/**
 * Paired bootstrap of A − B for subset accuracy, micro F1, macro F1 and Hamming loss (lower is
 * better) on the same rows: every resample draws the same rows for both systems, so per metric
 * the numbers equal `pairedBootstrap`'s for the same seed.
 */
export function pairedMultiLabel(a: MultiLabelExamples, b: MultiLabelExamples, options: BootstrapOptions = {}): MultiLabelComparison {
	const n = a.rows.length;
	if (n < 1 || b.rows.length !== n || a.labels !== b.labels) throw new RangeError(`a paired comparison needs the same rows and labels, got ${n}×${a.labels} and ${b.rows.length}×${b.labels}`);
	const sa = multilabelIndexedStats(a.truth, a.predicted, a.labels);
	const sb = multilabelIndexedStats(b.truth, b.predicted, b.labels);
	return pairedBootstrapMany(n, sa, sb, MULTILABEL_HIGHER_IS_BETTER, options);
}
