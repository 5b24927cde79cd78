/**
 * What takes space in the studio's storage, measured from the stored records, for the Storage
 * screen: per project its dataset versions (row chunks, trained tokenizers, tokenized caches) and
 * its runs (checkpoints, metric series); and the models cached from the Hub. A record's size is the
 * bytes of its values as IndexedDB keeps them (typed arrays and chunk buffers by their byteLength,
 * strings by their characters, numbers 8 bytes): the browser's `estimate()` adds the database's own
 * overhead and the space of deleted records it has not compacted yet.
 * Also the two deletions the Storage screen needs that the other modules do not offer: one
 * checkpoint with its run's pointers mended, and the tokenized caches no stored run needs.
 * DESIGN.md, "Storage".
 */
import type { CheckpointManifest, Run, RunStatus, TokenizedCache } from '../shared/types';
import { openDb } from './db';
import { listCachedModels, type CachedModel } from './models';
import { tokenizedKey } from './tokenizers';
import { ownedBy, write } from './tx';

export interface CheckpointUsage {
	id: string;
	step: number;
	createdAt: number;
	/** Its tensors' floats plus its manifest (the trainer state, with this epoch's data order). */
	bytes: number;
	valAccuracy?: number;
	/** The run's best checkpoint: the one Evaluate and the export use by default. */
	best: boolean;
	/** The newest: a paused run resumes from it. */
	latest: boolean;
	/** Saved while the divergence watchdog counted strikes. */
	suspect: boolean;
}

export interface RunUsage {
	id: string;
	name: string;
	status: RunStatus;
	step: number;
	totalSteps: number;
	/** Oldest step first. */
	checkpoints: CheckpointUsage[];
	checkpointBytes: number;
	metricPoints: number;
	metricBytes: number;
	/** The run record, its checkpoints and its metrics. */
	bytes: number;
}

export interface TokenizedUsage {
	key: string;
	bytes: number;
	rows: number;
	/** Names of the runs that train, resume or evaluate from it; a cache no run names can be rebuilt. */
	usedBy: string[];
}

export interface VersionUsage {
	id: string;
	name: string;
	rowCount: number;
	/** The version record and its row chunks. */
	rowBytes: number;
	/** Tokenizers trained on this version (runs need them to read their data). */
	tokenizerBytes: number;
	tokenized: TokenizedUsage[];
	tokenizedBytes: number;
	bytes: number;
}

export interface ProjectUsage {
	id: string;
	name: string;
	/** Newest first. */
	datasets: VersionUsage[];
	/** Newest first. */
	runs: RunUsage[];
	/** Hyperparameter studies and cross-validations (their records; their trials are runs). */
	experimentBytes: number;
	bytes: number;
}

export interface StorageUsage {
	/** Largest first. */
	projects: ProjectUsage[];
	models: CachedModel[];
	totals: { datasets: number; tokenized: number; checkpoints: number; metrics: number; models: number; all: number };
}

/**
 * The bytes of a stored value's contents, walked the way the structured clone keeps it.
 * Strings count one byte a character when every character fits in Latin-1 (V8 stores those as
 * one-byte strings), two otherwise.
 */
export function recordBytes(value: unknown): number {
	if (value === null || value === undefined) return 1;
	switch (typeof value) {
		case 'string':
			return stringBytes(value);
		case 'number':
		case 'bigint':
			return 8;
		case 'boolean':
			return 1;
		case 'object': {
			if (ArrayBuffer.isView(value)) return value.byteLength;
			if (isArrayBuffer(value)) return value.byteLength;
			if (Array.isArray(value)) {
				let n = 0;
				for (const item of value) n += recordBytes(item);
				return n;
			}
			let n = 0;
			for (const [key, item] of Object.entries(value)) n += stringBytes(key) + recordBytes(item);
			return n;
		}
		default:
			return 0;
	}
}

function stringBytes(s: string): number {
	// eslint-disable-next-line no-control-regex
	return /[^\u0000-\u00ff]/.test(s) ? 2 * s.length : s.length;
}

function isArrayBuffer(v: object): v is ArrayBuffer {
	return v instanceof ArrayBuffer || Object.prototype.toString.call(v) === '[object ArrayBuffer]';
}

