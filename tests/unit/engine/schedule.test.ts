/**
 * Schedules against transformers' get_{constant,linear,cosine}_schedule_with_warmup, values
 * worked out by hand: LambdaLR multiplies the peak by lambda(k) at update k (0-based), so the
 * first update of a warmup has learning rate 0.
 */
import { describe, expect, it } from 'vitest';
import { learningRateAt, lrLambda, warmupSteps } from '../../../src/lib/engine/train/schedule';
import { defaultTrainConfig } from '../../../src/lib/shared/config';

const seq = (f: (k: number) => number, n: number) => Array.from({ length: n }, (_, k) => f(k));
const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 12));

describe('schedules', () => {
	it('constant with warmup: k / warmup, then 1', () => {
		close(seq((k) => lrLambda('constant', k, 4, 10), 8), [0, 0.25, 0.5, 0.75, 1, 1, 1, 1]);
	});

	it('linear with warmup: k / warmup, then (total - k) / (total - warmup) down to 0', () => {
		close(seq((k) => lrLambda('linear', k, 2, 10), 11), [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0]);
	});

	it('cosine: half a cosine from 1 to 0 after the warmup', () => {
		const c = Math.cos(Math.PI / 4);
		close(seq((k) => lrLambda('cosine', k, 0, 4), 5), [1, 0.5 * (1 + c), 0.5, 0.5 * (1 - c), 0]);
		close(seq((k) => lrLambda('cosine', k, 2, 6), 7), [0, 0.5, 1, 0.5 * (1 + c), 0.5, 0.5 * (1 - c), 0]);
	});

	it('cosine with a floor (cosine_with_min_lr): factor · (1 - r) + r', () => {
		close(seq((k) => lrLambda('cosine', k, 0, 4, 0.1), 5), [1, 0.5 * (1 + Math.cos(Math.PI / 4)) * 0.9 + 0.1, 0.55, 0.5 * (1 - Math.cos(Math.PI / 4)) * 0.9 + 0.1, 0.1]);
	});

	it('warmup as steps, or as ceil(ratio × total) when the steps are 0 (Trainer.get_warmup_steps)', () => {
		expect(warmupSteps({ warmupSteps: 0, warmupRatio: 0.1 }, 95)).toBe(10);
		expect(warmupSteps({ warmupSteps: 0, warmupRatio: 0.1 }, 100)).toBe(10);
		expect(warmupSteps({ warmupSteps: 3, warmupRatio: 0.5 }, 100)).toBe(3);
		expect(warmupSteps({ warmupSteps: 0, warmupRatio: 0 }, 100)).toBe(0);
	});

	it('learningRateAt scales the peak', () => {
		const t = { ...defaultTrainConfig, learningRate: 2e-3, schedule: 'linear' as const, warmupSteps: 0, warmupRatio: 0.25 };
		close(seq((k) => learningRateAt(t, k, 8), 9), [0, 1e-3, 2e-3, 2e-3 * (5 / 6), 2e-3 * (4 / 6), 2e-3 * (3 / 6), 2e-3 * (2 / 6), 2e-3 * (1 / 6), 0]);
	});
});
