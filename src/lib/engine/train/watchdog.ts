/**
 * The divergence watchdog: what the loop checks each time it reads the training loss back. A
 * NaN or infinite loss or gradient norm stops the run at once. Divergence stops it when the
 * windowed loss stays above both `divergenceFactor` × its best value and its first logged value
 * (what the model scored before it learned anything) for `divergencePatience` log points in a
 * row; the second bound keeps a noisy loss near zero from counting as divergence.
 *
 * The first logged value is a window's mean, taken after some updates: at an absurd learning rate
 * it is already garbage (3e10), and garbage must not become the bound. When the loop knows the
 * loss of guessing uniformly (ln of the classes or the vocabulary), neither the first nor the best
 * value counts above it: the limit is then at most `divergenceFactor` × the chance loss, a loss
 * twice as bad as guessing.
 *
 * A log point above the limit is a strike. A checkpoint saved while the watchdog counts strikes
 * is "suspect": the loop marks it, and a run the watchdog stops discards it (see `isSuspect`).
 */
import type { TrainConfig } from '../../shared/config';

export interface WatchdogState {
	firstLoss: number | null;
	bestLoss: number | null;
	strikes: number;
}

export const initialWatchdog = (): WatchdogState => ({ firstLoss: null, bestLoss: null, strikes: 0 });

export type Verdict = { kind: 'ok' } | { kind: 'non-finite'; what: string } | { kind: 'diverged'; limit: number };

export function watchLoss(
	t: Pick<TrainConfig, 'divergenceFactor' | 'divergencePatience'>,
	s: WatchdogState,
	loss: number,
	gradNorm: number,
	/** The loss of a uniform guess, ln(classes) or ln(vocabulary), when known. */
	chanceLoss?: number
): Verdict {
	if (!Number.isFinite(loss)) return { kind: 'non-finite', what: `the training loss was ${loss}` };
	if (!Number.isFinite(gradNorm)) return { kind: 'non-finite', what: `the gradient norm was ${gradNorm}` };
	if (!(t.divergenceFactor > 0)) {
		s.firstLoss ??= loss;
		s.bestLoss = Math.min(s.bestLoss ?? loss, loss);
		return { kind: 'ok' };
	}
	const chance = chanceLoss && chanceLoss > 0 ? chanceLoss : Infinity;
	s.firstLoss ??= Math.min(loss, t.divergenceFactor * chance);
	s.bestLoss = Math.min(s.bestLoss ?? loss, loss);
	const limit = Math.max(t.divergenceFactor * Math.min(s.bestLoss, chance), s.firstLoss);
	s.strikes = loss > limit ? s.strikes + 1 : 0;
	return s.strikes >= t.divergencePatience ? { kind: 'diverged', limit } : { kind: 'ok' };
}

/** Whether the weights saved now would be suspect: the last log point was above the limit. */
export const isSuspect = (s: WatchdogState | undefined): boolean => (s?.strikes ?? 0) > 0;

/** Every value finite: weights (and optimizer moments) worth keeping. */
export function allFinite(tensors: { data: Float32Array }[]): boolean {
	for (const t of tensors) {
		const d = t.data;
		for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
	}
	return true;
}

/**
 * A learning rate to suggest after divergence that the form accepts (it takes 0 < lr < 1): a
 * tenth of this run's, or the usual default when a tenth would still be 1 or more.
 */
export function saferLearningRate(lr: number, fallback: number): { value: number; why: string } {
	const tenth = +(lr / 10).toPrecision(2);
	if (tenth > 0 && tenth < 1) return { value: tenth, why: "a tenth of this run's" };
	return { value: fallback, why: `the usual starting point; this run's ${lr} is outside the form's range of 0 to 1` };
}