/** The tokenized cache a run reads its token ids from. */
export function runTokenizedKey(run: Pick<Run, 'tokenizedKey' | 'datasetVersionId' | 'tokenizerHash'>): string | undefined {
	return run.tokenizedKey ?? (run.tokenizerHash ? tokenizedKey(run.datasetVersionId, run.tokenizerHash) : undefined);
}

function tokenizedBytes(cache: TokenizedCache): number {
	return recordBytes(cache);
}

/**
 * Measure everything the studio stores. Reads every record but the tensor and model chunks (their
 * sizes are in their manifests, written after the chunks they count): row chunks are walked one at
 * a time, so a large dataset is never held whole.
 */
export async function measureUsage(): Promise<StorageUsage> {
	const db = await openDb();
	const [projects, versions, runs, manifests, tokenizers, experiments, models] = await Promise.all([
		db.getAll('projects'),
		db.getAll('datasets'),
		db.getAll('runs'),
		db.getAll('checkpoints'),
		db.getAll('tokenizers'),
		db.getAll('experiments'),
		listCachedModels()
	]);

	const rowBytes = new Map<string, number>();
	let rowCursor = await db.transaction('rows').store.openCursor();
	while (rowCursor) {
		const id = rowCursor.value.versionId;
		rowBytes.set(id, (rowBytes.get(id) ?? 0) + recordBytes(rowCursor.value));
		rowCursor = await rowCursor.continue();
	}
	const caches: { key: string; versionId: string; bytes: number; rows: number }[] = [];
	let cacheCursor = await db.transaction('tokenized').store.openCursor();
	while (cacheCursor) {
		const c = cacheCursor.value;
		caches.push({ key: c.key, versionId: c.datasetVersionId, bytes: tokenizedBytes(c), rows: Math.max(0, c.offsets.length - 1) });
		cacheCursor = await cacheCursor.continue();
	}
	const metrics = new Map<string, { points: number; bytes: number }>();
	let metricCursor = await db.transaction('metrics').store.openCursor();
	while (metricCursor) {
		const m = metrics.get(metricCursor.value.runId) ?? { points: 0, bytes: 0 };
		m.points++;
		m.bytes += recordBytes(metricCursor.value);
		metrics.set(metricCursor.value.runId, m);
		metricCursor = await metricCursor.continue();
	}

	const usersOf = new Map<string, string[]>();
	for (const run of runs) {
		const key = runTokenizedKey(run);
		if (key) usersOf.set(key, [...(usersOf.get(key) ?? []), run.name]);
	}
	const manifestsOf = new Map<string, CheckpointManifest[]>();
	for (const m of manifests) manifestsOf.set(m.runId, [...(manifestsOf.get(m.runId) ?? []), m]);

	const totals = { datasets: 0, tokenized: 0, checkpoints: 0, metrics: 0, models: 0, all: 0 };
	const projectUsage: ProjectUsage[] = projects.map((project) => {
		const datasets: VersionUsage[] = versions
			.filter((v) => v.projectId === project.id)
			.sort((a, b) => b.createdAt - a.createdAt)
			.map((v) => {
				const tokenized = caches
					.filter((c) => c.versionId === v.id)
					.map((c) => ({ key: c.key, bytes: c.bytes, rows: c.rows, usedBy: usersOf.get(c.key) ?? [] }));
				const tokenizedSum = sum(tokenized.map((c) => c.bytes));
				const rowsSum = recordBytes(v) + (rowBytes.get(v.id) ?? 0);
				const tokenizerBytes = sum(tokenizers.filter((t) => t.datasetVersionId === v.id).map(recordBytes));
				totals.datasets += rowsSum + tokenizerBytes;
				totals.tokenized += tokenizedSum;
				return { id: v.id, name: v.name, rowCount: v.rowCount, rowBytes: rowsSum, tokenizerBytes, tokenized, tokenizedBytes: tokenizedSum, bytes: rowsSum + tokenizerBytes + tokenizedSum };
			});
		const projectRuns: RunUsage[] = runs
			.filter((r) => r.projectId === project.id)
			.sort((a, b) => b.createdAt - a.createdAt)
			.map((run) => {
				const own = (manifestsOf.get(run.id) ?? []).sort((a, b) => a.step - b.step || a.createdAt - b.createdAt);
				const bestId = run.bestCheckpointId ?? own.filter((m) => m.best).at(-1)?.id;
				const latestId = own.at(-1)?.id;
				const checkpoints = own.map((m) => ({
					id: m.id,
					step: m.step,
					createdAt: m.createdAt,
					bytes: m.bytes + recordBytes(m),
					valAccuracy: m.valAccuracy,
					best: m.id === bestId,
					latest: m.id === latestId,
					suspect: !!m.suspect
				}));
				const checkpointBytes = sum(checkpoints.map((c) => c.bytes));
				const { points, bytes: metricBytes } = metrics.get(run.id) ?? { points: 0, bytes: 0 };
				totals.checkpoints += checkpointBytes;
				totals.metrics += metricBytes;
				return {
					id: run.id,
					name: run.name,
					status: run.status,
					step: run.step,
					totalSteps: run.totalSteps,
					checkpoints,
					checkpointBytes,
					metricPoints: points,
					metricBytes,
					bytes: recordBytes(run) + checkpointBytes + metricBytes
				};
			});
		const experimentBytes = sum(experiments.filter((e) => e.projectId === project.id).map(recordBytes));
		const bytes = recordBytes(project) + sum(datasets.map((d) => d.bytes)) + sum(projectRuns.map((r) => r.bytes)) + experimentBytes;
		return { id: project.id, name: project.name, datasets, runs: projectRuns, experimentBytes, bytes };
	});
	totals.models = sum(models.map((m) => m.bytes));
	totals.all = sum(projectUsage.map((p) => p.bytes)) + totals.models;
	return { projects: projectUsage.sort((a, b) => b.bytes - a.bytes), models, totals };
}

