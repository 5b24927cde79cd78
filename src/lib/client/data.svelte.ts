/**
 * The page's handle on the data worker (import, split, tokenize). Parsing a large file or
 * training a tokenizer happens off the UI thread; this class only forwards calls and keeps a
 * busy flag for the components. The worker is watched (client/bridge.ts): a silent death rejects
 * every pending call with 'worker-crashed' and is shown with its restart (worker-alerts.svelte.ts).
 */
import { WorkerBridge } from './bridge';
import { workerAlerts } from './worker-alerts.svelte';
import type { DataApi } from '../../../workers/data-api';
import type { Objective, SplitConfig, TokenizerConfig } from '../shared/config';
import type { HubSettings, ModelRef } from '../shared/hub';
import type { HubDatasetListing, HubReadProgress } from '../data/hub-dataset';
import type { ImportArgs, ImportProgress, PreparedTokens } from '../data/pipeline';
import type { FileSource } from '../data/stream';
import { getDatasetVersion, newId } from '../storage';
import type { FoldSpec } from '../data/folds';
import { proxy, type Remote } from 'comlink';
import { UserError } from '../shared/errors';
import { PHASE_LABELS, type PhaseProgress } from '../shared/phases';
import type { CleanStep, NormalizeOptions } from '../data/clean';
import type { PiiPattern } from '../data/pii';
import type { LabelStep } from '../data/labels';
import type { VersionFormat } from '../data/versions';
import type { ExampleSource, TokenizerChoice } from '../data/token-view';

export class DataClient {
	busy = $state<string | null>(null);
	/** The tokenizer training or tokenizing under way, with its count; null when none is. */
	phase = $state<PhaseProgress | null>(null);
	/** How the last preparation of tokens went, in words (what was reused from the cache, or done and how long it took). */
	prepared = $state<string | null>(null);
	/** The files being read (bytes and rows so far), then an import's stages after the read (a phase with its count); null when none are. */
	reading = $state<ImportProgress | null>(null);
	/** Why the worker stopped, until it is restarted (a cancelled preparation is not a crash). */
	crashed = $state<string | null>(null);
	private cancelling = false;

	private bridge = new WorkerBridge<DataApi>(
		() => new Worker(new URL('../../../workers/data.worker.ts', import.meta.url), { type: 'module' }),
		'data worker',
		true
	);

	constructor() {
		// Its life lock notices a death at once; the heartbeat is the fallback, and must outwait
		// the longest synchronous piece of work (training a tokenizer on a large dataset).
		this.bridge.heartbeatTimeoutMs = 180_000;
		this.bridge.crashAdvice = 'Restart it, then do that again; nothing half-made was stored.';
		this.bridge.onCrash = (message) => {
			this.busy = null;
			this.phase = null;
			if (this.cancelling) return;
			this.crashed = message;
			workerAlerts.report({ label: this.bridge.label, message, restart: () => this.restart() });
		};
	}

	/** A fresh worker after a crash; the next call would start one too, so it also clears the alert. */
	restart(): void {
		this.bridge.restart();
		this.settled();
	}

	private settled(): void {
		this.crashed = null;
		workerAlerts.clear(this.bridge.label);
	}

	/** Every call goes through here: a call after a crash starts a new worker, so the alert is over. */
	private call<T>(fn: (api: Remote<DataApi>) => Promise<T>, timeoutMs = 0): Promise<T> {
		if (this.crashed) this.settled();
		return this.bridge.call(fn, timeoutMs);
	}

	/** For tests: resolves once the save that `holdNextSaveForTest` held is holding (chunks written, of how many). */
	heldSaveForTest: Promise<{ done: number; total: number }> | null = null;

	/**
	 * For tests: the next import's save holds after `afterChunks` chunks are written, in its open
	 * transaction, until the worker is ended (Cancel); `heldSaveForTest` says when it holds.
	 */
	async holdNextSaveForTest(afterChunks = 1): Promise<void> {
		let onHeld!: (done: number, total: number) => void;
		this.heldSaveForTest = new Promise((resolve) => (onHeld = (done, total) => resolve({ done, total })));
		await this.call((api) => api.holdNextSaveForTest(afterChunks, proxy(onHeld)), 30_000);
	}

	/** For tests: end the worker behind the bridge's back, with no error event, as the browser does when it closes one. */
	killSilentlyForTest(): void {
		(this.bridge as unknown as { worker: Worker | null }).worker?.terminate();
	}

