/**
 * Checkpoints: the floats of every tensor, concatenated and cut into chunks keyed
 * `[checkpointId, index]`, then a manifest written last in a `durability: 'strict'` transaction.
 * A checkpoint exists only once its manifest does, so a crash mid-save leaves orphan chunks (which
 * `sweepOrphanChunks` removes), never half a checkpoint. Loading verifies every chunk.
 */
import { withNormalConfig } from '../shared/config';
import { storageError, UserError } from '../shared/errors';
import type { CheckpointManifest, TensorEntry } from '../shared/types';
import { newId, openDb } from './db';
import { ownedBy, write } from './tx';
import { formatBytes } from './quota';

/** One named tensor's values, as the engine hands them over (Hugging Face tensor names). */
export interface TensorData {
	name: string;
	shape: number[];
	data: Float32Array;
}

/** A manifest before its tensors are laid out in chunks. */
export type CheckpointDraft = Omit<CheckpointManifest, 'tensors' | 'chunkCount' | 'bytes'>;

/** Chunks per write transaction are capped by bytes, so a large model is not held uncommitted. */
const BYTES_PER_TRANSACTION = 64 * 1024 * 1024;

/** Checkpoints this thread is saving right now: the sweep must not take their chunks. */
const saving = new Set<string>();

/**
 * For crash tests only: called after a save has written every chunk and before its manifest, the
 * moment a dying worker leaves orphan chunks. Never set outside tests.
 */
export const checkpointHooks: { beforeManifest?: (manifest: CheckpointManifest) => void | Promise<void> } = {};

/**
 * Save a checkpoint; returns its manifest. The tensors' arrays are read while the save runs, so
 * they must not change until the returned promise settles. Ids are never reused: saving under the
 * id of an existing checkpoint throws.
 */
export async function saveCheckpoint(
	draft: CheckpointDraft,
	tensors: TensorData[],
	chunkBytes = 4 * 1024 * 1024,
	/** Chunks written so far of all of them, after each write transaction (the Train screen counts them). */
	onProgress?: (written: number, chunkCount: number) => void
): Promise<CheckpointManifest> {
	const chunkFloats = Math.floor(chunkBytes / 4);
	if (!(chunkFloats >= 1)) throw new RangeError(`chunkBytes must be at least 4, got ${chunkBytes}`);
	const entries = layout(tensors);
	const totalFloats = entries.reduce((sum, entry) => sum + entry.length, 0);
	const manifest: CheckpointManifest = {
		...draft,
		tensors: entries,
		chunkCount: Math.ceil(totalFloats / chunkFloats),
		bytes: totalFloats * 4
	};
	saving.add(manifest.id);
	try {
		await clearStrayChunks(manifest.id);
		try {
			await writeChunks(manifest, tensors, chunkFloats, onProgress);
			await checkpointHooks.beforeManifest?.(manifest);
			await writeManifest(manifest);
		} catch (e) {
			await deleteChunks(manifest.id).catch(() => {}); // best effort; the sweep removes what is left
			throw storageError(e, `the checkpoint at step ${manifest.step} (${formatBytes(manifest.bytes)} needed)`, 'resume the run: it continues from its last saved checkpoint');
		}
	} finally {
		saving.delete(manifest.id);
	}
	return manifest;
}

async function writeChunks(manifest: CheckpointManifest, tensors: TensorData[], chunkFloats: number, onProgress?: (written: number, chunkCount: number) => void): Promise<void> {
	const totalFloats = manifest.bytes / 4;
	const perTransaction = Math.max(1, Math.floor(BYTES_PER_TRANSACTION / (chunkFloats * 4)));
	for (let first = 0; first < manifest.chunkCount; first += perTransaction) {
		const last = Math.min(first + perTransaction, manifest.chunkCount);
		await write(['checkpointChunks'], async (tx) => {
			const chunks = tx.objectStore('checkpointChunks');
			for (let index = first; index < last; index++) {
				const start = index * chunkFloats;
				const data = gather(tensors, manifest.tensors, start, Math.min(start + chunkFloats, totalFloats));
				await chunks.put({ checkpointId: manifest.id, index, data });
			}
		});
		onProgress?.(last, manifest.chunkCount);
	}
}

/** The commit point of a save: strict, so once it resolves the checkpoint survives a crash. */
async function writeManifest(manifest: CheckpointManifest): Promise<void> {
	await write(
		['checkpoints', 'checkpointChunks'],
		async (tx) => {
			// Another thread's sweep may have taken chunks meanwhile; a manifest must never point at
			// missing data.
			const present = await tx.objectStore('checkpointChunks').count(ownedBy(manifest.id));
			if (present !== manifest.chunkCount)
				throw new Error(`Checkpoint ${manifest.id}: only ${present} of ${manifest.chunkCount} chunks were stored; not saved.`);
			await tx.objectStore('checkpoints').put(manifest);
		},
		{ durability: 'strict' }
	);
}

