/**
 * The page's handle on the Hub worker: which Hub to use and the user's access token (kept in
 * this browser's localStorage only, never in a run or an export), the model being looked at, and
 * a download's progress. Components call its methods; they never touch the Worker. The worker is
 * watched (client/bridge.ts): a silent death rejects every pending call with 'worker-crashed' and
 * is shown with its restart (worker-alerts.svelte.ts).
 */
import { proxy, type Remote } from 'comlink';
import { WorkerBridge } from './bridge';
import { workerAlerts } from './worker-alerts.svelte';
import type { HubApi } from '../../../workers/hub-api';
import { DEFAULT_HUB_ENDPOINT, type DownloadProgress, type HubSettings, type ModelInspection, type ModelRef } from '../shared/hub';

const ENDPOINT_KEY = 'whetstone.hub.endpoint';
const TOKEN_KEY = 'whetstone.hub.token';

function stored(key: string): string | null {
	try {
		return globalThis.localStorage?.getItem(key) ?? null;
	} catch {
		return null;
	}
}

function store(key: string, value: string): void {
	try {
		if (value) localStorage.setItem(key, value);
		else localStorage.removeItem(key);
	} catch {
		/* private mode: the setting lasts for this page only */
	}
}

/**
 * `?hub=` in the page's URL overrides the Hub endpoint and is remembered (the tests point it at a
 * local fake Hub); the layout calls this on the first page, before any navigation drops the query.
 */
export function rememberHubFromUrl(): void {
	const fromUrl = typeof location === 'undefined' ? null : new URL(location.href).searchParams.get('hub');
	if (fromUrl) {
		store(ENDPOINT_KEY, fromUrl.replace(/\/+$/, ''));
		if (hub) hub.endpoint = stored(ENDPOINT_KEY) ?? DEFAULT_HUB_ENDPOINT;
	}
}

function initialEndpoint(): string {
	rememberHubFromUrl();
	return stored(ENDPOINT_KEY) ?? DEFAULT_HUB_ENDPOINT;
}

export type CachedModel = Awaited<ReturnType<HubApi['listCached']>>[number];

export class HubClient {
	endpoint = $state(initialEndpoint());
	token = $state(stored(TOKEN_KEY) ?? '');
	inspection = $state.raw<ModelInspection | null>(null);
	progress = $state.raw<DownloadProgress | null>(null);
	busy = $state<'inspecting' | 'downloading' | null>(null);
	error = $state<string | null>(null);
	cached = $state.raw<CachedModel[]>([]);
	/** Why the worker stopped, until it is restarted. */
	crashed = $state<string | null>(null);

	private bridge = new WorkerBridge<HubApi>(
		() => new Worker(new URL('../../../workers/hub.worker.ts', import.meta.url), { type: 'module' }),
		'download worker',
		true
	);

	constructor() {
		// Its work is network and storage I/O, never a long synchronous step: a worker that
		// answers no ping for 30 s is gone (the life lock usually says so at once).
		this.bridge.heartbeatTimeoutMs = 30_000;
		this.bridge.crashAdvice = 'Restart it, then look up or download the model again; models already in the cache are kept; a download it cut off starts again.';
		this.bridge.onCrash = (message) => {
			this.busy = null;
			this.error = message;
			this.crashed = message;
			workerAlerts.report({ label: this.bridge.label, message, restart: () => this.restart() });
		};
		if (typeof Worker !== 'undefined') void this.call((api) => api.sweep(), 60_000).catch(() => {});
	}

	/** A fresh worker after a crash (its start-up sweep removes what a cut-off download left). */
	restart(): void {
		this.bridge.restart();
		this.settled();
		void this.call((api) => api.sweep(), 60_000).catch(() => {});
	}

	private settled(): void {
		this.crashed = null;
		if (this.error && this.error.startsWith(`The ${this.bridge.label} stopped`)) this.error = null;
		workerAlerts.clear(this.bridge.label);
	}

	/** Every call goes through here: a call after a crash starts a new worker, so the alert is over. */
	private call<T>(fn: (api: Remote<HubApi>) => Promise<T>, timeoutMs = 0): Promise<T> {
		if (this.crashed) this.settled();
		return this.bridge.call(fn, timeoutMs);
	}

	/** For tests: end the worker behind the bridge's back, with no error event, as the browser does when it closes one. */
	killSilentlyForTest(): void {
		(this.bridge as unknown as { worker: Worker | null }).worker?.terminate();
	}

	get settings(): HubSettings {
		return { endpoint: this.endpoint, token: this.token || undefined };
	}

	setToken(token: string): void {
		this.token = token.trim();
		store(TOKEN_KEY, this.token);
	}

	setEndpoint(endpoint: string): void {
		this.endpoint = endpoint.trim().replace(/\/+$/, '') || DEFAULT_HUB_ENDPOINT;
		store(ENDPOINT_KEY, this.endpoint === DEFAULT_HUB_ENDPOINT ? '' : this.endpoint);
	}

	/** Config, files, parameter count and memory estimate, without downloading the weights. */
	async inspect(repo: string, revision = 'main'): Promise<ModelInspection | null> {
		this.error = null;
		this.busy = 'inspecting';
		this.inspection = null;
		try {
			const settings = this.settings;
			this.inspection = await this.call((api) => api.inspect(repo, revision, settings), 120_000);
			return this.inspection;
		} catch (e) {
			this.error = (e as Error).message;
			return null;
		} finally {
			this.busy = null;
		}
	}

	/** Download the inspected model into the cache; resolves to its pinned reference, or null when cancelled or failed. */
	async download(): Promise<ModelRef | null> {
		const inspection = this.inspection;
		if (!inspection) return null;
		this.error = null;
		this.busy = 'downloading';
		this.progress = null;
		try {
			const settings = this.settings;
			const onProgress = proxy((p: DownloadProgress) => (this.progress = p));
			const ref = await this.call((api) => api.download(plain(inspection), settings, onProgress));
			this.inspection = { ...inspection, cached: true };
			await this.refreshCached();
			return ref;
		} catch (e) {
			this.error = (e as Error).message;
			return null;
		} finally {
			this.busy = null;
		}
	}

	cancel(): void {
		void this.call((api) => api.cancel(), 10_000).catch(() => {});
	}

	async refreshCached(): Promise<void> {
		this.cached = await this.call((api) => api.listCached(), 30_000);
	}

	async deleteCached(ref: ModelRef): Promise<void> {
		await this.call((api) => api.deleteCached({ ...ref }), 60_000);
		if (this.inspection?.repo === ref.repo && this.inspection.revision === ref.revision) this.inspection = { ...this.inspection, cached: false };
		await this.refreshCached();
	}
}

/** Plain data for postMessage (a $state.raw value is already plain; this copies defensively). */
function plain<T>(v: T): T {
	return JSON.parse(JSON.stringify(v));
}

let hub: HubClient | null = null;

/** The one Hub client of this tab; also `window.whetstone.hub`, for the console and the tests. */
export function getHub(): HubClient {
	if (!hub) {
		hub = new HubClient();
		const g = globalThis as { whetstone?: object };
		g.whetstone = { ...g.whetstone, hub };
	}
	return hub;
}
