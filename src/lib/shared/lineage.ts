/**
 * Where a run comes from and what it keeps: a branch continues another run's checkpoint
 * ("resume from here", `Run.parent`); a linked run starts a new objective from another run's
 * checkpoint instead of the Hub weights (`PretrainedConfig.init`); `TrainConfig.keepCheckpoints`
 * says how many recent checkpoints a run keeps. Read through these helpers, so the stored fields
 * may be absent (runs saved before them).
 */
import type { PretrainedConfig, RunConfig } from './config';
import type { CheckpointRef, Run } from './types';

export const DEFAULT_KEEP_CHECKPOINTS = 3;
export const MAX_KEEP_CHECKPOINTS = 100;

/** `PretrainedConfig` with the checkpoint a linked run starts from. */
export type PretrainedWithInit = PretrainedConfig & { init?: CheckpointRef };
/** `TrainConfig` with the retention setting. */
export type TrainWithKeep = RunConfig['train'] & { keepCheckpoints?: number };

/** The checkpoint a linked run starts from, if it does not start from the Hub weights. */
export function baseInit(config: RunConfig): CheckpointRef | undefined {
	return (config.pretrained as PretrainedWithInit | undefined)?.init;
}

/** How many of the newest checkpoints a run keeps (the best one is kept besides). */
export function keepCheckpoints(config: RunConfig, fallback = DEFAULT_KEEP_CHECKPOINTS): number {
	const n = (config.train as TrainWithKeep).keepCheckpoints;
	return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** Where a run started from another run: a branch of it, or a new objective on its weights. */
export function lineageOf(run: Run): { kind: 'branch' | 'base'; from: CheckpointRef } | null {
	if (run.parent) return { kind: 'branch', from: run.parent };
	const init = baseInit(run.config);
	return init ? { kind: 'base', from: init } : null;
}
