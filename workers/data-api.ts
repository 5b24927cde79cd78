/** What the data worker does: the data pipeline's entry points, with a pretrained model's files read from the model cache. */
import { checkDataset, cleanDataset, previewLabels, relabelDataset, compareDatasetVersions, exportDatasetVersion, datasetSummary, importDataset, importExample, inspectFile, inspectSource, planImport, prepareHubTokens, prepareTokens, resplitDataset } from '../src/lib/data/pipeline';
import type { Objective, TokenizerConfig } from '../src/lib/shared/config';
import type { PhaseCallback } from '../src/lib/data/pipeline';
import type { ModelRef } from '../src/lib/shared/hub';
import { hubFileReader } from './pretrained';
import { foldDataset } from '../src/lib/data/folds';
import { watchApi } from './watch';
import { encodeRowsInPool } from './tokenize-pool';
import { bandKeysInPool } from './minhash-pool';
import type { CleanStep, NormalizeOptions } from '../src/lib/data/clean';
import type { PiiPattern } from '../src/lib/data/pii';
import { hubDatasetApi } from './hub-dataset-api';
import { compareTokenizers, tokenExample, tokenStats, tokenViewSources, type ExampleSource, type TokenizerChoice } from '../src/lib/data/token-view';
import { datasetSaveHooks } from '../src/lib/storage/datasets';

export const api = {
	...watchApi,
	/** Hub datasets: search, list configs and splits, preview, read rows with range requests (workers/hub-dataset-api.ts). */
	...hubDatasetApi,
	inspectFile,
	/** The chosen files read as a stream with progress (a top-level comlink proxy); kept for planImport and importDataset (src/lib/data/stream.ts). */
	inspectSource,
	planImport,
	/** An import's stages after the read (building, duplicates, hashing, storing) are told to the same `onProgress` as the read. */
	importDataset,
	/**
	 * For Cancel tests only: the next save of a dataset version holds once `afterChunks` of its
	 * chunks are written, its transaction open, and tells the page, which then ends this worker
	 * there. It is never released: only the end of the worker ends it.
	 */
	holdNextSaveForTest(afterChunks: number, onHeld: (done: number, total: number) => void): void {
		datasetSaveHooks.afterChunk = (done, total) => {
			if (done < Math.min(afterChunks, total)) return;
			datasetSaveHooks.afterChunk = undefined;
			void Promise.resolve(onHeld(done, total)).catch(() => {});
			return new Promise<never>(() => {});
		};
	},
	resplitDataset,
	/** What near-duplicate removal, PII redaction and the leakage fix would change (src/lib/data/clean.ts); near-duplicate signatures hashed on every core (workers/minhash-pool.ts). */
	/** Check & clean, their stages reported to `onPhase` (a top-level comlink proxy); Cancel ends the worker (nothing half-made is stored). */
	checkDataset: (versionId: string, threshold?: number, normalize?: NormalizeOptions, length?: { min: number; max: number }, onPhase?: PhaseCallback, patterns?: PiiPattern[]) =>
		checkDataset(versionId, threshold, normalize, length, bandKeysInPool, onPhase, patterns),
	cleanDataset: (versionId: string, steps: CleanStep[], onPhase?: PhaseCallback) => cleanDataset(versionId, steps, bandKeysInPool, onPhase),
	/** Label steps (rename, merge, drop rare, resample the training split) previewed, then applied as a new version (src/lib/data/labels.ts). */
	previewLabels,
	relabelDataset,
	/** A version as JSONL, CSV or Parquet, and two versions compared (src/lib/data/versions.ts). */
	exportDatasetVersion,
	compareDatasetVersions,
	importExample,
	datasetSummary,
	/** Train the BPE and tokenize a version; the rows are encoded on every core (workers/tokenize-pool.ts). */
	prepareTokens: (versionId: string, cfg: TokenizerConfig, maxLength: number, onPhase?: PhaseCallback) => prepareTokens(versionId, cfg, maxLength, onPhase, encodeRowsInPool),
	/** Fold `index` of a k-fold cross-validation as a dataset version (src/lib/data/folds.ts). */
	foldDataset,
	/**
	 * Tokenize a dataset version with a cached Hub model's tokenizer for an objective. `onPhase`
	 * (a top-level comlink proxy, never nested in an object) hears the rows tokenized.
	 */
	prepareHubTokens: (versionId: string, model: ModelRef, objective: Objective, maxLength: number, onPhase?: PhaseCallback) =>
		prepareHubTokens(versionId, model, objective, maxLength, hubFileReader(model), onPhase),
	/** The token view (src/lib/data/token-view.ts): tokenizers to pick, an example's tokens, lengths per split, two compared. */
	tokenViewSources,
	tokenExample: (versionId: string, choice: TokenizerChoice, source: ExampleSource) => tokenExample(versionId, choice, source, hubFileReader),
	tokenStats: (versionId: string, choice: TokenizerChoice, contextLength: number) => tokenStats(versionId, choice, contextLength, hubFileReader),
	compareTokenizers: (versionId: string, a: TokenizerChoice, b: TokenizerChoice, source: ExampleSource) => compareTokenizers(versionId, a, b, source, hubFileReader)
};
export type DataApi = typeof api;
