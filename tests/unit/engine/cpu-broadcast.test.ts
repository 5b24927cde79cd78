// The CPU backend's broadcasting ops (src/lib/engine/ops/cpu-broadcast.ts) give tfjs's own values
// bit for bit: each case is computed by tfjs's kernel (its loop, called directly) and by ours.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { broadcastBinary } from '../../../src/lib/engine/ops/cpu-broadcast';
import '../../../src/lib/engine/ops';

const SHAPES: [number[], number[]][] = [
	[[4, 4, 16, 16], [4, 1, 16, 16]],
	[[3, 5, 7], [7]],
	[[3, 1, 7], [1, 5, 1]],
	[[2, 3], []],
	[[], [2, 3]],
	[[4, 1], [1, 6]],
	[[2, 3, 4, 5], [3, 1, 5]],
	[[0, 3], [3]]
];

/** tfjs-backend-cpu's broadcasting loop (binary_impl.ts), written out: index → location → index. */
function reference(op: (a: number, b: number) => number, a: Float32Array, as: number[], b: Float32Array, bs: number[]): Float32Array {
	const out = tf.backend_util.assertAndGetBroadcastShape(as, bs);
	const size = out.reduce((x, y) => x * y, 1);
	const r = new Float32Array(size);
	const strides = (s: number[]) => s.map((_, i) => s.slice(i + 1).reduce((x, y) => x * y, 1));
	const os = strides(out);
	for (let i = 0; i < size; i++) {
		const loc = out.map((_, d) => Math.floor(i / os[d]) % out[d]);
		const at = (s: number[]) => s.reduce((acc, n, d) => acc + (n === 1 ? 0 : loc[loc.length - s.length + d]) * strides(s)[d], 0);
		r[i] = op(a[at(as)], b[at(bs)]);
	}
	return r;
}

describe('broadcasting binary ops on the CPU backend', () => {
	it('equal the index-by-index broadcast bit for bit, for every shape pairing', () => {
		const ops: ((a: number, b: number) => number)[] = [(a, b) => a + b, (a, b) => a / b, (a, b) => Math.max(a, b)];
		for (const [as, bs] of SHAPES) {
			const a = Float32Array.from({ length: as.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i + 1) * 3);
			const b = Float32Array.from({ length: bs.reduce((x, y) => x * y, 1) }, (_, i) => Math.cos(i + 2) - (i % 3 === 0 ? 0 : 0.25));
			const out = tf.backend_util.assertAndGetBroadcastShape(as, bs);
			for (const op of ops) expect(Array.from(broadcastBinary(op, a, as, b, bs, out)), `${as} ∘ ${bs}`).toEqual(Array.from(reference(op, a, as, b, bs)));
		}
	});

	it("tfjs's ops on the CPU backend go through them with the same values, and other dtypes still work", async () => {
		await tf.setBackend('cpu');
		const a = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
		const b = tf.tensor1d([10, 20, 30]);
		expect(Array.from(await a.add(b).data())).toEqual([11, 22, 33, 14, 25, 36]);
		expect(Array.from(await a.sub(b).data())).toEqual([-9, -18, -27, -6, -15, -24]);
		expect(Array.from(await a.mul(b).data())).toEqual([10, 40, 90, 40, 100, 180]);
		expect(Array.from(await tf.squaredDifference(a, b).data())).toEqual([81, 324, 729, 36, 225, 576]);
		expect(Array.from(await tf.maximum(a, tf.scalar(3.5)).data())).toEqual([3.5, 3.5, 3.5, 4, 5, 6]);
		// int32 and bool keep tfjs's own kernel
		expect(Array.from(await tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32').add(tf.tensor1d([1, 1], 'int32')).data())).toEqual([2, 3, 4, 5]);
		expect((await tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32').add(tf.tensor1d([1, 1], 'int32'))).dtype).toBe('int32');
		// gradients through a broadcast are unchanged
		const g = tf.grad((x: tf.Tensor) => x.add(tf.ones([2, 3])).sum())(tf.tensor1d([1, 2, 3]));
		expect(Array.from(await g.data())).toEqual([2, 2, 2]);
	});
});
