/**
 * What goes with a record when it is deleted, written against a caller's transaction so a project
 * delete can remove everything it owns in one transaction. Not re-exported.
 */
import { ownedBy, type Store, type WriteTx } from './tx';

export type VersionStores = 'datasets' | 'rows' | 'tokenized';
export type RunStores = 'runs' | 'metrics' | 'checkpoints' | 'checkpointChunks';

/** A dataset version, its row chunks and the tokenized caches made from it. */
export async function dropVersion<N extends Store>(tx: WriteTx<N | VersionStores>, versionId: string): Promise<void> {
	const caches = tx.objectStore('tokenized');
	const cacheKeys = await caches.index('byVersion').getAllKeys(versionId);
	await Promise.all([
		tx.objectStore('datasets').delete(versionId),
		tx.objectStore('rows').delete(ownedBy(versionId)),
		...cacheKeys.map((key) => caches.delete(key))
	]);
}

/** A run, its metric series, and its checkpoints with their chunks. */
export async function dropRun<N extends Store>(tx: WriteTx<N | RunStores>, runId: string): Promise<void> {
	const manifests = tx.objectStore('checkpoints');
	const chunks = tx.objectStore('checkpointChunks');
	const checkpointIds = await manifests.index('byRun').getAllKeys(runId);
	await Promise.all([
		tx.objectStore('runs').delete(runId),
		tx.objectStore('metrics').delete(ownedBy(runId)),
		...checkpointIds.flatMap((id) => [manifests.delete(id), chunks.delete(ownedBy(id))])
	]);
}
