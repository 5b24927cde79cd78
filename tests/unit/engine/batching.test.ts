import { describe, expect, it } from 'vitest';
import { bucketFor, lengthBuckets, makeBatch } from '../../../src/lib/engine/batching';

const data = {
	ids: Int32Array.from([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]),
	offsets: Int32Array.from([0, 3, 23]),
	labels: Int32Array.from([1, 0])
};

describe('makeBatch', () => {
	it('pads to a length bucket and fills short batches with masked dummy rows', () => {
		expect(lengthBuckets(64)).toEqual([16, 32, 64]);
		expect(bucketFor(17, lengthBuckets(64))).toBe(32);
		const b = makeBatch(data, [0, 1], 4, 64, 0);
		expect([b.rows, b.length, b.real]).toEqual([4, 32, 2]);
		expect(Array.from(b.labels)).toEqual([1, 0, -1, -1]);
		expect(Array.from(b.ids.slice(0, 4))).toEqual([5, 6, 7, 0]);
		expect(b.mask.slice(0, 32).reduce((a, c) => a + c, 0)).toBe(3);
		expect(b.mask.slice(32, 64).reduce((a, c) => a + c, 0)).toBe(20);
		expect(b.mask[64]).toBe(1); // a dummy row keeps one position so attention is defined
	});

	it('prepends the <cls> id and truncates to the context length', () => {
		const b = makeBatch(data, [1], 1, 16, 0, 1);
		expect(b.length).toBe(16);
		expect(b.ids[0]).toBe(1);
		expect(Array.from(b.ids.slice(1, 4))).toEqual([8, 9, 10]);
		expect(b.mask.reduce((a, c) => a + c, 0)).toBe(16);
	});

	it('word dropout hides tokens reproducibly, never all of a row', () => {
		const a = makeBatch(data, [0, 1], 2, 32, 0, undefined, { rate: 0.5, seed: 9 });
		const again = makeBatch(data, [0, 1], 2, 32, 0, undefined, { rate: 0.5, seed: 9 });
		const other = makeBatch(data, [0, 1], 2, 32, 0, undefined, { rate: 0.5, seed: 10 });
		expect(Array.from(a.mask)).toEqual(Array.from(again.mask));
		expect(Array.from(a.mask)).not.toEqual(Array.from(other.mask));
		const kept = a.mask.slice(32, 64).reduce((s, c) => s + c, 0);
		expect(kept).toBeGreaterThan(0);
		expect(kept).toBeLessThan(20);
		const all = makeBatch(data, [0], 1, 16, 0, undefined, { rate: 1, seed: 1 });
		expect(all.mask.reduce((s, c) => s + c, 0)).toBe(1);
	});
});
