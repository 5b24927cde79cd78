/**
 * The safetensors format (huggingface/safetensors, format spec in its README): an 8-byte
 * little-endian header length N, N bytes of JSON `{name: {dtype, shape, data_offsets}, __metadata__}`,
 * then the tensor bytes. Validation follows the Rust crate: offsets must tile the data section
 * exactly (no gaps, no overlaps, nothing left over) and each byte length must equal
 * product(shape) * itemsize. Half-precision tensors are widened to float32 here, since tfjs
 * computes in float32 only; the writer narrows back with round-to-nearest-even.
 */
import { decodeBfloat16, decodeHalf, encodeBfloat16, encodeHalf } from './float16';

/** A file the user supplied is not a valid safetensors file; the message says where. */
export class SafetensorsError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SafetensorsError';
	}
}

/** Bytes per element of every dtype the format defines. */
export const DTYPE_SIZE: Record<string, number> = {
	BOOL: 1,
	U8: 1,
	I8: 1,
	F8_E5M2: 1,
	F8_E4M3: 1,
	I16: 2,
	U16: 2,
	F16: 2,
	BF16: 2,
	I32: 4,
	U32: 4,
	F32: 4,
	F64: 8,
	I64: 8,
	U64: 8
};

/** The Rust crate refuses headers over 100 MB; a larger length means a corrupt file. */
const MAX_HEADER = 100_000_000;

export type TensorData = Float32Array | BigInt64Array | Int32Array;

export interface SafetensorsTensor {
	/** The dtype as stored; `data` is widened (F16/BF16/F64 -> Float32Array, U8/I8/I16/U16/BOOL -> Int32Array). */
	dtype: string;
	shape: number[];
	data: TensorData;
}

export interface HeaderEntry {
	dtype: string;
	shape: number[];
	/** [begin, end) relative to the start of the data section. */
	dataOffsets: [number, number];
}

export interface SafetensorsHeader {
	/** N, the JSON header's byte length. */
	headerLength: number;
	/** Where the data section starts in the file: 8 + N. */
	dataStart: number;
	/** Byte length of the data section the header describes. */
	dataLength: number;
	metadata: Record<string, string>;
	entries: Map<string, HeaderEntry>;
}

