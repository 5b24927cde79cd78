/**
 * Label-only reports: the classification report the Evaluate screen shows first (accuracy, macro
 * F1, per-class precision/recall/F1, the confusion matrix with rows = true class and columns =
 * predicted), and the same metrics per value of each metadata column (slices), a bias check in
 * the manner of "Model Cards for Model Reporting" (Mitchell et al. 2019). Built on the
 * scikit-learn-matching metrics in classification.ts and prf.ts.
 */
import type { ClassReport, SliceColumn, SliceMetrics } from '../../shared/types';
import { accuracy, classCounts, confusionMatrix, precisionRecallF1, precisionRecallF1Average } from './classification';
import { prfAverage } from './prf';

export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels: string[]) {
	const k = labels.length;
	const per = precisionRecallF1(yTrue, yPred, k);
	const perClass: ClassReport[] = labels.map((label, c) => ({
		label,
		precision: per.precision[c],
		recall: per.recall[c],
		f1: per.f1[c],
		support: per.support[c]
	}));
	return {
		accuracy: yTrue.length ? accuracy(yTrue, yPred) : 0,
		macroF1: precisionRecallF1Average(yTrue, yPred, k, 'macro').f1,
		perClass,
		confusion: confusionMatrix(yTrue, yPred, k),
		labels
	};
}

/** Wilson score interval of a proportion (Wilson 1927): sane at 0, 1 and small counts. */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): { low: number; high: number } {
	if (n === 0) return { low: 0, high: 1 };
	const p = successes / n;
	const z2 = z * z;
	const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
	const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
	return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Macro F1 over the classes that occur in y_true or y_pred, as sklearn's `f1_score(average='macro')` without `labels`. */
export function presentMacroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, nClasses: number): number {
	const c = classCounts(yTrue, yPred, nClasses);
	const present = Array.from({ length: nClasses }, (_, k) => k).filter((k) => c.actual[k] > 0 || c.predicted[k] > 0);
	if (!present.length) return 0;
	const pick = (v: ArrayLike<number>) => present.map((k) => v[k]);
	return prfAverage({ tp: pick(c.tp), predicted: pick(c.predicted), actual: pick(c.actual) }, 'macro').f1;
}

export interface SliceOptions {
	/** Values with fewer examples are grouped into "(other)" and flagged small. */
	minCount?: number;
	/** A column with more distinct values than this looks like an identifier and is skipped. */
	maxValues?: number;
}

export const MISSING = '(missing)';
export const OTHER = '(other)';

function slice(value: string, idx: number[], yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number, minCount: number): SliceMetrics {
	const t = idx.map((i) => yTrue[i]);
	const p = idx.map((i) => yPred[i]);
	const right = t.reduce((s, y, j) => s + (y === p[j] ? 1 : 0), 0);
	return {
		value,
		count: idx.length,
		accuracy: right / idx.length,
		macroF1: presentMacroF1(t, p, k),
		...wilsonInterval(right, idx.length),
		small: idx.length < minCount
	};
}

const DATE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const DAY_MS = 86_400_000;

/** A date or timestamp value ("2024-03-05", "2024/3/5 14:02", "2024-03-05T14:02:11Z") as its UTC day in ms, or null. */
export function parseDateValue(value: string): number | null {
	const m = DATE.exec(value.trim());
	if (!m) return null;
	const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
	if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
	return Date.UTC(y, mo - 1, d);
}

/**
 * A date column's values as buckets a slice can hold: by day when the dates span at most 62 days,
 * by month ("2024-03") up to three years, by year beyond. Null when fewer than 90% of the present
 * values are dates (then the column is not a date column). Missing values stay as they are.
 */
