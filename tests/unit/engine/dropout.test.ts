/**
 * Hashed dropout (src/lib/engine/ops/dropout.ts) on the CPU: the mask a seed names, its rate, its
 * scale, and the composite's use of it; the WebGPU kernels are checked against this composite in
 * the browser tier (fused-kernels.spec.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { dropout, keepMask, mix32 } from '../../../src/lib/engine/ops/dropout';
import { loraKeepMask } from '../../../src/lib/engine/ops/lora';
import { attention } from '../../../src/lib/engine/ops/attention';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('keepMask', () => {
	it('keeps about 1 − rate of the elements, scaled by 1 / (1 − rate), and drops the rest', () => {
		for (const rate of [0.05, 0.1, 0.5, 0.9]) {
			const m = keepMask(12345, 200_000, rate);
			const kept = m.filter((v) => v !== 0);
			expect(Math.abs(kept.length / m.length - (1 - rate))).toBeLessThan(0.005);
			expect(new Set(kept)).toEqual(new Set([Math.fround(1 / (1 - rate))]));
		}
	});

	it('is named by its seed and stream: the same again, different for another', () => {
		const a = keepMask(7, 4096, 0.3);
		expect(keepMask(7, 4096, 0.3)).toEqual(a);
		const agree = (x: Float32Array, y: Float32Array) => x.filter((v, i) => (v === 0) === (y[i] === 0)).length / x.length;
		// Independent masks at 0.3 agree on 0.7² + 0.3² = 58% of the elements.
		expect(agree(a, keepMask(8, 4096, 0.3))).toBeLessThan(0.65);
		expect(agree(a, keepMask(7, 4096, 0.3, 1))).toBeLessThan(0.65);
	});

	it('is LoRA\'s mask with the adapter as the stream', () => {
		expect(loraKeepMask(99, 2, 5, 7, 0.2)).toEqual(keepMask(99, 35, 0.2, 2));
	});

	it('mixes with lowbias32 (the WGSL mix32)', () => {
		expect(mix32(0)).toBe(0);
		expect(mix32(1)).not.toBe(mix32(2));
		expect(mix32(0xffffffff)).toBeGreaterThanOrEqual(0);
	});
});

describe('dropout', () => {
	it('multiplies by the mask of its seed, and its gradient by the same mask', () => {
		const x = tf.randomNormal([4, 33]);
		const dy = tf.randomNormal([4, 33]);
		const mask = tf.tensor(keepMask(5, 132, 0.25), [4, 33]);
		const { value: y, grad: dx } = tf.valueAndGrad((t: tf.Tensor) => dropout(t, 0.25, 5))(x, dy);
		expect(Array.from(y.dataSync())).toEqual(Array.from(x.mul(mask).dataSync()));
		expect(Array.from(dx.dataSync())).toEqual(Array.from(dy.mul(mask).dataSync()));
	});

	it('is x at rate 0 and zeros at rate 1', () => {
		const x = tf.randomNormal([3, 3]);
		expect(dropout(x, 0, 1)).toBe(x);
		expect(Array.from(dropout(x, 1, 1).dataSync())).toEqual(new Array(9).fill(0));
	});

	it('drops attention weights by their (batch, head, query, key) index', () => {
		const q = tf.randomNormal([2, 2, 5, 4]) as tf.Tensor4D;
		const k = tf.randomNormal([2, 2, 5, 4]) as tf.Tensor4D;
		const v = tf.randomNormal([2, 2, 5, 4]) as tf.Tensor4D;
		const y = attention(q, k, v, { causal: true, dropout: { rate: 0.2, seed: 3 } });
		const w = tf.softmax(tf.matMul(q, k, false, true).mul(0.5).add(tf.linalg.bandPart(tf.ones([5, 5]), -1, 0).sub(1).mul(1e9)), -1);
		const expected = tf.matMul(w.mul(tf.tensor(keepMask(3, 100, 0.2), [2, 2, 5, 5])), v);
		expect(Math.max(...Array.from(y.sub(expected).abs().dataSync()))).toBeLessThan(1e-5);
	});
});
