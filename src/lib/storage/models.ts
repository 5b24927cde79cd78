/**
 * The model cache: files downloaded from the Hugging Face Hub, kept so a model loads offline.
 * Weight files run to hundreds of MB, so a file is cut into chunks keyed `[key, index]` and a
 * manifest is written last in a `durability: 'strict'` transaction, as checkpoints are
 * (DESIGN.md, "Storage"): a file exists only once its manifest does, and chunks a failed or
 * cancelled save left behind are swept. Keys are `{repo}@{revision}/{file}` with the revision a
 * commit hash, so a cached file never goes stale.
 */
import { storageError } from '../shared/errors';
import type { ModelRef } from '../shared/hub';
import type { FileCache } from '../engine/io/hub';
import { openDb, type ModelFileRecord } from './db';
import { ownedBy, write } from './tx';

export const MODEL_CHUNK_BYTES = 16 * 1024 * 1024;

/** Chunks per write transaction are capped by bytes, so a large file is not held uncommitted. */
const BYTES_PER_TRANSACTION = 64 * 1024 * 1024;

/** Files this thread is saving right now: the sweep must not take their chunks. */
const saving = new Set<string>();

export function modelFileKey(ref: ModelRef, file: string): string {
	return `${modelPrefix(ref)}${file}`;
}

/** Repo ids cannot contain '@', so this prefix belongs to one repo and revision only. */
function modelPrefix(ref: ModelRef): string {
	return `${ref.repo}@${ref.revision}/`;
}

/** Every manifest key of one cached model. */
function manifestsOf(ref: ModelRef): IDBKeyRange {
	const prefix = modelPrefix(ref);
	return IDBKeyRange.bound(prefix, `${prefix}\uffff`);
}

/** Every chunk key `[key, n]` of one cached model. */
function chunksOf(ref: ModelRef): IDBKeyRange {
	const prefix = modelPrefix(ref);
	return IDBKeyRange.bound([prefix, -Infinity], [`${prefix}\uffff`, Infinity]);
}

/** Store a file (replacing an earlier copy); it exists once the returned promise resolves. */
export async function putModelFile(
	ref: ModelRef,
	file: string,
	bytes: ArrayBuffer | Uint8Array,
	chunkBytes = MODEL_CHUNK_BYTES
): Promise<void> {
	if (!(chunkBytes >= 1)) throw new RangeError(`chunkBytes must be at least 1, got ${chunkBytes}`);
	const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	const key = modelFileKey(ref, file);
	const manifest: ModelFileRecord = {
		key,
		repo: ref.repo,
		revision: ref.revision,
		file,
		size: data.byteLength,
		chunkCount: Math.ceil(data.byteLength / chunkBytes),
		storedAt: Date.now()
	};
	saving.add(key);
	try {
		await write(['models', 'modelChunks'], async (tx) => {
			await tx.objectStore('models').delete(key);
			await tx.objectStore('modelChunks').delete(ownedBy(key));
		});
		const perTransaction = Math.max(1, Math.floor(BYTES_PER_TRANSACTION / chunkBytes));
		for (let first = 0; first < manifest.chunkCount; first += perTransaction) {
			const last = Math.min(first + perTransaction, manifest.chunkCount);
			await write(['modelChunks'], async (tx) => {
				const chunks = tx.objectStore('modelChunks');
				for (let index = first; index < last; index++)
					await chunks.put({ key, index, data: data.slice(index * chunkBytes, (index + 1) * chunkBytes).buffer });
			});
		}
		await write(
			['models', 'modelChunks'],
			async (tx) => {
				// Another thread's sweep may have taken chunks meanwhile; a manifest must never point at missing data.
				const present = await tx.objectStore('modelChunks').count(ownedBy(key));
				if (present !== manifest.chunkCount)
					throw new Error(`${file}: only ${present} of ${manifest.chunkCount} chunks were stored; not saved.`);
				await tx.objectStore('models').put(manifest);
			},
			{ durability: 'strict' }
		);
	} catch (e) {
		await write(['modelChunks'], (tx) => tx.objectStore('modelChunks').delete(ownedBy(key))).catch(() => {});
		throw storageError(e, `${file} of ${ref.repo}`);
	} finally {
		saving.delete(key);
	}
}

