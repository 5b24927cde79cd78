/**
 * Datasets from the Hugging Face Hub, read as Parquet with HTTP range requests: only the footers
 * to preview (columns, row counts, the first rows), then only the chosen columns of the row groups
 * the row limit reaches. Two sources, as the Hub itself offers them:
 *
 * - the Hub's Parquet conversion, the `refs/convert/parquet` revision, laid out as
 *   `{config}/{split}/NNNN.parquet` (`{config}/partial-{split}/…` when only the first rows of a
 *   large split were converted); what `datasets.load_dataset(..., revision="refs/convert/parquet")`
 *   and the dataset viewer read;
 * - else the repo's own Parquet files on `main` (a dataset pushed with `push_to_hub`), grouped into
 *   splits by the file-name patterns `datasets` uses (`data/train-00000-of-00001.parquet`).
 *
 * The file list and the commit come from `GET /api/datasets/{id}/revision/{rev}?blobs=true` (the
 * call huggingface_hub's `dataset_info` makes); bytes from `GET /datasets/{id}/resolve/{sha}/{path}`
 * with a Range header, pinned to the commit so a version's source is exactly reproducible. A
 * `ClassLabel` column (an int64 with its names in the `huggingface` key-value metadata that
 * `datasets` writes) is read as its names. Errors are the model download's (engine/io/hub.ts):
 * missing, gated (401/403, with what to do), offline, cancelled.
 *
 * Runs in the data worker and in Node: plain fetch, no storage; rows become the importer's table
 * as a Parquet file of string columns (`rowsAsParquet`), so they take the file import's path.
 */
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { UserError } from '../shared/errors';
import type { HubSettings } from '../shared/hub';
import type { HubDatasetSource } from '../shared/types';
import { cellText } from './parquet';

export const CONVERTED_REVISION = 'refs/convert/parquet';
/** Rows read when the user sets no limit. */
export const DEFAULT_ROW_LIMIT = 10_000;
/** Rows shown before importing. */
export const PREVIEW_ROWS = 20;
/** The first read of a file's end: a converted file's footer is a few kB; a larger one costs one more request. */
const FOOTER_BYTES = 16 * 1024;
/** Footers read at once while previewing a split of many files. */
const PARALLEL_FOOTERS = 4;

export interface HubDatasetFile {
	/** Path in the repo at `sha`. */
	path: string;
	bytes?: number;
}

export interface HubDatasetSplit {
	config: string;
	split: string;
	files: HubDatasetFile[];
	/** Only the first rows of a large split were converted (`partial-{split}`). */
	partial: boolean;
}

export interface HubDatasetListing {
	dataset: string;
	/** 'converted': the Hub's Parquet conversion; 'own': the repo's Parquet files on main. */
	origin: 'converted' | 'own';
	/** The revision asked for, and the commit it was at: every file is read at that commit. */
	revision: string;
	sha: string;
	gated: boolean;
	splits: HubDatasetSplit[];
}

export interface HubColumn {
	name: string;
	/** The Parquet type in words ('string', 'int64', 'list', 'ClassLabel (4 names)'…). */
	type: string;
}

export interface HubSplitPreview {
	config: string;
	split: string;
	columns: HubColumn[];
	/** From the footers: every row of every file of the split. */
	totalRows: number;
	/** Bytes of the split's files. */
	totalBytes: number;
	/** The first PREVIEW_ROWS rows, every value as the importer's text. */
	rows: Record<string, string>[];
	/** Bytes fetched to preview (footers and the first rows). */
	bytesFetched: number;
}

export interface HubReadOptions {
	/** Columns to read; default all. */
	columns?: string[];
	/** Read at most this many rows (from the first file on); default DEFAULT_ROW_LIMIT. */
	limit?: number;
	signal?: AbortSignal;
	onProgress?: (p: HubReadProgress) => void;
}

export interface HubReadProgress {
	rows: number;
	/** Rows that will be read: the limit, or the split's rows when fewer. */
	totalRows: number;
	bytesFetched: number;
	/** Bytes of the chosen columns in the row groups the read reaches, from the footers. */
	totalBytes: number;
}

