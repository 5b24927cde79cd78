import { describe, expect, it } from 'vitest';
import { bfloat16ToFloat, decodeHalf, floatToBfloat16, floatToHalf, halfToFloat, roundToBfloat16, roundToHalf } from '../../../src/lib/engine/io';

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('float16', () => {
	it('decodes special values: zeros, subnormals, largest, infinities, NaN', () => {
		expect(Object.is(halfToFloat(0x0000), 0)).toBe(true);
		expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
		expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
		expect(halfToFloat(0x03ff)).toBe(2 ** -14 - 2 ** -24); // largest subnormal
		expect(halfToFloat(0x0400)).toBe(2 ** -14); // smallest normal
		expect(halfToFloat(0x3c00)).toBe(1);
		expect(halfToFloat(0xc000)).toBe(-2);
		expect(halfToFloat(0x7bff)).toBe(65504);
		expect(halfToFloat(0x7c00)).toBe(Infinity);
		expect(halfToFloat(0xfc00)).toBe(-Infinity);
		expect(halfToFloat(0x7e00)).toBeNaN();
	});

	it('every half survives float32 and back', () => {
		for (let h = 0; h < 0x10000; h++) {
			if (isNaNHalf(h)) expect(isNaNHalf(floatToHalf(halfToFloat(h)))).toBe(true);
			else if (floatToHalf(halfToFloat(h)) !== h) throw new Error(`0x${h.toString(16)} did not round-trip`);
		}
	});

	it('rounds to nearest, ties to even, between every pair of neighbouring halves', () => {
		for (let h = 0; h < 0x7bff; h++) {
			const lo = halfToFloat(h);
			const hi = halfToFloat(h + 1);
			const mid = (lo + hi) / 2; // exact in float32: 12 significant bits
			const even = h % 2 === 0 ? h : h + 1;
			if (floatToHalf(mid) !== even) throw new Error(`midpoint of 0x${h.toString(16)} rounded to 0x${floatToHalf(mid).toString(16)}`);
			if (floatToHalf(-mid) !== (even | 0x8000)) throw new Error(`negative midpoint of 0x${h.toString(16)}`);
			const above = mid + (hi - lo) / 8;
			const below = mid - (hi - lo) / 8;
			if (floatToHalf(above) !== h + 1 || floatToHalf(below) !== h) throw new Error(`near-midpoint of 0x${h.toString(16)}`);
		}
	});

	it('overflows to infinity and underflows to zero at the right points', () => {
		expect(floatToHalf(65519.99)).toBe(0x7bff); // below the midpoint to the next step: stays 65504
		expect(floatToHalf(65520)).toBe(0x7c00); // the midpoint rounds to even, which is inf
		expect(floatToHalf(1e10)).toBe(0x7c00);
		expect(floatToHalf(-1e10)).toBe(0xfc00);
		expect(floatToHalf(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal -> even (0)
		expect(floatToHalf(2 ** -25 * 1.0001)).toBe(1);
		expect(floatToHalf(1e-10)).toBe(0);
		expect(floatToHalf(-1e-10)).toBe(0x8000);
		expect(isNaNHalf(floatToHalf(NaN))).toBe(true);
	});

	it('roundToHalf agrees with the scalar conversion', () => {
		const xs = new Float32Array([0.1, -3.14159, 1e-6, 70000, -0]);
		const r = roundToHalf(xs);
		xs.forEach((x, i) => expect(Object.is(r[i], halfToFloat(floatToHalf(x)))).toBe(true));
	});
});

describe('bfloat16', () => {
	it('is the upper half of a float32', () => {
		expect(bfloat16ToFloat(0x3f80)).toBe(1);
		expect(bfloat16ToFloat(0xc040)).toBe(-3);
		expect(bfloat16ToFloat(0x7f80)).toBe(Infinity);
		expect(bfloat16ToFloat(0x0001)).toBe(2 ** -133); // subnormal
		expect(bfloat16ToFloat(0x7fc0)).toBeNaN();
	});

	it('every bfloat16 survives float32 and back', () => {
		for (let h = 0; h < 0x10000; h++) {
			const x = bfloat16ToFloat(h);
			if (Number.isNaN(x)) expect(Number.isNaN(bfloat16ToFloat(floatToBfloat16(x)))).toBe(true);
			else if (floatToBfloat16(x) !== h) throw new Error(`0x${h.toString(16)} did not round-trip`);
		}
	});

	it('rounds to nearest, ties to even, between every pair of neighbouring values', () => {
		for (let h = 0; h < 0x7f7f; h++) {
			const mid = new Float32Array(new Uint32Array([(h << 16) | 0x8000]).buffer)[0]; // exactly halfway to h + 1
			const even = h % 2 === 0 ? h : h + 1;
			if (floatToBfloat16(mid) !== even) throw new Error(`midpoint above 0x${h.toString(16)}`);
			const above = new Float32Array(new Uint32Array([(h << 16) | 0x8001]).buffer)[0];
			if (floatToBfloat16(above) !== h + 1) throw new Error(`just above midpoint of 0x${h.toString(16)}`);
		}
		expect(floatToBfloat16(3.4e38)).toBe(0x7f80); // rounds up past the largest finite value to inf, as torch does
		expect(bitsOf(roundToBfloat16(new Float32Array([1 + 2 ** -9]))[0])).toBe(0x3f800000); // tie -> even (1.0)
	});
});

describe('half-precision arrays', () => {
	it('decodeHalf keeps NaN payloads and signs bit for bit', () => {
		const src = new Uint16Array([0x7e01, 0xfd00, 0x7c00, 0x8001, 0x3555]);
		const bits = Array.from(new Uint32Array(decodeHalf(src).buffer));
		expect(bits).toEqual([0x7fc02000, 0xffa00000, 0x7f800000, bitsOf(-(2 ** -24)), bitsOf(halfToFloat(0x3555))]);
	});
});
