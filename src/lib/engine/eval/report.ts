/**
 * The classification report the Evaluate screen shows first: accuracy, macro F1, per-class
 * precision/recall/F1 and the confusion matrix (rows = true class, columns = predicted), with
 * scikit-learn's zero_division=0 convention.
 */
import type { ClassReport } from '../../shared/types';

export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels: string[]) {
	const k = labels.length;
	const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
	let correct = 0;
	for (let i = 0; i < yTrue.length; i++) {
		confusion[yTrue[i]][yPred[i]]++;
		if (yTrue[i] === yPred[i]) correct++;
	}
	const perClass: ClassReport[] = labels.map((label, c) => {
		const tp = confusion[c][c];
		const predicted = confusion.reduce((s, row) => s + row[c], 0);
		const support = confusion[c].reduce((s, v) => s + v, 0);
		const precision = predicted ? tp / predicted : 0;
		const recall = support ? tp / support : 0;
		const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
		return { label, precision, recall, f1, support };
	});
	const macroF1 = perClass.reduce((s, r) => s + r.f1, 0) / Math.max(1, k);
	return { accuracy: yTrue.length ? correct / yTrue.length : 0, macroF1, perClass, confusion, labels };
}
