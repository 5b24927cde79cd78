/**
 * Dataset versions: immutable records whose rows live in the `rows` store in chunks, so a large
 * dataset is never one huge record. A version and all its chunks are written in one transaction:
 * a failed import stores nothing, and a full disk says how much space the version needed.
 *
 * One transaction is also what makes Cancel safe. The page cancels an import by terminating the
 * data worker, which can happen between any two chunk writes; IndexedDB aborts a transaction whose
 * worker ends before it commits, so every chunk written so far goes with it and no chunk is ever
 * stored without its version record (nor a record without all its chunks). Writing chunks in
 * transactions of their own and the record last would need a sweep for the chunks a terminated
 * worker leaves (as checkpoints have); one transaction needs none. What is already stored is not
 * in the transaction's writes, so earlier versions are untouched either way.
 */
import { isQuotaError, storageError, UserError } from '../shared/errors';
import type { DatasetVersion, StoredRow } from '../shared/types';
import { dropVersion } from './cascade';
import { openDb } from './db';
import { ownedBy, write } from './tx';
import { formatBytes } from './quota';
import { recordBytes } from './usage';

/** Rows per stored chunk. */
export const ROWS_PER_CHUNK = 1000;

/**
 * Tests only: `afterChunk` is called inside the save's transaction after each chunk is written.
 * When it returns a promise, the transaction is held open (by reading, so it neither commits nor
 * times out) until that promise settles: a test can end the worker in the middle of a save.
 */
export const datasetSaveHooks: { afterChunk?: (done: number, total: number) => Promise<void> | void } = {};

/**
 * Store `version` and its `rows`; returns the version as stored (with `chunkCount` set).
 * `onChunk` hears each chunk written (inside the transaction: it must not wait on anything).
 */
export async function saveDatasetVersion(
	version: DatasetVersion,
	rows: StoredRow[],
	chunkSize = ROWS_PER_CHUNK,
	onChunk?: (done: number, total: number) => void
): Promise<DatasetVersion> {
	if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
	const stored: DatasetVersion = { ...version, chunkCount: Math.ceil(rows.length / chunkSize) };
	try {
		await write(['datasets', 'rows'], async (tx) => {
			const chunks = tx.objectStore('rows');
			// Chunks left by an earlier save under the same id would otherwise be read back as rows.
			await chunks.delete(ownedBy(stored.id));
			for (let index = 0; index < stored.chunkCount; index++) {
				const slice = rows.slice(index * chunkSize, (index + 1) * chunkSize);
				await chunks.put({ versionId: stored.id, index, rows: slice });
				onChunk?.(index + 1, stored.chunkCount);
				const held = datasetSaveHooks.afterChunk?.(index + 1, stored.chunkCount);
				if (held) {
					let released = false;
					const release = () => void (released = true);
					held.then(release, release);
					while (!released) await chunks.count(ownedBy(stored.id));
				}
			}
			await tx.objectStore('datasets').put(stored);
		});
	} catch (e) {
		// The size is measured only when it is needed for the message.
		const need = isQuotaError(e) ? ` (${formatBytes(recordBytes(stored) + recordBytes(rows))} needed)` : '';
		throw storageError(e, `the dataset “\u2068${stored.name}\u2069”${need}`, 'import the file again');
	}
	return stored;
}

export async function getDatasetVersion(id: string): Promise<DatasetVersion | undefined> {
	return (await openDb()).get('datasets', id);
}

/** Newest first. */
export async function listDatasetVersions(projectId: string): Promise<DatasetVersion[]> {
	const versions = await (await openDb()).getAllFromIndex('datasets', 'byProject', projectId);
	return versions.sort((a, b) => b.createdAt - a.createdAt);
}

/** All rows of a version, in stored order. */
export async function loadRows(versionId: string): Promise<StoredRow[]> {
	const tx = (await openDb()).transaction(['datasets', 'rows']);
	const [version, chunks] = await Promise.all([
		tx.objectStore('datasets').get(versionId),
		tx.objectStore('rows').getAll(ownedBy(versionId))
	]);
	if (!version)
		throw new UserError('not-found', `Dataset version ${versionId} is not stored (it may have been deleted). Import the file again.`);
	// Chunks come back in key order, [versionId, 0], [versionId, 1], ...; a gap means damage.
	if (chunks.length !== version.chunkCount || chunks.some((chunk, i) => chunk.index !== i))
		throw new Error(`Dataset version ${versionId} is damaged: ${chunks.length} of ${version.chunkCount} row chunks are stored. Import the file again.`);
	return chunks.flatMap((chunk) => chunk.rows);
}

/** Names of the project's runs trained on a version, oldest first. */
export async function runsUsingVersion(version: Pick<DatasetVersion, 'id' | 'projectId'>): Promise<string[]> {
	const runs = await (await openDb()).getAllFromIndex('runs', 'byProject', version.projectId);
	return runs
		.filter((r) => r.datasetVersionId === version.id)
		.sort((a, b) => a.createdAt - b.createdAt)
		.map((r) => r.name);
}

function quoted(names: string[]): string {
	const shown = names.slice(0, 3).map((n) => `"${n}"`).join(', ');
	return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}

/**
 * The version, its rows and its tokenized caches. Refused, leaving everything as it was, while the
 * project uses the version for new runs or a run was trained on it: a run's lineage, its
 * evaluations and resuming it all read the version's rows.
 */
export async function deleteDatasetVersion(id: string): Promise<void> {
	await write(['datasets', 'rows', 'tokenized', 'projects', 'runs'], async (tx) => {
		const version = await tx.objectStore('datasets').get(id);
		if (!version) return;
		const project = await tx.objectStore('projects').get(version.projectId);
		if (project?.datasetVersionId === id)
			throw new UserError('invalid-config', `"${version.name}" is the version this project uses for new runs, so it was not deleted. Switch to another version first.`);
		const runs = (await tx.objectStore('runs').index('byProject').getAll(version.projectId)).filter((r) => r.datasetVersionId === id);
		if (runs.length)
			throw new UserError(
				'invalid-config',
				`"${version.name}" was not deleted: ${runs.length === 1 ? 'run' : `${runs.length} runs`} ${quoted(runs.map((r) => r.name))} ${runs.length === 1 ? 'was' : 'were'} trained on it, and evaluating or resuming ${runs.length === 1 ? 'it' : 'them'} needs its rows. Delete ${runs.length === 1 ? 'that run' : 'those runs'} first.`
			);
		await dropVersion(tx, id);
	});
}
