/** What the data worker does: the data pipeline's entry points, nothing added. */
import { datasetSummary, importDataset, importExample, inspectFile, prepareTokens } from '../src/lib/data/pipeline';

export const api = { inspectFile, importDataset, importExample, datasetSummary, prepareTokens };
export type DataApi = typeof api;
