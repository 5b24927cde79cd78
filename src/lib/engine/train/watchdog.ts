/**
 * The divergence watchdog: what the loop checks each time it reads the training loss back. A
 * NaN or infinite loss or gradient norm stops the run at once. Divergence stops it when the
 * windowed loss stays above both `divergenceFactor` × its best value and its first logged value
 * (what the model scored before it learned anything) for `divergencePatience` log points in a
 * row; the second bound keeps a noisy loss near zero from counting as divergence.
 */
import type { TrainConfig } from '../../shared/config';

export interface WatchdogState {
	firstLoss: number | null;
	bestLoss: number | null;
	strikes: number;
}

export const initialWatchdog = (): WatchdogState => ({ firstLoss: null, bestLoss: null, strikes: 0 });

export type Verdict = { kind: 'ok' } | { kind: 'non-finite'; what: string } | { kind: 'diverged'; limit: number };

export function watchLoss(t: Pick<TrainConfig, 'divergenceFactor' | 'divergencePatience'>, s: WatchdogState, loss: number, gradNorm: number): Verdict {
	if (!Number.isFinite(loss)) return { kind: 'non-finite', what: `the training loss was ${loss}` };
	if (!Number.isFinite(gradNorm)) return { kind: 'non-finite', what: `the gradient norm was ${gradNorm}` };
	s.firstLoss ??= loss;
	s.bestLoss = Math.min(s.bestLoss ?? loss, loss);
	if (!(t.divergenceFactor > 0)) return { kind: 'ok' };
	const limit = Math.max(t.divergenceFactor * s.bestLoss, s.firstLoss);
	s.strikes = loss > limit ? s.strikes + 1 : 0;
	return s.strikes >= t.divergencePatience ? { kind: 'diverged', limit } : { kind: 'ok' };
}
