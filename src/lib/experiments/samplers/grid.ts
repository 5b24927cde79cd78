/**
 * Grid search, as Optuna's GridSampler: every combination of the grid once, in an order shuffled by
 * the study's seed, so a study cut short still spreads over the grid. Categorical parameters use
 * their choices; a numeric one all its values when it has at most `points` of them, else `points`
 * evenly spaced on its scale (log or linear). A conditional parameter only multiplies the grid where
 * it exists.
 */
import { Prng } from '../../shared/prng';
import { cardinality, isActive, snap, stepOf, type Distribution, type Params, type ParamValue, type SearchSpace } from '../space';

export function gridValues(d: Distribution, points = 5): ParamValue[] {
	if (d.type === 'categorical') return [...d.choices];
	const n = cardinality(d);
	const step = stepOf(d);
	if (n <= points && step !== undefined) return Array.from({ length: n }, (_, i) => snap(d, d.low + i * step));
	if (d.low === d.high) return [d.low];
	const out: number[] = [];
	for (let i = 0; i < points; i++) {
		const t = i / (points - 1);
		const x = d.log ? Math.exp(Math.log(d.low) + t * (Math.log(d.high) - Math.log(d.low))) : d.low + t * (d.high - d.low);
		// Twelve significant digits: exp(log(…)) leaves 0.0010000000000000002 for 1e-3.
		const v = d.type === 'float' ? Number(snap(d, x).toPrecision(12)) : snap(d, x);
		if (!out.includes(v)) out.push(v);
	}
	return out;
}

/** Every combination, conditional parameters present only where active. */
export function enumerateGrid(space: SearchSpace, points = 5): Params[] {
	let combos: Params[] = [{}];
	for (const name of Object.keys(space)) {
		const values = gridValues(space[name], points);
		const next: Params[] = [];
		for (const c of combos) {
			if (!isActive(space, name, c)) next.push(c);
			else for (const v of values) next.push({ ...c, [name]: v });
		}
		combos = next;
	}
	return combos;
}

export const gridKey = (p: Params) =>
	JSON.stringify(
		Object.keys(p)
			.sort()
			.map((k) => [k, p[k]])
	);

/** The next unvisited point of the shuffled grid, or null once every point has been tried. */
export function sampleGrid(space: SearchSpace, seed: number, visited: readonly Params[], points = 5): Params | null {
	const grid = new Prng(seed ^ 0x9e3779b9).shuffle(enumerateGrid(space, points));
	const seen = new Set(visited.map(gridKey));
	return grid.find((p) => !seen.has(gridKey(p))) ?? null;
}
