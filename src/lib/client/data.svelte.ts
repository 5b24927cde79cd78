/**
 * The page's handle on the data worker (import, split, tokenize). Parsing a large file or
 * training a tokenizer happens off the UI thread; this class only forwards calls and keeps a
 * busy flag for the components.
 */
import { WorkerBridge } from './bridge';
import type { DataApi } from '../../../workers/data-api';
import type { Objective, TokenizerConfig } from '../shared/config';
import type { ModelRef } from '../shared/hub';
import type { ImportArgs } from '../data/pipeline';

export class DataClient {
	busy = $state<string | null>(null);

	private bridge = new WorkerBridge<DataApi>(
		() => new Worker(new URL('../../../workers/data.worker.ts', import.meta.url), { type: 'module' }),
		'data worker'
	);

	constructor() {
		this.bridge.onCrash = () => (this.busy = null);
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
		return this.run('Reading the file…', async () => {
			const bytes = await file.arrayBuffer();
			return this.bridge.call((api) => api.inspectFile(file.name, bytes), 120_000);
		});
	}

	/** `kind` (default classification), `responseColumn` and `pairsFormat` as in the pipeline's `ImportArgs`. */
	importDataset(args: Omit<ImportArgs, 'fileName' | 'bytes'> & { file: File }) {
		return this.run('Importing…', async () => {
			const bytes = await args.file.arrayBuffer();
			const { file, ...rest } = args;
			return this.bridge.call((api) => api.importDataset({ ...rest, fileName: file.name, bytes }), 300_000);
		});
	}

	importExample(projectId: string, csvText: string) {
		return this.run('Loading the example…', () => this.bridge.call((api) => api.importExample(projectId, csvText), 120_000));
	}

	datasetSummary(versionId: string) {
		return this.bridge.call((api) => api.datasetSummary(versionId), 60_000);
	}

	prepareHubTokens(versionId: string, model: ModelRef, objective: Objective, maxLength: number) {
		return this.run("Tokenizing with the model's tokenizer…", () => this.bridge.call((api) => api.prepareHubTokens(versionId, { ...model }, objective, maxLength), 300_000));
	}

	prepareTokens(versionId: string, cfg: TokenizerConfig, maxLength: number) {
		return this.run('Training the tokenizer…', () => this.bridge.call((api) => api.prepareTokens(versionId, cfg, maxLength), 300_000));
	}
}

let data: DataClient | null = null;

export function getData(): DataClient {
	return (data ??= new DataClient());
}
