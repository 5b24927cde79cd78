/**
 * Models from the Hugging Face Hub: look at one before downloading it (config.json, the file
 * list, and the safetensors headers through HTTP range requests, so the parameter count and a
 * memory estimate cost a few kB), then download it into a cache with progress. The HTTP API is the
 * one huggingface_hub's `model_info` and `hf_hub_download` use: `GET /api/models/{repo}/revision/
 * {rev}?blobs=true` for the commit hash and file sizes, `GET /{repo}/resolve/{sha}/{file}` for
 * bytes. Downloads are pinned to the commit hash, never a branch, so a run's model is exactly
 * reproducible and a cached file never goes stale.
 *
 * Runs in a Web Worker and in Node: plain fetch, no tfjs, no storage (the cache is passed in).
 */
import { UserError } from '../../shared/errors';
import type { DownloadProgress, HubFile, HubSettings, ModelInspection, ModelRef } from '../../shared/hub';
import { approxBytes, estimateMemory, type BatchShape } from '../../shared/memory';
import { headerLength, readSafetensorsHeader, SafetensorsError, type SafetensorsHeader } from './safetensors';
import type { ShardIndex } from './sharded';

/**
 * The model types engine/models/registry.ts has architectures for. Kept here because the registry
 * imports tfjs and this module must not; a unit test checks the two lists agree.
 */
export const HUB_MODEL_TYPES = ['gpt2', 'llama', 'qwen2', 'bert', 'distilbert', 'roberta', 'gpt_neox', 'mistral', 'gemma', 'phi3'];

/** Where downloaded files are kept; storage/models.ts provides it. */
export interface FileCache {
	hasModelFile(ref: ModelRef, file: string): Promise<boolean>;
	getModelFile(ref: ModelRef, file: string): Promise<ArrayBuffer | undefined>;
	putModelFile(ref: ModelRef, file: string, bytes: ArrayBuffer): Promise<void>;
}

export interface ResolvedRevision {
	/** The commit hash. */
	sha: string;
	files: HubFile[];
	gated: boolean;
	private: boolean;
}

export interface InspectOptions extends Partial<BatchShape> {
	signal?: AbortSignal;
	/** To report whether every file is already cached. */
	cache?: FileCache;
	/** Model types that count as supported; default HUB_MODEL_TYPES. */
	supported?: string[];
	/** Return an inspection with `supported: false` instead of throwing for another model_type. */
	allowUnsupported?: boolean;
}

export interface DownloadOptions {
	signal?: AbortSignal;
	onProgress?: (p: DownloadProgress) => void;
	/** Bytes used and available for this origin; default navigator.storage.estimate() where it exists. */
	quota?: () => Promise<{ usage: number; quota: number } | null>;
}

export interface DownloadResult {
	ref: ModelRef;
	files: string[];
	/** Bytes fetched from the network (0 when everything was cached). */
	networkBytes: number;
}

const SHA = /^[0-9a-f]{40}$/;
const INDEX = 'model.safetensors.index.json';
/** Downloaded beside the weights when the repo has them; config.json is required. */
const SIDE_FILES = [
	'config.json',
	'generation_config.json',
	'tokenizer.json',
	'tokenizer_config.json',
	'special_tokens_map.json',
	'chat_template.jinja'
];
/** Batch shape of the memory estimate when the caller gives none. */
const DEFAULT_SHAPE: BatchShape = { batchSize: 8, seqLen: 256 };
/** Progress events per second, at most (file boundaries always report). */
const PROGRESS_INTERVAL_MS = 100;

// ─── URLs and errors ────────────────────────────────────────────────────────────────────────