/** N from the first 8 bytes of a file, so a caller can fetch exactly the header (HTTP range request). */
export function headerLength(first8: ArrayBuffer | Uint8Array): number {
	const bytes = first8 instanceof Uint8Array ? first8 : new Uint8Array(first8);
	if (bytes.byteLength < 8)
		throw new SafetensorsError(`File is ${bytes.byteLength} bytes long; a safetensors file starts with an 8-byte header length.`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
	const lo = view.getUint32(0, true);
	const hi = view.getUint32(4, true);
	const n = hi * 2 ** 32 + lo;
	if (n > MAX_HEADER) throw new SafetensorsError(`Header length ${n} is over the 100 MB limit; the file is corrupt or not safetensors.`);
	if (n < 2) throw new SafetensorsError(`Header length ${n} is too small to hold a JSON object.`);
	return n;
}

/**
 * Parse and validate the header. `bytes` needs only the first 8 + N bytes of the file; the
 * data section is not read, so a missing tail is not an error here (parseSafetensors checks it).
 */
export function readSafetensorsHeader(bytes: ArrayBuffer | Uint8Array): SafetensorsHeader {
	const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	const n = headerLength(u8);
	if (8 + n > u8.byteLength)
		throw new SafetensorsError(`Header length ${n} runs past the end of the ${u8.byteLength}-byte file; the file is truncated or not safetensors.`);
	let json: unknown;
	try {
		const text = new TextDecoder('utf-8', { fatal: true }).decode(u8.subarray(8, 8 + n));
		json = JSON.parse(text);
	} catch (e) {
		throw new SafetensorsError(`Header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt or not safetensors.`);
	}
	if (json === null || typeof json !== 'object' || Array.isArray(json))
		throw new SafetensorsError('Header JSON is not an object of tensors.');

	const metadata: Record<string, string> = {};
	const entries = new Map<string, HeaderEntry>();
	for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
		if (name === '__metadata__') {
			if (raw === null || typeof raw !== 'object') throw new SafetensorsError('__metadata__ must be an object of strings.');
			for (const [k, v] of Object.entries(raw)) {
				if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} must be a string.`);
				metadata[k] = v;
			}
			continue;
		}
		entries.set(name, parseEntry(name, raw));
	}

	// Offsets must tile [0, end) in order, as the Rust crate's validate() requires.
	const sorted = [...entries].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
	let cursor = 0;
	let prev = '';
	for (const [name, e] of sorted) {
		const [begin, end] = e.dataOffsets;
		if (begin < cursor) throw new SafetensorsError(`Tensor '${name}' (bytes ${begin}-${end}) overlaps '${prev}' (which ends at ${cursor}).`);
		if (begin > cursor)
			throw new SafetensorsError(`Gap in the data section: bytes ${cursor}-${begin} belong to no tensor (before '${name}').`);
		cursor = end;
		prev = name;
	}
	return { headerLength: n, dataStart: 8 + n, dataLength: cursor, metadata, entries };
}

function parseEntry(name: string, raw: unknown): HeaderEntry {
	if (raw === null || typeof raw !== 'object') throw new SafetensorsError(`Tensor '${name}': entry is not an object.`);
	const { dtype, shape, data_offsets: off } = raw as Record<string, unknown>;
	if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE))
		throw new SafetensorsError(`Tensor '${name}': unknown dtype ${JSON.stringify(dtype)}. Known: ${Object.keys(DTYPE_SIZE).join(', ')}.`);
	if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
		throw new SafetensorsError(`Tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers.`);
	if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[1] < off[0])
		throw new SafetensorsError(`Tensor '${name}': data_offsets ${JSON.stringify(off)} is not a [begin, end] pair with begin <= end.`);
	const count = shape.reduce((a: number, d: number) => a * d, 1);
	const expected = count * DTYPE_SIZE[dtype];
	if (off[1] - off[0] !== expected)
		throw new SafetensorsError(
			`Tensor '${name}': ${off[1] - off[0]} bytes stored, but ${dtype} of shape [${shape.join(', ')}] needs ${expected}.`
		);
	return { dtype, shape: shape as number[], dataOffsets: [off[0], off[1]] };
}

/** Read a whole safetensors file. F32 data that happens to be 4-byte aligned is a view of `buf`, not a copy. */
export function parseSafetensors(buf: ArrayBuffer): { metadata: Record<string, string>; tensors: Map<string, SafetensorsTensor> } {
	const header = readSafetensorsHeader(buf);
	const available = buf.byteLength - header.dataStart;
	if (available !== header.dataLength) {
		if (available < header.dataLength) {
			const cut = [...header.entries].find(([, e]) => e.dataOffsets[1] > available)?.[0];
			throw new SafetensorsError(
				`File is truncated: the header describes ${header.dataLength} bytes of tensor data but only ${available} follow it` +
					(cut ? ` (tensor '${cut}' has data_offsets past the end).` : '.')
			);
		}
		throw new SafetensorsError(`${available - header.dataLength} bytes after the last tensor belong to no tensor; the file is corrupt.`);
	}
	const tensors = new Map<string, SafetensorsTensor>();
	for (const [name, e] of header.entries) {
		const start = header.dataStart + e.dataOffsets[0];
		tensors.set(name, { dtype: e.dtype, shape: e.shape, data: decode(buf, start, e.dataOffsets[1] - e.dataOffsets[0], e.dtype, name) });
	}
	return { metadata: header.metadata, tensors };
}

function decode(buf: ArrayBuffer, start: number, byteLength: number, dtype: string, name: string): TensorData {
	const n = byteLength / DTYPE_SIZE[dtype];
	// Typed arrays need aligned offsets; copy the bytes out when the file's layout does not give that.
	const aligned = (size: number) => (start % size === 0 ? buf : buf.slice(start, start + byteLength));
	const at = (size: number) => (start % size === 0 ? start : 0);
	switch (dtype) {
		case 'F32':
			return new Float32Array(aligned(4), at(4), n);
		case 'F16':
			return decodeHalf(new Uint16Array(aligned(2), at(2), n));
		case 'BF16':
			return decodeBfloat16(new Uint16Array(aligned(2), at(2), n));
		case 'F64':
			return Float32Array.from(new Float64Array(aligned(8), at(8), n));
		case 'I64':
			return new BigInt64Array(aligned(8), at(8), n);
		case 'I32':
			return new Int32Array(aligned(4), at(4), n);
		case 'I16':
			return Int32Array.from(new Int16Array(aligned(2), at(2), n));
		case 'U16':
			return Int32Array.from(new Uint16Array(aligned(2), at(2), n));
		case 'U8':
		case 'BOOL':
			return Int32Array.from(new Uint8Array(buf, start, n));
		case 'I8':
			return Int32Array.from(new Int8Array(buf, start, n));
		default:
			throw new SafetensorsError(`Tensor '${name}': dtype ${dtype} is valid safetensors but not supported here (use F32, F16, BF16, F64, I64, I32, I16, U16, I8, U8 or BOOL).`);
	}
}

export type WriteDtype = 'F32' | 'F16' | 'BF16';

export interface WriteTensor {
	name: string;
	shape: number[];
	data: Float32Array;
	/** Storage dtype; float32 data is rounded to nearest even for F16/BF16. Default F32. */
	dtype?: WriteDtype;
}

/**
 * Serialize tensors as the Rust crate does: keys sorted, data in key order, the JSON header padded
 * with spaces to a multiple of 8 so every tensor starts 8-byte aligned.
 */
export function writeSafetensors(tensors: WriteTensor[], metadata?: Record<string, string>): ArrayBuffer {
	const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	const header: Record<string, unknown> = {};
	if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
	const payloads: Uint8Array[] = [];
	let offset = 0;
	let prevName: string | undefined;
	for (const t of sorted) {
		if (t.name === prevName) throw new SafetensorsError(`Tensor name '${t.name}' appears twice.`);
		if (t.name === '__metadata__') throw new SafetensorsError(`'__metadata__' is reserved and cannot name a tensor.`);
		prevName = t.name;
		const count = t.shape.reduce((a, d) => a * d, 1);
		if (count !== t.data.length)
			throw new SafetensorsError(`Tensor '${t.name}': shape [${t.shape.join(', ')}] holds ${count} values but data has ${t.data.length}.`);
		const dtype = t.dtype ?? 'F32';
		const bytes =
			dtype === 'F32'
				? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
				: new Uint8Array((dtype === 'F16' ? encodeHalf(t.data) : encodeBfloat16(t.data)).buffer);
		header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
		payloads.push(bytes);
		offset += bytes.byteLength;
	}
	const json = new TextEncoder().encode(JSON.stringify(header));
	const padded = Math.ceil(json.byteLength / 8) * 8;
	const out = new Uint8Array(8 + padded + offset);
	const view = new DataView(out.buffer);
	view.setUint32(0, padded, true);
	view.setUint32(4, 0, true);
	out.set(json, 8);
	out.fill(0x20, 8 + json.byteLength, 8 + padded);
	let at = 8 + padded;
	for (const p of payloads) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out.buffer;
}
