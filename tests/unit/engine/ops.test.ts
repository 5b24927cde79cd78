import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { addMany, embedding } from '../../../src/lib/engine/ops';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('ops', () => {
	it('addMany sums any number of tensors (chunks stay under the WebGPU binding limit)', () => {
		for (const n of [1, 2, 6, 7, 13, 40]) {
			const parts = Array.from({ length: n }, (_, i) => tf.fill([3], i + 1));
			const total = addMany(parts);
			expect(Array.from(total.dataSync())).toEqual(new Array(3).fill((n * (n + 1)) / 2));
			tf.dispose([...parts, total]);
		}
	});

	it('embedding by one-hot matmul equals gather exactly, and so does its gradient', () => {
		const table = tf.randomNormal([50, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
		const ids = tf.tensor2d([[1, 4, 49], [0, 4, 7]], [2, 3], 'int32');
		const viaOp = embedding(table, ids);
		const viaGather = tf.gather(table, ids.reshape([-1])).reshape([2, 3, 8]);
		expect(Array.from(viaOp.dataSync())).toEqual(Array.from(viaGather.dataSync()));
		const up = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 4);
		const g1 = tf.grad((t: tf.Tensor) => embedding(t as tf.Tensor2D, ids).mul(up).sum())(table);
		const g2 = tf.grad((t: tf.Tensor) => tf.gather(t, ids.reshape([-1])).reshape([2, 3, 8]).mul(up).sum())(table);
		const a = g1.dataSync();
		const b = g2.dataSync();
		for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
	});
});
