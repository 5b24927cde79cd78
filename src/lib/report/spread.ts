/**
 * Fold and seed spread for Compare and the decision report: when a compared run belongs to a
 * k-fold cross-validation or a repeated-seeds group (`Run.experiment`), its configuration has a
 * mean and a 95% t interval over the folds' (or seeds') best validation values, and a standard
 * deviation: how far one run of the same settings moves when only the split or the seed changes.
 *
 * The rule (Bouthillier et al. 2021, "Accounting for Variance in Machine Learning Benchmarks":
 * a gain below the variation that data sampling and seeds cause by themselves is not evidence):
 *
 *   a difference is *within the fold/seed spread* when its size is not above the spread, where the
 *   spread is the sample standard deviation of the group's runs, pooled over both sides when both
 *   are groups:  s_p = sqrt(((n_a − 1) s_a² + (n_b − 1) s_b²) / (n_a + n_b − 2)).
 *
 * The standard deviation (not the standard error) is the yardstick on purpose: a single run is
 * what a user trains and ships, and one run moves by about s. The two groups' means are also given
 * with their intervals, and a Welch t interval of the difference of the means says whether the
 * means themselves are told apart. Groups with fewer than two finished runs have no spread.
 */
import type { CvRecord, ExperimentRecord } from '../experiments/record';
import { meanInterval, tQuantile, type Interval as MeanInterval } from '../experiments/stats';
import type { Run } from '../shared/types';
import { pct, pts, signed } from './format';

export type SpreadMetric = 'valAccuracy' | 'valLoss';

/** A cross-validation or repeated-seeds group: its runs' best validation values summarised. */
export interface GroupSpread {
	id: string;
	name: string;
	kind: 'folds' | 'seeds';
	createdAt: number;
	/** Folds or seeds asked for, and how many finished. */
	k: number;
	n: number;
	/** Validation accuracy and loss over the finished runs: mean, sd, 95% t interval of the mean. */
	accuracy: MeanInterval | null;
	loss: MeanInterval | null;
	/** The compared run's fold or repeat number (1-based), when a run of the group is compared. */
	member?: number;
}

/** "fold" or "seed": what varies in the group. */
export const unit = (g: Pick<GroupSpread, 'kind'>) => (g.kind === 'folds' ? 'fold' : 'seed');
const units = (g: Pick<GroupSpread, 'kind'>) => (g.kind === 'folds' ? 'folds' : 'seeds');