	private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
		this.busy = what;
		try {
			return await fn();
		} finally {
			this.busy = null;
		}
	}

	inspectFile(file: File) {
		return this.inspectFiles(fileSource(file));
	}

	/**
	 * The chosen files, read as a stream in the worker (the page never holds their bytes), with
	 * `reading` telling the progress; `cancelReading` stops it. The worker keeps the table under
	 * `source.key` for the counts and the import that follow.
	 */
	inspectFiles(source: FileSource) {
		return this.streaming(
			'Reading the file…',
			() => 'Reading the files was cancelled; nothing was stored.',
			(onProgress) => this.call((api) => api.inspectSource(sourceName(source.files), plainSource(source), onProgress))
		);
	}

	/**
	 * `kind` (default classification), `responseColumn` and `pairsFormat` as in the pipeline's
	 * `ImportArgs`; a `file`, or the `source` inspected. `reading` shows the read, then each stage
	 * after it, until the version is stored; `cancelReading` stops it at any of them.
	 */
	async importDataset(args: Omit<ImportArgs, 'fileName' | 'bytes' | 'source' | 'versionId'> & ({ file: File } | { source: FileSource })) {
		const { source, rest } = split(args);
		const versionId = newId('ds_');
		try {
			return await this.streaming('Importing…', cancelledImport, (onProgress) =>
				this.call((api) => api.importDataset({ ...rest, fileName: sourceName(source.files), source, versionId }, onProgress))
			);
		} catch (e) {
			// A Cancel that came once the save's transaction was committing (the worker's answer not
			// yet here) ends a worker whose version is already stored, whole: that is the import's result.
			if ((e as UserError).code === 'cancelled') {
				const stored = await getDatasetVersion(versionId).catch(() => undefined);
				if (stored) return stored;
			}
			throw e;
		}
	}

	/** What importing with these choices would store (counts, duplicates, refusal); quiet: no busy flag, as it follows every choice in the form. */
	planImport(args: Omit<ImportArgs, 'fileName' | 'bytes' | 'source'> & ({ file: File } | { source: FileSource })) {
		const { source, rest } = split(args);
		return this.call((api) => api.planImport({ ...rest, fileName: sourceName(source.files), source }));
	}

	/** Stop reading or importing files, at any stage: the worker is ended (nothing half-made is stored: a version is saved whole, in one transaction, or not at all) and a new one starts on the next call. */
	cancelReading(): void {
		if (!this.reading && !this.busy) return;
		this.cancelling = true;
		this.bridge.crash('cancelled');
	}

	/**
	 * A read of files (and an import's stages after it) with its progress in `reading` (the callback
	 * crosses as a top-level comlink proxy); a Cancel fails it with `cancelled(the last progress)`.
	 */
	private streaming<T>(what: string, cancelled: (last: ImportProgress | null) => string, call: (onProgress: (p: ImportProgress) => void) => Promise<T>): Promise<T> {
		return this.run(what, async () => {
			this.cancelling = false;
			this.reading = null;
			let open = true;
			let last: ImportProgress | null = null;
			try {
				return await call(proxy((p: ImportProgress) => void (open && (this.reading = last = p))));
			} catch (e) {
				if (this.cancelling) throw new UserError('cancelled', cancelled(last));
				throw e;
			} finally {
				open = false;
				this.cancelling = false;
				this.reading = null;
			}
		});
	}

	/**
	 * Hub datasets (workers/hub-dataset-api.ts): quiet calls, no busy flag (the Hub import shows its
	 * own state); arguments are copied, as a component's $state proxies do not clone.
	 */
	searchHubDatasets(query: string, settings: HubSettings) {
		return this.call((api) => api.searchHubDatasets(query, plain(settings)), 60_000);
	}

	listHubDataset(dataset: string, settings: HubSettings) {
		return this.call((api) => api.listHubDataset(dataset, plain(settings)), 120_000);
	}

	previewHubSplit(listing: HubDatasetListing, config: string, split: string, settings: HubSettings) {
		return this.call((api) => api.previewHubSplit(plain(listing), config, split, plain(settings)), 300_000);
	}

	/** The rows as a Parquet `File` for inspectFile / planImport / importDataset (with `hub: source`); no time limit, Cancel ends it. */
	async readHubRows(listing: HubDatasetListing, config: string, split: string, settings: HubSettings, read: { columns?: string[]; limit?: number }, onProgress: (p: HubReadProgress) => void) {
		const r = await this.call((api) => api.readHubRows(plain(listing), config, split, plain(settings), plain(read), proxy(onProgress)));
		return { ...r, file: new File([r.bytes as BlobPart], r.fileName, { type: 'application/vnd.apache.parquet' }) };
	}

	/** Abort every Hub look-up and read under way (they answer 'cancelled'). */
	cancelHub() {
		return this.call((api) => api.cancelHub(), 30_000);
	}

	/** A new version with the same rows split again. */
	resplitDataset(versionId: string, split: SplitConfig) {
		return this.run('Re-splitting…', () => this.call((api) => api.resplitDataset(versionId, { ...split }), 120_000));
	}

	/**
	 * What each cleaning step would change in a stored version, its stages in `phase`. No time limit:
	 * a million rows take minutes, and the check works in slices that answer the heartbeat, so a
	 * worker that stops answering is still found dead (src/lib/data/sliced.ts).
	 */
	checkDataset(versionId: string, threshold: number, normalize: NormalizeOptions, length: { min: number; max: number }, patterns: PiiPattern[] = []) {
		return this.phased('Checking…', 'The check was cancelled; nothing was changed.', (onPhase) =>
			this.call((api) => api.checkDataset(versionId, threshold, { ...normalize }, { ...length }, onPhase, patterns.map((p) => ({ ...p }))))
		);
	}

	/** A new version with the cleaning steps applied; no time limit, for the same reason as the check. */
	cleanDataset(versionId: string, steps: CleanStep[]) {
		return this.phased('Cleaning…', 'Cleaning was cancelled; no new version was stored and the version you cleaned is as it was.', (onPhase) =>
			this.call((api) => api.cleanDataset(versionId, JSON.parse(JSON.stringify(steps)) as CleanStep[], onPhase))
		);
	}

	/** What label steps would change (counts per split and class, before and after); quiet (no busy flag). */
	previewLabels(versionId: string, steps: LabelStep[]) {
		return this.call((api) => api.previewLabels(versionId, plain(steps)), 120_000);
	}

	/** A new version with the label steps applied. */
	relabelDataset(versionId: string, steps: LabelStep[]) {
		return this.run('Changing labels…', () => this.call((api) => api.relabelDataset(versionId, plain(steps)), 120_000));
	}

	/** Download a version as JSONL, CSV or Parquet. */
	async downloadDatasetVersion(versionId: string, format: VersionFormat) {
		const { fileName, bytes } = await this.call((api) => api.exportDatasetVersion(versionId, format), 300_000);
		const url = URL.createObjectURL(new Blob([bytes as BlobPart]));
		const a = Object.assign(document.createElement('a'), { href: url, download: fileName });
		a.click();
		setTimeout(() => URL.revokeObjectURL(url), 60_000);
		return fileName;
	}

	/** Rows added, removed and changed from one version to another. */
	compareDatasetVersions(a: string, b: string) {
		return this.call((api) => api.compareDatasetVersions(a, b), 300_000);
	}

	/** Fold `index` of a k-fold cross-validation of `versionId`, stored as a dataset version. */
	foldDataset(versionId: string, spec: FoldSpec, index: number) {
		return this.call((api) => api.foldDataset(versionId, JSON.parse(JSON.stringify(spec)) as FoldSpec, index), 120_000);
	}

	importExample(projectId: string, csvText: string) {
		return this.run('Loading the example…', () => this.call((api) => api.importExample(projectId, csvText), 120_000));
	}

	datasetSummary(versionId: string) {
		return this.call((api) => api.datasetSummary(versionId), 60_000);
	}

	/** The token view: quiet calls (no busy flag); choices are copied, as a component's $state proxies do not clone. */
	tokenViewSources(versionId: string) {
		return this.call((api) => api.tokenViewSources(versionId), 60_000);
	}

	tokenExample(versionId: string, choice: TokenizerChoice, source: ExampleSource) {
		return this.call((api) => api.tokenExample(versionId, plain(choice), plain(source)), 60_000);
	}

	tokenStats(versionId: string, choice: TokenizerChoice, contextLength: number) {
		return this.call((api) => api.tokenStats(versionId, plain(choice), contextLength), 300_000);
	}

	compareTokenizers(versionId: string, a: TokenizerChoice, b: TokenizerChoice, source: ExampleSource) {
		return this.call((api) => api.compareTokenizers(versionId, plain(a), plain(b), plain(source)), 60_000);
	}

	prepareHubTokens(versionId: string, model: ModelRef, objective: Objective, maxLength: number) {
		return this.preparing("Tokenizing with the model's tokenizer…", (onPhase) => this.call((api) => api.prepareHubTokens(versionId, { ...model }, objective, maxLength, onPhase), 600_000));
	}

	prepareTokens(versionId: string, cfg: TokenizerConfig, maxLength: number) {
		return this.preparing('Preparing tokens…', (onPhase) => this.call((api) => api.prepareTokens(versionId, { ...cfg }, maxLength, onPhase), 600_000));
	}

	/**
	 * Stop the phased work under way (training the tokenizer, tokenizing, a check, a cleaning): the
	 * worker is ended, and with it its sub-workers (the quickest way to stop work spread over every
	 * core); the token cache and a cleaned version are written whole or not at all, so nothing
	 * half-done was stored, and a new worker starts on the next call.
	 */
	cancelPreparing(): void {
		if (!this.phase && !this.busy) return;
		this.cancelling = true;
		this.bridge.crash('cancelled');
	}

	/** A preparation with its phases shown and said afterwards. */
	private preparing(what: string, call: (onPhase: (p: PhaseProgress | null) => void) => Promise<PreparedTokens>): Promise<PreparedTokens> {
		this.prepared = null;
		const started = performance.now();
		return this.phased(what, 'Preparing the tokens was cancelled; nothing was stored. Start the run again when you are ready.', async (onPhase) => {
			const r = await call(onPhase);
			this.prepared = preparedText(r, (performance.now() - started) / 1000);
			return r;
		});
	}

	/**
	 * Work with its phases in `phase` (the callback crosses as a top-level comlink proxy);
	 * `cancelPreparing` ends it, and then it fails with `cancelled` as its message.
	 */
	private phased<T>(what: string, cancelled: string, call: (onPhase: (p: PhaseProgress | null) => void) => Promise<T>): Promise<T> {
		return this.run(what, async () => {
			this.cancelling = false;
			this.phase = null;
			// The callback has a channel of its own: a message that arrives after the answer is stale.
			let open = true;
			try {
				return await call(proxy((p: PhaseProgress | null) => void (open && (this.phase = p))));
			} catch (e) {
				if (this.cancelling) throw new UserError('cancelled', cancelled);
				throw e;
			} finally {
				open = false;
				this.cancelling = false;
				this.phase = null;
			}
		});
	}
}

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** What a cancelled import says: the stage it was in, and that nothing was stored. */
export function cancelledImport(last: ImportProgress | null): string {
	const stage = last && 'phase' in last ? PHASE_LABELS[last.phase].toLowerCase() : 'reading the files';
	return `The import was cancelled (${stage}); nothing was stored, and the versions stored before are as they were.`;
}

