/**
 * Early stopping as transformers' EarlyStoppingCallback decides it: after each evaluation, the
 * patience counter resets when the watched metric beats the best so far by more than `minDelta`,
 * and otherwise counts up; training stops when it reaches `patience`. The best value itself
 * follows every strict improvement (as the Trainer's best_metric does), however small.
 */
import type { EarlyStoppingConfig } from '../../shared/config';

export interface EarlyStoppingState {
	best: number | null;
	bestStep: number;
	badEvals: number;
}

export const initialEarlyStopping = (): EarlyStoppingState => ({ best: null, bestStep: 0, badEvals: 0 });

/** Update `s` with an evaluation's metric; returns true when training should stop. */
export function earlyStoppingUpdate(cfg: EarlyStoppingConfig, s: EarlyStoppingState, value: number, step: number): boolean {
	const better = s.best === null || (cfg.metric === 'loss' ? value < s.best : value > s.best);
	if (s.best === null || (better && Math.abs(value - s.best) > cfg.minDelta)) s.badEvals = 0;
	else s.badEvals++;
	if (better) {
		s.best = value;
		s.bestStep = step;
	}
	return s.badEvals >= cfg.patience;
}

export function earlyStoppingReason(cfg: EarlyStoppingConfig, s: EarlyStoppingState): string {
	const metric = cfg.metric === 'loss' ? 'validation loss' : 'validation accuracy';
	const by = cfg.minDelta > 0 ? ` by more than ${cfg.minDelta}` : '';
	return `Stopped early: the ${metric} did not improve${by} for ${cfg.patience} evaluation${cfg.patience === 1 ? '' : 's'} (best ${s.best?.toFixed(4)} at step ${s.bestStep}).`;
}
