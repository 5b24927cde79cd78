import { describe, expect, it } from 'vitest';
import { Study, TrialPruned, optimize } from '../../../src/lib/experiments/study';
import { ashaShouldPrune, promotable, rungStep } from '../../../src/lib/experiments/pruners/asha';
import { medianShouldPrune } from '../../../src/lib/experiments/pruners/median';
import type { Trial } from '../../../src/lib/experiments/types';

const trial = (number: number, curve: number[], state: Trial['state'] = 'complete'): Trial => ({
	number,
	params: {},
	state,
	value: curve[curve.length - 1],
	intermediate: curve.map((v, i) => [i + 1, v]),
	startedAt: 0
});

describe('median pruner', () => {
	const finished = [0, 1, 2, 3, 4].map((i) => trial(i, [2 - i * 0.01, 1.5, 1.2, 1.0]));

	it('stops a trial whose curve is worse than the median at the same step, not one that is better', () => {
		expect(medianShouldPrune(trial(5, [2.5, 2.4], 'running'), finished, 'minimize')).toBe(true);
		expect(medianShouldPrune(trial(6, [1.9, 1.3], 'running'), finished, 'minimize')).toBe(false);
		// Maximising flips it.
		expect(medianShouldPrune(trial(7, [2.5, 2.4], 'running'), finished, 'maximize')).toBe(false);
	});

	it('waits for its startup trials and warm-up steps, and checks only every interval', () => {
		const bad = trial(5, [9, 9, 9], 'running');
		expect(medianShouldPrune(bad, finished.slice(0, 4), 'minimize')).toBe(false);
		expect(medianShouldPrune(bad, finished.slice(0, 4), 'minimize', { nStartupTrials: 4 })).toBe(true);
		expect(medianShouldPrune(bad, finished, 'minimize', { nWarmupSteps: 4 })).toBe(false);
		expect(medianShouldPrune(bad, finished, 'minimize', { nWarmupSteps: 1, intervalSteps: 3 })).toBe(false); // step 3: (3−1) % 3 ≠ 0
		expect(medianShouldPrune(bad, finished, 'minimize', { nWarmupSteps: 0, intervalSteps: 3 })).toBe(true);
		// No finished trial reported step 7: nothing to compare with.
		expect(medianShouldPrune({ ...bad, intermediate: [[7, 9]] }, finished, 'minimize')).toBe(false);
	});

	it('in a study: the worse half of later trials is pruned at an early step, and the best trial is never pruned', async () => {
		// Trial quality q; its curve decays to q. The pruner sees step values only.
		const qualities = [0.5, 0.9, 0.3, 0.7, 0.4, 0.95, 0.1, 0.8, 0.6, 0.2, 0.85, 0.05];
		const study = Study.create({
			name: 'm',
			space: { q: { type: 'categorical', choices: qualities } },
			direction: 'minimize',
			sampler: { kind: 'grid' },
			pruner: { kind: 'median', nStartupTrials: 3 },
			budget: { trials: qualities.length },
			seed: 1
		});
		await optimize(study, (p, t, s) => {
			const q = p.q as number;
			for (let step = 1; step <= 10; step++) if (s.report(t.number, step, q + 1 / step)) throw new TrialPruned();
			return q + 0.1;
		});
		const pruned = study.trials.filter((t) => t.state === 'pruned');
		expect(pruned.length).toBeGreaterThan(0);
		for (const t of pruned) {
			const earlier = study.trials.filter((u) => u.number < t.number && u.state === 'complete').map((u) => u.params.q as number);
			expect((t.params.q as number) > Math.min(...earlier)).toBe(true);
			expect(t.prunedAtStep).toBe(1); // the curves never cross, so the first step decides
		}
		expect(study.best()!.params.q).toBe(0.05);
	});
});

describe('ASHA / successive halving', () => {
	it("rungs sit at minResource · η^(rate + r), and only the top 1/η go on (Optuna's rule)", () => {
		expect([0, 1, 2].map((r) => rungStep(r, { minResource: 1, reductionFactor: 3, minEarlyStoppingRate: 0 }))).toEqual([1, 3, 9]);
		expect(rungStep(0, { minResource: 2, reductionFactor: 2, minEarlyStoppingRate: 1 })).toBe(4);
		expect(promotable(1, [1], 3)).toBe(true);
		expect(promotable(2, [1, 2], 3)).toBe(false); // fewer than η: only the best
		expect(promotable(2, [1, 2, 3, 4, 5, 6], 3)).toBe(true); // top 2 of 6
		expect(promotable(3, [1, 2, 3, 4, 5, 6], 3)).toBe(false);
	});

	it('on synthetic curves, promotes exactly the trials in the top third at each rung', () => {
		// Nine trials arrive one after another; trial i's curve is flat at value v[i].
		const v = [5, 3, 8, 1, 9, 4, 7, 2, 6];
		const o = { minResource: 1, reductionFactor: 3 };
		const trials: Trial[] = [];
		const stoppedAt: (number | null)[] = [];
		for (let i = 0; i < v.length; i++) {
			const t: Trial = { number: i, params: {}, state: 'running', intermediate: [], startedAt: 0 };
			let stop: number | null = null;
			for (let step = 1; step <= 9 && stop === null; step++) {
				t.intermediate.push([step, v[i]]);
				if (ashaShouldPrune(t, trials, 'minimize', o)) stop = step;
			}
			t.state = stop === null ? 'complete' : 'pruned';
			trials.push(t);
			stoppedAt.push(stop);
		}
		// Rung 0 (step 1): trial i goes on iff v[i] ≤ the ⌊n/3⌋-th best of those seen so far (n < 3: the best).
		// 5 first: on. 3 (best of 2): on. 8 (3 seen: top 1 = 3): stop. 1: on. 9: stop. 4 (6 seen: top 2 = 1, 3): stop. 7: stop. 2 (8 seen: top 2 = 1, 2): on. 6 (9: top 3 = 1, 2, 3): stop.
		// Rung 1 (step 3) among those that went on, in arrival order: 5 on, 3 on (best of 2), 1 on (top 1 of 3), 2 (4 seen: top 1 = 1): stop.
		// Rung 2 (step 9): 5 on, 3 on, 1 on (best of 3).
		expect(stoppedAt).toEqual([null, null, 1, null, 1, 1, 1, 3, 1]);
	});

	it('maximising: the largest values go on', () => {
		const a: Trial = { number: 0, params: {}, state: 'complete', intermediate: [[1, 0.9]], startedAt: 0 };
		ashaShouldPrune(a, [], 'maximize', { reductionFactor: 2 });
		const b: Trial = { number: 1, params: {}, state: 'running', intermediate: [[1, 0.5]], startedAt: 0 };
		expect(ashaShouldPrune(b, [a], 'maximize', { reductionFactor: 2 })).toBe(true);
		const c: Trial = { number: 2, params: {}, state: 'running', intermediate: [[1, 0.95]], startedAt: 0 };
		expect(ashaShouldPrune(c, [a, b], 'maximize', { reductionFactor: 2 })).toBe(false);
	});
});