export function bucketDates(values: readonly string[]): { values: string[]; unit: 'day' | 'month' | 'year' } | null {
	const days = values.map((v) => (v === MISSING ? null : parseDateValue(v)));
	const present = values.filter((v) => v !== MISSING).length;
	const parsed = days.filter((d): d is number => d !== null);
	if (!present || parsed.length < 0.9 * present) return null;
	const span = (Math.max(...parsed) - Math.min(...parsed)) / DAY_MS;
	const unit = span <= 62 ? 'day' : span <= 3 * 366 ? 'month' : 'year';
	const cut = unit === 'day' ? 10 : unit === 'month' ? 7 : 4;
	return { unit, values: values.map((v, i) => (days[i] === null ? (v === MISSING ? MISSING : OTHER) : new Date(days[i]!).toISOString().slice(0, cut))) };
}

/**
 * Whether a column is worth slicing by, and its values as slices: a date column bucketed by
 * `bucketDates`; then it must have at most `maxValues` distinct values (more looks like an
 * identifier or free text) and at least two values with `minCount` rows each (otherwise every
 * slice is too small to say anything, as with a timestamp or a ticket id on a small test set).
 */
export function sliceValues(values: readonly string[], { minCount = 10, maxValues = 30 }: SliceOptions = {}): { values: string[]; skipped?: string } {
	const dated = bucketDates(values);
	const out = dated ? dated.values : [...values];
	const counts = new Map<string, number>();
	for (const v of out) counts.set(v, (counts.get(v) ?? 0) + 1);
	const by = dated ? ` (dates by ${dated.unit})` : '';
	if (counts.size > maxValues) return { values: out, skipped: `${counts.size} distinct values${by}: looks like an identifier, not a group` };
	if (counts.size < 2) return { values: out, skipped: 'one value on every row' };
	const big = [...counts.values()].filter((n) => n >= minCount).length;
	if (big < 2) return { values: out, skipped: `fewer than two values${by} with ${minCount} or more rows: too few repeats to compare` };
	return { values: out };
}

/** One column's slices: values by count, rare ones grouped, and the best−worst accuracy gap. */
function sliceColumn(column: string, raw: string[], yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number, o: Required<SliceOptions>): SliceColumn {
	const { values, skipped } = sliceValues(raw, o);
	if (skipped) return { column, slices: [], gap: null, notable: false, skipped };
	const groups = new Map<string, number[]>();
	values.forEach((v, i) => {
		const g = groups.get(v);
		if (g) g.push(i);
		else groups.set(v, [i]);
	});
	const entries = [...groups].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
	const rare = entries.filter(([, idx]) => idx.length < o.minCount);
	const kept = rare.length > 1 ? entries.filter(([, idx]) => idx.length >= o.minCount) : entries;
	const slices = kept.map(([v, idx]) => slice(v, idx, yTrue, yPred, k, o.minCount));
	if (rare.length > 1) {
		const idx = rare.flatMap(([, i]) => i).sort((a, b) => a - b);
		slices.push({ ...slice(OTHER, idx, yTrue, yPred, k, o.minCount), values: rare.map(([v]) => v) });
	}
	const ranked = slices.filter((s) => !s.small).sort((a, b) => b.accuracy - a.accuracy);
	if (ranked.length < 2) return { column, slices, gap: null, notable: false };
	const best = ranked[0];
	const worst = ranked[ranked.length - 1];
	return { column, slices, gap: best.accuracy - worst.accuracy, best: best.value, worst: worst.value, notable: worst.high < best.low };
}

/**
 * Accuracy and macro F1 per value of every metadata column present in `meta` (index-aligned with
 * the labels). A row without the column, or with an empty value, counts as "(missing)".
 */
export function sliceReport(
	yTrue: ArrayLike<number>,
	yPred: ArrayLike<number>,
	nClasses: number,
	meta: ReadonlyArray<Record<string, string> | undefined>,
	{ minCount = 10, maxValues = 30 }: SliceOptions = {}
): SliceColumn[] {
	const columns = new Set<string>();
	for (const m of meta) if (m) for (const key of Object.keys(m)) columns.add(key);
	return [...columns].map((column) => {
		const values = meta.map((m) => {
			const v = m?.[column]?.trim();
			return v ? v : MISSING;
		});
		return sliceColumn(column, values, yTrue, yPred, nClasses, { minCount, maxValues });
	});
}
