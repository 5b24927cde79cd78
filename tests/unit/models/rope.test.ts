import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRope, ropeCosSin, ropeInvFreq, rotateHalf } from '../../../src/lib/engine/ops';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('rope', () => {
	it('uses the rotate_half layout: [x1, x2] -> [-x2, x1]', () => {
		const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 1, 4]);
		expect(Array.from(rotateHalf(x).dataSync())).toEqual([-3, -4, 1, 2]);
	});

	it('computes inv_freq = theta^(-2i/d)', () => {
		const f = ropeInvFreq(8, 10000);
		expect(f[0]).toBe(1);
		expect(f[1]).toBeCloseTo(0.1, 7);
		expect(f[3]).toBeCloseTo(1e-3, 9);
	});

	it('makes q.k depend only on the distance between positions', () => {
		const hs = 8;
		const q = tf.randomNormal([1, 1, 1, hs], 0, 1, 'float32', 1) as tf.Tensor4D;
		const k = tf.randomNormal([1, 1, 1, hs], 0, 1, 'float32', 2) as tf.Tensor4D;
		const dot = (m: number, n: number) =>
			tf.tidy(() => {
				const a = ropeCosSin(tf.tensor2d([[m]], undefined, 'int32'), hs, 10000);
				const b = ropeCosSin(tf.tensor2d([[n]], undefined, 'int32'), hs, 10000);
				return applyRope(q, a.cos, a.sin).mul(applyRope(k, b.cos, b.sin)).sum().dataSync()[0];
			});
		expect(dot(7, 3)).toBeCloseTo(dot(4, 0), 4);
		expect(dot(7, 3)).not.toBeCloseTo(dot(5, 0), 2);
		tf.dispose([q, k]);
	});
});