function sum(xs: number[]): number {
	return xs.reduce((a, b) => a + b, 0);
}

/**
 * Delete one checkpoint, its chunks, and mend its run in the same transaction: a run whose latest
 * or best checkpoint it was points at the newest (or the best-scoring) one left, and a run that is
 * not completed says the step it would resume from. The caller asks the user first, and never
 * while the run trains (the engine keeps its own pointers then).
 */
export async function deleteCheckpointOfRun(checkpointId: string): Promise<void> {
	await write(['runs', 'checkpoints', 'checkpointChunks'], async (tx) => {
		const manifests = tx.objectStore('checkpoints');
		const manifest = await manifests.get(checkpointId);
		if (!manifest) return;
		await manifests.delete(checkpointId);
		await tx.objectStore('checkpointChunks').delete(ownedBy(checkpointId));
		const runs = tx.objectStore('runs');
		const run = await runs.get(manifest.runId);
		if (!run) return;
		const left = (await manifests.index('byRun').getAll(run.id)).sort((a, b) => a.step - b.step || a.createdAt - b.createdAt);
		const next: Run = { ...run, updatedAt: Date.now() };
		if (run.lastCheckpointId === checkpointId) next.lastCheckpointId = left.at(-1)?.id;
		if (run.bestCheckpointId === checkpointId) {
			const best = left.filter((m) => m.best && m.valAccuracy !== undefined).sort((a, b) => b.valAccuracy! - a.valAccuracy! || b.step - a.step)[0];
			next.bestCheckpointId = best?.id;
			next.bestValAccuracy = best?.valAccuracy;
		}
		if (run.status !== 'completed' && run.status !== 'running') next.step = left.at(-1)?.step ?? 0;
		await runs.put(next);
	});
}

/**
 * Delete the tokenized caches no stored run reads (a new run tokenizes its data again, in
 * seconds); a run's own cache is kept, since resuming or evaluating it reads the cache. Returns
 * what was deleted and what was kept.
 */
export async function clearUnusedTokenized(): Promise<{ deleted: number; bytes: number; kept: number }> {
	return write(['runs', 'tokenized'], async (tx) => {
		const used = new Set((await tx.objectStore('runs').getAll()).map(runTokenizedKey).filter((k): k is string => !!k));
		const store = tx.objectStore('tokenized');
		const out = { deleted: 0, bytes: 0, kept: 0 };
		let cursor = await store.openCursor();
		while (cursor) {
			if (used.has(cursor.key)) out.kept++;
			else {
				out.deleted++;
				out.bytes += tokenizedBytes(cursor.value);
				await cursor.delete();
			}
			cursor = await cursor.continue();
		}
		return out;
	});
}
