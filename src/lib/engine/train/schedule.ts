/**
 * Learning-rate schedules as pure functions of the optimizer step, exactly as transformers'
 * get_constant_schedule_with_warmup, get_linear_schedule_with_warmup and
 * get_cosine_schedule_with_warmup (num_cycles 0.5; with `minLrRatio`, the cosine_with_min_lr
 * variant) compute them. As with torch's LambdaLR, update number k (0-based) uses the multiplier
 * at k: with warmup the first update's learning rate is 0.
 */
import type { ScheduleName, TrainConfig } from '../../shared/config';

/** Warmup steps as the Trainer's get_warmup_steps: the steps when given, else ceil(total × ratio). */
export function warmupSteps(t: Pick<TrainConfig, 'warmupSteps' | 'warmupRatio'>, total: number): number {
	return t.warmupSteps > 0 ? t.warmupSteps : Math.ceil(total * (t.warmupRatio ?? 0));
}

/** The multiplier of the peak learning rate at optimizer step `step` (0-based). */
export function lrLambda(schedule: ScheduleName, step: number, warmup: number, total: number, minLrRatio = 0): number {
	if (step < warmup) return step / Math.max(1, warmup);
	if (schedule === 'constant') return 1;
	if (schedule === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
	const progress = (step - warmup) / Math.max(1, total - warmup);
	const factor = 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress));
	return Math.max(0, factor * (1 - minLrRatio) + minLrRatio);
}

/** The learning rate of update `step` (0-based) of a run of `total` updates. */
export function learningRateAt(t: Pick<TrainConfig, 'learningRate' | 'schedule' | 'warmupSteps' | 'warmupRatio' | 'minLrRatio'>, step: number, total: number): number {
	return t.learningRate * lrLambda(t.schedule, step, warmupSteps(t, total), total, t.minLrRatio);
}