export interface HubReadResult {
	columns: string[];
	/** Each row's values as the importer's text (`cellText`; ClassLabel ints as their names). */
	rows: Record<string, string>[];
	source: HubDatasetSource;
	bytesFetched: number;
}

// ─── Errors ─────────────────────────────────────────────────────────────────────────────────

const DATASET_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

function endpointOf(settings: HubSettings): string {
	return settings.endpoint.replace(/\/+$/, '');
}

function cancelled(): UserError {
	return new UserError('cancelled', 'Reading the dataset was cancelled; nothing was stored.');
}

function fetchFailure(e: unknown, settings: HubSettings, signal?: AbortSignal | null): Error {
	if (signal?.aborted || (e as Error)?.name === 'AbortError') return cancelled();
	if (e instanceof TypeError)
		return new UserError(
			'network',
			`Could not reach the Hub at ${endpointOf(settings)} (${e.message}). Check the internet connection and try again; datasets already imported are kept.`
		);
	return e instanceof Error ? e : new Error(String(e));
}

async function httpError(res: Response, settings: HubSettings, dataset: string, what?: string): Promise<Error> {
	const body = await res.text().catch(() => '');
	const code = res.headers.get('x-error-code') ?? '';
	const page = `${endpointOf(settings)}/datasets/${dataset}`;
	const repoMissing = code === 'RepoNotFound' || /repository not found/i.test(body);
	if (res.status === 404 || (res.status === 401 && repoMissing)) {
		if (code === 'RevisionNotFound' || /invalid rev/i.test(body)) return new MissingRevision('not-found', `${dataset} has no revision ${what ?? ''}.`);
		if (what && !repoMissing) return new UserError('not-found', `${dataset} has no file ${what}. Look the dataset up again: its files may have changed.`);
		return new UserError(
			'not-found',
			`No dataset "${dataset}" on the Hub. Check the id: owner/name as on the dataset's page, e.g. 'stanfordnlp/imdb'. ` +
				`A private dataset looks like this too without an access token: add one in Settings.`
		);
	}
	if (res.status === 401)
		return new UserError(
			'unauthorized',
			settings.token
				? `The Hub did not accept your access token for ${dataset}. Check in Settings that it is valid and has read access to this dataset.`
				: `${dataset} is gated or private: accept its conditions on ${page} while signed in, then add a Hugging Face access token with read access in Settings (create one at https://huggingface.co/settings/tokens).`
		);
	if (res.status === 403)
		return new UserError('unauthorized', `${dataset} is gated: accept its conditions on ${page} while signed in, then retry with an access token of that account (Settings).`);
	if (res.status === 429) return new UserError('network', 'The Hub is limiting requests from this address. Wait a minute and retry; an access token raises the limit.');
	return new UserError('network', `The Hub answered ${res.status} ${res.statusText} for ${what ?? dataset}. Try again later.`);
}

async function hubFetch(url: string, settings: HubSettings, dataset: string, init: RequestInit & { what?: string } = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	if (settings.token) headers.set('Authorization', `Bearer ${settings.token}`);
	let res: Response;
	try {
		res = await fetch(url, { ...init, headers });
	} catch (e) {
		throw fetchFailure(e, settings, init.signal);
	}
	if (res.ok) return res;
	throw await httpError(res, settings, dataset, init.what);
}

/** A revision the repo does not have (the Parquet conversion, for one): the listing then reads main. */
class MissingRevision extends UserError {}

function checkId(dataset: string): void {
	if (!DATASET_ID.test(dataset) || dataset.includes('--') || dataset.includes('..') || dataset.length > 96)
		throw new UserError('not-found', `"${dataset}" is not a Hub dataset id. Write it as owner/name, e.g. 'stanfordnlp/imdb'.`);
}

// ─── Search and listing ─────────────────────────────────────────────────────────────────────

/** Dataset ids matching `query` (the Hub's search: a part of the id). */
export async function searchHubDatasets(query: string, settings: HubSettings, signal?: AbortSignal, limit = 8): Promise<string[]> {
	const q = query.trim();
	if (q.length < 2) return [];
	const url = `${endpointOf(settings)}/api/datasets?search=${encodeURIComponent(q)}&limit=${limit}`;
	const res = await hubFetch(url, settings, q, { signal });
	const list = (await res.json().catch(() => null)) as { id?: unknown }[] | null;
	return Array.isArray(list) ? list.map((d) => d.id).filter((id): id is string => typeof id === 'string') : [];
}