export function groupSpread(rec: CvRecord): GroupSpread {
	const done = rec.folds.filter((f) => f.state === 'complete');
	const of = (key: SpreadMetric) => {
		const v = done.map((f) => f[key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
		return v.length ? meanInterval(v) : null;
	};
	return { id: rec.id, name: rec.name, kind: rec.kind, createdAt: rec.createdAt, k: rec.k, n: done.length, accuracy: of('valAccuracy'), loss: of('valLoss') };
}

/** The group a run belongs to (a fold or seed of a stored cross-validation), or null. */
export function spreadOfRun(run: Run | undefined, records: readonly ExperimentRecord[]): GroupSpread | null {
	const x = run?.experiment;
	if (!x || x.kind === 'study') return null;
	const rec = records.find((r): r is CvRecord => r.id === x.id && r.kind !== 'study');
	return rec ? { ...groupSpread(rec), member: x.index + 1 } : null;
}

/** The spread the rule compares with: one group's sd, or the pooled sd of two; sides with under two finished runs add nothing (null when none has two). */
export function pooledSd(a: MeanInterval | null, b?: MeanInterval | null): number | null {
	const sides = [a, b].filter((x): x is MeanInterval => !!x && x.n >= 2);
	if (!sides.length) return null;
	const dof = sides.reduce((t, s) => t + s.n - 1, 0);
	return Math.sqrt(sides.reduce((t, s) => t + (s.n - 1) * s.std ** 2, 0) / dof);
}

/** Welch's t interval of mean(a) − mean(b) at `level` (Welch–Satterthwaite degrees of freedom). */
export function welchInterval(a: MeanInterval, b: MeanInterval, level = 0.95): { diff: number; low: number; high: number } | null {
	if (a.n < 2 || b.n < 2) return null;
	const va = a.std ** 2 / a.n;
	const vb = b.std ** 2 / b.n;
	const diff = a.mean - b.mean;
	const se = Math.sqrt(va + vb);
	if (se === 0) return { diff, low: diff, high: diff };
	const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
	const half = tQuantile(1 - (1 - level) / 2, df) * se;
	return { diff, low: diff - half, high: diff + half };
}

const isAcc = (m: SpreadMetric) => m === 'valAccuracy';
const metricName = (m: SpreadMetric) => (isAcc(m) ? 'validation accuracy' : 'validation loss');
const valueText = (m: SpreadMetric, v: number) => (isAcc(m) ? pct(v) : v.toFixed(3));
const diffText = (m: SpreadMetric, v: number) => (isAcc(m) ? pts(v) : signed(v));
const sizeText = (m: SpreadMetric, v: number) => (isAcc(m) ? `${(v * 100).toFixed(1)} pts` : v.toFixed(3));
const of = (g: GroupSpread, m: SpreadMetric) => (isAcc(m) ? g.accuracy : g.loss);

/** "61.2% ± 4.0 pts (95% t interval over 3 folds, sd 3.1 pts)". */
export function groupText(g: GroupSpread, metric: SpreadMetric = 'valAccuracy'): string {
	const iv = of(g, metric);
	if (!iv) return `${g.name}: no finished ${unit(g)} yet`;
	if (iv.n < 2) return `${valueText(metric, iv.mean)} from 1 ${unit(g)} (no spread until a second one finishes)`;
	return `${valueText(metric, iv.mean)} ± ${sizeText(metric, iv.high - iv.mean)} (95% t interval over ${iv.n} ${units(g)}, sd ${sizeText(metric, iv.std)})`;
}

/** The rule in one sentence, as the report prints it. */
export const SPREAD_RULE =
	'A difference is called within the fold/seed spread when its size is not above the standard deviation of the runs of the same configuration over its folds or seeds (pooled over both sides when both have them): one run moves that much when only the split or the seed changes. Means are given with 95% t intervals over the folds or seeds; values are each run\'s best validation value.';

export interface SpreadVerdict {
	/** What varies: 'fold', 'seed' or 'fold/seed' (one side folds, the other seeds). */
	word: string;
	/** Candidate − reference (accuracy: a share; loss: nats). */
	diff: number;
	/** The standard deviation it is measured against; null when no side has two finished runs. */
	spread: number | null;
	/** |diff| ≤ spread (so two equal values with no spread are within it); null when there is no spread. */
	within: boolean | null;
	/** Difference of the group means, with its Welch interval (both sides groups only). */
	means: { diff: number; low: number; high: number } | null;
	text: string;
}

function spreadWord(a: GroupSpread | null, b: GroupSpread | null): string {
	const kinds = new Set([a, b].filter((g): g is GroupSpread => !!g).map((g) => g.kind));
	return kinds.size === 2 ? 'fold/seed' : kinds.has('folds') ? 'fold' : 'seed';
}

/**
 * Two configurations, each a group: the difference of their mean validation values against the
 * pooled spread of their runs.
 */
export function compareGroups(candidate: GroupSpread, reference: GroupSpread, metric: SpreadMetric = 'valAccuracy'): SpreadVerdict | null {
	const c = of(candidate, metric);
	const r = of(reference, metric);
	if (!c || !r) return null;
	const diff = c.mean - r.mean;
	const spread = pooledSd(c, r);
	const means = welchInterval(c, r);
	const word = spreadWord(candidate, reference);
	const head = `${metricName(metric)} ${candidate.name} ${valueText(metric, c.mean)} vs ${reference.name} ${valueText(metric, r.mean)}: a difference of ${diffText(metric, diff)}`;
	if (spread === null) return { word, diff, spread, within: null, means, text: `${head}. A side needs two finished ${word}s before the ${word} spread can tell whether this is more than noise.` };
	const within = Math.abs(diff) <= spread;
	const welch = means ? ` The 95% Welch interval of the difference of the means is ${diffText(metric, means.low)} to ${diffText(metric, means.high)}${means.low <= 0 && means.high >= 0 ? ', which includes zero' : ''}.` : '';
	const text = within
		? `${head}, within the ${word} spread (sd ${sizeText(metric, spread)}): changing the ${word} alone moves a run that much, so these runs do not tell the two configurations apart.${welch}`
		: `${head}, larger than the ${word} spread (sd ${sizeText(metric, spread)}).${welch}`;
	return { word, diff, spread, within, means, text };
}

/**
 * One compared pair of runs (a test-split difference from the paired bootstrap) against the spread
 * of the group(s) they belong to: the candidate's group, the reference's, or both pooled.
 */
export function runDiffAgainstSpread(diff: number, candidate: GroupSpread | null, reference: GroupSpread | null, what = 'test accuracy'): SpreadVerdict | null {
	if (!candidate && !reference) return null;
	const spread = pooledSd(candidate?.accuracy ?? null, reference?.accuracy ?? null);
	const word = spreadWord(candidate, reference);
	const groups = [candidate, reference].filter((g): g is GroupSpread => !!g);
	const whose = groups.map((g) => `${g.name}${g.member ? ` (${unit(g)} ${g.member})` : ''}`).join(' and ');
	const means = candidate?.accuracy && reference?.accuracy ? welchInterval(candidate.accuracy, reference.accuracy) : null;
	if (spread === null)
		return { word, diff, spread, within: null, means, text: `The ${what} difference is ${pts(diff)}; ${whose} ${groups.length > 1 ? "have" : "has"} fewer than two finished ${word}s, so there is no ${word} spread to weigh it against yet.` };
	const within = Math.abs(diff) <= spread;
	const text = within
		? `The ${what} difference, ${pts(diff)}, is within the ${word} spread of validation accuracy (sd ${sizeText('valAccuracy', spread)} over the ${word}s of ${whose}): another ${word} could give it, so it does not show that one configuration is better.`
		: `The ${what} difference, ${pts(diff)}, is larger than the ${word} spread of validation accuracy (sd ${sizeText('valAccuracy', spread)} over the ${word}s of ${whose}).`;
	return { word, diff, spread, within, means, text };
}
