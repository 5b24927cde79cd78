/**
 * Long work in a worker, cut into slices: between slices the worker's event loop runs, so the
 * page's heartbeat pings are answered (src/lib/client/bridge.ts declares a worker that answers
 * none for 180 s dead), progress callbacks go out, and queued calls are served. Used by BPE
 * training (bpe.ts) and tokenizing (tokenize-rows.ts).
 */

/** How long one slice of work may hold the event loop. */
export const SLICE_MS = 40;

/**
 * Lets queued messages (a heartbeat ping, a progress callback's reply) run, then resumes: a
 * macrotask, not a microtask. `setImmediate` in Node; a MessageChannel message in browsers and
 * workers, which, unlike `setTimeout(0)`, is not clamped to 4 ms when chained.
 */
export function yieldToEventLoop(): Promise<void> {
	if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
	return new Promise((resolve) => {
		const channel = new MessageChannel();
		channel.port1.onmessage = () => {
			channel.port1.close();
			resolve();
		};
		channel.port2.postMessage(null);
	});
}

/** A clock for slicing work: `due()` is true once a slice has run `SLICE_MS`. */
export class Slicer {
	private since = performance.now();
	constructor(private readonly ms = SLICE_MS) {}
	due(): boolean {
		return performance.now() - this.since >= this.ms;
	}
	/** Yield to the event loop and start a new slice. */
	async yield(): Promise<void> {
		await yieldToEventLoop();
		this.since = performance.now();
	}
}