interface RevisionInfo {
	sha: string;
	gated: boolean;
	files: HubDatasetFile[];
}

async function revisionInfo(dataset: string, revision: string, settings: HubSettings, signal?: AbortSignal): Promise<RevisionInfo> {
	const url = `${endpointOf(settings)}/api/datasets/${dataset}/revision/${encodeURIComponent(revision)}?blobs=true`;
	const res = await hubFetch(url, settings, dataset, { signal, what: revision });
	const info = (await res.json().catch(() => null)) as { sha?: unknown; gated?: unknown; siblings?: { rfilename: string; size?: number; lfs?: { size?: number } }[] } | null;
	if (!info || typeof info.sha !== 'string' || !Array.isArray(info.siblings))
		throw new UserError('network', `The Hub at ${endpointOf(settings)} gave an unexpected answer for ${dataset}; check the endpoint in Settings.`);
	return { sha: info.sha, gated: Boolean(info.gated), files: info.siblings.map((s) => ({ path: s.rfilename, bytes: s.size ?? s.lfs?.size })) };
}

const SPLIT_NAMES = ['train', 'validation', 'valid', 'dev', 'test', 'eval'];

/**
 * A repo's own Parquet file's config and split, by the patterns `datasets` reads: a split in the
 * file name (`train-00000-of-00001.parquet`, `test.parquet`) or a folder (`train/…`); a first
 * folder other than `data` and a split names the config. Anything else is the train split.
 */
export function ownSplitOf(path: string): { config: string; split: string } {
	const parts = path.split('/');
	const file = parts[parts.length - 1].toLowerCase();
	const dirs = parts.slice(0, -1);
	const split = SPLIT_NAMES.find((s) => new RegExp(`^${s}([-_.]|$)`).test(file)) ?? dirs.map((d) => d.toLowerCase()).find((d) => SPLIT_NAMES.includes(d)) ?? 'train';
	const config = dirs.length && dirs[0] !== 'data' && !SPLIT_NAMES.includes(dirs[0].toLowerCase()) ? dirs[0] : 'default';
	return { config, split };
}

function groupSplits(files: HubDatasetFile[], origin: 'converted' | 'own'): HubDatasetSplit[] {
	const bySplit = new Map<string, HubDatasetSplit>();
	for (const f of files) {
		if (!f.path.endsWith('.parquet')) continue;
		let config: string;
		let split: string;
		let partial = false;
		if (origin === 'converted') {
			const parts = f.path.split('/');
			if (parts.length !== 3) continue;
			[config, split] = parts;
			if (split.startsWith('partial-')) [split, partial] = [split.slice('partial-'.length), true];
		} else ({ config, split } = ownSplitOf(f.path));
		const key = `${config}\u0000${split}`;
		const s = bySplit.get(key) ?? { config, split, files: [], partial };
		s.files.push(f);
		bySplit.set(key, s);
	}
	const order = (s: string) => (SPLIT_NAMES.indexOf(s) + 1 || 99);
	const out = [...bySplit.values()];
	for (const s of out) s.files.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
	return out.sort((a, b) => (a.config === b.config ? order(a.split) - order(b.split) || a.split.localeCompare(b.split) : a.config === 'default' ? -1 : b.config === 'default' ? 1 : a.config.localeCompare(b.config)));
}

/**
 * A dataset's Parquet files by config and split: the Hub's conversion when it has one, else the
 * repo's own Parquet files. A gated dataset without a token is refused here, before any choice.
 */
