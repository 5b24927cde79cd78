import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
	headerLength,
	loadSharded,
	parseSafetensors,
	readSafetensorsHeader,
	SafetensorsError,
	writeSafetensors,
	type SafetensorsTensor,
	type WriteTensor
} from '../../../src/lib/engine/io';

function fixture(arch: string, file = 'model.safetensors'): ArrayBuffer {
	const b = readFileSync(fileURLToPath(new URL(`../../fixtures/hf-tiny/${arch}/${file}`, import.meta.url)));
	return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A file from a header (object, or raw text) and data bytes; `n` overrides the stated header length. */
function rawFile(header: object | string, data: Uint8Array = new Uint8Array(), n?: number): ArrayBuffer {
	const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
	const out = new Uint8Array(8 + json.length + data.length);
	new DataView(out.buffer).setUint32(0, n ?? json.length, true);
	out.set(json, 8);
	out.set(data, 8 + json.length);
	return out.buffer;
}

const f32 = (name: string, shape: number[], begin: number) => ({
	[name]: { dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] }
});

const asWrite = (tensors: Map<string, SafetensorsTensor>): WriteTensor[] =>
	[...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array }));

const bitsEqual = (a: Float32Array, b: Float32Array) =>
	a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((x, i) => x === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

describe('safetensors reader', () => {
	it('reads a transformers checkpoint: names, shapes, dtypes, metadata', () => {
		const { metadata, tensors } = parseSafetensors(fixture('llama'));
		expect(metadata).toEqual({ format: 'pt' });
		const emb = tensors.get('model.embed_tokens.weight')!;
		expect(emb.dtype).toBe('F32');
		expect(emb.shape).toEqual([128, 32]);
		expect(emb.data).toBeInstanceOf(Float32Array);
		expect(emb.data.length).toBe(128 * 32);
		expect(tensors.has('lm_head.weight')).toBe(false); // tied: not stored
	});

	it('widens F16 and BF16 files to the float32 values they hold', () => {
		const full = parseSafetensors(fixture('gpt2')).tensors;
		for (const file of ['model.f16.safetensors', 'model.bf16.safetensors']) {
			const half = parseSafetensors(fixture('gpt2', file)).tensors;
			const wte = half.get('transformer.wte.weight')!;
			expect(wte.dtype).toBe(file.includes('bf16') ? 'BF16' : 'F16');
			const a = wte.data as Float32Array;
			const b = full.get('transformer.wte.weight')!.data as Float32Array;
			// relative to the value, or to the smallest normal half below it (subnormals have a fixed absolute step)
			const worst = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]) / Math.max(Math.abs(b[i]), 2 ** -14)), 0);
			expect(worst).toBeLessThan(file.includes('bf16') ? 2 ** -8 : 2 ** -11);
		}
	});

	it('reads the header from the first 8 + N bytes alone (for HTTP range requests)', () => {
		const buf = fixture('bert');
		const n = headerLength(buf.slice(0, 8));
		const header = readSafetensorsHeader(buf.slice(0, 8 + n));
		expect(header.dataStart).toBe(8 + n);
		expect(header.dataLength).toBe(buf.byteLength - 8 - n);
		expect(header.entries.get('classifier.weight')).toEqual({ dtype: 'F32', shape: [3, 32], dataOffsets: expect.any(Array) });
	});

	it('decodes integer and F64 tensors', () => {
		const bytes = new Uint8Array(8 + 4 + 8 + 2 + 8);
		const view = new DataView(bytes.buffer);
		view.setBigInt64(0, -5n, true);
		view.setInt32(8, 123456, true);
		view.setFloat64(12, 0.1, true);
		bytes.set([1, 0], 20);
		bytes.set([0, 0, 0, 0, 0, 0, 0, 0], 22);
		const buf = rawFile(
			{
				ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] },
				n: { dtype: 'I32', shape: [], data_offsets: [8, 12] },
				x: { dtype: 'F64', shape: [1], data_offsets: [12, 20] },
				mask: { dtype: 'BOOL', shape: [2], data_offsets: [20, 22] },
				empty: { dtype: 'F32', shape: [0, 4], data_offsets: [22, 22] },
				u: { dtype: 'U8', shape: [8], data_offsets: [22, 30] }
			},
			bytes
		);
		const t = parseSafetensors(buf).tensors;
		expect(Array.from(t.get('ids')!.data as BigInt64Array)).toEqual([-5n]);
		expect(Array.from(t.get('n')!.data as Int32Array)).toEqual([123456]);
		expect(t.get('x')!.data[0]).toBe(Math.fround(0.1));
		expect(Array.from(t.get('mask')!.data as Int32Array)).toEqual([1, 0]);
		expect(t.get('empty')!.data.length).toBe(0);
		expect(t.get('u')!.data.length).toBe(8);
	});
});

