/**
 * The fused optimizer's pure parts on the CPU: the arena layout (decayed parameters first, each
 * parameter one contiguous segment, the same layout on every call), the workgroup counts, the
 * uniforms the kernel reads (computed as the composites compute their constants), and that on a
 * backend other than WebGPU the optimizers decline the fast path and the step runs the
 * composites. The kernels themselves run on real WebGPU in tests/e2e/fused-optimizer.spec.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { arenaChunks, arenaLayout, chunkElements, MAX_WORKGROUPS, NORM_WORKGROUPS, segmentPieces, workgroupCounts } from '../../../src/lib/engine/train/arena';
import { decayByDefault } from '../../../src/lib/engine/train/adamw';
import { slotCount, uniformValues } from '../../../src/lib/engine/train/fused-optimizer';
import { createOptimizer } from '../../../src/lib/engine/train/optimizer';
import { StepAccumulator } from '../../../src/lib/engine/train/step';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const PARAMS: [string, number[]][] = [
	['h.0.attn.bias', [13]],
	['h.0.attn.weight', [7, 13]],
	['h.0.ln_1.weight', [5]],
	['h.1.norm.weight', [2, 3]],
	['h.1.mlp.weight', [3, 1, 9]],
	['head.weight', [1, 1]]
];

describe('arenaLayout', () => {
	it('puts the decayed parameters first, in order, each in one contiguous segment', () => {
		const l = arenaLayout(PARAMS, decayByDefault);
		expect(l.segments.map((s) => s.name)).toEqual(['h.0.attn.weight', 'h.1.mlp.weight', 'head.weight', 'h.0.attn.bias', 'h.0.ln_1.weight', 'h.1.norm.weight']);
		expect(l.segments.map((s) => s.offset)).toEqual([0, 91, 118, 119, 132, 137]);
		expect(l.segments.map((s) => s.size)).toEqual([91, 27, 1, 13, 5, 6]);
		expect(l.decayEnd).toBe(119);
		expect(l.total).toBe(143);
		for (const s of l.segments) expect(s.decays).toBe(s.offset < l.decayEnd);
		expect(arenaLayout(PARAMS, decayByDefault)).toEqual(l);
	});

	it('has no decayed region when nothing decays, and all of it when everything does', () => {
		expect(arenaLayout(PARAMS, () => false).decayEnd).toBe(0);
		const all = arenaLayout(PARAMS, () => true);
		expect(all.decayEnd).toBe(all.total);
		expect(all.segments.map((s) => s.name)).toEqual(PARAMS.map(([n]) => n));
	});
});

describe('workgroupCounts', () => {
	it('caps the norm pass at its partial sums and the update at the dispatch limit', () => {
		expect(workgroupCounts(1)).toEqual({ norm: 1, update: 1 });
		expect(workgroupCounts(257)).toEqual({ norm: 2, update: 2 });
		expect(workgroupCounts(1e6)).toEqual({ norm: NORM_WORKGROUPS, update: 3907 });
		expect(workgroupCounts(124e6)).toEqual({ norm: NORM_WORKGROUPS, update: MAX_WORKGROUPS });
	});
});

describe('uniformValues', () => {
	const layout = arenaLayout(PARAMS, decayByDefault);
	const flat = (u: { data: number[] }[]) => u.map((x) => x.data[0]);

	it('gives Adam the bias corrections and decay factor adamw.ts computes, and the clip threshold', () => {
		const u = flat(uniformValues({ kind: 'adam', decoupled: true, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 }, layout, 0.01, 1, 3, 1));
		expect(u.length).toBe(16);
		expect(u.slice(0, 8)).toEqual([143, 119, 1, 0, 1, 0.01, 0.1, 1 - 0.01 * 0.1]);
		expect(u[13]).toBe(Math.sqrt(1 - Math.pow(0.999, 3)));
		expect(u[14]).toBe(0.01 / (1 - Math.pow(0.9, 3)));
		expect(u.slice(8, 13)).toEqual([0.9, 1 - 0.9, 0.999, 1 - 0.999, 1e-8]);
	});

	it('turns the decay off without weight decay and the clip off without a threshold', () => {
		const u = flat(uniformValues({ kind: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0 }, layout, 0.1, 0, 1, 4));
		expect(u[1]).toBe(0);
		expect(u[4]).toBe(0);
		expect(u[15]).toBe(0.9);
		expect(flat(uniformValues({ kind: 'sgd', momentum: 0, nesterov: false, weightDecay: 0 }, layout, 0.1, -1, 1, 4))[4]).toBe(0);
	});

	it('keeps as many moment arenas as the composite keeps slots', () => {
		expect(slotCount({ kind: 'adam', decoupled: false, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 })).toBe(2);
		expect(slotCount({ kind: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0 })).toBe(1);
		expect(slotCount({ kind: 'sgd', momentum: 0, nesterov: false, weightDecay: 0 })).toBe(0);
	});
});

describe('off WebGPU', () => {
	it('the optimizers decline the fast path and the step runs the composites', () => {
		for (const optimizer of ['adamw', 'adam', 'sgd'] as const) {
			const params = new Map(PARAMS.map(([n, s]) => [n, tf.variable(tf.ones(s))]));
			const opt = createOptimizer(params, { optimizer, gradClip: 1 });
			const grads = Object.fromEntries(PARAMS.map(([n, s]) => [n, tf.ones(s)]));
			expect(opt.fusedApply?.(grads, 0.1, 1)).toBeNull();
			expect(opt.step).toBe(0);
			const acc = new StepAccumulator(opt, 1);
			acc.run(() => ({ loss: tf.addN([...params.values()].map((p) => p.sum())) as tf.Scalar, correct: tf.scalar(0) }), 1, 0.1);
			expect(opt.step).toBe(1);
			expect(params.get('h.0.attn.weight')!.dataSync()[0]).toBeLessThan(1);
			acc.dispose();
			opt.dispose();
			tf.dispose([...params.values(), ...Object.values(grads)]);
		}
	});
});

describe('arena chunks', () => {
	const layout = arenaLayout(PARAMS, decayByDefault);

	it('keeps an arena that fits in one chunk', () => {
		expect(arenaChunks(layout, layout.total)).toEqual([{ start: 0, total: layout.total, decayEnd: layout.decayEnd }]);
		for (const seg of layout.segments) expect(segmentPieces(seg, layout.total)).toEqual([{ chunk: 0, at: seg.offset, from: 0, size: seg.size }]);
	});

	it('cuts a larger one into chunks whose pieces cover every segment once, with the decay boundary counted per chunk', () => {
		for (const per of [1, 7, 50, layout.total - 1]) {
			const chunks = arenaChunks(layout, per);
			expect(chunks.length).toBe(Math.ceil(layout.total / per));
			expect(chunks.reduce((n, c) => n + c.total, 0)).toBe(layout.total);
			const covered = new Int32Array(layout.total);
			for (const seg of layout.segments) {
				const pieces = segmentPieces(seg, per);
				expect(pieces.reduce((n, p) => n + p.size, 0)).toBe(seg.size);
				let from = 0;
				for (const p of pieces) {
					expect(p.from).toBe(from);
					expect(p.at + p.size).toBeLessThanOrEqual(chunks[p.chunk].total);
					for (let i = 0; i < p.size; i++) covered[chunks[p.chunk].start + p.at + i]++;
					from += p.size;
				}
			}
			expect([...covered].every((n) => n === 1)).toBe(true);
			// Element i of the arena decays when i < decayEnd, in whichever chunk it lies.
			for (const c of chunks) expect(c.decayEnd).toBe(Math.max(0, Math.min(c.total, layout.decayEnd - c.start)));
		}
	});

	it('puts at least one value in a chunk', () => {
		expect(chunkElements(3)).toBe(1);
		expect(chunkElements(128 * 2 ** 20)).toBe(32 * 2 ** 20);
	});
});
