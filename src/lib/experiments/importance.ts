/**
 * Parameter importance, fANOVA-style (Hutter, Hoos & Leyton-Brown, "An Efficient Approach for
 * Assessing Hyperparameter Importance", ICML 2014) reduced to what a handful of trials supports:
 * each parameter's first-order share of the objective's variance, its marginal estimated by
 * grouping trials (by choice for categoricals, by quantile bins on the parameter's scale for
 * numbers). Shares are normalised to sum to 1, as Optuna's importances are. Trials lacking a
 * conditional parameter form their own group.
 */
import type { SearchSpace } from './space';
import { mean, quantile } from './stats';
import type { Trial } from './types';

export function paramImportance(space: SearchSpace, trials: readonly Trial[], bins = 4): Record<string, number> {
	const done = trials.filter((t) => t.state === 'complete' && Number.isFinite(t.value));
	const names = Object.keys(space);
	const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
	if (done.length < 2) return out;
	const ys = done.map((t) => t.value!);
	const mu = mean(ys);
	const total = ys.reduce((s, y) => s + (y - mu) ** 2, 0);
	if (total === 0) return out;
	const raw: Record<string, number> = {};
	for (const name of names) {
		const d = space[name];
		const key = (t: Trial): string => {
			const v = t.params[name];
			if (v === undefined) return '∅';
			if (d.type === 'categorical') return String(v);
			const x = d.log ? Math.log(v as number) : (v as number);
			const xs = done.filter((u) => u.params[name] !== undefined).map((u) => (d.log ? Math.log(u.params[name] as number) : (u.params[name] as number)));
			const edges = Array.from({ length: bins - 1 }, (_, i) => quantile(xs, (i + 1) / bins));
			return String(edges.filter((e) => x > e).length);
		};
		const groups = new Map<string, number[]>();
		done.forEach((t, i) => {
			const k = key(t);
			if (!groups.has(k)) groups.set(k, []);
			groups.get(k)!.push(ys[i]);
		});
		let between = 0;
		for (const g of groups.values()) between += g.length * (mean(g) - mu) ** 2;
		raw[name] = between / total;
	}
	const sum = Object.values(raw).reduce((a, b) => a + b, 0);
	for (const name of names) out[name] = sum > 0 ? raw[name] / sum : 0;
	return out;
}
