/**
 * Near-duplicate band keys on every core: the data worker splits the texts into contiguous shards
 * and starts one sub-worker per core on workers/minhash.worker.ts; the shards' keys are joined in
 * order (joinBandKeys), the keys one thread would make. Hashing the signatures is most of a
 * check's time (128 hash functions over every shingle of every row); the search that follows uses
 * these keys (clean.ts, KnownBandKeys). Where nested workers are missing (Node, some browsers),
 * for few rows, or when one fails, the answer is undefined and the data worker makes the keys
 * itself, in slices. The sub-workers end with the call.
 */
import { joinBandKeys, type NearDupOptions } from '../src/lib/data/minhash';
import type { KeysMessage, KeysRequest } from './minhash.worker';

/** Fewer rows than this are not worth starting workers for. */
const POOL_MIN_ROWS = 20_000;
/** Each sub-worker gets at least this many rows. */
const SHARD_MIN_ROWS = 5_000;
const MAX_WORKERS = 16;

function keysOfShard(worker: Worker, request: KeysRequest): Promise<Int32Array> {
	return new Promise((resolve, reject) => {
		worker.onmessage = (e: MessageEvent<KeysMessage>) => {
			const m = e.data;
			if (m.type === 'done') resolve(m.keys);
			else if (m.type === 'error') reject(new Error(m.message));
		};
		worker.onerror = (e) => {
			e.preventDefault();
			reject(new Error(e.message || 'the near-duplicate worker failed to start'));
		};
		worker.postMessage(request);
	});
}

export async function bandKeysInPool(texts: readonly string[], opts: NearDupOptions): Promise<Int32Array | undefined> {
	const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
	const n = Math.min(cores, MAX_WORKERS, Math.floor(texts.length / SHARD_MIN_ROWS));
	if (typeof Worker === 'undefined' || texts.length < POOL_MIN_ROWS || n < 2) return undefined;
	const workers: Worker[] = [];
	try {
		const size = Math.ceil(texts.length / n);
		const parts = await Promise.all(
			Array.from({ length: n }, async (_, k) => {
				const worker = new Worker(new URL('./minhash.worker.ts', import.meta.url), { type: 'module' });
				workers.push(worker);
				const shard = texts.slice(k * size, (k + 1) * size);
				return { keys: await keysOfShard(worker, { texts: shard, opts: { ...opts } }), rows: shard.length };
			})
		);
		return joinBandKeys(parts, opts);
	} catch (err) {
		console.warn(`Near-duplicate keys in sub-workers failed (${(err as Error).message}); making them in the data worker instead.`);
		return undefined;
	} finally {
		for (const w of workers) w.terminate();
	}
}