/** A cached file's bytes, or undefined when it is not cached. */
export async function getModelFile(ref: ModelRef, file: string): Promise<ArrayBuffer | undefined> {
	// One transaction, so a delete from another thread cannot remove chunks halfway through.
	const tx = (await openDb()).transaction(['models', 'modelChunks']);
	const key = modelFileKey(ref, file);
	const manifest = await tx.objectStore('models').get(key);
	if (!manifest) return undefined;
	const damaged = (why: string) =>
		new Error(`The cached ${file} of ${ref.repo} is damaged (${why}). Delete the model from the cache and download it again.`);
	const out = new Uint8Array(manifest.size);
	const chunks = tx.objectStore('modelChunks');
	let position = 0;
	for (let index = 0; index < manifest.chunkCount; index++) {
		const chunk = await chunks.get([key, index]);
		if (!chunk) throw damaged(`chunk ${index + 1} of ${manifest.chunkCount} is missing`);
		if (position + chunk.data.byteLength > manifest.size) throw damaged(`its chunks hold more than the ${manifest.size} bytes listed`);
		out.set(new Uint8Array(chunk.data), position);
		position += chunk.data.byteLength;
	}
	if (position !== manifest.size) throw damaged(`its chunks hold ${position} bytes, ${manifest.size} are listed`);
	return out.buffer;
}

export async function hasModelFile(ref: ModelRef, file: string): Promise<boolean> {
	return (await (await openDb()).count('models', modelFileKey(ref, file))) > 0;
}

/** The cache as the Hub downloader sees it (engine/io/hub.ts knows nothing of storage). */
export const modelCache: FileCache = { getModelFile, hasModelFile, putModelFile };

export interface CachedModel {
	repo: string;
	revision: string;
	files: string[];
	bytes: number;
	/** When its newest file was stored. */
	storedAt: number;
}

/** Every cached model (repo and commit), newest first. */
export async function listCachedModels(): Promise<CachedModel[]> {
	const models = new Map<string, CachedModel>();
	for (const m of await (await openDb()).getAll('models')) {
		const id = modelPrefix(m);
		const entry = models.get(id) ?? { repo: m.repo, revision: m.revision, files: [], bytes: 0, storedAt: 0 };
		entry.files.push(m.file);
		entry.bytes += m.size;
		entry.storedAt = Math.max(entry.storedAt, m.storedAt);
		models.set(id, entry);
	}
	return [...models.values()].sort((a, b) => b.storedAt - a.storedAt);
}

/** Delete every file of one cached model, manifests with their chunks, in one transaction. */
export async function deleteCachedModel(ref: ModelRef): Promise<void> {
	await write(['models', 'modelChunks'], async (tx) => {
		await tx.objectStore('models').delete(manifestsOf(ref));
		await tx.objectStore('modelChunks').delete(chunksOf(ref));
	});
}

/**
 * Delete chunks that belong to no manifest (left by a download that was cancelled or crashed
 * mid-save); returns how many. Only files this thread is saving are spared, so run it when no
 * other tab or worker is downloading (at start-up).
 */
export async function sweepOrphanModelChunks(): Promise<number> {
	return write(['models', 'modelChunks'], async (tx) => {
		const live = new Set(await tx.objectStore('models').getAllKeys());
		const chunks = tx.objectStore('modelChunks');
		let deleted = 0;
		// Walk keys only, one file at a time: jump over a live one, drop an orphan whole.
		let cursor = await chunks.openKeyCursor();
		while (cursor) {
			const [key] = cursor.key;
			if (!live.has(key) && !saving.has(key)) {
				deleted += await chunks.count(ownedBy(key));
				await chunks.delete(ownedBy(key));
			}
			cursor = await cursor.continue([key, Infinity]);
		}
		return deleted;
	});
}
