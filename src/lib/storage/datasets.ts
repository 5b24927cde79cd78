/**
 * Dataset versions: immutable records whose rows live in the `rows` store in chunks, so a large
 * dataset is never one huge record. A version and all its chunks are written in one transaction:
 * a failed import stores nothing.
 */
import { UserError } from '../shared/errors';
import type { DatasetVersion, StoredRow } from '../shared/types';
import { dropVersion } from './cascade';
import { openDb } from './db';
import { ownedBy, write } from './tx';

/** Store `version` and its `rows`; returns the version as stored (with `chunkCount` set). */
export async function saveDatasetVersion(
	version: DatasetVersion,
	rows: StoredRow[],
	chunkSize = 1000
): Promise<DatasetVersion> {
	if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
	const stored: DatasetVersion = { ...version, chunkCount: Math.ceil(rows.length / chunkSize) };
	await write(
		['datasets', 'rows'],
		async (tx) => {
			const chunks = tx.objectStore('rows');
			// Chunks left by an earlier save under the same id would otherwise be read back as rows.
			await chunks.delete(ownedBy(stored.id));
			for (let index = 0; index < stored.chunkCount; index++) {
				const slice = rows.slice(index * chunkSize, (index + 1) * chunkSize);
				await chunks.put({ versionId: stored.id, index, rows: slice });
			}
			await tx.objectStore('datasets').put(stored);
		},
		{ what: 'the dataset' }
	);
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

/** The version, its rows and its tokenized caches. Runs keep their lineage (id and hash). */
export async function deleteDatasetVersion(id: string): Promise<void> {
	await write(['datasets', 'rows', 'tokenized'], (tx) => dropVersion(tx, id));
}
