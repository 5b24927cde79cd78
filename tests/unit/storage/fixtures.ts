/** Small records for the storage tests; each factory takes overrides. */
import { defaultRunConfig, defaultSplitConfig } from '../../../src/lib/shared/config';
import type { DatasetVersion, MetricPoint, Project, Run, StoredRow, TokenizedCache } from '../../../src/lib/shared/types';
import type { CheckpointDraft } from '../../../src/lib/storage';

export function project(over: Partial<Project> = {}): Project {
	return { id: 'proj_a', name: 'Reviews', task: 'classification', description: '', createdAt: 1, updatedAt: 1, ...over };
}

export function version(over: Partial<DatasetVersion> = {}): DatasetVersion {
	return {
		id: 'ds_a',
		projectId: 'proj_a',
		name: 'reviews.csv',
		createdAt: 1,
		source: { fileName: 'reviews.csv', format: 'csv', bytes: 1234 },
		textColumn: 'text',
		labelColumn: 'label',
		labels: ['neg', 'pos'],
		labelCounts: [0, 0],
		rowCount: 0,
		chunkCount: 0,
		contentHash: 'abc',
		split: { ...defaultSplitConfig, sizes: { train: 0, validation: 0, test: 0 } },
		dropped: [],
		...over
	};
}

export function rows(n: number): StoredRow[] {
	return Array.from({ length: n }, (_, i) => ({ text: `row ${i}`, label: i % 2, split: i % 3, meta: { n: String(i) } }));
}

export function run(over: Partial<Run> = {}): Run {
	return {
		id: 'run_a',
		projectId: 'proj_a',
		name: 'first',
		createdAt: 1,
		updatedAt: 1,
		status: 'created',
		config: defaultRunConfig(2),
		datasetVersionId: 'ds_a',
		datasetHash: 'abc',
		step: 0,
		totalSteps: 100,
		epoch: 0,
		trainMs: 0,
		...over
	};
}

export function point(over: Partial<MetricPoint> = {}): MetricPoint {
	return { runId: 'run_a', step: 0, epoch: 0, time: 0, ...over };
}

export function draft(over: Partial<CheckpointDraft> = {}): CheckpointDraft {
	return {
		id: 'ckpt_a',
		runId: 'run_a',
		step: 10,
		epoch: 0,
		createdAt: 1,
		config: defaultRunConfig(2),
		trainerState: { prngState: 7, epoch: 0, stepInEpoch: 10, order: [2, 0, 1], optimizerStep: 10 },
		...over
	};
}

export function tokenized(versionId: string, tokenizerHash: string): TokenizedCache {
	return {
		key: `${versionId}:${tokenizerHash}`,
		datasetVersionId: versionId,
		tokenizerHash,
		ids: new Int32Array([5, 6, 7]),
		offsets: new Int32Array([0, 2, 3]),
		labels: new Int32Array([0, 1]),
		splits: new Uint8Array([0, 1]),
		maxLength: 32,
		createdAt: 1
	};
}

export function freshDatabase(): string {
	return `test-${Math.random().toString(36).slice(2)}`;
}