export function fileUrl(settings: HubSettings, repo: string, revision: string, file: string): string {
	const path = file.split('/').map(encodeURIComponent).join('/');
	return `${endpointOf(settings)}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

function endpointOf(settings: HubSettings): string {
	return settings.endpoint.replace(/\/+$/, '');
}

/** What a request was for, so an HTTP status becomes a message about it. */
interface Target {
	repo: string;
	revision: string;
	file?: string;
}

async function hubFetch(url: string, settings: HubSettings, target: Target, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	if (settings.token) headers.set('Authorization', `Bearer ${settings.token}`);
	let res: Response;
	try {
		res = await fetch(url, { ...init, headers });
	} catch (e) {
		throw fetchFailure(e, settings, init.signal);
	}
	if (res.ok) return res;
	throw await httpError(res, settings, target);
}

function cancelled(): UserError {
	return new UserError('cancelled', 'Cancelled. Files that finished downloading are kept; nothing half-downloaded was stored.');
}

function fetchFailure(e: unknown, settings: HubSettings, signal?: AbortSignal | null): Error {
	if (signal?.aborted || (e as Error)?.name === 'AbortError') return cancelled();
	if (e instanceof TypeError)
		return new UserError(
			'network',
			`Could not reach the Hub at ${endpointOf(settings)} (${e.message}). Check the internet connection; models already downloaded still load offline.`
		);
	return e instanceof Error ? e : new Error(String(e));
}

async function httpError(res: Response, settings: HubSettings, { repo, revision, file }: Target): Promise<Error> {
	const body = await res.text().catch(() => '');
	const code = res.headers.get('x-error-code') ?? '';
	const page = `${endpointOf(settings)}/${repo}`;
	const repoMissing = code === 'RepoNotFound' || /repository not found/i.test(body);
	if (res.status === 404 || (res.status === 401 && repoMissing)) {
		if (code === 'RevisionNotFound' || /invalid rev/i.test(body))
			return new UserError('not-found', `${repo} has no revision "${revision}". Use 'main', or a branch, tag or commit hash listed on ${page}.`);
		if (file && !repoMissing)
			return new UserError('not-found', `Revision ${revision.slice(0, 8)} of ${repo} has no file ${file}. Pick another revision or model.`);
		return new UserError(
			'not-found',
			`No model "${repo}" on the Hub. Check the id: owner/name as on the model's page, e.g. 'HuggingFaceTB/SmolLM2-135M'. ` +
				`A private repo looks like this too without an access token: add one in Settings.`
		);
	}
	if (res.status === 401)
		return new UserError(
			'unauthorized',
			settings.token
				? `The Hub did not accept your access token for ${repo}. Check in Settings that it is valid and has read access to this repo.`
				: `${repo} is gated or private: add a Hugging Face access token with read access in Settings (create one at https://huggingface.co/settings/tokens).`
		);
	if (res.status === 403)
		return new UserError(
			'unauthorized',
			`${repo} is gated: accept its license on ${page} while signed in, then retry with an access token of that account (Settings).`
		);
	if (res.status === 429)
		return new UserError('network', 'The Hub is limiting requests from this address. Wait a minute and retry; an access token raises the limit.');
	return new UserError('network', `The Hub answered ${res.status} ${res.statusText} for ${file ?? repo}. Try again later.`);
}

// ─── Revisions and small files ──────────────────────────────────────────────────────────────

