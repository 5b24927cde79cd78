// Bootstrap intervals and the paired test: determinism, degenerate cases, sanity of coverage.
import { describe, expect, it } from 'vitest';
import { bootstrapCI, pairedBootstrap, quantile } from '../../../src/lib/engine/eval';

const correct = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 0 : 1));
const meanOf = (v: number[]) => (idx: Int32Array) => idx.reduce((s, i) => s + v[i], 0) / idx.length;

describe('bootstrapCI', () => {
	it('is deterministic for a seed and changes with it', () => {
		// Continuous values, so two seeds cannot land on the same quantised interval.
		const values = Array.from({ length: 200 }, (_, i) => Math.sin(i * 12.9898));
		const a = bootstrapCI(200, meanOf(values), { seed: 7 });
		expect(bootstrapCI(200, meanOf(values), { seed: 7 })).toEqual(a);
		expect(bootstrapCI(200, meanOf(values), { seed: 8 })).not.toEqual(a);
	});

	it('brackets the estimate with about the normal-approximation width', () => {
		const { estimate, low, high } = bootstrapCI(200, meanOf(correct), { seed: 1, resamples: 2000 });
		expect(estimate).toBe(0.75);
		expect(low).toBeLessThan(estimate);
		expect(high).toBeGreaterThan(estimate);
		const halfWidth = 1.96 * Math.sqrt((0.75 * 0.25) / 200);
		expect(high - low).toBeGreaterThan(1.5 * halfWidth);
		expect(high - low).toBeLessThan(2.5 * halfWidth);
	});

	it('collapses to the estimate for one example', () => {
		expect(bootstrapCI(1, () => 0.5)).toEqual({ estimate: 0.5, low: 0.5, high: 0.5 });
	});

	it('leaves out resamples where the metric is undefined', () => {
		let calls = 0;
		const r = bootstrapCI(10, () => (calls++ % 2 ? NaN : 1), { resamples: 10 });
		expect([r.low, r.high]).toEqual([1, 1]);
	});

	it('rejects empty data and bad options', () => {
		expect(() => bootstrapCI(0, () => 0)).toThrow(RangeError);
		expect(() => bootstrapCI(5, () => 0, { alpha: 1 })).toThrow(RangeError);
	});
});

describe('pairedBootstrap', () => {
	it('a system right wherever the other is wrong: p ≈ 0', () => {
		const b = correct.map((c) => 1 - c);
		const r = pairedBootstrap(200, meanOf(correct), meanOf(b), { seed: 3 });
		expect(r.diff).toBe(0.5);
		expect(r.pValue).toBe(0);
		expect(r.low).toBeGreaterThan(0);
	});

	it('identical systems: diff 0 and p = 1', () => {
		const r = pairedBootstrap(200, meanOf(correct), meanOf(correct), { seed: 3 });
		expect(r).toMatchObject({ diff: 0, low: 0, high: 0, pValue: 1 });
	});

	it('a small difference is not significant', () => {
		const b = correct.map((c, i) => (i === 1 ? 0 : c));
		expect(pairedBootstrap(200, meanOf(correct), meanOf(b), { seed: 3 }).pValue).toBeGreaterThan(0.05);
	});
});

it('quantile interpolates linearly like numpy.percentile', () => {
	expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
	expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 15);
	expect(quantile([5], 0.9)).toBe(5);
});
