/**
 * Hashed dropout (src/lib/engine/ops/dropout.ts) on the CPU: the mask a seed names, its rate, its
 * scale, and the composite's use of it (also by the norms that add a residual branch); the WebGPU
 * kernels are checked against this composite in the browser tier (fused-kernels.spec.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { dropout, keepMask, mix32 } from '../../../src/lib/engine/ops/dropout';
import { loraKeepMask } from '../../../src/lib/engine/ops/lora';
import { attention } from '../../../src/lib/engine/ops/attention';
import { layerNorm, layerNormAddResidual, postLayerNorm, rmsNorm, rmsNormAddResidual } from '../../../src/lib/engine/ops/norm';

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

describe('residual dropout in the norm that adds the branch', () => {
	const x = tf.randomNormal([6, 10], 0, 1, 'float32', 1);
	const delta = tf.randomNormal([6, 10], 0, 1, 'float32', 2);
	const gamma = tf.randomNormal([10], 1, 0.2, 'float32', 3) as tf.Tensor1D;
	const beta = tf.randomNormal([10], 0, 0.2, 'float32', 4) as tf.Tensor1D;
	const up = tf.randomNormal([6, 10], 0, 1, 'float32', 5);
	const mask = tf.tensor(keepMask(21, 60, 0.3), [6, 10]);
	const drop = { rate: 0.3, seed: 21 };
	const maxAbs = (a: tf.Tensor, b: tf.Tensor) => Math.max(...Array.from(a.sub(b).abs().dataSync()));

	it('postLayerNorm drops δ by its seed\'s mask before the add: LN(x + δ · mask) twice, δ\'s gradient through the mask', () => {
		const [y, y2] = postLayerNorm(x, delta, gamma, beta, 1e-12, drop);
		expect(y2).toBe(y);
		expect(maxAbs(y, layerNorm(x.add(delta.mul(mask)), gamma, beta, 1e-12))).toBe(0);
		// Both uses as BERT makes them, against the same computation written out with the mask.
		const f = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, bt: tf.Tensor) => {
			const [h, res] = postLayerNorm(a, b, g as tf.Tensor1D, bt as tf.Tensor1D, 1e-12, drop);
			return h.mul(up).sum().add(res.square().sum());
		};
		const ref = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, bt: tf.Tensor) => {
			const h = layerNorm(a.add(b.mul(mask)), g as tf.Tensor1D, bt as tf.Tensor1D, 1e-12);
			return h.mul(up).sum().add(h.square().sum());
		};
		const got = tf.grads(f)([x, delta, gamma, beta]);
		const want = tf.grads(ref)([x, delta, gamma, beta]);
		got.forEach((g, i) => expect(maxAbs(g, want[i])).toBeLessThan(1e-6));
		// δ's gradient is x's through the mask: zero where δ was dropped.
		expect(maxAbs(got[1], got[0].mul(mask))).toBeLessThan(1e-6);
	});

	it('postLayerNorm without dropout, or at rate 0, is LN(x + δ)', () => {
		const plain = layerNorm(x.add(delta), gamma, beta);
		expect(maxAbs(postLayerNorm(x, delta, gamma, beta)[0], plain)).toBe(0);
		expect(maxAbs(postLayerNorm(x, delta, gamma, beta, 1e-5, { rate: 0, seed: 21 })[0], plain)).toBe(0);
	});

	it('the pre-norm add forms drop δ by the same mask: [x + δ · mask, norm of it]', () => {
		const s = x.add(delta.mul(mask));
		const [r, y] = layerNormAddResidual(x, delta, gamma, beta, 1e-5, drop);
		expect(maxAbs(r, s)).toBe(0);
		expect(maxAbs(y, layerNorm(s, gamma, beta))).toBe(0);
		const [r2, y2] = rmsNormAddResidual(x, delta, gamma, 1e-6, drop);
		expect(maxAbs(r2, s)).toBe(0);
		expect(maxAbs(y2, rmsNorm(s, gamma))).toBe(0);
	});
});
