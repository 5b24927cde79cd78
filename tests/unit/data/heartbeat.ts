/**
 * A stand-in for the data worker's heartbeat in the unit tests of long work (import-stages,
 * tokenize-heartbeat): `log` gets 'ping' each time the event loop gives a turn (a task queued
 * behind whatever runs, as the worker's comlink `ping` message is; it queues itself again each
 * time it runs), and the caller logs its phase events beside them. The slices of the work end on
 * a clock (SLICE_MS); while it runs `performance.now()` moves 5 ms at each reading, so the slices
 * end after the same work on a fast machine as on a slow one (a fast machine once learned all of a
 * BPE's merges inside one 40 ms slice, and its test saw no ping).
 */
import { expect, vi } from 'vitest';

export function heartbeat() {
	const log: string[] = [];
	let pinging = true;
	const ping = () => {
		if (!pinging) return;
		log.push('ping');
		setImmediate(ping);
	};
	setImmediate(ping);
	let now = performance.now();
	const clock = vi.spyOn(performance, 'now').mockImplementation(() => (now += 5));
	return {
		log,
		/** No more pings; the real clock back. */
		stop() {
			pinging = false;
			clock.mockRestore();
		},
		/** Pings logged from the first entry of `phase` that `counted` accepts to its last entry. */
		pingsDuring(phase: string, counted: (entry: string) => boolean = () => true): number {
			const first = log.findIndex((e) => e.startsWith(phase) && counted(e));
			const last = log.findLastIndex((e) => e.startsWith(phase));
			expect(first, `${phase} reported`).toBeGreaterThanOrEqual(0);
			return log.slice(first, last).filter((e) => e === 'ping').length;
		}
	};
}
