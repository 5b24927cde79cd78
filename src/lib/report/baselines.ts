/**
 * Baselines and the "systems" the Compare screen and the decision report line up: trained runs,
 * the majority baseline and (once the engine stores them) prompted-LM baselines, each with one
 * evaluation on one split of one dataset version.
 *
 * The majority baseline needs no model: it predicts the training label frequencies for every row
 * (sklearn `DummyClassifier(strategy='prior')`), so it is computed in the page from the stored rows
 * whenever it is needed and never stored (the runs store has one writer, the engine worker).
 * Zero-/few-shot baselines are runs with `baseline` set (see `BaselineInfo`): the engine scores each
 * label word after a prompt and stores the probability matrix through `buildEvaluation`, like a run.
 */
import { buildEvaluation, type EvaluationOptions } from '../engine/eval/evaluation';
import { UserError } from '../shared/errors';
import { SPLIT_CODE, type BaselineInfo, type DatasetVersion, type EvaluationResult, type Run, type SplitName, type StoredRow } from '../shared/types';

export type SystemKind = 'run' | BaselineInfo['kind'];

/** Something with an evaluation that can be compared: a run or a baseline. */
export interface System {
	/** The run id, or `majority:<datasetVersionId>:<split>`. */
	id: string;
	name: string;
	kind: SystemKind;
	baseline?: BaselineInfo;
	run?: Run;
	datasetVersionId: string;
	evaluation: EvaluationResult;
}

/** A run's baseline description, once the engine stores baselines as runs (`Run.baseline`). */
export function baselineOf(run: Run): BaselineInfo | undefined {
	return (run as Run & { baseline?: BaselineInfo }).baseline;
}

/** Rows per label in the training split, index-aligned with the version's labels. */
export function trainLabelCounts(labels: string[], rows: StoredRow[]): number[] {
	const counts = new Array<number>(labels.length).fill(0);
	for (const r of rows) if (r.split === SPLIT_CODE.train && r.label >= 0 && r.label < labels.length) counts[r.label]++;
	return counts;
}

/**
 * The majority-class baseline of a dataset version on a split: every row gets the training label
 * frequencies as its probabilities, so it predicts the most frequent training label (the first in
 * label order on a tie, as `np.argmax`).
 */
export function majorityBaseline(version: DatasetVersion, rows: StoredRow[], split: SplitName = 'test', options: EvaluationOptions = {}): System {
	const counts = trainLabelCounts(version.labels, rows);
	const total = counts.reduce((a, b) => a + b, 0);
	if (!total) throw new UserError('not-found', 'The training split is empty, so there is no majority class. Re-split the dataset on the Data screen.');
	const prior = counts.map((c) => c / total);
	const k = version.labels.length;
	const picked: number[] = [];
	rows.forEach((r, i) => r.split === SPLIT_CODE[split] && picked.push(i));
	if (!picked.length) throw new UserError('not-found', `The ${split} split of "${version.name}" is empty.`);
	const probs = new Float32Array(picked.length * k);
	for (let i = 0; i < picked.length; i++) probs.set(prior, i * k);
	const metrics = buildEvaluation(
		{
			labels: version.labels,
			rows: picked,
			yTrue: picked.map((i) => rows[i].label),
			probs,
			meta: picked.map((i) => rows[i].meta),
			datasetVersionId: version.id,
			datasetHash: version.contentHash
		},
		options
	);
	const top = prior.indexOf(Math.max(...prior));
	const baseline: BaselineInfo = {
		kind: 'majority',
		description: `always “${version.labels[top]}” (${(prior[top] * 100).toFixed(1)}% of training rows)`
	};
	const evaluation: EvaluationResult = { split, checkpointId: '', step: 0, createdAt: version.createdAt, ...metrics };
	return { id: `majority:${version.id}:${split}`, name: 'Majority class', kind: 'majority', baseline, datasetVersionId: version.id, evaluation };
}

/** A run (trained, or a stored prompted baseline) as a system, when it has a classification evaluation. */
export function runSystem(run: Run): System | null {
	// Language-modelling runs store a loss only: nothing to compare class by class.
	const evaluation = run.evaluation;
	if (!evaluation?.perClass.some((c) => c.support > 0)) return null;
	const baseline = baselineOf(run);
	return {
		id: run.id,
		name: run.name,
		kind: baseline?.kind ?? 'run',
		baseline,
		run,
		datasetVersionId: evaluation.datasetVersionId ?? run.datasetVersionId,
		evaluation
	};
}
