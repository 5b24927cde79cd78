/**
 * A tokenizing sub-worker, started by the data worker (workers/tokenize-pool.ts): it encodes one
 * shard of rows and sends back their ids, telling how many rows are done as it goes.
 */
import { encodeRows } from '../src/lib/data/tokenize-rows';

export interface ShardRequest {
	json: string;
	texts: string[];
	maxLength: number;
}

export type ShardMessage =
	| { type: 'rows'; done: number }
	| { type: 'done'; ids: Int32Array; offsets: Int32Array }
	| { type: 'error'; message: string };

const post = (m: ShardMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = async (e: MessageEvent<ShardRequest>) => {
	const { json, texts, maxLength } = e.data;
	try {
		const { ids, offsets } = await encodeRows(json, texts, maxLength, (done) => post({ type: 'rows', done }));
		post({ type: 'done', ids, offsets }, [ids.buffer, offsets.buffer]);
	} catch (err) {
		post({ type: 'error', message: (err as Error)?.message ?? String(err) });
	}
};
