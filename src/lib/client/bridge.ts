/**
 * One worker behind comlink, with what comlink leaves out: call timeouts, crash detection (a
 * dead worker rejects every pending call with a clear error instead of hanging) and restart.
 * Components never see a Worker; they use the client classes built on this.
 *
 * A worker can die without an error event (terminated by the browser, its process gone). Two
 * watches catch that, and neither mistakes a busy worker for a dead one:
 * - Its life lock (where Web Locks exist): the worker holds a Web Lock named for it for as long
 *   as it lives (`holdLifeLock`), and the page waits for the same lock. The browser releases a
 *   lock the moment its holder's agent ends, however busy its event loop was, so the page learns
 *   of a death within milliseconds, and a long synchronous GPU step (which blocks the worker's
 *   event loop, timers and all) never counts as one.
 * - A heartbeat while any call is pending (not only during training): a ping every
 *   `heartbeatMs`; no answer within `heartbeatTimeoutMs` means hung. Since a ping waits for the
 *   event loop, that timeout must exceed the longest synchronous step (the first WebGPU step
 *   compiles ~100 pipelines): it is the fallback where Web Locks are missing, and catches a
 *   worker that lives but never answers, or one that died while still loading, before it held
 *   its life lock.
 * Every studio worker offers both (the data and Hub workers through workers/watch.ts).
 */
import { wrap, releaseProxy, type Remote } from 'comlink';
import { UserError } from '../shared/errors';
import { installErrorTransfer } from '../shared/transfer';

export type WorkerState = 'starting' | 'ready' | 'crashed';

/** What a worker API offers for the watches: `ping` answers, `holdLifeLock` resolves once the lock is held. */
export interface Watchable {
	ping?: () => unknown;
	holdLifeLock?: (name: string) => Promise<unknown>;
}

export const LIFE_LOCK_PREFIX = 'whetstone-worker-alive:';

export class WorkerBridge<Api> {
	private worker: Worker | null = null;
	private remote: Remote<Api> | null = null;
	private pending = new Set<(e: Error) => void>();
	private heartbeat: ReturnType<typeof setInterval> | undefined;
	private pinging = false;
	onCrash: (message: string) => void = () => {};
	heartbeatMs = 5_000;
	heartbeatTimeoutMs = 180_000;
	/** What a crash message tells the user to do; each client says what its worker's restart keeps. */
	crashAdvice = 'Restart it to continue from the last checkpoint; saved work is kept.';

	constructor(
		private readonly create: () => Worker,
		readonly label: string,
		/** Whether the worker's API has `ping` and `holdLifeLock` (every studio worker's does: workers/watch.ts). */
		private readonly watched = false
	) {}

	get api(): Remote<Api> {
		if (!this.remote) this.start();
		return this.remote!;
	}

	/** Calls waiting for an answer (the heartbeat's own pings not counted). */
	get pendingCount(): number {
		return this.pending.size;
	}

	start(): void {
		installErrorTransfer();
		const worker = (this.worker = this.create());
		this.remote = wrap<Api>(worker);
		const crash = (why: string) => this.worker === worker && this.crash(why);
		worker.addEventListener('error', (e) => crash(e.message || 'the worker failed to load or threw outside a call'));
		worker.addEventListener('messageerror', () => crash('a message from the worker could not be read'));
		if (this.watched) this.watchLife(worker, this.remote);
	}

	/** Wait for the worker's life lock; being granted it means the worker has gone. */
	private watchLife(worker: Worker, remote: Remote<Api>): void {
		const locks = globalThis.navigator?.locks;
		if (!locks) return;
		const name = `${LIFE_LOCK_PREFIX}${this.label}:${Math.random().toString(36).slice(2)}`;
		(remote as unknown as Remote<Required<Watchable>>)
			.holdLifeLock(name)
			.then(() =>
				locks.request(name, () => {
					if (this.worker === worker) this.crash('it ended without an error; the browser may have closed it to free memory');
				})
			)
			.catch(() => {});
	}

	/** Run one call; it rejects if the worker dies, or if it takes longer than `timeoutMs`. */
	call<T>(fn: (api: Remote<Api>) => Promise<T>, timeoutMs = 0): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const done = () => {
				clearTimeout(timer);
				this.pending.delete(fail);
				if (!this.pending.size) this.stopHeartbeat();
			};
			const fail = (e: Error) => {
				done();
				reject(e);
			};
			this.pending.add(fail);
			this.startHeartbeat();
			if (timeoutMs > 0)
				timer = setTimeout(
					() => fail(new UserError('timeout', `The ${this.label} did not answer within ${Math.round(timeoutMs / 1000)} s. Restart it; saved work is kept.`)),
					timeoutMs
				);
			let call: Promise<T>;
			try {
				call = fn(this.api);
			} catch (e) {
				fail(e instanceof Error ? e : new Error(String(e)));
				return;
			}
			call.then(
				(v) => {
					done();
					resolve(v);
				},
				(e) => fail(e instanceof Error ? e : new Error(String(e)))
			);
		});
	}

	/** While a call is pending, ping; a worker that answers no ping in `heartbeatTimeoutMs` is treated as dead. */
	private startHeartbeat(): void {
		if (!this.watched || this.heartbeat !== undefined) return;
		this.heartbeat = setInterval(() => {
			if (this.pinging || !this.remote) return;
			this.pinging = true;
			const worker = this.worker;
			const remote = this.remote as unknown as Remote<Required<Watchable>>;
			let timer: ReturnType<typeof setTimeout> | undefined;
			const answered = new Promise<boolean>((resolve) => {
				timer = setTimeout(() => resolve(false), this.heartbeatTimeoutMs);
				try {
					Promise.resolve(remote.ping()).then(() => resolve(true), () => resolve(true));
				} catch {
					resolve(true); // a released proxy: the worker is being replaced
				}
			});
			void answered.then((ok) => {
				clearTimeout(timer);
				this.pinging = false;
				if (!ok && this.worker === worker && this.pending.size) this.crash(`it answered no heartbeat for ${Math.round(this.heartbeatTimeoutMs / 1000)} s`);
			});
		}, this.heartbeatMs);
	}

	private stopHeartbeat(): void {
		clearInterval(this.heartbeat);
		this.heartbeat = undefined;
	}

	/** Treat the worker as dead: reject what is pending and terminate it. */
	crash(why: string): void {
		const err = new UserError('worker-crashed', `The ${this.label} stopped (${why}). ${this.crashAdvice}`);
		for (const fail of [...this.pending]) fail(err);
		this.terminate();
		this.onCrash(err.message);
	}

	terminate(): void {
		this.stopHeartbeat();
		this.pinging = false;
		this.remote?.[releaseProxy]();
		this.worker?.terminate();
		this.worker = null;
		this.remote = null;
	}

	restart(): void {
		this.terminate();
		this.start();
	}
}
