/**
 * Experiments: hyperparameter studies and cross-validations (src/lib/experiments/record.ts). The
 * page drives them and is this store's one writer; a record is written whole after every change,
 * so a reload finds the study where it stopped. Deleting one keeps its runs.
 */
import type { ExperimentRecord } from '../experiments/record';
import { openDb } from './db';
import { write } from './tx';

export async function putExperiment(record: ExperimentRecord): Promise<void> {
	await write(['experiments'], async (tx) => void (await tx.objectStore('experiments').put(record)), { what: 'the experiment' });
}

export async function getExperiment(id: string): Promise<ExperimentRecord | undefined> {
	return (await openDb()).get('experiments', id);
}

/** Newest first. */
export async function listExperiments(projectId: string): Promise<ExperimentRecord[]> {
	const all = await (await openDb()).getAllFromIndex('experiments', 'byProject', projectId);
	return all.sort((a, b) => b.createdAt - a.createdAt);
}

export async function deleteExperiment(id: string): Promise<void> {
	await write(['experiments'], async (tx) => void (await tx.objectStore('experiments').delete(id)), { what: 'the experiment' });
}