/** Throws if `id` is a saved checkpoint; drops chunks left by an earlier failed save of `id`. */
async function clearStrayChunks(id: string): Promise<void> {
	await write(['checkpoints', 'checkpointChunks'], async (tx) => {
		if ((await tx.objectStore('checkpoints').count(id)) > 0)
			throw new Error(`Checkpoint ${id} already exists; checkpoints are immutable, save under a new id.`);
		await tx.objectStore('checkpointChunks').delete(ownedBy(id));
	});
}

/** Where each tensor sits in the concatenation of all floats, in the order given. */
function layout(tensors: TensorData[]): TensorEntry[] {
	const names = new Set<string>();
	let offset = 0;
	return tensors.map(({ name, shape, data }) => {
		if (names.has(name)) throw new Error(`Tensor "${name}" appears twice in one checkpoint.`);
		names.add(name);
		const size = shape.reduce((n, d) => n * d, 1);
		if (size !== data.length)
			throw new Error(`Tensor "${name}" has shape [${shape.join(', ')}] (${size} values) but ${data.length} values.`);
		const entry: TensorEntry = { name, shape: [...shape], dtype: 'float32', offset, length: data.length };
		offset += data.length;
		return entry;
	});
}

/** Floats [start, end) of the concatenation, copied into a buffer of exactly that length. */
function gather(tensors: TensorData[], entries: TensorEntry[], start: number, end: number): ArrayBuffer {
	const out = new Float32Array(end - start);
	entries.forEach((entry, t) => {
		const from = Math.max(start, entry.offset);
		const to = Math.min(end, entry.offset + entry.length);
		if (from < to) out.set(tensors[t].data.subarray(from - entry.offset, to - entry.offset), from - start);
	});
	return out.buffer;
}

/** The inverse of `gather`: copy floats that start at `start` into the tensors they belong to. */
function scatter(floats: Float32Array, start: number, entries: TensorEntry[], out: Float32Array[]): void {
	const end = start + floats.length;
	entries.forEach((entry, t) => {
		const from = Math.max(start, entry.offset);
		const to = Math.min(end, entry.offset + entry.length);
		if (from < to) out[t].set(floats.subarray(from - start, to - start), from - entry.offset);
	});
}

/** A saved checkpoint's manifest and tensors, by name. */
export async function loadCheckpoint(
	id: string
): Promise<{ manifest: CheckpointManifest; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
	// One transaction, so a delete from another thread cannot remove chunks halfway through.
	const tx = (await openDb()).transaction(['checkpoints', 'checkpointChunks']);
	const manifest = await tx.objectStore('checkpoints').get(id);
	if (!manifest)
		throw new UserError('not-found', `Checkpoint ${id} is not stored (it was deleted or never finished saving). Pick another checkpoint.`);
	const damaged = (why: string) => new Error(`Checkpoint ${id} is damaged: ${why}. Resume from another checkpoint.`);
	const totalFloats = manifest.bytes / 4;
	if (!Number.isInteger(totalFloats)) throw damaged(`its size, ${manifest.bytes} bytes, is not whole float32 values`);
	for (const entry of manifest.tensors)
		if (entry.offset < 0 || entry.offset + entry.length > totalFloats)
			throw damaged(`tensor "${entry.name}" lies outside its ${manifest.bytes} bytes`);

	// Chunks are copied into the tensors one at a time, so peak memory is the model plus one chunk.
	const data = manifest.tensors.map((entry) => new Float32Array(entry.length));
	const chunks = tx.objectStore('checkpointChunks');
	let position = 0;
	for (let index = 0; index < manifest.chunkCount; index++) {
		const chunk = await chunks.get([id, index]);
		if (!chunk) throw damaged(`chunk ${index + 1} of ${manifest.chunkCount} is missing`);
		if (chunk.data.byteLength % 4 !== 0 || position + chunk.data.byteLength / 4 > totalFloats)
			throw damaged(`chunk ${index + 1} of ${manifest.chunkCount} does not fit the ${manifest.bytes} bytes the manifest lists`);
		const floats = new Float32Array(chunk.data);
		scatter(floats, position, manifest.tensors, data);
		position += floats.length;
	}
	if (position !== totalFloats) throw damaged(`its chunks hold ${position * 4} bytes, the manifest lists ${manifest.bytes}`);

	const tensors = new Map(manifest.tensors.map((entry, t) => [entry.name, { shape: [...entry.shape], data: data[t] }]));
	return { manifest: withNormalConfig(manifest), tensors };
}

/** A run's checkpoints, oldest step first. */
export async function listCheckpoints(runId: string): Promise<CheckpointManifest[]> {
	const manifests = await (await openDb()).getAllFromIndex('checkpoints', 'byRun', runId);
	return manifests.map(withNormalConfig).sort((a, b) => a.step - b.step || a.createdAt - b.createdAt);
}

