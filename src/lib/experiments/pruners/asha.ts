/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning", MLSys 2020), as Optuna's SuccessiveHalvingPruner. Rung r sits at step
 * minResource · η^(minEarlyStoppingRate + r). When a trial reaches a rung, its value there is
 * recorded and it goes on only if it is in the top 1/η of every value recorded at that rung so far
 * (with fewer than η values, only the best goes on). Defaults: η (reductionFactor) = 4,
 * minEarlyStoppingRate = 0; minResource is the first rung's step (Optuna's 'auto' guesses it from a
 * finished trial; here it is a setting, default 1).
 */
import { signed, type Direction, type Trial } from '../types';

export interface AshaOptions {
	minResource: number;
	reductionFactor: number;
	minEarlyStoppingRate: number;
}
export const ashaDefaults: AshaOptions = { minResource: 1, reductionFactor: 4, minEarlyStoppingRate: 0 };

export function rungStep(rung: number, o: AshaOptions): number {
	return o.minResource * o.reductionFactor ** (o.minEarlyStoppingRate + rung);
}

/** Optuna's _is_trial_promotable_to_next_rung. */
export function promotable(value: number, competing: number[], reductionFactor: number): boolean {
	const sorted = competing.slice().sort((a, b) => a - b);
	let idx = Math.floor(sorted.length / reductionFactor) - 1;
	if (idx < 0) idx = 0;
	return value <= sorted[idx];
}

/** Records the rungs the trial's last report completes (in `trial.rungs`) and says whether to stop it. */
export function ashaShouldPrune(trial: Trial, trials: readonly Trial[], direction: Direction, options: Partial<AshaOptions> = {}): boolean {
	const o = { ...ashaDefaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
	const last = trial.intermediate[trial.intermediate.length - 1];
	if (!last) return false;
	const [step, raw] = last;
	const value = Number.isFinite(raw) ? signed(direction, raw) : Infinity;
	trial.rungs ??= [];
	while (step >= rungStep(trial.rungs.length, o)) {
		const rung = trial.rungs.length;
		trial.rungs.push(value);
		const competing = trials.filter((t) => t.rungs && t.rungs.length > rung && t.number !== trial.number).map((t) => t.rungs![rung]);
		competing.push(value);
		if (!promotable(value, competing, o.reductionFactor)) return true;
	}
	return false;
}
