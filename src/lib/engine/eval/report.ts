/**
 * The classification report the Evaluate screen shows first: accuracy, macro F1, per-class
 * precision/recall/F1 and the confusion matrix (rows = true class, columns = predicted), from the
 * scikit-learn-matching metrics in classification.ts.
 */
import type { ClassReport } from '../../shared/types';
import { accuracy, confusionMatrix, precisionRecallF1, precisionRecallF1Average } from './classification';

export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels: string[]) {
	const k = labels.length;
	const per = precisionRecallF1(yTrue, yPred, k);
	const perClass: ClassReport[] = labels.map((label, c) => ({
		label,
		precision: per.precision[c],
		recall: per.recall[c],
		f1: per.f1[c],
		support: per.support[c]
	}));
	return {
		accuracy: yTrue.length ? accuracy(yTrue, yPred) : 0,
		macroF1: precisionRecallF1Average(yTrue, yPred, k, 'macro').f1,
		perClass,
		confusion: confusionMatrix(yTrue, yPred, k),
		labels
	};
}
