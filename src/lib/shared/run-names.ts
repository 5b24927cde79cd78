/**
 * Run names. Training runs are numbered by counting training runs only: a prompt baseline is
 * stored as a run (so Compare can pair with it) but nothing was trained, so it takes no number.
 * A name still in use is never given twice.
 */

/** The training runs among a project's runs (baselines left out): what the Train screen lists. */
export function trainingRuns<R extends { baseline?: unknown }>(runs: readonly R[]): R[] {
	return runs.filter((r) => !r.baseline);
}

/** `${prefix} N` for the next training run: N counts the training runs, moved on past any name already taken. */
export function nextRunName(runs: readonly { name: string; baseline?: unknown }[], prefix = 'run'): string {
	const taken = new Set(runs.map((r) => r.name));
	let n = trainingRuns(runs).length + 1;
	while (taken.has(`${prefix} ${n}`)) n++;
	return `${prefix} ${n}`;
}