export async function listHubDataset(dataset: string, settings: HubSettings, signal?: AbortSignal): Promise<HubDatasetListing> {
	const id = dataset.trim();
	checkId(id);
	let origin: 'converted' | 'own' = 'converted';
	let revision = CONVERTED_REVISION;
	let info: RevisionInfo;
	try {
		info = await revisionInfo(id, revision, settings, signal);
	} catch (e) {
		// No conversion (yet, or ever, for some formats): the repo's own files may be Parquet.
		if (!(e instanceof MissingRevision)) throw e;
		[origin, revision] = ['own', 'main'];
		info = await revisionInfo(id, revision, settings, signal);
	}
	if (info.gated && !settings.token)
		throw new UserError(
			'unauthorized',
			`${id} is gated: accept its conditions on ${endpointOf(settings)}/datasets/${id} while signed in, then add an access token with read access in Settings.`
		);
	const splits = groupSplits(info.files, origin);
	if (!splits.length)
		throw new UserError(
			'not-found',
			`${id} has no Parquet files: the Hub has not converted it and its own files are in another format. Download them from ${endpointOf(settings)}/datasets/${id} and import them as a file.`
		);
	return { dataset: id, origin, revision, sha: info.sha, gated: info.gated, splits };
}

function findSplit(listing: HubDatasetListing, config: string, split: string): HubDatasetSplit {
	const s = listing.splits.find((x) => x.config === config && x.split === split);
	if (!s) throw new UserError('not-found', `${listing.dataset} has no split "${split}" in config "${config}". Pick one from the list.`);
	return s;
}

// ─── Range reads ────────────────────────────────────────────────────────────────────────────

