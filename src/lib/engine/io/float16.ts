/**
 * Half-precision storage formats, widened to float32 for compute and narrowed back for export.
 * float16 is IEEE 754 binary16; bfloat16 is the upper half of a float32. Narrowing rounds to
 * nearest, ties to even, as torch's `.to(torch.float16 | torch.bfloat16)` does, so a file written
 * here equals one written by PyTorch bit for bit.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits -> float32 value (exact: every half is representable in float32). */
export function halfToFloat(h: number): number {
	const sign = h & 0x8000 ? -1 : 1;
	const exp = (h >>> 10) & 0x1f;
	const mant = h & 0x3ff;
	if (exp === 0) return sign * mant * 2 ** -24; // zero and subnormals
	if (exp === 0x1f) {
		// keep NaN payloads: build the float32 bits rather than returning a generic NaN
		u32[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mant << 13);
		return f32[0];
	}
	return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 value -> binary16 bits, round to nearest even; overflow goes to ±inf. */
export function floatToHalf(x: number): number {
	f32[0] = x;
	const bits = u32[0];
	const sign = (bits >>> 16) & 0x8000;
	const exp = (bits >>> 23) & 0xff;
	let mant = bits & 0x7fffff;
	if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / quiet NaN
	const e = exp - 127 + 15;
	if (e >= 0x1f) return sign | 0x7c00;
	if (e <= 0) {
		// below 2^-25 everything rounds to zero (2^-25 itself is a tie that goes to even 0)
		if (e < -10) return sign;
		mant |= 0x800000; // implicit leading one
		const shift = 14 - e; // 14..24: align to the subnormal unit 2^-24
		let half = mant >>> shift;
		const rem = mant & ((1 << shift) - 1);
		const halfway = 1 << (shift - 1);
		if (rem > halfway || (rem === halfway && half & 1)) half++; // a carry lands on the smallest normal, correctly
		return sign | half;
	}
	let half = sign | (e << 10) | (mant >>> 13);
	const rem = mant & 0x1fff;
	if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is the right rounding (to inf at the top)
	return half;
}

/** bfloat16 bits -> float32 value (exact). */
export function bfloat16ToFloat(h: number): number {
	u32[0] = (h & 0xffff) << 16;
	return f32[0];
}

/** float32 value -> bfloat16 bits, round to nearest even. */
export function floatToBfloat16(x: number): number {
	f32[0] = x;
	const bits = u32[0];
	if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return ((bits >>> 16) | 0x40) & 0xffff; // quiet NaN
	return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

let halfTable: Uint32Array | undefined;

/** float32 bits of every half, built once: a checkpoint has hundreds of millions of values to widen. */
function halfBits(): Uint32Array {
	if (!halfTable) {
		halfTable = new Uint32Array(0x10000);
		for (let h = 0; h < 0x10000; h++) {
			if ((h & 0x7c00) === 0x7c00) {
				// inf and NaN as bits: a NaN that passes through a JS number may lose its payload
				halfTable[h] = (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
				continue;
			}
			f32[0] = halfToFloat(h);
			halfTable[h] = u32[0];
		}
	}
	return halfTable;
}

export function decodeHalf(src: Uint16Array): Float32Array {
	const table = halfBits();
	const out = new Float32Array(src.length);
	const bits = new Uint32Array(out.buffer); // copy bits, so NaN payloads survive
	for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
	return out;
}

export function decodeBfloat16(src: Uint16Array): Float32Array {
	const out = new Float32Array(src.length);
	const bits = new Uint32Array(out.buffer);
	for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
	return out;
}

export function encodeHalf(src: Float32Array): Uint16Array {
	const out = new Uint16Array(src.length);
	for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
	return out;
}

export function encodeBfloat16(src: Float32Array): Uint16Array {
	const out = new Uint16Array(src.length);
	for (let i = 0; i < src.length; i++) out[i] = floatToBfloat16(src[i]);
	return out;
}

/** The float32 values a float16 file would hold for `src` (round to nearest even). */
export function roundToHalf(src: Float32Array): Float32Array {
	return decodeHalf(encodeHalf(src));
}

/** The float32 values a bfloat16 file would hold for `src` (round to nearest even). */
export function roundToBfloat16(src: Float32Array): Float32Array {
	return decodeBfloat16(encodeBfloat16(src));
}
