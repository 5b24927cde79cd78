/**
 * Near-duplicate band keys on every core: the texts' shards go to sub-workers on
 * workers/minhash.worker.ts (shard-pool.ts), whose keys are joined in order (joinBandKeys), the
 * keys one thread would make. Hashing the signatures is most of a check's time (128 hash functions
 * over every shingle of every row); the search that follows uses these keys (clean.ts,
 * KnownBandKeys). Where nested workers are missing (Node, some browsers), for few rows, or when one
 * fails, the answer is undefined and the data worker makes the keys itself, in slices.
 */
import { joinBandKeys, type NearDupOptions } from '../src/lib/data/minhash';
import type { KeysMessage, KeysRequest } from './minhash.worker';
import { askWorker, inShards } from './shard-pool';

export async function bandKeysInPool(texts: readonly string[], opts: NearDupOptions): Promise<Int32Array | undefined> {
	try {
		const parts = await inShards(
			texts,
			() => new Worker(new URL('./minhash.worker.ts', import.meta.url), { type: 'module' }),
			async (worker, shard) => {
				const request: KeysRequest = { texts: shard, opts: { ...opts } };
				return { keys: (await askWorker<KeysMessage>(worker, request, 'near-duplicate')).keys, rows: shard.length };
			}
		);
		return parts && joinBandKeys(parts, opts);
	} catch (err) {
		console.warn(`Near-duplicate keys in sub-workers failed (${(err as Error).message}); making them in the data worker instead.`);
		return undefined;
	}
}
