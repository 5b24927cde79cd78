/**
 * A fold of a k-fold cross-validation as a dataset version: the same rows, the fold's rows in the
 * validation split and the other folds' in train, the test split left exactly as it was (it takes
 * no part in cross-validation). Folds are dealt by experiments/kfold.ts: stratified by label,
 * grouped by a metadata column, or plainly shuffled. Each fold is an immutable version like a
 * re-split (`resplitOf` names the source), so its runs have ordinary lineage.
 */
import { foldSplitCodes, groupKFold, kFold, stratifiedKFold } from '../experiments/kfold';
import { UserError } from '../shared/errors';
import { SPLIT_CODE, type DatasetVersion, type StoredRow } from '../shared/types';
import { getDatasetVersion, loadRows, newId, saveDatasetVersion } from '../storage';
import { datasetHash } from './hash';
import { splitSizes } from './split';

export interface FoldSpec {
	k: number;
	seed: number;
	stratify: 'label' | 'none' | { column: string };
}

/** The fold of every row (−1 for test rows). */
export function foldsOf(rows: readonly StoredRow[], spec: FoldSpec): Int32Array {
	const include = rows.map((r) => r.split !== SPLIT_CODE.test);
	if (spec.stratify === 'label') return stratifiedKFold(rows.map((r) => r.label), spec.k, spec.seed, include);
	if (spec.stratify === 'none') return kFold(rows.length, spec.k, spec.seed, include);
	const column = spec.stratify.column;
	const missing = rows.findIndex((r, i) => include[i] && (r.meta?.[column] ?? '') === '');
	if (missing >= 0) throw new UserError('invalid-config', `Row ${missing + 1} has no value in "${column}"; every row needs its group to keep groups whole across folds. Pick another column, or stratify by label.`);
	return groupKFold(rows.map((r) => r.meta?.[column] ?? ''), spec.k, include);
}

/** Store fold `index` of `spec` over `versionId` as a new dataset version. */
export async function foldDataset(versionId: string, spec: FoldSpec, index: number): Promise<DatasetVersion> {
	const source = await getDatasetVersion(versionId);
	if (!source) throw new UserError('not-found', 'The dataset version to cross-validate no longer exists.');
	const old = await loadRows(versionId);
	const fold = foldsOf(old, spec);
	const codes = foldSplitCodes(fold, index, old.map((r) => r.split));
	const rows: StoredRow[] = old.map((r, i) => ({ ...r, split: codes[i] }));
	const by = spec.stratify === 'label' ? 'stratified' : spec.stratify === 'none' ? 'shuffled' : `grouped by ${spec.stratify.column}`;
	const version: DatasetVersion = {
		...source,
		id: newId('ds_'),
		name: `${source.name.replace(/ · fold .*$/, '')} · fold ${index + 1} of ${spec.k} (${by}, seed ${spec.seed})`,
		createdAt: Date.now(),
		chunkCount: 0,
		contentHash: await datasetHash(source.labels, rows),
		split: { ...source.split, sizes: splitSizes(codes) },
		resplitOf: source.id
	};
	return saveDatasetVersion(version, rows);
}
