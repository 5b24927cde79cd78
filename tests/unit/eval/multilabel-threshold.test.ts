/**
 * A multi-label evaluation read at another threshold (the Evaluate screen's what-if): decisions
 * from stored probabilities, the sweep over thresholds and its best point. At each threshold the
 * sweep's figures are those of the sklearn-checked report on the decisions at that threshold.
 */
import { describe, expect, it } from 'vitest';
import { bestThreshold, decide, multilabelReport, THRESHOLD_GRID, thresholdSweep } from '../../../src/lib/engine/eval/multilabel';
import { Prng } from '../../../src/lib/shared/prng';

/** `n` rows of `l` labels: each label true with its own rate, its probability noisy around the truth. */
function scored(n: number, l: number, seed = 3) {
	const rng = new Prng(seed);
	const truth = new Uint8Array(n * l);
	const probs = new Float32Array(n * l);
	for (let i = 0; i < n; i++)
		for (let j = 0; j < l; j++) {
			const y = rng.next() < 0.15 + 0.1 * j ? 1 : 0;
			truth[i * l + j] = y;
			probs[i * l + j] = Math.min(0.999, Math.max(0.001, (y ? 0.62 : 0.3) + (rng.next() - 0.5) * 0.7));
		}
	return { truth, probs };
}

describe('multi-label threshold', () => {
	it('decides at or above the threshold', () => {
		expect([...decide(Float32Array.from([0.2, 0.5, 0.49999, 0.9]), 0.5)]).toEqual([0, 1, 0, 1]);
		expect([...decide([0.05, 0.04], 0.05)]).toEqual([1, 0]);
	});

	it('the sweep runs 0.05 to 0.95, and each point is the report at that threshold', () => {
		expect(THRESHOLD_GRID).toHaveLength(19);
		expect(THRESHOLD_GRID[0]).toBe(0.05);
		expect(THRESHOLD_GRID[9]).toBe(0.5);
		expect(THRESHOLD_GRID.at(-1)).toBe(0.95);
		const l = 4;
		const { truth, probs } = scored(300, l);
		const labels = ['a', 'b', 'c', 'd'];
		const rows = Array.from({ length: 300 }, (_, i) => i);
		const sweep = thresholdSweep(truth, probs, l);
		expect(sweep.map((p) => p.threshold)).toEqual([...THRESHOLD_GRID]);
		for (const p of sweep) {
			const r = multilabelReport(truth, decide(probs, p.threshold), labels, rows, p.threshold).multiLabel;
			expect(p.micro).toEqual(r.micro);
			expect(p.macroF1).toBe(r.macro.f1);
			expect(p.subsetAccuracy).toBe(r.subsetAccuracy);
		}
		// a higher threshold predicts fewer labels: micro recall never rises
		for (let k = 1; k < sweep.length; k++) expect(sweep[k].micro.recall).toBeLessThanOrEqual(sweep[k - 1].micro.recall);
		// at the lowest threshold every true label (p ≥ 0.27 here) is predicted: recall 1, precision
		// the true slots over the slots at or above 0.05
		const trueSlots = truth.reduce((a, b) => a + b, 0);
		const predicted = probs.reduce((a, p) => a + (p >= 0.05 ? 1 : 0), 0);
		expect(sweep[0].micro.recall).toBe(1);
		expect(sweep[0].micro.precision).toBeCloseTo(trueSlots / predicted, 12);
	});

	it('the best point has the highest micro F1, the lowest threshold among equals; none for no points', () => {
		const { truth, probs } = scored(200, 3, 9);
		const sweep = thresholdSweep(truth, probs, 3);
		const best = bestThreshold(sweep)!;
		expect(best.micro.f1).toBe(Math.max(...sweep.map((p) => p.micro.f1)));
		expect(sweep.find((p) => p.micro.f1 === best.micro.f1)).toBe(best);
		// with these scores (true ≈ 0.62, false ≈ 0.3) the best threshold lies between them, not at 0.5's default by chance
		expect(best.threshold).toBeGreaterThan(0.3);
		expect(best.threshold).toBeLessThanOrEqual(0.7);
		expect(bestThreshold([])).toBeUndefined();
	});

	it('an evaluation without rows has nothing to sweep (no NaN point)', () => {
		expect(thresholdSweep(new Uint8Array(0), new Float32Array(0), 3)).toEqual([]);
		expect(bestThreshold(thresholdSweep(new Uint8Array(0), new Float32Array(0), 3))).toBeUndefined();
	});
});
