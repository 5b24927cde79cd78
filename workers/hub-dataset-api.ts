/**
 * The data worker's part for Hub datasets (src/lib/data/hub-dataset.ts): search ids, list a
 * dataset's configs and splits, preview one, and read its rows as a Parquet file of string
 * columns that the page hands to the file import (inspect, plan, import), so Hub rows take the
 * same column mapping and pipeline as a file. `cancelHub` aborts every look-up and read under
 * way; a read cut off returns nothing and stores nothing.
 */
import { transfer } from 'comlink';
import { hubFileName, listHubDataset, previewHubSplit, readHubRows, rowsAsParquet, searchHubDatasets, type HubDatasetListing, type HubReadProgress } from '../src/lib/data/hub-dataset';
import type { HubSettings } from '../src/lib/shared/hub';
import type { HubDatasetSource } from '../src/lib/shared/types';

const running = new Set<AbortController>();

async function abortable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
	const ctl = new AbortController();
	running.add(ctl);
	try {
		return await fn(ctl.signal);
	} finally {
		running.delete(ctl);
	}
}

export interface HubRowsFile {
	fileName: string;
	/** The rows read, as Parquet (every column a string), transferred, not copied. */
	bytes: Uint8Array;
	source: HubDatasetSource;
	bytesFetched: number;
}

export const hubDatasetApi = {
	searchHubDatasets: (query: string, settings: HubSettings) => abortable((signal) => searchHubDatasets(query, settings, signal)),
	listHubDataset: (dataset: string, settings: HubSettings) => abortable((signal) => listHubDataset(dataset, settings, signal)),
	previewHubSplit: (listing: HubDatasetListing, config: string, split: string, settings: HubSettings) =>
		abortable((signal) => previewHubSplit(listing, config, split, settings, signal)),
	/** `onProgress` is a top-level comlink proxy (never nested in an object). */
	readHubRows: (listing: HubDatasetListing, config: string, split: string, settings: HubSettings, read: { columns?: string[]; limit?: number }, onProgress?: (p: HubReadProgress) => void) =>
		abortable(async (signal): Promise<HubRowsFile> => {
			const r = await readHubRows(listing, config, split, settings, { ...read, signal, onProgress: onProgress && ((p) => void onProgress(p)) });
			const bytes = rowsAsParquet(r);
			return transfer({ fileName: hubFileName(r.source), bytes, source: r.source, bytesFetched: r.bytesFetched }, [bytes.buffer]);
		}),
	cancelHub(): void {
		for (const ctl of running) ctl.abort();
	}
};