describe('safetensors writer', () => {
	it('round-trips a checkpoint bit-exact', () => {
		const a = parseSafetensors(fixture('qwen2'));
		const written = writeSafetensors(asWrite(a.tensors), a.metadata);
		const b = parseSafetensors(written);
		expect(b.metadata).toEqual(a.metadata);
		expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
		for (const [name, t] of a.tensors) {
			expect(b.tensors.get(name)!.shape).toEqual(t.shape);
			expect(bitsEqual(b.tensors.get(name)!.data as Float32Array, t.data as Float32Array), name).toBe(true);
		}
		// writing what was read gives the same bytes again
		expect(new Uint8Array(writeSafetensors(asWrite(b.tensors), b.metadata))).toEqual(new Uint8Array(written));
	});

	it('lays the file out as the Rust crate does: sorted keys, space-padded 8-byte-aligned header', () => {
		const buf = writeSafetensors([
			{ name: 'b', shape: [2], data: new Float32Array([1, 2]) },
			{ name: 'a', shape: [1, 1], data: new Float32Array([3]) }
		]);
		const n = headerLength(buf);
		expect(n % 8).toBe(0);
		const text = new TextDecoder().decode(new Uint8Array(buf, 8, n));
		expect(text).toBe(
			'{"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'.padEnd(n, ' ')
		);
		expect(Array.from(new Float32Array(buf.slice(8 + n)))).toEqual([3, 1, 2]);
	});

	it('writes F16 and BF16 equal to torch .to(dtype) (round to nearest even)', () => {
		const full = parseSafetensors(fixture('llama'));
		for (const [dtype, file] of [
			['F16', 'model.f16.safetensors'],
			['BF16', 'model.bf16.safetensors']
		] as const) {
			const ours = parseSafetensors(writeSafetensors(asWrite(full.tensors).map((t) => ({ ...t, dtype })), full.metadata)).tensors;
			const torch = parseSafetensors(fixture('llama', file)).tensors;
			for (const [name, t] of torch) {
				expect(ours.get(name)!.dtype).toBe(dtype);
				expect(bitsEqual(ours.get(name)!.data as Float32Array, t.data as Float32Array), `${dtype} ${name}`).toBe(true);
			}
		}
	});

	it('refuses duplicate names and data that does not fill the shape', () => {
		const t = { name: 'x', shape: [2], data: new Float32Array(2) };
		expect(() => writeSafetensors([t, t])).toThrow(SafetensorsError);
		expect(() => writeSafetensors([{ ...t, shape: [3] }])).toThrow(/holds 3 values but data has 2/);
	});
});

describe('safetensors validation', () => {
	const cases: [string, () => ArrayBuffer, RegExp][] = [
		['a buffer shorter than 8 bytes', () => new ArrayBuffer(5), /5 bytes long/],
		['a header length past the end', () => rawFile({}, undefined, 1000), /runs past the end/],
		['a header length over 100 MB', () => rawFile({}, undefined, 2 ** 31), /over the 100 MB limit/],
		['a header that is not JSON', () => rawFile('{"a": [1, 2'), /not valid UTF-8 JSON/],
		['a header that is not an object', () => rawFile('[1, 2]'), /not an object/],
		['an unknown dtype', () => rawFile({ x: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unknown dtype "F12"/],
		['offsets past the data (truncated file)', () => rawFile(f32('x', [4], 0), new Uint8Array(8)), /truncated.*'x' has data_offsets past the end/],
		[
			'overlapping offsets',
			() => rawFile({ ...f32('x', [2], 0), ...f32('y', [2], 4) }, new Uint8Array(12)),
			/'y' \(bytes 4-12\) overlaps 'x'/
		],
		['a gap between tensors', () => rawFile({ ...f32('x', [1], 0), ...f32('y', [1], 8) }, new Uint8Array(12)), /Gap in the data section: bytes 4-8/],
		['bytes after the last tensor', () => rawFile(f32('x', [1], 0), new Uint8Array(8)), /4 bytes after the last tensor/],
		[
			'a byte length that does not match the shape',
			() => rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
			/8 bytes stored, but F32 of shape \[3\] needs 12/
		],
		['reversed offsets', () => rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }), /begin <= end/],
		['a malformed shape', () => rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /non-negative integers/]
	];
	for (const [what, make, message] of cases)
		it(`rejects ${what}`, () => {
			const buf = make();
			expect(() => parseSafetensors(buf)).toThrow(SafetensorsError);
			expect(() => parseSafetensors(buf)).toThrow(message);
		});

	it('rejects a real checkpoint cut short', () => {
		const buf = fixture('gpt2');
		expect(() => parseSafetensors(buf.slice(0, buf.byteLength - 100))).toThrow(/truncated/);
		expect(() => parseSafetensors(buf.slice(0, 100))).toThrow(/runs past the end/);
	});
});

describe('sharded checkpoints', () => {
	it('merges shards listed in model.safetensors.index.json', async () => {
		const { tensors } = parseSafetensors(fixture('gpt2'));
		const all = asWrite(tensors);
		const shards: Record<string, ArrayBuffer> = {
			'model-00001-of-00002.safetensors': writeSafetensors(all.filter((t) => t.name.includes('.h.0.')), { format: 'pt' }),
			'model-00002-of-00002.safetensors': writeSafetensors(all.filter((t) => !t.name.includes('.h.0.')), { format: 'pt' })
		};
		const weight_map = Object.fromEntries(all.map((t) => [t.name, t.name.includes('.h.0.') ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
		const fetched: string[] = [];
		const merged = await loadSharded({ weight_map }, async (file) => {
			fetched.push(file);
			return shards[file];
		});
		expect(fetched).toHaveLength(2);
		expect([...merged.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
		expect(merged.metadata).toEqual({ format: 'pt' });
		for (const [name, t] of tensors) expect(bitsEqual(merged.tensors.get(name)!.data as Float32Array, t.data as Float32Array)).toBe(true);

		await expect(loadSharded({ weight_map: { ...weight_map, extra: 'model-00002-of-00002.safetensors' } }, async (f) => shards[f])).rejects.toThrow(
			/lists 1 tensor\(s\) its shards do not contain, e.g. 'extra'/
		);
	});
});
