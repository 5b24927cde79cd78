/**
 * Label metrics for single-label classification: accuracy, confusion matrix, precision / recall /
 * F1 (per class, macro, micro, weighted, binary), balanced accuracy, Matthews correlation and
 * Cohen's kappa. Matches sklearn.metrics 1.2.1 (`accuracy_score`, `confusion_matrix`,
 * `precision_recall_fscore_support` with zero_division=0, `balanced_accuracy_score`,
 * `matthews_corrcoef`, `cohen_kappa_score`), including its float operation order.
 *
 * Classes are integer ids 0..K-1. Where sklearn derives the label set from the data (balanced
 * accuracy, MCC, kappa) only the classes that occur in y_true or y_pred take part, as there.
 */
import { npMean, npSum } from './numeric';
import { prfAverage, prfPerLabel, type Prf, type PrfAverage, type PrfCounts, type PrfPerLabel } from './prf';

export type ClassIds = ArrayLike<number>;

function checkLabels(yTrue: ClassIds, yPred: ClassIds, nClasses: number): void {
	if (yTrue.length !== yPred.length) {
		throw new RangeError(`y_true has ${yTrue.length} entries but y_pred has ${yPred.length}`);
	}
	for (const y of [yTrue, yPred]) {
		for (let i = 0; i < y.length; i++) {
			if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= nClasses) {
				throw new RangeError(`class id ${y[i]} at ${i} is not an integer in [0, ${nClasses})`);
			}
		}
	}
}

function maxClass(...ys: ClassIds[]): number {
	let m = -1;
	for (const y of ys) for (let i = 0; i < y.length; i++) m = Math.max(m, y[i]);
	return m + 1;
}

/** Rows = true class, columns = predicted class. */
export function confusionMatrix(yTrue: ClassIds, yPred: ClassIds, nClasses = maxClass(yTrue, yPred)): number[][] {
	checkLabels(yTrue, yPred, nClasses);
	const cm = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
	for (let i = 0; i < yTrue.length; i++) cm[yTrue[i]][yPred[i]]++;
	return cm;
}

/** The confusion matrix restricted to the classes present in y_true or y_pred (sklearn's default labels). */
function presentConfusion(yTrue: ClassIds, yPred: ClassIds): number[][] {
	const full = confusionMatrix(yTrue, yPred);
	const present = full.map((_, k) => k).filter((k) => npSum(full[k]) > 0 || full.some((row) => row[k] > 0));
	return present.map((i) => present.map((j) => full[i][j]));
}

const rowSums = (m: number[][]) => m.map((row) => npSum(row));
const colSums = (m: number[][]) => m.map((_, j) => npSum(m.map((row) => row[j])));
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

export function accuracy(yTrue: ClassIds, yPred: ClassIds): number {
	if (yTrue.length !== yPred.length) throw new RangeError('y_true and y_pred differ in length');
	let correct = 0;
	for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
	return correct / yTrue.length;
}

/** tp / predicted / actual counts per class, from the confusion matrix. */
export function classCounts(yTrue: ClassIds, yPred: ClassIds, nClasses: number): PrfCounts {
	const cm = confusionMatrix(yTrue, yPred, nClasses);
	return { tp: cm.map((row, k) => row[k]), predicted: colSums(cm), actual: rowSums(cm) };
}

/** Per-class precision, recall, F1 and support, indexed by class id (sklearn `average=None`). */
export function precisionRecallF1(yTrue: ClassIds, yPred: ClassIds, nClasses: number): PrfPerLabel {
	return prfPerLabel(classCounts(yTrue, yPred, nClasses));
}

/**
 * Averaged precision, recall and F1. `binary` reports the positive class only (sklearn
 * `average='binary'`, pos_label=1) and needs at most two classes.
 */
export function precisionRecallF1Average(
	yTrue: ClassIds,
	yPred: ClassIds,
	nClasses: number,
	average: PrfAverage | 'binary',
	posLabel = 1
): Prf {
	const counts = classCounts(yTrue, yPred, nClasses);
	if (average !== 'binary') return prfAverage(counts, average);
	if (nClasses > 2) throw new RangeError(`average='binary' needs 2 classes, got ${nClasses}`);
	const one = (a: ArrayLike<number>) => [a[posLabel]];
	return prfAverage({ tp: one(counts.tp), predicted: one(counts.predicted), actual: one(counts.actual) }, 'macro');
}

/** Mean recall over the classes that occur in y_true; a class only ever predicted is ignored. */
export function balancedAccuracy(yTrue: ClassIds, yPred: ClassIds): number {
	const cm = presentConfusion(yTrue, yPred);
	const recalls = cm.map((row, k) => row[k] / npSum(row)).filter((r) => !Number.isNaN(r));
	return npMean(recalls);
}

/** Multi-class Matthews correlation (Gorodkin's R_K); 0 when either marginal is constant. */
export function matthewsCorrcoef(yTrue: ClassIds, yPred: ClassIds): number {
	const cm = presentConfusion(yTrue, yPred);
	const t = rowSums(cm);
	const p = colSums(cm);
	const correct = npSum(cm.map((row, k) => row[k]));
	const n = npSum(p);
	const covTP = correct * n - dot(t, p);
	const covPP = n * n - dot(p, p);
	const covTT = n * n - dot(t, t);
	if (covPP * covTT === 0) return 0;
	return covTP / Math.sqrt(covTT * covPP);
}

/** Unweighted Cohen's kappa between the true and predicted labels. */
export function cohenKappa(yTrue: ClassIds, yPred: ClassIds): number {
	const cm = presentConfusion(yTrue, yPred);
	const predCounts = colSums(cm);
	const trueCounts = rowSums(cm);
	const n = npSum(predCounts);
	// Off-diagonal observed and chance-expected mass, summed row-major as numpy does.
	const observed: number[] = [];
	const expected: number[] = [];
	for (let i = 0; i < cm.length; i++) {
		for (let j = 0; j < cm.length; j++) {
			const w = i === j ? 0 : 1;
			observed.push(w * cm[i][j]);
			expected.push(w * ((predCounts[i] * trueCounts[j]) / n));
		}
	}
	return 1 - npSum(observed) / npSum(expected);
}
