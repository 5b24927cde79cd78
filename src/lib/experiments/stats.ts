/**
 * The numerics the samplers, pruners and summaries share: the normal CDF and its inverse, a
 * log-sum-exp, quantiles, and Student's t quantile for confidence intervals. Plain numbers only.
 */

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes, 2nd ed., §6.2). */
export function erfc(x: number): number {
	const z = Math.abs(x);
	const t = 1 / (1 + 0.5 * z);
	const r =
		t *
		Math.exp(
			-z * z -
				1.26551223 +
				t *
					(1.00002368 +
						t *
							(0.37409196 +
								t *
									(0.09678418 +
										t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
		);
	return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
	return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
	if (p <= 0) return -Infinity;
	if (p >= 1) return Infinity;
	const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
	const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
	const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
	const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
	const lo = 0.02425;
	if (p < lo) {
		const q = Math.sqrt(-2 * Math.log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - lo) return -normalQuantile(1 - p);
	const q = p - 0.5;
	const r = q * q;
	return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

export function logSumExp(xs: readonly number[]): number {
	let m = -Infinity;
	for (const x of xs) if (x > m) m = x;
	if (m === -Infinity) return -Infinity;
	let s = 0;
	for (const x of xs) s += Math.exp(x - m);
	return m + Math.log(s);
}

/** Linear-interpolated quantile (numpy's default), q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
	if (values.length === 0) return NaN;
	const s = values.slice().sort((a, b) => a - b);
	const pos = (s.length - 1) * q;
	const lo = Math.floor(pos);
	const hi = Math.ceil(pos);
	return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export function mean(values: readonly number[]): number {
	let s = 0;
	for (const v of values) s += v;
	return s / values.length;
}

/** Sample standard deviation (n − 1). */
export function std(values: readonly number[]): number {
	if (values.length < 2) return 0;
	const m = mean(values);
	let s = 0;
	for (const v of values) s += (v - m) ** 2;
	return Math.sqrt(s / (values.length - 1));
}

function logGamma(x: number): number {
	// Lanczos, g = 7, n = 9.
	const g = [
		0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
		-0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
	];
	if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
	x -= 1;
	let a = g[0];
	const t = x + 7.5;
	for (let i = 1; i < 9; i++) a += g[i] / (x + i);
	return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical Recipes §6.4). */
function betaInc(x: number, a: number, b: number): number {
	if (x <= 0) return 0;
	if (x >= 1) return 1;
	const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
	if (x > (a + 1) / (a + b + 2)) return 1 - betaInc(1 - x, b, a);
	const tiny = 1e-300;
	let c = 1;
	let d = 1 - ((a + b) * x) / (a + 1);
	if (Math.abs(d) < tiny) d = tiny;
	d = 1 / d;
	let f = d;
	for (let m = 1; m <= 300; m++) {
		for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
			d = 1 + num * d;
			if (Math.abs(d) < tiny) d = tiny;
			c = 1 + num / c;
			if (Math.abs(c) < tiny) c = tiny;
			d = 1 / d;
			f *= c * d;
		}
		if (Math.abs(c * d - 1) < 1e-12) break;
	}
	return (front * f) / a;
}

/** Student's t CDF with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
	const x = df / (df + t * t);
	const tail = 0.5 * betaInc(x, df / 2, 0.5);
	return t >= 0 ? 1 - tail : tail;
}

/** Student's t quantile, by bisection on the CDF. */
export function tQuantile(p: number, df: number): number {
	let lo = -1e3;
	let hi = 1e3;
	for (let i = 0; i < 200; i++) {
		const mid = (lo + hi) / 2;
		if (tCdf(mid, df) < p) lo = mid;
		else hi = mid;
	}
	return (lo + hi) / 2;
}

export interface Interval {
	n: number;
	mean: number;
	std: number;
	/** Two-sided t interval on the mean at `level`; equal to the mean when n < 2. */
	low: number;
	high: number;
	level: number;
}

/** Mean and t confidence interval of the mean (as scipy.stats.t.interval with the standard error). */
export function meanInterval(values: readonly number[], level = 0.95): Interval {
	const n = values.length;
	const m = mean(values);
	const s = std(values);
	if (n < 2) return { n, mean: m, std: s, low: m, high: m, level };
	const half = tQuantile(1 - (1 - level) / 2, n - 1) * (s / Math.sqrt(n));
	return { n, mean: m, std: s, low: m - half, high: m + half, level };
}
