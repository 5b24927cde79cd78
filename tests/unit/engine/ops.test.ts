import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { addMany, crossEntropy, embedding, layerNorm, rmsNorm, silu, siluGate } from '../../../src/lib/engine/ops';
import { fastPathEnabled, useFastPath } from '../../../src/lib/engine/fast-path';
import { elementwiseProgram, rowProgram, rowWorkgroupSize } from '../../../src/lib/engine/ops/fused/program';

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

	it('crossEntropy ignores negative labels, smooths towards uniform, and averages over counted rows', () => {
		const rows = [[1, 2, 0.5], [0, -1, 3], [2, 2, 2]];
		const labels = [2, -100, 0];
		const eps = 0.1;
		// float64 reference: (1 − ε)·(−log p[y]) + ε·mean(−log p), over the rows whose label is not negative
		let total = 0;
		let count = 0;
		rows.forEach((r, i) => {
			if (labels[i] < 0) return;
			const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
			const logp = r.map((v) => v - lse);
			total += (1 - eps) * -logp[labels[i]] + eps * -(logp.reduce((s, v) => s + v, 0) / r.length);
			count++;
		});
		const loss = crossEntropy(tf.tensor2d(rows), tf.tensor1d(labels, 'int32'), { labelSmoothing: eps });
		expect(loss.dataSync()[0]).toBeCloseTo(total / count, 6);
		// Every row ignored: the mean over max(count, 1) is 0, not NaN.
		expect(crossEntropy(tf.tensor2d(rows), tf.tensor1d([-100, -100, -100], 'int32')).dataSync()[0]).toBe(0);
	});

	it('the fused kernels stay off on the CPU backend, so the composites run even with the fast path enabled', () => {
		expect(fastPathEnabled()).toBe(true);
		expect(useFastPath()).toBe(false);
		const x = tf.randomNormal([3, 5], 0, 1, 'float32', 8);
		const g = tf.randomNormal([5], 1, 0.1, 'float32', 9) as tf.Tensor1D;
		const ln = layerNorm(x, g, tf.zeros([5]) as tf.Tensor1D).dataSync();
		const row = Array.from(x.dataSync().slice(0, 5));
		const mean = row.reduce((a, b) => a + b) / 5;
		const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / 5 + 1e-5);
		for (let j = 0; j < 5; j++) expect(ln[j]).toBeCloseTo((row[j] - mean) * rstd * g.dataSync()[j], 5);
		const ms = row.reduce((a, b) => a + b * b, 0) / 5;
		const rms = rmsNorm(x, g).dataSync();
		for (let j = 0; j < 5; j++) expect(rms[j]).toBeCloseTo((row[j] / Math.sqrt(ms + 1e-6)) * g.dataSync()[j], 5);
	});

	it('siluGate is silu(gate) · up, with the same gradients as the two ops composed', () => {
		const gate = tf.randomNormal([4, 7], 0, 2, 'float32', 5);
		const up = tf.randomNormal([4, 7], 0, 1, 'float32', 6);
		const f1 = (a: tf.Tensor, b: tf.Tensor) => siluGate(a, b).sum();
		const f2 = (a: tf.Tensor, b: tf.Tensor) => b.mul(silu(a)).sum();
		expect(Array.from(siluGate(gate, up).dataSync())).toEqual(Array.from(up.mul(silu(gate)).dataSync()));
		const [ga, gb] = tf.grads(f1)([gate, up]);
		const [ha, hb] = tf.grads(f2)([gate, up]);
		expect(Array.from(ga.dataSync())).toEqual(Array.from(ha.dataSync()));
		expect(Array.from(gb.dataSync())).toEqual(Array.from(hb.dataSync()));
	});

	it('fused programs: one workgroup per row (wider rows get more threads), one thread per element', () => {
		expect(rowWorkgroupSize(513)).toBe(64);
		expect(rowWorkgroupSize(50257)).toBe(256);
		const rows = rowProgram('k', ['x'], [33, 130], 33, 130, '');
		expect(rows.dispatch).toEqual([33, 1, 1]);
		expect(rows.workgroupSize).toEqual([64, 1, 1]);
		// The workgroup size is baked into the WGSL, so it is part of the pipeline's cache key.
		expect(rowProgram('k', ['x'], [7, 50257], 7, 50257, '').shaderKey).not.toBe(rows.shaderKey);
		const flat = elementwiseProgram('e', ['x'], [33, 130], 'result[index] = x[index];');
		expect(flat.dispatch).toEqual([Math.ceil((33 * 130) / 64), 1, 1]);
		expect(flat.getUserCode()).toContain('if (index < uniforms.size)');
	});
});

