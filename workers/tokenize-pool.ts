/**
 * Tokenizing on every core: the data worker splits the rows into contiguous shards and starts one
 * sub-worker per core (`navigator.hardwareConcurrency`) on workers/tokenize.worker.ts; the shards'
 * ids are joined in order, so the result is the one `encodeRows` gives in one thread. Where
 * nested workers are missing (Node, some browsers) or one fails, the rows are encoded in this
 * worker, in slices (tokenize-rows.ts). The sub-workers end with the call; Cancel ends the data
 * worker, which ends them too.
 */
import { concatEncoded, encodeRows, type EncodedIds, type RowEncoder } from '../src/lib/data/tokenize-rows';
import type { ShardMessage, ShardRequest } from './tokenize.worker';

/** Fewer rows than this are not worth starting workers for. */
const POOL_MIN_ROWS = 20_000;
/** Each sub-worker gets at least this many rows. */
const SHARD_MIN_ROWS = 5_000;
const MAX_WORKERS = 16;

function encodeShard(worker: Worker, request: ShardRequest, onRows: (done: number) => void): Promise<EncodedIds> {
	return new Promise((resolve, reject) => {
		worker.onmessage = (e: MessageEvent<ShardMessage>) => {
			const m = e.data;
			if (m.type === 'rows') onRows(m.done);
			else if (m.type === 'done') resolve({ ids: m.ids, offsets: m.offsets });
			else reject(new Error(m.message));
		};
		worker.onerror = (e) => {
			e.preventDefault();
			reject(new Error(e.message || 'the tokenizing worker failed to start'));
		};
		worker.postMessage(request);
	});
}

export const encodeRowsInPool: RowEncoder = async (json, texts, maxLength, onRows) => {
	const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
	const n = Math.min(cores, MAX_WORKERS, Math.floor(texts.length / SHARD_MIN_ROWS));
	if (typeof Worker === 'undefined' || texts.length < POOL_MIN_ROWS || n < 2) return encodeRows(json, texts, maxLength, onRows);
	const workers: Worker[] = [];
	try {
		const size = Math.ceil(texts.length / n);
		const done = new Array<number>(n).fill(0);
		const tell = () => onRows?.(done.reduce((a, b) => a + b, 0));
		const parts = await Promise.all(
			Array.from({ length: n }, (_, k) => {
				const worker = new Worker(new URL('./tokenize.worker.ts', import.meta.url), { type: 'module' });
				workers.push(worker);
				const shard = texts.slice(k * size, (k + 1) * size);
				return encodeShard(worker, { json, texts: shard, maxLength }, (rows) => {
					done[k] = rows;
					tell();
				});
			})
		);
		return concatEncoded(parts);
	} catch (err) {
		console.warn(`Tokenizing in sub-workers failed (${(err as Error).message}); tokenizing in the data worker instead.`);
		for (const w of workers) w.terminate();
		workers.length = 0;
		return encodeRows(json, texts, maxLength, onRows);
	} finally {
		for (const w of workers) w.terminate();
	}
};
