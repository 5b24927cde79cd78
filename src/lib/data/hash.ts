/**
 * Content hashes for lineage (which exact dataset and tokenizer a run used). SHA-256 through
 * WebCrypto, which is global in browsers, workers and Node 20+; a dataset through @noble/hashes,
 * which hashes in pieces (WebCrypto takes one buffer).
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import type { StoredRow } from '../shared/types';
import { Slicer } from './tokenize-slices';

export async function sha256Hex(data: string | ArrayBuffer | Uint8Array): Promise<string> {
	const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
	// digest() needs a plain ArrayBuffer of exactly these bytes; a view may sit on a larger or a
	// shared buffer, and only then is it copied.
	const whole =
		bytes instanceof Uint8Array &&
		bytes.buffer instanceof ArrayBuffer &&
		bytes.byteOffset === 0 &&
		bytes.byteLength === bytes.buffer.byteLength;
	const input = bytes instanceof Uint8Array ? (whole ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer) : bytes;
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
	let hex = '';
	for (const b of digest) hex += b.toString(16).padStart(2, '0');
	return hex;
}

/**
 * The content hash of a dataset version: its label names (a row's label index means nothing
 * without them) and its rows as stored, in order. Each row is written as an array,
 * `[text, label, split, [[metaKey, value], …] | null]` with meta keys sorted, so the order in
 * which object keys were added can never change the hash. Prompt/response rows add
 * `response | null, [[role, content], …] | null`; other rows keep the four fields, so hashes of
 * classification datasets did not change when pairs were added.
 */
export async function datasetHash(labels: string[], rows: StoredRow[], onRows?: (done: number, total: number) => void): Promise<string> {
	// The bytes hashed are those of JSON.stringify({ labels, rows: layout }), fed a megabyte at a
	// time: as one string, a dataset of more than ~500 MB would pass V8's string length limit.
	const hash = sha256.create();
	const encoder = new TextEncoder();
	let parts: string[] = [];
	let length = 0;
	const flush = () => {
		hash.update(encoder.encode(parts.join('')));
		parts = [];
		length = 0;
	};
	const put = (s: string) => {
		parts.push(s);
		length += s.length;
		if (length >= 1 << 20) flush();
	};
	put(`{"labels":${JSON.stringify(labels)},"rows":[`);
	// A gigabyte of rows hashes for about ten seconds: in slices, so the data worker answers its
	// heartbeat and tells `onRows` the count (tokenize-slices.ts).
	const slicer = new Slicer();
	for (let i = 0; i < rows.length; i++) {
		if (i % 256 === 255 && slicer.due()) {
			onRows?.(i, rows.length);
			await slicer.yield();
		}
		const r = rows[i];
		const fields: unknown[] = [r.text, r.label, r.split, r.meta ? Object.keys(r.meta).sort().map((k) => [k, r.meta![k]]) : null];
		if (r.response !== undefined || r.messages !== undefined || r.labels)
			fields.push(r.response ?? null, r.messages ? r.messages.map((m) => [m.role, m.content]) : null);
		// A label set is part of the content; single-label rows hash as they always have.
		if (r.labels) fields.push(r.labels);
		put((i ? ',' : '') + JSON.stringify(fields));
	}
	put(']}');
	flush();
	onRows?.(rows.length, rows.length);
	return bytesToHex(hash.digest());
}
