/**
 * Tokenizing on every core: the rows' shards go to sub-workers on workers/tokenize.worker.ts
 * (shard-pool.ts), whose ids are joined in order, so the result is the one `encodeRows` gives in
 * one thread. Where nested workers are missing (Node, some browsers), for few rows, or when one
 * fails, the rows are encoded in this worker, in slices (tokenize-rows.ts). The sub-workers end with the call; Cancel ends the data
 * worker, which ends them too.
 */
import { concatEncoded, encodeRows, type RowEncoder } from '../src/lib/data/tokenize-rows';
import type { ShardMessage, ShardRequest } from './tokenize.worker';
import { askWorker, inShards } from './shard-pool';

export const encodeRowsInPool: RowEncoder = async (json, texts, maxLength, onRows) => {
	const done: number[] = [];
	const tell = () => onRows?.(done.reduce((a, b) => a + b, 0));
	try {
		const parts = await inShards(
			texts,
			() => new Worker(new URL('./tokenize.worker.ts', import.meta.url), { type: 'module' }),
			async (worker, shard, k) => {
				done[k] = 0;
				const request: ShardRequest = { json, texts: shard, maxLength };
				const m = await askWorker<ShardMessage>(worker, request, 'tokenizing', (p) => {
					if (p.type !== 'rows') return;
					done[k] = p.done;
					tell();
				});
				return { ids: m.ids, offsets: m.offsets };
			}
		);
		if (parts) return concatEncoded(parts);
	} catch (err) {
		console.warn(`Tokenizing in sub-workers failed (${(err as Error).message}); tokenizing in the data worker instead.`);
	}
	return encodeRows(json, texts, maxLength, onRows);
};
