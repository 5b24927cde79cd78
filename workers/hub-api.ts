/**
 * What the Hub worker does: look at a model on the Hugging Face Hub (config, file list and
 * safetensors headers through range requests, no weights), download it into the browser's model
 * cache with progress, and cancel. Its own worker, so a long download never blocks importing or
 * tokenizing. The engine reads the cached files itself; weights never cross postMessage.
 */
import { downloadModel, inspectModel } from '../src/lib/engine/io/hub';
import { UserError } from '../src/lib/shared/errors';
import type { DownloadProgress, HubSettings, ModelInspection, ModelRef } from '../src/lib/shared/hub';
import { deleteCachedModel, listCachedModels, modelCache, sweepOrphanModelChunks } from '../src/lib/storage';
import { watchApi } from './watch';

let download: AbortController | null = null;

const DOWNLOAD_LOCK = 'whetstone-download';

/** Downloads hold a Web Lock, so another tab's sweep never deletes chunks still being written. */
function locked<T>(fn: (held: boolean) => Promise<T>, ifAvailable = false): Promise<T> {
	const locks = (globalThis.navigator as Navigator | undefined)?.locks;
	if (!locks) return fn(true);
	return locks.request(DOWNLOAD_LOCK, { ifAvailable }, (lock) => fn(lock !== null)) as Promise<T>;
}

export const api = {
	...watchApi,
	/** Remove chunks of model files whose write never finished (a tab closed mid-download). */
	sweep(): Promise<number> {
		return locked((free) => (free ? sweepOrphanModelChunks() : Promise.resolve(0)), true);
	},

	inspect(repo: string, revision: string, settings: HubSettings): Promise<ModelInspection> {
		return inspectModel(repo.trim(), revision.trim() || 'main', settings, { cache: modelCache });
	},

	async download(inspection: ModelInspection, settings: HubSettings, onProgress: (p: DownloadProgress) => void): Promise<ModelRef> {
		if (download) throw new UserError('invalid-config', 'A download is already running; wait for it or cancel it first.');
		download = new AbortController();
		try {
			const signal = download.signal;
			await locked(() => downloadModel(inspection, settings, modelCache, { signal, onProgress }));
			return { repo: inspection.repo, revision: inspection.revision };
		} finally {
			download = null;
		}
	},

	cancel(): void {
		download?.abort();
	},

	listCached: () => listCachedModels(),
	deleteCached: (ref: ModelRef) => deleteCachedModel(ref)
};

export type HubApi = typeof api;