/** One key per File object, so the worker's kept table serves every call about the same file. */
const fileKeys = new WeakMap<File, string>();
function fileSource(file: File): FileSource {
	let key = fileKeys.get(file);
	if (!key) fileKeys.set(file, (key = crypto.randomUUID()));
	return { files: [file], key };
}

/** A copy that clones (a component's $state proxy does not), the Files themselves passed as they are. */
const plainSource = (s: FileSource): FileSource => ({ files: [...s.files], key: s.key, ...(s.textMode ? { textMode: s.textMode } : {}) });

/** The name an import of these files gets: the file's, or the first and how many more. */
export function sourceName(files: File[]): string {
	return files.length === 1 ? files[0].name : `${files[0]?.name ?? 'files'} + ${files.length - 1} more`;
}

function split<A extends { file: File } | { source: FileSource }>(args: A) {
	const { file, source, ...rest } = args as A & { file?: File; source?: FileSource };
	return { source: plainSource(source ?? fileSource(file!)), rest };
}

/** What the last preparation reused from the cache or did, and how long it took. */
export function preparedText(r: PreparedTokens | undefined, seconds: number): string {
	const took = seconds < 1 ? 'in under a second' : `in ${seconds.toFixed(1)} s`;
	if (r?.reused?.tokens) return `Tokens: reused the cached tokens (same dataset version and tokenizer); nothing was tokenized again.`;
	if (r?.reused?.tokenizer) return `Tokens: reused the trained tokenizer and tokenized the rows ${took}.`;
	return `Tokens: prepared ${took}; a next run with the same tokenizer settings reuses them.`;
}

let data: DataClient | null = null;

/** The one data client of this tab; also `window.whetstone.data`, for the console and the tests. */
export function getData(): DataClient {
	if (!data) {
		data = new DataClient();
		const g = globalThis as { whetstone?: object };
		g.whetstone = { ...g.whetstone, data };
	}
	return data;
}
