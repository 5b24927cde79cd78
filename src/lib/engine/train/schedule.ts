/**
 * Learning-rate schedules as pure functions of the step: linear warmup, then cosine decay to a
 * floor (as in transformers' get_cosine_schedule_with_warmup, with a non-zero minimum).
 */

export function warmupCosine(step: number, peak: number, warmup: number, total: number, floor = 0.1): number {
	if (warmup > 0 && step < warmup) return (peak * (step + 1)) / warmup;
	const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
	return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