/** The checkpoint with the highest step, if the run has any. */
export async function latestCheckpoint(runId: string): Promise<CheckpointManifest | undefined> {
	return (await listCheckpoints(runId)).at(-1);
}

/**
 * Copy a saved checkpoint to `runId` under a new id (a branch starts from it): chunks first, a
 * batch per transaction, then the manifest in a strict transaction, as a save does. A copy that
 * fails partway leaves the source as it was and no manifest; its chunks are removed (or swept).
 */
export async function copyCheckpoint(id: string, runId: string): Promise<CheckpointManifest> {
	const source = await (await openDb()).get('checkpoints', id);
	if (!source) throw new UserError('not-found', `Checkpoint ${id} is not stored (it was deleted or pruned). Pick another checkpoint.`);
	const copy: CheckpointManifest = {
		...source,
		id: newId('ckpt_'),
		runId,
		createdAt: Date.now(),
		tensors: source.tensors.map((entry) => ({ ...entry, shape: [...entry.shape] }))
	};
	saving.add(copy.id);
	try {
		await copyChunks(source, copy.id);
		await writeManifest(copy);
	} catch (e) {
		await deleteChunks(copy.id).catch(() => {}); // best effort; the sweep removes what is left
		throw storageError(e, 'the copy of the checkpoint');
	} finally {
		saving.delete(copy.id);
	}
	return copy;
}

async function copyChunks(source: CheckpointManifest, to: string): Promise<void> {
	const chunkBytes = Math.max(4, Math.ceil(source.bytes / Math.max(1, source.chunkCount)));
	const perTransaction = Math.max(1, Math.floor(BYTES_PER_TRANSACTION / chunkBytes));
	for (let first = 0; first < source.chunkCount; first += perTransaction) {
		const last = Math.min(first + perTransaction, source.chunkCount);
		await write(['checkpoints', 'checkpointChunks'], async (tx) => {
			// Read and write in one transaction, so a prune from another thread cannot take the
			// source's chunks between the two.
			if ((await tx.objectStore('checkpoints').count(source.id)) === 0)
				throw new UserError('not-found', `Checkpoint ${source.id} was deleted while it was being copied. Pick another checkpoint.`);
			const chunks = tx.objectStore('checkpointChunks');
			for (let index = first; index < last; index++) {
				const chunk = await chunks.get([source.id, index]);
				if (!chunk) throw new Error(`Checkpoint ${source.id} is damaged: chunk ${index + 1} of ${source.chunkCount} is missing. Copy another checkpoint.`);
				await chunks.put({ checkpointId: to, index, data: chunk.data });
			}
		});
	}
}

/** Manifest first, so a failure partway leaves orphan chunks for the sweep, not a broken checkpoint. */
export async function deleteCheckpoint(id: string): Promise<void> {
	await write(['checkpoints'], (tx) => tx.objectStore('checkpoints').delete(id));
	await deleteChunks(id);
}

async function deleteChunks(id: string): Promise<void> {
	await write(['checkpointChunks'], (tx) => tx.objectStore('checkpointChunks').delete(ownedBy(id)));
}

/**
 * Delete a run's checkpoints older than its newest `keep`, except those in `protect` (the best
 * one, the one a run was resumed from). Returns the ids deleted.
 */
export async function pruneCheckpoints(runId: string, keep: number, protect: string[] = []): Promise<string[]> {
	const manifests = await listCheckpoints(runId);
	const older = manifests.slice(0, Math.max(0, manifests.length - Math.max(0, keep)));
	const protectedIds = new Set(protect);
	const doomed = older.filter((manifest) => !protectedIds.has(manifest.id)).map((manifest) => manifest.id);
	for (const id of doomed) await deleteCheckpoint(id);
	return doomed;
}

/**
 * Delete chunks that belong to no manifest (left by a save that crashed or failed); returns how
 * many were deleted. Only checkpoints being saved by this thread are spared, so run it when no
 * other tab or worker is saving one (for example at start-up, before training resumes).
 */
export async function sweepOrphanChunks(): Promise<number> {
	return write(['checkpoints', 'checkpointChunks'], async (tx) => {
		const live = new Set(await tx.objectStore('checkpoints').getAllKeys());
		const chunks = tx.objectStore('checkpointChunks');
		let deleted = 0;
		// Walk keys only, one checkpoint at a time: jump over a live one, drop an orphan whole.
		let cursor = await chunks.openKeyCursor();
		while (cursor) {
			const [checkpointId] = cursor.key;
			if (!live.has(checkpointId) && !saving.has(checkpointId)) {
				deleted += await chunks.count(ownedBy(checkpointId));
				await chunks.delete(ownedBy(checkpointId));
			}
			cursor = await cursor.continue([checkpointId, Infinity]);
		}
		return deleted;
	});
}
