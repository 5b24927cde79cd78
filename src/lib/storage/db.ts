/**
 * The studio's one IndexedDB database: its typed schema, the shared connection, and record ids.
 * Works the same in the page and in workers (it touches only `indexedDB`). DESIGN.md, "Storage".
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type {
	CheckpointChunk,
	CheckpointManifest,
	DatasetVersion,
	MetricPoint,
	Project,
	RowChunk,
	Run,
	TokenizedCache,
	TokenizerRecord
} from '../shared/types';
import type { ExperimentRecord } from '../experiments/record';

/**
 * The manifest of a file downloaded from the Hugging Face Hub, kept so a model loads offline the
 * next time. Its bytes are in `modelChunks`; the manifest is written last, so a file without one
 * does not exist (storage/models.ts).
 */
export interface ModelFileRecord {
	/** `{repo}@{revision}/{file}`; the revision is always a commit hash. */
	key: string;
	repo: string;
	revision: string;
	file: string;
	size: number;
	chunkCount: number;
	storedAt: number;
}

/** Bytes [index·chunkBytes, …) of a cached Hub file. */
export interface ModelChunk {
	key: string;
	index: number;
	data: ArrayBuffer;
}

export interface WhetstoneDB extends DBSchema {
	projects: { key: string; value: Project };
	datasets: { key: string; value: DatasetVersion; indexes: { byProject: string } };
	rows: { key: [string, number]; value: RowChunk };
	tokenizers: { key: string; value: TokenizerRecord; indexes: { byVersion: string } };
	tokenized: { key: string; value: TokenizedCache; indexes: { byVersion: string } };
	runs: { key: string; value: Run; indexes: { byProject: string } };
	metrics: { key: [string, number]; value: MetricPoint; indexes: { byRun: string } };
	checkpoints: { key: string; value: CheckpointManifest; indexes: { byRun: string } };
	checkpointChunks: { key: [string, number]; value: CheckpointChunk };
	models: { key: string; value: ModelFileRecord };
	modelChunks: { key: [string, number]; value: ModelChunk };
	/** Hyperparameter studies and cross-validations (src/lib/experiments/record.ts); the page writes them. */
	experiments: { key: string; value: ExperimentRecord; indexes: { byProject: string } };
}

export const DB_VERSION = 4;

let dbName = 'whetstone';
const connections = new Map<string, Promise<IDBPDatabase<WhetstoneDB>>>();

/** Switch to another database (tests use a fresh one each); the current connection is closed. */
export function useDatabase(name: string): void {
	forget(dbName);
	dbName = name;
}

/** The shared connection to the current database, opened (and upgraded) on first use. */
export function openDb(): Promise<IDBPDatabase<WhetstoneDB>> {
	let connection = connections.get(dbName);
	if (!connection) {
		connection = connect(dbName);
		connections.set(dbName, connection);
	}
	return connection;
}

function connect(name: string): Promise<IDBPDatabase<WhetstoneDB>> {
	const connection: Promise<IDBPDatabase<WhetstoneDB>> = openDB<WhetstoneDB>(name, DB_VERSION, {
		upgrade: (db, oldVersion, _newVersion, tx) => migrate(db, oldVersion, tx),
		// Another tab or worker runs a newer version and waits for us: close so it can upgrade;
		// our next openDb() reconnects (and fails loudly if this code is now the older one).
		blocking: () => forget(name, connection),
		// We are the newer version; the upgrade goes on once older tabs close (their `blocking`).
		blocked: () => console.warn(`Whetstone storage: waiting for other tabs to close "${name}" before upgrading it.`),
		// The browser closed the connection under us (storage cleared, disk error): reopen next time.
		terminated: () => forget(name, connection)
	});
	// A failed open must not stay cached, or every later call would fail the same way.
	connection.catch(() => {
		if (connections.get(name) === connection) connections.delete(name);
	});
	return connection;
}

/** Drop the cached connection for `name` (only if it is still `which`, when given) and close it. */
function forget(name: string, which?: Promise<IDBPDatabase<WhetstoneDB>>): void {
	const connection = connections.get(name);
	if (!connection || (which && connection !== which)) return;
	connections.delete(name);
	connection.then((db) => db.close()).catch(() => {});
}

/** One step per schema version, so an old database is brought up to date in order. */
function migrate(db: IDBPDatabase<WhetstoneDB>, oldVersion: number, tx: IDBPTransaction<WhetstoneDB, StoreNames<WhetstoneDB>[], 'versionchange'>): void {
	if (oldVersion < 1) {
		db.createObjectStore('projects', { keyPath: 'id' });
		db.createObjectStore('datasets', { keyPath: 'id' }).createIndex('byProject', 'projectId');
		db.createObjectStore('rows', { keyPath: ['versionId', 'index'] });
		db.createObjectStore('tokenizers', { keyPath: 'hash' });
		db.createObjectStore('tokenized', { keyPath: 'key' }).createIndex('byVersion', 'datasetVersionId');
		db.createObjectStore('runs', { keyPath: 'id' }).createIndex('byProject', 'projectId');
		db.createObjectStore('metrics', { keyPath: ['runId', 'step'] }).createIndex('byRun', 'runId');
		db.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('byRun', 'runId');
		db.createObjectStore('checkpointChunks', { keyPath: ['checkpointId', 'index'] });
		db.createObjectStore('models', { keyPath: 'url' });
	}
	if (oldVersion < 2) {
		// Version 1 kept a Hub file whole in one record; a weight file of hundreds of MB must not be
		// one record. Nothing was ever stored there, so the store is replaced, not converted.
		db.deleteObjectStore('models');
		db.createObjectStore('models', { keyPath: 'key' });
		db.createObjectStore('modelChunks', { keyPath: ['key', 'index'] });
	}
	if (oldVersion < 3 && db.objectStoreNames.contains('tokenizers')) {
		// A trained tokenizer is found again by its dataset version and settings (BPE training is
		// deterministic), so a second run or a Resume does not train it again.
		const store = tx.objectStore('tokenizers');
		if (!store.indexNames.contains('byVersion')) store.createIndex('byVersion', 'datasetVersionId');
	}
	if (oldVersion < 4) {
		// Experiments: a study (its trials, each a run) or a cross-validation (its folds, each a run).
		db.createObjectStore('experiments', { keyPath: 'id' }).createIndex('byProject', 'projectId');
	}
}

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
let lastMs = 0;
let sameMsCount = 0;

/**
 * A new record id: `prefix_` + time + counter + random, e.g. `run_0lx3k9q2a0000h3k2m9zq`.
 * Ids sort by creation time (the counter orders ids made in the same millisecond in this thread);
 * the random tail keeps ids from different tabs and workers apart. `newId('run')` and
 * `newId('run_')` give the same shape.
 */
export function newId(prefix: string): string {
	const ms = Math.max(Date.now(), lastMs); // a clock stepping back must not reorder ids
	sameMsCount = ms === lastMs ? sameMsCount + 1 : 0;
	lastMs = ms;
	const head = prefix === '' || prefix.endsWith('_') ? prefix : `${prefix}_`;
	const random = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => ID_ALPHABET[b % 36]);
	return head + ms.toString(36).padStart(9, '0') + sameMsCount.toString(36).padStart(4, '0') + random.join('');
}
