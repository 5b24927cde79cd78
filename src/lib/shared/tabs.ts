/**
 * Tabs of the studio share one truth about training. Who trains what is a Web Lock: a training
 * run holds `RUN_LOCK_PREFIX + runId` (in whichever tab's engine worker trains it) for as long as
 * it trains or waits to, and the origin-wide `TRAINING_LOCK` while it trains. Any tab can list the
 * held locks, so a run another tab trains is shown as such, never settled as "paused" nor resumed
 * twice; a lock dies with its tab, so a run whose lock is gone was interrupted. Changes are
 * announced on the `RUNS_CHANNEL` BroadcastChannel so the other tabs re-read their runs at once.
 * No DOM: used by the page and the workers.
 */
export const RUN_LOCK_PREFIX = 'whetstone-run:';
export const TRAINING_LOCK = 'whetstone-training';
export const RUNS_CHANNEL = 'whetstone-runs';

/** Runs whose lock some tab holds right now; empty where Web Locks are missing (Node). */
export async function runsTrainingAnywhere(): Promise<Set<string>> {
	const locks = (globalThis.navigator as Navigator | undefined)?.locks;
	if (!locks) return new Set();
	const { held = [] } = await locks.query();
	return new Set(held.map((l) => l.name ?? '').filter((n) => n.startsWith(RUN_LOCK_PREFIX)).map((n) => n.slice(RUN_LOCK_PREFIX.length)));
}