function fileUrl(settings: HubSettings, dataset: string, sha: string, path: string): string {
	return `${endpointOf(settings)}/datasets/${dataset}/resolve/${encodeURIComponent(sha)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Bytes fetched so far, shared by the files of one read. */
interface Counter {
	bytes: number;
}

/**
 * A remote file as hyparquet's AsyncBuffer: each slice is one range request. A server that ignores
 * Range answers 200 with the whole file; then that body serves every later slice.
 */
function rangeBuffer(url: string, byteLength: number, settings: HubSettings, dataset: string, path: string, counter: Counter, signal?: AbortSignal): AsyncBuffer {
	let whole: Promise<ArrayBuffer> | undefined;
	return {
		byteLength,
		async slice(start: number, end?: number): Promise<ArrayBuffer> {
			if (signal?.aborted) throw cancelled();
			const last = (end ?? byteLength) - 1;
			if (whole) return (await whole).slice(start, last + 1);
			const res = await hubFetch(url, settings, dataset, { signal, what: path, headers: { Range: `bytes=${start}-${last}` } });
			try {
				if (res.status === 206) {
					const buf = await res.arrayBuffer();
					counter.bytes += buf.byteLength;
					return buf;
				}
				whole = res.arrayBuffer().then((b) => ((counter.bytes += b.byteLength), b));
				return (await whole).slice(start, last + 1);
			} catch (e) {
				throw fetchFailure(e, settings, signal);
			}
		}
	};
}

/** The size of a file the listing gave none for: one HEAD request. */
async function sizeOf(url: string, settings: HubSettings, dataset: string, path: string, signal?: AbortSignal): Promise<number> {
	const res = await hubFetch(url, settings, dataset, { method: 'HEAD', signal, what: path });
	const n = Number(res.headers.get('content-length'));
	if (!Number.isFinite(n) || n <= 0) throw new UserError('network', `The Hub gave no size for ${path} of ${dataset}. Try again later.`);
	return n;
}

interface OpenFile {
	path: string;
	buffer: AsyncBuffer;
	metadata: FileMetaData;
}

async function openFile(listing: HubDatasetListing, file: HubDatasetFile, settings: HubSettings, counter: Counter, signal?: AbortSignal): Promise<OpenFile> {
	const url = fileUrl(settings, listing.dataset, listing.sha, file.path);
	const size = file.bytes ?? (await sizeOf(url, settings, listing.dataset, file.path, signal));
	const buffer = rangeBuffer(url, size, settings, listing.dataset, file.path, counter, signal);
	try {
		return { path: file.path, buffer, metadata: await parquetMetadataAsync(buffer, { initialFetchSize: Math.min(FOOTER_BYTES, size) }) };
	} catch (e) {
		throw unreadable(e, listing, file.path);
	}
}

function unreadable(e: unknown, listing: HubDatasetListing, path: string): Error {
	if (e instanceof UserError || (e as Error)?.name === 'UserError') return e as Error;
	return new UserError('parse-error', `${path} of ${listing.dataset} could not be read as Parquet (${(e as Error)?.message ?? e}). Pick another split or config, or download the file and import it.`);
}

async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
	const out: R[] = [];
	for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
	return out;
}

// ─── Columns and values ─────────────────────────────────────────────────────────────────────

/** ClassLabel names per column, from the `huggingface` key-value metadata `datasets` writes. */
export function classLabels(metadata: FileMetaData): Record<string, string[]> {
	const raw = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value;
	const out: Record<string, string[]> = {};
	if (!raw) return out;
	try {
		const features = (JSON.parse(raw) as { info?: { features?: Record<string, { _type?: string; names?: unknown }> } }).info?.features ?? {};
		for (const [name, f] of Object.entries(features))
			if (f?._type === 'ClassLabel' && Array.isArray(f.names) && f.names.every((n) => typeof n === 'string')) out[name] = f.names as string[];
	} catch {
		/* metadata of another writer: the ints stay ints */
	}
	return out;
}

function columnsOf(metadata: FileMetaData): HubColumn[] {
	const labels = classLabels(metadata);
	return parquetSchema(metadata).children.map((c) => {
		const e = c.element;
		const type = labels[e.name]
			? `ClassLabel (${labels[e.name].length} names)`
			: c.children.length
				? e.converted_type === 'LIST' || e.logical_type?.type === 'LIST'
					? 'list'
					: 'struct'
				: e.converted_type === 'UTF8' || e.logical_type?.type === 'STRING'
					? 'string'
					: (e.type ?? 'group').toLowerCase();
		return { name: e.name, type };
	});
}

/** A value as the importer's text; a ClassLabel int as its name (-1, "no label", as empty). */
function valueText(v: unknown, names: string[] | undefined): string {
	if (names && (typeof v === 'number' || typeof v === 'bigint')) {
		const i = Number(v);
		return Number.isInteger(i) && i >= 0 && i < names.length ? names[i] : '';
	}
	return cellText(v);
}

function textRow(row: Record<string, unknown>, columns: string[], labels: Record<string, string[]>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const c of columns) Object.defineProperty(out, c, { value: valueText(row[c], labels[c]), enumerable: true, writable: true, configurable: true });
	return out;
}

// ─── Preview and read ───────────────────────────────────────────────────────────────────────

/** Columns, total rows (from every file's footer) and the first rows of one config's split. */
export async function previewHubSplit(listing: HubDatasetListing, config: string, split: string, settings: HubSettings, signal?: AbortSignal): Promise<HubSplitPreview> {
	const s = findSplit(listing, config, split);
	const counter: Counter = { bytes: 0 };
	const files = await inBatches(s.files, PARALLEL_FOOTERS, (f) => openFile(listing, f, settings, counter, signal));
	const first = files[0];
	const columns = columnsOf(first.metadata);
	const names = columns.map((c) => c.name);
	const labels = classLabels(first.metadata);
	let rows: Record<string, unknown>[];
	try {
		rows = await parquetReadObjects({ file: first.buffer, metadata: first.metadata, rowStart: 0, rowEnd: Math.min(PREVIEW_ROWS, Number(first.metadata.num_rows)), compressors, useOffsetIndex: true });
	} catch (e) {
		throw unreadable(e, listing, first.path);
	}
	return {
		config,
		split,
		columns,
		totalRows: files.reduce((n, f) => n + Number(f.metadata.num_rows), 0),
		totalBytes: s.files.reduce((n, f, i) => n + (f.bytes ?? files[i].buffer.byteLength), 0),
		rows: rows.map((r) => textRow(r, names, labels)),
		bytesFetched: counter.bytes
	};
}

/** Bytes of `columns` in the row groups that rows [0, rows) of this file reach. */
function plannedBytes(metadata: FileMetaData, columns: string[], rows: number): number {
	let bytes = 0;
	let start = 0;
	for (const g of metadata.row_groups) {
		if (start >= rows) break;
		for (const c of g.columns) if (c.meta_data && columns.includes(c.meta_data.path_in_schema[0])) bytes += Number(c.meta_data.total_compressed_size);
		start += Number(g.num_rows);
	}
	return bytes;
}

/**
 * The first `limit` rows of a split, only the chosen columns: files in order, a row group at a
 * time (so progress is told and Cancel is heard between groups), each through range requests
 * for just those column chunks. Nothing is stored; the caller imports the result.
 */
export async function readHubRows(listing: HubDatasetListing, config: string, split: string, settings: HubSettings, opts: HubReadOptions = {}): Promise<HubReadResult> {
	const { signal, onProgress } = opts;
	const s = findSplit(listing, config, split);
	const limit = opts.limit ?? DEFAULT_ROW_LIMIT;
	if (!Number.isInteger(limit) || limit < 1) throw new UserError('invalid-config', `The row limit must be a whole number of rows, at least 1; got ${limit}.`);
	const counter: Counter = { bytes: 0 };
	const rows: Record<string, string>[] = [];
	let columns: string[] | undefined;
	let labels: Record<string, string[]> = {};
	let totalRows = 0;
	let totalBytes = 0;
	const files: string[] = [];
	const report = () => onProgress?.({ rows: rows.length, totalRows, bytesFetched: counter.bytes, totalBytes });

	// Footers first (they are small): the row and byte totals for progress, and the column check.
	const opened: OpenFile[] = [];
	let reach = 0;
	for (const f of s.files) {
		if (reach >= limit) break;
		const file = await openFile(listing, f, settings, counter, signal);
		opened.push(file);
		if (!columns) {
			const all = columnsOf(file.metadata).map((c) => c.name);
			const missing = (opts.columns ?? []).filter((c) => !all.includes(c));
			if (missing.length) throw new UserError('no-text-column', `${listing.dataset} (${config}/${split}) has no column ${missing.map((c) => `"${c}"`).join(', ')}; its columns are ${all.join(', ')}.`);
			columns = opts.columns?.length ? all.filter((c) => opts.columns!.includes(c)) : all;
			labels = classLabels(file.metadata);
		}
		const take = Math.min(limit - reach, Number(file.metadata.num_rows));
		totalBytes += plannedBytes(file.metadata, columns, take);
		reach += take;
	}
	totalRows = reach;
	// The footers count in both, so the bar starts where they left it.
	totalBytes += counter.bytes;
	report();

	for (const file of opened) {
		let start = 0;
		files.push(file.path);
		for (const g of file.metadata.row_groups) {
			const end = start + Number(g.num_rows);
			const want = Math.min(end, start + (limit - rows.length));
			if (want <= start) break;
			if (signal?.aborted) throw cancelled();
			let part: Record<string, unknown>[];
			try {
				part = await parquetReadObjects({ file: file.buffer, metadata: file.metadata, columns, rowStart: start, rowEnd: want, compressors, useOffsetIndex: true });
			} catch (e) {
				throw signal?.aborted ? cancelled() : unreadable(e, listing, file.path);
			}
			for (const r of part) rows.push(textRow(r, columns!, labels));
			report();
			start = end;
		}
		if (rows.length >= limit) break;
	}
	if (signal?.aborted) throw cancelled();
	return {
		columns: columns ?? [],
		rows,
		bytesFetched: counter.bytes,
		source: {
			dataset: listing.dataset,
			config,
			split,
			origin: listing.origin,
			revision: listing.revision,
			sha: listing.sha,
			files,
			columns: columns ?? [],
			rows: rows.length,
			limit,
			totalRows: s.files.length === opened.length ? opened.reduce((n, f) => n + Number(f.metadata.num_rows), 0) : undefined
		}
	};
}

/** The file name a Hub import records: where the rows came from, as huggingface_hub writes a path. */
export function hubFileName(source: HubDatasetSource): string {
	return `hf://datasets/${source.dataset}@${source.sha.slice(0, 8)}/${source.config}/${source.split}`;
}

/** Rows read from the Hub as a Parquet file of string columns: what the file import reads back, value for value. */
export function rowsAsParquet(result: Pick<HubReadResult, 'columns' | 'rows'>): Uint8Array {
	const buf = parquetWriteBuffer({
		columnData: result.columns.map((c) => ({ name: c, data: result.rows.map((r) => r[c]), type: 'STRING' as const })),
		rowGroupSize: 100_000
	});
	return new Uint8Array(buf);
}