/** Repo ids as the Hub accepts them: `owner/name` (or a legacy bare `name`), letters, digits, `-_.`. */
const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** The commit hash `revision` (a branch, tag or hash) points at, and the files there. */
export async function resolveRevision(
	repo: string,
	revision: string,
	settings: HubSettings,
	signal?: AbortSignal
): Promise<ResolvedRevision> {
	if (!REPO_ID.test(repo) || repo.includes('--') || repo.includes('..') || repo.length > 96)
		throw new UserError('not-found', `"${repo}" is not a Hub model id. Write it as owner/name, e.g. 'HuggingFaceTB/SmolLM2-135M'.`);
	const url = `${endpointOf(settings)}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
	const res = await hubFetch(url, settings, { repo, revision }, { signal });
	const info = (await res.json().catch(() => null)) as {
		sha?: unknown;
		siblings?: { rfilename: string; size?: number; lfs?: { size?: number } }[];
		gated?: unknown;
		private?: unknown;
	} | null;
	if (!info || typeof info.sha !== 'string' || !SHA.test(info.sha) || !Array.isArray(info.siblings))
		throw new UserError('network', `The Hub at ${endpointOf(settings)} gave an unexpected answer for ${repo}; check the endpoint in Settings.`);
	const gated = Boolean(info.gated);
	if (gated && !settings.token)
		throw new UserError(
			'unauthorized',
			`${repo} is gated: accept its license on ${endpointOf(settings)}/${repo} while signed in, then add an access token with read access in Settings.`
		);
	const files = info.siblings.map((s) => ({ file: s.rfilename, size: s.size ?? s.lfs?.size }));
	return { sha: info.sha, files, gated, private: Boolean(info.private) };
}

async function fetchJson<T>(ref: ModelRef, file: string, settings: HubSettings, signal?: AbortSignal): Promise<T> {
	const res = await hubFetch(fileUrl(settings, ref.repo, ref.revision, file), settings, { ...ref, file }, { signal });
	try {
		return (await res.json()) as T;
	} catch (e) {
		if (!(e instanceof SyntaxError)) throw fetchFailure(e, settings, signal);
		throw new UserError('parse-error', `${file} of ${ref.repo} is not valid JSON (${(e as Error).message}). Pick another revision or model.`);
	}
}

// ─── Range requests and safetensors headers ─────────────────────────────────────────────────

/**
 * Bytes [start, end] of a file, and the file's size when the server says. A server that ignores
 * Range answers 200 with the whole file: read just far enough, then cancel the rest.
 */
async function fetchRange(url: string, start: number, end: number, settings: HubSettings, target: Target, signal?: AbortSignal) {
	const res = await hubFetch(url, settings, target, { signal, headers: { Range: `bytes=${start}-${end}` } });
	try {
		if (res.status === 206) {
			const total = Number(res.headers.get('content-range')?.match(/\/(\d+)$/)?.[1]);
			return { bytes: new Uint8Array(await res.arrayBuffer()), total: Number.isFinite(total) ? total : undefined };
		}
		const total = Number(res.headers.get('content-length') ?? NaN);
		const head = await readPrefix(res, end + 1);
		return { bytes: head.subarray(start), total: Number.isFinite(total) ? total : undefined };
	} catch (e) {
		throw fetchFailure(e, settings, signal);
	}
}

async function readPrefix(res: Response, n: number): Promise<Uint8Array> {
	const out = new Uint8Array(n);
	let have = 0;
	const reader = res.body!.getReader();
	while (have < n) {
		const { done, value } = await reader.read();
		if (done) return out.subarray(0, have);
		const take = Math.min(value.byteLength, n - have);
		out.set(value.subarray(0, take), have);
		have += take;
	}
	await reader.cancel().catch(() => {});
	return out;
}

/** One weight file's header, by two range requests: the 8-byte length, then the JSON. */
async function readRemoteHeader(ref: ModelRef, file: string, settings: HubSettings, signal?: AbortSignal) {
	const url = fileUrl(settings, ref.repo, ref.revision, file);
	const target = { ...ref, file };
	try {
		const first = await fetchRange(url, 0, 7, settings, target, signal);
		const n = headerLength(first.bytes);
		const rest = await fetchRange(url, 8, 8 + n - 1, settings, target, signal);
		const bytes = new Uint8Array(8 + rest.bytes.byteLength);
		bytes.set(first.bytes.subarray(0, 8));
		bytes.set(rest.bytes, 8);
		return { header: readSafetensorsHeader(bytes), size: first.total };
	} catch (e) {
		if (e instanceof SafetensorsError)
			throw new UserError('parse-error', `${file} of ${ref.repo} is not a valid safetensors file: ${e.message} Pick another revision or model.`);
		throw e;
	}
}

// ─── Inspect ────────────────────────────────────────────────────────────────────────────────

/** The safetensors files to download: one, or the shards the index lists. */
async function findWeights(ref: ModelRef, listed: Map<string, HubFile>, settings: HubSettings, signal?: AbortSignal): Promise<string[]> {
	if (listed.has(INDEX)) {
		const index = await fetchJson<ShardIndex>(ref, INDEX, settings, signal);
		if (!index || typeof index.weight_map !== 'object' || index.weight_map === null)
			throw new UserError('parse-error', `${INDEX} of ${ref.repo} has no weight_map. Pick another revision or model.`);
		return [...new Set(Object.values(index.weight_map))].sort();
	}
	if (listed.has('model.safetensors')) return ['model.safetensors'];
	const where = `${ref.repo} (revision ${ref.revision.slice(0, 8)})`;
	if ([...listed.keys()].some((f) => /\.(bin|pt|pth|ckpt|h5|msgpack)$/.test(f)))
		throw new UserError(
			'invalid-config',
			`${where} has its weights only as PyTorch .bin (or other non-safetensors) files. Whetstone reads safetensors only: ` +
				`.bin files are Python pickles, unsafe to open. Pick another model, or a revision with model.safetensors ` +
				`(many repos have an "Adding safetensors variant" pull request, revision refs/pr/N).`
		);
	throw new UserError('not-found', `${where} has no model weights (model.safetensors). Pick another revision or model.`);
}

/** Config, files, parameter count and memory estimate of a model, without downloading its weights. */
export async function inspectModel(
	repo: string,
	revision: string,
	settings: HubSettings,
	opts: InspectOptions = {}
): Promise<ModelInspection> {
	const { signal } = opts;
	const resolved = await resolveRevision(repo, revision, settings, signal);
	const ref = { repo, revision: resolved.sha };
	const listed = new Map(resolved.files.map((f) => [f.file, f]));
	if (!listed.has('config.json'))
		throw new UserError('invalid-config', `${repo} has no config.json, so it is not a transformers model. Pick another model.`);

	const config = await fetchJson<Record<string, unknown>>(ref, 'config.json', settings, signal);
	const modelType = typeof config.model_type === 'string' ? config.model_type : '';
	const supportedTypes = opts.supported ?? HUB_MODEL_TYPES;
	const supported = supportedTypes.includes(modelType);
	if (!supported && !opts.allowUnsupported)
		throw new UserError(
			'invalid-config',
			`${modelType ? `Model type "${modelType}"` : 'A model without a model_type'} (${repo}) is not supported. ` +
				`Supported: ${supportedTypes.join(', ')}; pick a model of one of these types.`
		);

	const weightFiles = await findWeights(ref, listed, settings, signal);
	let params = 0;
	const dtypes: Record<string, number> = {};
	let largest = { name: '', bytes: 0 };
	const seen = new Set<string>();
	for (const file of weightFiles) {
		const { header, size } = await readRemoteHeader(ref, file, settings, signal);
		countTensors(header, seen, dtypes, (name, count) => {
			params += count;
			if (4 * count > largest.bytes) largest = { name, bytes: 4 * count };
		});
		const entry = listed.get(file) ?? { file };
		listed.set(file, { ...entry, size: entry.size ?? size ?? header.dataStart + header.dataLength });
	}

	let hasChatTemplate = listed.has('chat_template.jinja');
	if (!hasChatTemplate && listed.has('tokenizer_config.json')) {
		const tc = await fetchJson<Record<string, unknown>>(ref, 'tokenizer_config.json', settings, signal);
		hasChatTemplate = Boolean(tc?.chat_template);
	}

	const files = [...listed.values()];
	const toDownload = downloadList({ files, weightFiles });
	const contextLimit = Number(config.max_position_embeddings ?? config.n_positions ?? Infinity);
	const shape = {
		batchSize: opts.batchSize ?? DEFAULT_SHAPE.batchSize,
		seqLen: opts.seqLen ?? Math.min(DEFAULT_SHAPE.seqLen, contextLimit)
	};
	const cached = opts.cache ? await allCached(opts.cache, ref, toDownload) : false;
	return {
		repo,
		requestedRevision: revision,
		revision: resolved.sha,
		modelType,
		supported,
		config,
		files,
		weightFiles,
		downloadBytes: toDownload.reduce((sum, f) => sum + (f.size ?? 0), 0),
		params,
		dtypes,
		hasTokenizer: listed.has('tokenizer.json'),
		hasChatTemplate,
		memory: estimateMemory(params, config, largest, shape),
		cached
	};
}

/** Each stored tensor once (a tied lm_head that is not stored is not counted). */
function countTensors(
	header: SafetensorsHeader,
	seen: Set<string>,
	dtypes: Record<string, number>,
	add: (name: string, count: number) => void
): void {
	for (const [name, entry] of header.entries) {
		if (seen.has(name)) continue;
		seen.add(name);
		dtypes[entry.dtype] = (dtypes[entry.dtype] ?? 0) + 1;
		add(name, entry.shape.reduce((a, d) => a * d, 1));
	}
}

/** The files a download fetches: config and tokenizer files the repo has, the index, the weights. */
export function downloadList(inspection: Pick<ModelInspection, 'files' | 'weightFiles'>): HubFile[] {
	const listed = new Map(inspection.files.map((f) => [f.file, f]));
	const names = SIDE_FILES.filter((f) => f === 'config.json' || listed.has(f));
	if (listed.has(INDEX) && !inspection.weightFiles.includes('model.safetensors')) names.push(INDEX);
	names.push(...inspection.weightFiles);
	return names.map((file) => listed.get(file) ?? { file });
}

async function allCached(cache: FileCache, ref: ModelRef, files: HubFile[]): Promise<boolean> {
	for (const { file } of files) if (!(await cache.hasModelFile(ref, file))) return false;
	return true;
}

// ─── Download ───────────────────────────────────────────────────────────────────────────────

/**
 * Put every file of an inspected model into `cache`: those already there are skipped, the rest
 * streamed from the network with progress and stored whole, so a cancel or a broken connection
 * leaves only complete files behind. Starting again resumes from the first missing file.
 */
export async function downloadModel(
	inspection: ModelInspection,
	settings: HubSettings,
	cache: FileCache,
	{ signal, onProgress, quota = browserQuota }: DownloadOptions = {}
): Promise<DownloadResult> {
	const ref = { repo: inspection.repo, revision: inspection.revision };
	if (!SHA.test(ref.revision)) throw new Error(`downloadModel needs a commit hash, got revision "${ref.revision}"; inspect the model first.`);
	const files = downloadList(inspection);
	const cached = new Set<string>();
	for (const { file } of files) if (await cache.hasModelFile(ref, file)) cached.add(file);
	const missing = files.filter((f) => !cached.has(f.file));
	await checkQuota(missing.reduce((sum, f) => sum + (f.size ?? 0), 0), quota);

	const meter = new ProgressMeter(files, onProgress);
	// Cached files first, so the ETA afterwards is all network.
	for (const { file } of files.filter((f) => cached.has(f.file))) meter.fileDone(file, true);
	for (const { file, size } of missing) {
		if (signal?.aborted) throw cancelled();
		const bytes = await fetchFile(ref, file, size, settings, signal, (n, total) => meter.add(file, n, total));
		await cache.putModelFile(ref, file, bytes);
		meter.fileDone(file, false);
	}
	meter.finish();
	return { ref, files: files.map((f) => f.file), networkBytes: meter.networkBytes };
}

/** A whole file, checked against the size the Hub listed (or Content-Length). */
async function fetchFile(
	ref: ModelRef,
	file: string,
	listedSize: number | undefined,
	settings: HubSettings,
	signal: AbortSignal | undefined,
	onBytes: (n: number, total: number | undefined) => void
): Promise<ArrayBuffer> {
	const res = await hubFetch(fileUrl(settings, ref.repo, ref.revision, file), settings, { ...ref, file }, { signal });
	// A compressed response's Content-Length counts compressed bytes; only the listed size is the file's.
	const declared = res.headers.get('content-encoding') ? undefined : Number(res.headers.get('content-length') ?? NaN);
	const expected = listedSize ?? (Number.isFinite(declared) ? declared : undefined);
	const parts: Uint8Array[] = [];
	let received = 0;
	try {
		const reader = res.body!.getReader();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			parts.push(value);
			received += value.byteLength;
			onBytes(value.byteLength, expected);
		}
	} catch (e) {
		const failure = fetchFailure(e, settings, signal);
		if (failure instanceof UserError && failure.code === 'cancelled') throw failure;
		throw new UserError(
			'network',
			`The download of ${file} broke off after ${approxBytes(received)}${expected ? ` of ${approxBytes(expected)}` : ''} (${(e as Error).message}). ` +
				'Nothing partial was stored; start the download again to resume from this file.'
		);
	}
	if (expected !== undefined && received !== expected)
		throw new UserError(
			'network',
			`${file} arrived with ${received} bytes, but the Hub lists ${expected}; it was not stored. Start the download again.`
		);
	const out = new Uint8Array(received);
	let at = 0;
	for (const part of parts) {
		out.set(part, at);
		at += part.byteLength;
	}
	return out.buffer;
}

async function browserQuota(): Promise<{ usage: number; quota: number } | null> {
	const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
	if (typeof storage?.estimate !== 'function') return null;
	try {
		const { usage = 0, quota = 0 } = await storage.estimate();
		return { usage, quota };
	} catch {
		return null;
	}
}

/** Fail before the first byte rather than with a full disk halfway through a 500 MB file. */
async function checkQuota(needBytes: number, quota: NonNullable<DownloadOptions['quota']>): Promise<void> {
	if (needBytes <= 0) return;
	const q = await quota();
	if (!q || !(q.quota > 0)) return;
	const free = Math.max(0, q.quota - q.usage);
	if (needBytes > free)
		throw new UserError(
			'quota-exceeded',
			`This model needs ${approxBytes(needBytes)} of browser storage, but only ${approxBytes(free)} is free for this site. ` +
				'Delete cached models you no longer use, or old runs and checkpoints, on the Storage screen, and try again.'
		);
}

/** Bytes over all files, speed over the last few seconds, and an ETA; at most ~10 reports a second. */
class ProgressMeter {
	loaded = 0;
	total: number;
	networkBytes = 0;
	private filesDone = 0;
	private sizes = new Map<string, number>();
	private lastReport = -Infinity;
	private samples: { t: number; bytes: number }[] = [];
	private file = '';

	constructor(
		private files: HubFile[],
		private onProgress?: (p: DownloadProgress) => void
	) {
		for (const f of files) this.sizes.set(f.file, f.size ?? 0);
		this.total = files.reduce((sum, f) => sum + (f.size ?? 0), 0);
	}

	add(file: string, n: number, fileTotal: number | undefined): void {
		this.learnSize(file, fileTotal);
		this.file = file;
		this.loaded += n;
		this.networkBytes += n;
		this.total = Math.max(this.total, this.loaded);
		this.report(false, false);
	}

	fileDone(file: string, fromCache: boolean): void {
		this.file = file;
		this.filesDone++;
		if (fromCache) this.loaded += this.sizes.get(file) ?? 0;
		this.report(fromCache, true);
	}

	/** The last report: loaded equals total, whatever sizes were unknown at the start. */
	finish(): void {
		this.total = this.loaded;
		this.report(false, true);
	}

	/** A file whose size was not listed: replace its 0 in the total once the response says. */
	private learnSize(file: string, size: number | undefined): void {
		if (size === undefined || this.sizes.get(file)) return;
		this.total += size;
		this.sizes.set(file, size);
	}

	private report(fromCache: boolean, force: boolean): void {
		const now = performance.now();
		if (!this.onProgress || (!force && now - this.lastReport < PROGRESS_INTERVAL_MS)) return;
		this.lastReport = now;
		this.samples.push({ t: now, bytes: this.networkBytes });
		while (this.samples.length > 2 && now - this.samples[0].t > 5000) this.samples.shift();
		const first = this.samples[0];
		const seconds = (now - first.t) / 1000;
		const bytesPerSec = seconds > 0 ? (this.networkBytes - first.bytes) / seconds : 0;
		this.onProgress({
			file: this.file,
			loaded: this.loaded,
			total: this.total,
			filesDone: this.filesDone,
			filesTotal: this.files.length,
			bytesPerSec,
			etaSec: bytesPerSec > 0 ? (this.total - this.loaded) / bytesPerSec : 0,
			fromCache
		});
	}
}
