/**
 * A near-duplicate sub-worker, started by the data worker (workers/minhash-pool.ts): it makes the
 * MinHash band keys of one shard of texts and sends them back, telling how many rows are done.
 */
import { bandKeys, type NearDupOptions } from '../src/lib/data/minhash';

export interface KeysRequest {
	texts: string[];
	opts: NearDupOptions;
}

export type KeysMessage = { type: 'rows'; done: number } | { type: 'done'; keys: Int32Array } | { type: 'error'; message: string };

const post = (m: KeysMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

self.onmessage = (e: MessageEvent<KeysRequest>) => {
	const { texts, opts } = e.data;
	try {
		const keys = bandKeys(texts, opts, (done) => post({ type: 'rows', done }));
		post({ type: 'done', keys }, [keys.buffer]);
	} catch (err) {
		post({ type: 'error', message: (err as Error)?.message ?? String(err) });
	}
};
