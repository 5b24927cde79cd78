/**
 * Tokenizes many rows without blocking the worker that does it: rows are encoded in slices of a
 * few tens of milliseconds, and between slices the worker's event loop runs, so the page's
 * heartbeat pings are answered (src/lib/client/bridge.ts declares a worker that answers none for
 * 180 s dead) and progress reaches the page. The ids go into typed arrays, row after row, in the
 * layout of a `TokenizedCache` (`ids` and `offsets`).
 *
 * Our BPE is encoded with `FastBpe` (tokenize-fast.ts); any other tokenizer.json with
 * tokenizers.js (`TextTokenizer`), the same ids either way. workers/tokenize-pool.ts spreads the
 * rows over sub-workers, each running `encodeRows` on its shard.
 */
import { FastBpe, IdList } from './tokenize-fast';
import { TextTokenizer } from './tokenizer';
import { Slicer } from './tokenize-slices';

/** Token ids of rows, flat: row `i` is `ids[offsets[i]..offsets[i + 1]]`. */
export interface EncodedIds {
	ids: Int32Array;
	offsets: Int32Array;
}

/** Encodes `texts` with the tokenizer.json `json`, each cut to `maxLength` ids; `onRows` hears the rows done. */
export type RowEncoder = (json: string, texts: string[], maxLength: number, onRows?: (done: number) => void) => Promise<EncodedIds>;

/** An encoder for one text: FastBpe where it reproduces the tokenizer exactly, tokenizers.js otherwise. */
export function textEncoder(json: string): (text: string, out: IdList, maxLength: number) => void {
	const fast = FastBpe.fromSpec(JSON.parse(json));
	if (fast) return (text, out, maxLength) => void fast.encodeInto(text, out, maxLength);
	const tok = new TextTokenizer(json);
	return (text, out, maxLength) => {
		const ids = tok.encode(text, { maxLength });
		for (const id of ids) out.push(id);
	};
}

/** Encodes `texts` in this thread, slice by slice, yielding to the event loop between slices. */
export async function encodeRows(json: string, texts: string[], maxLength: number, onRows?: (done: number) => void): Promise<EncodedIds> {
	const encode = textEncoder(json);
	const out = new IdList(Math.min(1 << 24, Math.max(1024, texts.length * 16)));
	const offsets = new Int32Array(texts.length + 1);
	const slicer = new Slicer();
	for (let i = 0; i < texts.length; i++) {
		encode(texts[i], out, maxLength);
		offsets[i + 1] = out.length;
		if ((i & 63) === 63 && slicer.due()) {
			onRows?.(i + 1);
			await slicer.yield();
		}
	}
	onRows?.(texts.length);
	return { ids: out.toArray(), offsets };
}

/** Shards encoded separately, joined in order as one. */
export function concatEncoded(parts: EncodedIds[]): EncodedIds {
	const rows = parts.reduce((n, p) => n + p.offsets.length - 1, 0);
	const total = parts.reduce((n, p) => n + p.ids.length, 0);
	const ids = new Int32Array(total);
	const offsets = new Int32Array(rows + 1);
	let row = 0;
	let at = 0;
	for (const p of parts) {
		ids.set(p.ids, at);
		for (let i = 1; i < p.offsets.length; i++) offsets[row + i] = at + p.offsets[i];
		row += p.offsets.length - 1;
		at += p.ids.length;
	}
	return { ids, offsets };
}
