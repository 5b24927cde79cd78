/**
 * How numbers read on the Evaluate and Compare screens and in the decision report: shares as
 * percentages with their interval ("82.5% [76.7–88.3]"), differences in percentage points,
 * durations. One place, so the page and the downloaded report say the same thing.
 */

export interface Interval {
	estimate: number;
	low: number | null;
	high: number | null;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

export function pct(v: number | null | undefined, digits = 1): string {
	return finite(v) ? `${(v * 100).toFixed(digits)}%` : '–';
}

export function num(v: number | null | undefined, digits = 3): string {
	return finite(v) ? v.toFixed(digits) : '–';
}

/** "82.5% [76.7–88.3]" for a share, "0.412 [0.380–0.447]" otherwise; the bare value without an interval. */
export function withInterval(iv: Interval | null | undefined, asPct = true, digits = asPct ? 1 : 3): string {
	if (!iv) return '–';
	const head = asPct ? pct(iv.estimate, digits) : num(iv.estimate, digits);
	const range = rangeOf(iv, asPct, digits);
	return range ? `${head} [${range}]` : head;
}

/** Just the interval, "76.7–88.3" (empty without one). */
export function rangeOf(iv: Interval | null | undefined, asPct = true, digits = asPct ? 1 : 3): string {
	if (!iv || !finite(iv.low) || !finite(iv.high)) return '';
	const f = (v: number) => (asPct ? (v * 100).toFixed(digits) : v.toFixed(digits));
	return `${f(iv.low)}–${f(iv.high)}`;
}

/** A difference of shares in percentage points, signed: "+12.3 pts". */
export function pts(v: number | null | undefined, digits = 1): string {
	if (!finite(v)) return '–';
	const s = (v * 100).toFixed(digits);
	return `${v > 0 ? '+' : v < 0 ? '' : '±'}${s} pts`;
}

export function signed(v: number | null | undefined, digits = 3): string {
	if (!finite(v)) return '–';
	return `${v > 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/** "3 min 12 s", "1 h 04 min", "850 ms". */
export function duration(ms: number | null | undefined): string {
	if (!finite(ms)) return '–';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	const s = Math.round(ms / 1000);
	if (s < 60) return `${s} s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
	return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** 1234567 → "1.23 M", 52000 → "52.0 k". */
export function count(n: number | null | undefined): string {
	if (!finite(n)) return '–';
	if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
	if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
	if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
	return n.toLocaleString('en-US');
}

/** The p-value-like share, never printed as a bare 0 (it is bounded by the number of resamples). */
export function share(v: number, resamples: number): string {
	if (v === 0) return `< ${(1 / resamples).toPrecision(1)}`;
	return v < 0.001 ? v.toExponential(1) : v.toFixed(3);
}
