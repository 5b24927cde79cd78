import { describe, expect, it } from 'vitest';
import * as quad from '../../../bench/objectives/shifted-quadratic.mjs';
import { Study, TrialPruned, bestSoFar, optimize, type Objective } from '../../../src/lib/experiments/study';
import { paramImportance } from '../../../src/lib/experiments/importance';
import { SpaceError, type SearchSpace } from '../../../src/lib/experiments/space';
import type { StudyConfig } from '../../../src/lib/experiments/types';

const config = (over: Partial<StudyConfig> = {}): StudyConfig => ({
	name: 'resume',
	space: quad.space as SearchSpace,
	direction: 'minimize',
	sampler: { kind: 'tpe', nStartupTrials: 5 },
	pruner: { kind: 'median', nStartupTrials: 3 },
	budget: { trials: 20 },
	seed: 11,
	...over
});

// A curve that decays to the quadratic's value, so the median pruner has something to compare.
const curved: Objective = (p, t, s) => {
	const v = quad.evaluate(p);
	for (let step = 1; step <= 5; step++) if (s.report(t.number, step, v + 5 / step)) throw new TrialPruned();
	return v;
};

let clock = 0;
const tick = () => (clock += 1000);

describe('study', () => {
	it('a study interrupted mid-trial and restored from its JSON ends exactly as an uninterrupted one', async () => {
		const whole = await optimize(Study.create(config(), 's', tick), curved);

		const first = Study.create(config(), 's', tick);
		for (let i = 0; i < 8; i++) {
			const t = first.ask()!;
			try {
				first.tell(t.number, { value: await curved(t.params, t, first) });
			} catch {
				first.tell(t.number, { pruned: true });
			}
		}
		// Trial 8 starts, reports two steps, and the tab closes.
		const cut = first.ask()!;
		first.report(cut.number, 1, quad.evaluate(cut.params) + 5);
		first.report(cut.number, 2, quad.evaluate(cut.params) + 2.5);
		const saved = JSON.parse(JSON.stringify(first.toJSON()));

		const resumed = Study.fromJSON(saved, tick);
		const again = resumed.ask()!;
		expect(again.number).toBe(8);
		expect(again.params).toEqual(cut.params);
		await optimize(resumed, curved);

		expect(resumed.trials.length).toBe(20);
		const strip = (s: Study) => s.trials.map((t) => ({ n: t.number, p: t.params, st: t.state, v: t.value, at: t.prunedAtStep }));
		expect(strip(resumed)).toEqual(strip(whole));
		expect(resumed.best()).toEqual(expect.objectContaining({ number: whole.best()!.number }));
		expect(whole.trials.some((t) => t.state === 'pruned')).toBe(true);
	});

	it('stops at the trial budget and at the time budget', async () => {
		const byTrials = await optimize(Study.create(config({ budget: { trials: 7 } }), 'a', tick), (p) => quad.evaluate(p));
		expect(byTrials.trials.length).toBe(7);
		expect(byTrials.stopReason()).toMatch(/7 trials/);
		// Each trial takes one tick (1 s) of the fake clock: a 5 s budget allows 5.
		const byTime = await optimize(Study.create(config({ budget: { seconds: 5 } }), 'b', tick), (p) => quad.evaluate(p));
		expect(byTime.trials.length).toBe(5);
		expect(byTime.stopReason()).toMatch(/time budget/);
	});

	it('records failures with their message, and a non-finite value as a failure', async () => {
		let n = 0;
		const s = await optimize(Study.create(config({ budget: { trials: 3 } }), 'f', tick), (p) => {
			n++;
			if (n === 1) throw new Error('out of memory');
			return n === 2 ? NaN : quad.evaluate(p);
		});
		expect(s.trials.map((t) => t.state)).toEqual(['failed', 'failed', 'complete']);
		expect(s.trials[0].error).toBe('out of memory');
		expect(s.trials[1].error).toMatch(/NaN/);
	});

	it('maximising: the best trial has the largest value and the history rises', async () => {
		const s = await optimize(Study.create(config({ direction: 'maximize', pruner: { kind: 'none' } }), 'x', tick), (p) => -quad.evaluate(p));
		const values = s.trials.map((t) => t.value!);
		expect(s.best()!.value).toBe(Math.max(...values));
		const hist = bestSoFar(s.trials, 'maximize') as number[];
		for (let i = 1; i < hist.length; i++) expect(hist[i]).toBeGreaterThanOrEqual(hist[i - 1]);
	});

	it('rejects a bad space with a message naming the parameter', () => {
		expect(() => Study.create(config({ space: { lr: { type: 'float', low: 0, high: 1, log: true } } }))).toThrow(SpaceError);
		expect(() => Study.create(config({ space: { lr: { type: 'float', low: 0, high: 1, log: true } } }))).toThrow(/"lr".*log scale/);
		expect(() => Study.create(config({ space: { rank: { type: 'int', low: 1, high: 8, when: { param: 'method', in: ['lora'] } } } }))).toThrow(/"method"/);
	});

	it('importance: the parameter that drives the objective gets the largest share', async () => {
		const s = await optimize(
			Study.create(
				config({
					space: { a: { type: 'float', low: 0, high: 1 }, b: { type: 'float', low: 0, high: 1 }, c: { type: 'categorical', choices: ['x', 'y'] } },
					sampler: { kind: 'random' },
					pruner: { kind: 'none' },
					budget: { trials: 60 }
				}),
				'i',
				tick
			),
			(p) => 10 * (p.a as number) + 0.5 * (p.b as number) + (p.c === 'x' ? 0.1 : 0)
		);
		const imp = paramImportance(s.config.space, s.trials);
		expect(imp.a).toBeGreaterThan(0.8);
		expect(imp.a + imp.b + imp.c).toBeCloseTo(1);
		expect(imp.b).toBeGreaterThan(imp.c);
	});
});
