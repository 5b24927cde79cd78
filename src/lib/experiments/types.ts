/**
 * The study's records: plain JSON, so a study is stored whole in IndexedDB, exported, and resumed
 * from what was saved. Names follow Optuna's (trial number, state, intermediate values).
 */
import type { Params, SearchSpace } from './space';

export type Direction = 'minimize' | 'maximize';
export type TrialState = 'running' | 'complete' | 'pruned' | 'failed';

export interface Trial {
	number: number;
	params: Params;
	state: TrialState;
	/** The objective: the final value of a complete trial, the last reported one of a pruned trial. */
	value?: number;
	/** Reported intermediate values as [step, value], in step order. */
	intermediate: [number, number][];
	/** The step at which a pruner stopped this trial. */
	prunedAtStep?: number;
	/** ASHA: the value recorded at each completed rung, sign-flipped when maximising (lower is better). */
	rungs?: number[];
	/** The studio's run that trained this trial. */
	runId?: string;
	error?: string;
	startedAt: number;
	finishedAt?: number;
}

export type SamplerConfig =
	| { kind: 'random' }
	| { kind: 'grid'; points?: number }
	| {
			kind: 'tpe';
			/** Optuna's defaults: 10 startup trials, 24 candidates, prior weight 1, univariate, magic clip on, endpoints off. */
			nStartupTrials?: number;
			nEiCandidates?: number;
			priorWeight?: number;
			multivariate?: boolean;
			considerMagicClip?: boolean;
			considerEndpoints?: boolean;
			/** γ(n) = min(ceil(gamma · n), 25); Optuna's default gamma is 0.1. */
			gamma?: number;
	  };

export type PrunerConfig =
	| { kind: 'none' }
	| { kind: 'median'; nStartupTrials?: number; nWarmupSteps?: number; intervalSteps?: number; nMinTrials?: number }
	| { kind: 'asha'; minResource?: number; reductionFactor?: number; minEarlyStoppingRate?: number };

export interface Budget {
	/** Stop after this many trials (finished or running) — counted over the whole study. */
	trials?: number;
	/** Stop asking for new trials once the study has run this long, in seconds of trial time. */
	seconds?: number;
}

export interface StudyConfig {
	name: string;
	space: SearchSpace;
	direction: Direction;
	sampler: SamplerConfig;
	pruner: PrunerConfig;
	budget: Budget;
	seed: number;
	/** What the objective is, for people: e.g. "validation loss". */
	objective?: string;
}

export interface StudyState {
	id: string;
	config: StudyConfig;
	trials: Trial[];
	createdAt: number;
	/** Seconds spent in finished trials, summed across sessions (the wall-time budget counts this). */
	elapsedSeconds: number;
}

/** Lower is better after this. */
export function signed(direction: Direction, v: number): number {
	return direction === 'minimize' ? v : -v;
}
