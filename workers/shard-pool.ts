/**
 * Work over many rows on every core: the data worker splits the texts into contiguous shards and
 * starts one sub-worker per core (`navigator.hardwareConcurrency`), each given its shard by `ask`;
 * the shards' answers come back in order. Used for tokenizing (tokenize-pool.ts) and for the
 * near-duplicate band keys (minhash-pool.ts). Undefined where nested workers are missing (Node,
 * some browsers) or for too few rows: the caller then does the work itself, in slices. A failed
 * shard rejects. The sub-workers end with the call.
 */

/** Fewer rows than this are not worth starting workers for. */
const POOL_MIN_ROWS = 20_000;
/** Each sub-worker gets at least this many rows. */
const SHARD_MIN_ROWS = 5_000;
const MAX_WORKERS = 16;

export async function inShards<T>(
	texts: readonly string[],
	start: () => Worker,
	ask: (worker: Worker, shard: string[], k: number) => Promise<T>
): Promise<T[] | undefined> {
	const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
	const n = Math.min(cores, MAX_WORKERS, Math.floor(texts.length / SHARD_MIN_ROWS));
	if (typeof Worker === 'undefined' || texts.length < POOL_MIN_ROWS || n < 2) return undefined;
	const workers: Worker[] = [];
	try {
		const size = Math.ceil(texts.length / n);
		return await Promise.all(
			Array.from({ length: n }, (_, k) => {
				const worker = start();
				workers.push(worker);
				return ask(worker, texts.slice(k * size, (k + 1) * size), k);
			})
		);
	} finally {
		for (const w of workers) w.terminate();
	}
}

/**
 * Post `request` to a sub-worker and settle on its answer: `{ type: 'done' }` resolves with the
 * message, `{ type: 'error', message }` or a failed start rejects (named by `what`), any other
 * message goes to `onOther` (progress).
 */
export function askWorker<M extends { type: string }>(worker: Worker, request: unknown, what: string, onOther?: (m: M) => void): Promise<Extract<M, { type: 'done' }>> {
	return new Promise((resolve, reject) => {
		worker.onmessage = (e: MessageEvent<M>) => {
			const m = e.data;
			if (m.type === 'done') resolve(m as Extract<M, { type: 'done' }>);
			else if (m.type === 'error') reject(new Error((m as unknown as { message: string }).message));
			else onOther?.(m);
		};
		worker.onerror = (e) => {
			e.preventDefault();
			reject(new Error(e.message || `the ${what} worker failed to start`));
		};
		worker.postMessage(request);
	});
}
