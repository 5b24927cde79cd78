/**
 * ops/lora.ts on the CPU (the composite, which is the reference of the fused kernels): the hashed
 * dropout masks (rate, independence across adapters and seeds, replay), and projections side by
 * side with adapters on some of them against each projection computed alone.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { dropThreshold, loraKeepMask, loraSideBySide, mix32 } from '../../../src/lib/engine/ops/lora';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const normal = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('loraKeepMask', () => {
	it('keeps about 1 − rate of the elements, scaled by 1 / (1 − rate)', () => {
		const m = loraKeepMask(7, 0, 200, 300, 0.25);
		const kept = m.filter((v) => v !== 0);
		expect(kept.length / m.length).toBeGreaterThan(0.74);
		expect(kept.length / m.length).toBeLessThan(0.76);
		expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.75)]));
	});

	it('draws the same mask for the same seed and adapter, and different ones otherwise', () => {
		const a = loraKeepMask(11, 0, 64, 64, 0.5);
		expect(loraKeepMask(11, 0, 64, 64, 0.5)).toEqual(a);
		const agree = (b: Float32Array) => b.reduce((n, v, i) => n + (v === a[i] ? 1 : 0), 0) / a.length;
		// Independent masks at rate 0.5 agree on about half the elements.
		expect(agree(loraKeepMask(11, 1, 64, 64, 0.5))).toBeLessThan(0.56);
		expect(agree(loraKeepMask(12, 0, 64, 64, 0.5))).toBeLessThan(0.56);
	});

	it('keeps everything at rate 0, and the threshold is in whole 24-bit steps', () => {
		expect(loraKeepMask(3, 2, 5, 7, 0).every((v) => v === 1)).toBe(true);
		expect(dropThreshold(0.05)).toBe(Math.round(0.05 * 2 ** 24));
		expect(dropThreshold(0)).toBe(0);
	});

	it('mix32 maps to unsigned 32-bit values and mixes its input', () => {
		expect(mix32(0)).toBe(0);
		// Every input maps to a 32-bit unsigned value, and the map is not the identity.
		const outs = [1, 2, 3, 0xffffffff].map(mix32);
		for (const o of outs) expect(o).toBe(o >>> 0);
		expect(new Set(outs).size).toBe(4);
		expect(outs[0]).not.toBe(1);
	});
});

describe('loraSideBySide (composite)', () => {
	const [n, inDim, r, scale] = [6, 5, 3, 0.75];
	const outs = [4, 2, 3];

	function parts(adapted: boolean[], bias: boolean) {
		return outs.map((o, i) => ({
			w: normal([o, inDim], 10 + i) as tf.Tensor2D,
			b: bias ? (normal([o], 20 + i) as tf.Tensor1D) : undefined,
			loraA: adapted[i] ? (normal([r, inDim], 30 + i) as tf.Tensor2D) : undefined,
			loraB: adapted[i] ? (normal([o, r], 40 + i) as tf.Tensor2D) : undefined
		}));
	}

	it('equals each projection computed alone, with adapters on some parts and no dropout', async () => {
		const x = normal([2, 3, inDim], 1);
		const ps = parts([true, false, true], true);
		const y = loraSideBySide(x, ps, { scale });
		expect(y.shape).toEqual([2, 3, 9]);
		const alone = ps.map((p) => {
			let v = tf.matMul(x.reshape([n, inDim]), p.w, false, true).add(p.b!);
			if (p.loraA) v = v.add(tf.matMul(tf.matMul(x.reshape([n, inDim]), p.loraA, false, true), p.loraB!, false, true).mul(scale));
			return v;
		});
		const want = await tf.concat(alone, -1).data();
		const got = await y.data();
		for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
	});

	it('drops x before each adapter with its own mask, and only in the adapters', async () => {
		const x = normal([n, inDim], 2);
		const ps = parts([true, true, false], false);
		const rate = 0.4;
		const seed = 1234;
		const y = await loraSideBySide(x, ps, { scale, dropout: { rate, seed } }).array() as number[][];
		const masks = [0, 1].map((a) => tf.tensor(loraKeepMask(seed, a, n, inDim, rate), [n, inDim]));
		const want = ps.map((p, i) => {
			const v = tf.matMul(x, p.w, false, true);
			if (!p.loraA) return v;
			return v.add(tf.matMul(tf.matMul(x.mul(masks[i]), p.loraA, false, true), p.loraB!, false, true).mul(scale));
		});
		const w = (await tf.concat(want, -1).array()) as number[][];
		for (let i = 0; i < n; i++) for (let j = 0; j < 9; j++) expect(y[i][j]).toBeCloseTo(w[i][j], 5);
		// The two adapters' masks differ, so dropping matters to each on its own.
		expect(await masks[0].sub(masks[1]).abs().sum().data()).not.toEqual(new Float32Array([0]));
	});

	it('keeps every bias when only some parts have one, with or without adapters', async () => {
		const x = normal([n, inDim], 4);
		for (const adapted of [[false, false, false], [true, false, false]]) {
			const ps = parts(adapted, true).map((p, i) => (i === 1 ? { ...p, b: undefined } : p));
			const y = await loraSideBySide(x, ps, { scale }).data();
			const want = await tf
				.concat(
					ps.map((p) => {
						let v = tf.matMul(x, p.w, false, true);
						if (p.b) v = v.add(p.b);
						if (p.loraA) v = v.add(tf.matMul(tf.matMul(x, p.loraA, false, true), p.loraB!, false, true).mul(scale));
						return v;
					}),
					-1
				)
				.data();
			for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 5);
		}
	});

	it('is the base projection alone when no part has an adapter', async () => {
		const x = normal([n, inDim], 3);
		const ps = parts([false, false, false], false);
		const y = await loraSideBySide(x, ps, { scale, dropout: { rate: 0.5, seed: 1 } }).data();
		const want = await tf.concat(ps.map((p) => tf.matMul(x, p.w, false, true)), -1).data();
		for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 5);
	});
});
