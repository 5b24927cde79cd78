/**
 * A search space in Optuna's distributions (FloatDistribution, IntDistribution,
 * CategoricalDistribution), plus an optional condition that makes a parameter exist only when
 * another has one of some values (Optuna's define-by-run conditionals, written down ahead of time:
 * e.g. LoRA rank only when the method is LoRA). No tfjs, DOM or Svelte: used by the studio, the
 * worker-free study loop and `bench/hpo.ts` in Node.
 */

export interface Condition {
	/** The parent parameter; it must come earlier in the space. */
	param: string;
	/** The parent's values for which this parameter exists. */
	in: readonly (string | number | boolean)[];
}

export interface FloatDistribution {
	type: 'float';
	low: number;
	high: number;
	log?: boolean;
	/** Discretise to multiples of `step` from `low` (not with `log`). */
	step?: number;
	when?: Condition;
}
export interface IntDistribution {
	type: 'int';
	low: number;
	high: number;
	log?: boolean;
	step?: number;
	when?: Condition;
}
export interface CategoricalDistribution {
	type: 'categorical';
	choices: readonly (string | number | boolean)[];
	when?: Condition;
}
export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;
export type SearchSpace = Record<string, Distribution>;
export type ParamValue = string | number | boolean;
export type Params = Record<string, ParamValue>;

export class SpaceError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SpaceError';
	}
}

/** Throws a SpaceError naming the parameter and what to change. */
export function validateSpace(space: SearchSpace): void {
	const names = Object.keys(space);
	if (names.length === 0) throw new SpaceError('The search space is empty: add at least one parameter to tune.');
	names.forEach((name, i) => {
		const d = space[name];
		if (d.type === 'categorical') {
			if (!Array.isArray(d.choices) || d.choices.length === 0)
				throw new SpaceError(`Parameter "${name}" has no choices: list at least one.`);
		} else if (d.type === 'float' || d.type === 'int') {
			if (!Number.isFinite(d.low) || !Number.isFinite(d.high) || d.low > d.high)
				throw new SpaceError(`Parameter "${name}": low (${d.low}) must be a number not above high (${d.high}).`);
			if (d.log && d.low <= 0)
				throw new SpaceError(`Parameter "${name}" is on a log scale, so low must be above 0 (it is ${d.low}).`);
			if (d.log && d.step !== undefined && d.type === 'float')
				throw new SpaceError(`Parameter "${name}": a log scale and a step cannot be combined.`);
			if (d.step !== undefined && !(d.step > 0)) throw new SpaceError(`Parameter "${name}": step must be above 0.`);
			if (d.type === 'int' && (!Number.isInteger(d.low) || !Number.isInteger(d.high)))
				throw new SpaceError(`Parameter "${name}" is an integer, so low and high must be integers.`);
		} else {
			throw new SpaceError(`Parameter "${name}" has an unknown type; use float, int or categorical.`);
		}
		if (d.when) {
			const parent = names.indexOf(d.when.param);
			if (parent < 0 || parent >= i)
				throw new SpaceError(`Parameter "${name}" depends on "${d.when.param}", which must be defined before it.`);
		}
	});
}

/** Whether `name` exists given the values of the parameters before it. */
export function isActive(space: SearchSpace, name: string, params: Params): boolean {
	const when = space[name].when;
	if (!when) return true;
	if (!(when.param in params)) return false;
	return when.in.includes(params[when.param]);
}

/** Integer distributions' step (default 1), float's (undefined: continuous). */
export function stepOf(d: FloatDistribution | IntDistribution): number | undefined {
	return d.type === 'int' ? (d.step ?? 1) : d.step;
}

/** Snap a number into a numeric distribution: clamp, then round to its step. */
export function snap(d: FloatDistribution | IntDistribution, x: number): number {
	const step = stepOf(d);
	let v = Math.min(d.high, Math.max(d.low, x));
	if (step !== undefined) {
		v = d.low + Math.round((v - d.low) / step) * step;
		if (v > d.high) v -= step;
		// Floating steps like 0.1 leave 0.30000000000000004; keep the step's decimals.
		if (d.type === 'float') v = Number(v.toPrecision(12));
	}
	return d.type === 'int' ? Math.round(v) : v;
}

/** Number of distinct values, or Infinity for a continuous float. */
export function cardinality(d: Distribution): number {
	if (d.type === 'categorical') return d.choices.length;
	const step = stepOf(d);
	if (step === undefined) return d.low === d.high ? 1 : Infinity;
	return Math.floor((d.high - d.low) / step + 1e-9) + 1;
}

/** The value formatted for tables and CSV. */
export function formatParam(v: ParamValue | undefined): string {
	if (v === undefined) return '';
	if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
	return String(v);
}
