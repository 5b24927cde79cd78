/**
 * TensorBoard's scalar smoothing: an exponential moving average over the logged points, debiased
 * so the first points are not pulled towards zero (`last / (1 - w^n)`, as Adam debiases its
 * moments). Gaps (null) and non-finite values pass through without moving the average; a constant
 * series is left as it is. Reference: tensorboard/plugins/scalar/vz_line_chart2 (resmoothDataset).
 */
export function emaSmooth(values: (number | null)[], weight: number): (number | null)[] {
	if (!(weight > 0)) return values.slice();
	const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
	if (finite.every((v) => v === finite[0])) return values.slice();
	let last = 0;
	let n = 0;
	return values.map((v) => {
		if (v === null || !Number.isFinite(v)) return v;
		last = last * weight + (1 - weight) * v;
		n++;
		return weight === 1 ? last : last / (1 - Math.pow(weight, n));
	});
}
