/**
 * Median stopping rule (Golovin et al., "Google Vizier", KDD 2017), as Optuna's MedianPruner
 * (a PercentilePruner at 50): at a reported step, stop the trial when its best value so far is worse
 * than the median of the other finished trials' values at that same step. Defaults are Optuna's:
 * no pruning during the first 5 trials (nStartupTrials) or before step nWarmupSteps (0), checks
 * every intervalSteps (1) after it, and at least nMinTrials (1) trials must have reported the step.
 */
import { median } from '../stats';
import { signed, type Direction, type Trial } from '../types';

export interface MedianOptions {
	nStartupTrials: number;
	nWarmupSteps: number;
	intervalSteps: number;
	nMinTrials: number;
}
export const medianDefaults: MedianOptions = { nStartupTrials: 5, nWarmupSteps: 0, intervalSteps: 1, nMinTrials: 1 };

export function medianShouldPrune(trial: Trial, trials: readonly Trial[], direction: Direction, options: Partial<MedianOptions> = {}): boolean {
	const o = { ...medianDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
	const last = trial.intermediate[trial.intermediate.length - 1];
	if (!last) return false;
	const [step] = last;
	const finished = trials.filter((t) => t.state === 'complete' && t.number !== trial.number);
	if (finished.length < o.nStartupTrials) return false;
	if (step < o.nWarmupSteps) return false;
	if ((step - o.nWarmupSteps) % o.intervalSteps !== 0) return false;
	const others: number[] = [];
	for (const t of finished) {
		const at = t.intermediate.find(([s]) => s === step);
		if (at && Number.isFinite(at[1])) others.push(signed(direction, at[1]));
	}
	if (others.length < Math.max(1, o.nMinTrials)) return false;
	const best = Math.min(...trial.intermediate.filter(([s]) => s <= step).map(([, v]) => signed(direction, v)));
	if (!Number.isFinite(best)) return true; // NaN or Inf so far: nothing to keep
	return best > median(others);
}
