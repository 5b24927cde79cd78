/**
 * Training runs: config, status, progress and lineage. Deleting a run removes its metric series
 * and checkpoints in the same transaction.
 */
import { withNormalConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import type { Run } from '../shared/types';
import { dropRun } from './cascade';
import { openDb } from './db';
import { write } from './tx';

export async function putRun(run: Run): Promise<void> {
	await write(['runs'], async (tx) => void (await tx.objectStore('runs').put(run)), { what: 'the run' });
}

/** Stored configs are normalized on the way out: fields added since a run was saved get their defaults. */
export async function getRun(id: string): Promise<Run | undefined> {
	return withNormalConfig(await (await openDb()).get('runs', id));
}

/** Newest first. */
export async function listRuns(projectId: string): Promise<Run[]> {
	const runs = await (await openDb()).getAllFromIndex('runs', 'byProject', projectId);
	return runs.map(withNormalConfig).sort((a, b) => b.createdAt - a.createdAt);
}

/**
 * Apply `patch` to the stored run and return the result. Read and write share one transaction,
 * so two updates from the page and the worker cannot lose each other's fields.
 */
export async function updateRun(id: string, patch: Partial<Run>): Promise<Run> {
	return write(
		['runs'],
		async (tx) => {
			const store = tx.objectStore('runs');
			const run = await store.get(id);
			if (!run) throw new UserError('not-found', `Run ${id} is not stored; it may have been deleted.`);
			const next: Run = { ...run, ...patch, id: run.id, updatedAt: Date.now() };
			await store.put(next);
			return next;
		},
		{ what: 'the run' }
	);
}

export async function deleteRun(id: string): Promise<void> {
	await write(['runs', 'metrics', 'checkpoints', 'checkpointChunks'], (tx) => dropRun(tx, id));
}
