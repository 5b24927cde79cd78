/** A LoRA classifier run on the tiny fixtures and its dataset version, for the export tests. */
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import type { DatasetVersion, Run } from '../../../src/lib/shared/types';
import { fixtureJson } from '../models/fixtures';

export function loraClassifierConfig(arch: string): RunConfig {
	const c = defaultRunConfig(3);
	c.train = { ...c.train, seed: 7, learningRate: 2e-4, batchSize: 4, gradAccumSteps: 2, warmupSteps: 3, maxSteps: 10 };
	const hfConfig = fixtureJson(arch, 'config.json');
	c.pretrained = {
		repo: `whetstone-test/tiny-${arch}`,
		revision: 'f'.repeat(40),
		modelType: String(hfConfig.model_type),
		hfConfig,
		objective: 'classification',
		contextLength: 16,
		numClasses: 3,
		method: { kind: 'lora', rank: 4, alpha: 8, dropout: 0.05, targetModules: arch === 'gpt2' ? 'c_attn' : 'q_proj,v_proj' }
	};
	return c;
}

export function fakeRun(config: RunConfig, extra: Partial<Run> = {}): Run {
	return {
		id: 'run1', projectId: 'p1', name: 'support tickets', createdAt: 0, updatedAt: 0, status: 'completed', config,
		datasetVersionId: 'v1', datasetHash: 'abc123', step: 10, totalSteps: 10, epoch: 1, trainMs: 1000, ...extra
	};
}

export const version = {
	id: 'v1', projectId: 'p1', name: 'tickets v1', createdAt: 0, source: { fileName: 'tickets.csv', format: 'csv', bytes: 1234 }, kind: 'classification',
	textColumn: 'text', labelColumn: 'label', labels: ['a', 'b', 'c'], labelCounts: [4, 4, 4], rowCount: 12, chunkCount: 1, contentHash: 'abc123',
	split: { sizes: { train: 8, validation: 2, test: 2 } }, dropped: []
} as unknown as DatasetVersion;

