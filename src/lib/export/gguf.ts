/**
 * A GGUF v3 writer (ggml docs/gguf.md): the single-file format llama.cpp, Ollama and LM Studio
 * load. Little-endian throughout:
 *
 *   "GGUF" u32 version=3 | u64 tensor_count | u64 kv_count
 *   kv:     string key | u32 value_type | value          (string = u64 byte length + UTF-8)
 *   tensor: string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset
 *   padding to general.alignment (32) | tensor data, each tensor starting at a multiple of it
 *
 * `ne` lists dimensions fastest-first, the reverse of a PyTorch/numpy shape, so a Hugging Face
 * [out, in] weight is written as ne = [in, out] with the same row-major bytes. Tensor types are
 * F32, F16 (IEEE half, round to nearest even) and Q8_0 (ggml-quants.c `quantize_row_q8_0_ref`:
 * blocks of 32 values along a row as an f16 scale d = max|x| / 127 and 32 int8 q = round(x / d),
 * rounding half away from zero, 34 bytes a block).
 */
import { floatToHalf } from '../engine/io/float16';

export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;
export const Q8_0_BLOCK = 32;

/** ggml_type ids of the tensor types written here. */
export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** gguf_type ids of metadata values. */
const VALUE_TYPE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10, i64: 11, f64: 12 } as const;
type Scalar = 'u32' | 'i32' | 'f32' | 'bool' | 'str' | 'u64';

/** One metadata value with its GGUF type: a scalar, or an array of one scalar type. */
export type GgufValue =
	| { type: 'u32' | 'i32' | 'f32' | 'u64'; value: number }
	| { type: 'bool'; value: boolean }
	| { type: 'str'; value: string }
	| { type: 'arr'; of: 'str'; value: string[] }
	| { type: 'arr'; of: 'i32' | 'f32' | 'u32'; value: number[] };

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const str = (value: string): GgufValue => ({ type: 'str', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });

export interface GgufTensor {
	name: string;
	/** PyTorch order, outermost first (written reversed as ggml's ne). */
	shape: number[];
	data: Float32Array;
	type: GgmlType;
}

/** Bytes a tensor of `type` with these elements takes; Q8_0 needs rows that are whole blocks. */
export function tensorBytes(type: GgmlType, shape: number[]): number {
	const n = shape.reduce((a, b) => a * b, 1);
	if (type === 'F32') return 4 * n;
	if (type === 'F16') return 2 * n;
	return (n / Q8_0_BLOCK) * (2 + Q8_0_BLOCK);
}

/** Round half away from zero, as C's roundf (Math.round rounds -2.5 to -2). */
function roundf(x: number): number {
	return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/** Q8_0 blocks of `x` (its length a multiple of 32), into `out` at `at`. */
export function quantizeQ8_0(x: Float32Array, out: DataView, at: number): void {
	const f = new Float32Array(3); // float32 arithmetic, as the C reference does it
	for (let b = 0; b < x.length; b += Q8_0_BLOCK) {
		let amax = 0;
		for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[b + j]));
		f[0] = amax / 127; // d
		f[1] = f[0] ? 1 / f[0] : 0; // id
		out.setUint16(at, floatToHalf(f[0]), true);
		for (let j = 0; j < Q8_0_BLOCK; j++) {
			f[2] = x[b + j] * f[1];
			out.setInt8(at + 2 + j, roundf(f[2]));
		}
		at += 2 + Q8_0_BLOCK;
	}
}

class Bytes {
	private view = new DataView(new ArrayBuffer(8));
	private chunks: Uint8Array[] = [];
	length = 0;
	private push(n: number) {
		this.chunks.push(new Uint8Array(this.view.buffer.slice(0, n)));
		this.length += n;
	}
	u32(v: number) {
		this.view.setUint32(0, v, true);
		this.push(4);
	}
	i32(v: number) {
		this.view.setInt32(0, v, true);
		this.push(4);
	}
	f32(v: number) {
		this.view.setFloat32(0, v, true);
		this.push(4);
	}
	u64(v: number) {
		this.view.setBigUint64(0, BigInt(v), true);
		this.push(8);
	}
	u8(v: number) {
		this.view.setUint8(0, v);
		this.push(1);
	}
	str(s: string) {
		const b = new TextEncoder().encode(s);
		this.u64(b.length);
		this.chunks.push(b);
		this.length += b.length;
	}
	scalar(type: Scalar, v: number | string | boolean) {
		if (type === 'str') this.str(v as string);
		else if (type === 'bool') this.u8(v ? 1 : 0);
		else this[type](v as number);
	}
	bytes(): Uint8Array {
		const out = new Uint8Array(this.length);
		let at = 0;
		for (const c of this.chunks) {
			out.set(c, at);
			at += c.length;
		}
		return out;
	}
}

const pad = (n: number) => (n + GGUF_ALIGNMENT - 1) - ((n + GGUF_ALIGNMENT - 1) % GGUF_ALIGNMENT);

/**
 * The bytes of a GGUF file with `metadata` (in the order given) and `tensors` (in the order given,
 * each converted to its type). `general.alignment` is written only if the caller puts it in.
 */
export function writeGguf(metadata: Record<string, GgufValue>, tensors: GgufTensor[]): Uint8Array {
	const head = new Bytes();
	head.u32(0x46554747); // "GGUF" read as a little-endian u32
	head.u32(GGUF_VERSION);
	head.u64(tensors.length);
	head.u64(Object.keys(metadata).length);
	for (const [key, v] of Object.entries(metadata)) {
		head.str(key);
		head.u32(VALUE_TYPE[v.type]);
		if (v.type === 'arr') {
			head.u32(VALUE_TYPE[v.of]);
			head.u64(v.value.length);
			for (const x of v.value) head.scalar(v.of, x);
		} else head.scalar(v.type, v.value);
	}
	let offset = 0;
	const offsets: number[] = [];
	for (const t of tensors) {
		if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`GGUF tensor '${t.name}': ${t.data.length} values for shape [${t.shape.join(', ')}].`);
		if (t.type === 'Q8_0' && t.shape[t.shape.length - 1] % Q8_0_BLOCK)
			throw new Error(`GGUF tensor '${t.name}': rows of ${t.shape[t.shape.length - 1]} values are not whole Q8_0 blocks of ${Q8_0_BLOCK}.`);
		head.str(t.name);
		head.u32(t.shape.length);
		for (const d of [...t.shape].reverse()) head.u64(d);
		head.u32(GGML_TYPE[t.type]);
		head.u64(offset);
		offsets.push(offset);
		offset = pad(offset + tensorBytes(t.type, t.shape));
	}
	const header = head.bytes();
	const dataStart = pad(header.length);
	const out = new Uint8Array(dataStart + offset);
	out.set(header, 0);
	const view = new DataView(out.buffer);
	tensors.forEach((t, i) => {
		const at = dataStart + offsets[i];
		if (t.type === 'F32') for (let j = 0; j < t.data.length; j++) view.setFloat32(at + 4 * j, t.data[j], true);
		else if (t.type === 'F16') for (let j = 0; j < t.data.length; j++) view.setUint16(at + 2 * j, floatToHalf(t.data[j]), true);
		else quantizeQ8_0(t.data, view, at);
	});
	return out;
}
