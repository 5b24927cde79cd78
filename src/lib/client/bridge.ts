/**
 * One worker behind comlink, with what comlink leaves out: call timeouts, crash detection (a
 * dead worker rejects every pending call with a clear error instead of hanging) and restart.
 * Components never see a Worker; they use the client classes built on this.
 */
import { wrap, releaseProxy, type Remote } from 'comlink';
import { UserError } from '../shared/errors';
import { installErrorTransfer } from '../shared/transfer';

export type WorkerState = 'starting' | 'ready' | 'crashed';

export class WorkerBridge<Api> {
	private worker: Worker | null = null;
	private remote: Remote<Api> | null = null;
	private pending = new Set<(e: Error) => void>();
	onCrash: (message: string) => void = () => {};

	constructor(
		private readonly create: () => Worker,
		readonly label: string
	) {}

	get api(): Remote<Api> {
		if (!this.remote) this.start();
		return this.remote!;
	}

	start(): void {
		installErrorTransfer();
		this.worker = this.create();
		this.remote = wrap<Api>(this.worker);
		const crash = (why: string) => this.crash(why);
		this.worker.addEventListener('error', (e) => crash(e.message || 'the worker failed to load or threw outside a call'));
		this.worker.addEventListener('messageerror', () => crash('a message from the worker could not be read'));
	}

	/** Run one call; it rejects if the worker dies, or if it takes longer than `timeoutMs`. */
	call<T>(fn: (api: Remote<Api>) => Promise<T>, timeoutMs = 0): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const fail = (e: Error) => {
				clearTimeout(timer);
				this.pending.delete(fail);
				reject(e);
			};
			this.pending.add(fail);
			if (timeoutMs > 0)
				timer = setTimeout(
					() => fail(new UserError('timeout', `The ${this.label} did not answer within ${Math.round(timeoutMs / 1000)} s. Restart it; saved work is kept.`)),
					timeoutMs
				);
			fn(this.api).then(
				(v) => {
					clearTimeout(timer);
					this.pending.delete(fail);
					resolve(v);
				},
				(e) => fail(e instanceof Error ? e : new Error(String(e)))
			);
		});
	}

	/** Treat the worker as dead: reject what is pending and terminate it. */
	crash(why: string): void {
		const err = new UserError('worker-crashed', `The ${this.label} stopped (${why}). Restart it to continue from the last checkpoint; saved work is kept.`);
		for (const fail of [...this.pending]) fail(err);
		this.terminate();
		this.onCrash(err.message);
	}

	terminate(): void {
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
