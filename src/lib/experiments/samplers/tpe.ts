/**
 * Tree-structured Parzen estimator (Bergstra, Bardenet, Bengio & Kégl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011), written to Optuna's TPESampler and its documented
 * defaults (optuna/samplers/_tpe/sampler.py, parzen_estimator.py, v3/v4):
 *
 *  - the first `nStartupTrials` (10) trials are random;
 *  - finished trials are split by value: the best γ(n) = min(⌈0.1·n⌉, 25) are "below" (l), the rest
 *    "above" (g); pruned trials rank after every complete one;
 *  - each side is a Parzen mixture: one truncated-normal kernel per observation (a categorical one
 *    for choices) plus a prior kernel (the middle of the range, σ = the range) of weight
 *    `priorWeight` (1); observation weights are Optuna's default_weights (older trials ramp down
 *    once there are more than 25);
 *  - univariate bandwidths: the larger gap to a neighbour in the sorted observations (endpoints off,
 *    "magic clip" σ ≥ range / min(100, 1 + kernels)); multivariate (Falkner et al. 2018, Optuna's
 *    `multivariate=True`): σ = 0.2 · n^(−1/(d+4)) · range, one kernel index for all dimensions;
 *  - draw `nEiCandidates` (24) from l and keep the one maximising log l(x) − log g(x), which
 *    maximises expected improvement.
 *
 * Numbers are sampled in an internal space: log for `log`, the step's grid widened by half a step
 * for integers and stepped floats (their density is the mass of the bin), choice indices for
 * categoricals.
 */
import type { Prng } from '../../shared/prng';
import { isActive, snap, type Distribution, type Params, type ParamValue, type SearchSpace } from '../space';
import { logSumExp, normalCdf, normalQuantile } from '../stats';
import { signed, type Direction, type Trial } from '../types';
import { sampleOne, sampleRandom } from './random';

export interface TpeOptions {
	nStartupTrials: number;
	nEiCandidates: number;
	priorWeight: number;
	multivariate: boolean;
	considerMagicClip: boolean;
	considerEndpoints: boolean;
	gamma: number;
}
export const tpeDefaults: TpeOptions = {
	nStartupTrials: 10,
	nEiCandidates: 24,
	priorWeight: 1,
	multivariate: false,
	considerMagicClip: true,
	considerEndpoints: false,
	gamma: 0.1
};

/** Optuna's default_gamma: how many finished trials count as good. */
export const gammaOf = (n: number, gamma = 0.1) => Math.min(Math.ceil(gamma * n), 25);

/** Optuna's default_weights: flat for the newest 25, a ramp from 1/n up for older ones. */
export function defaultWeights(n: number): number[] {
	if (n === 0) return [];
	if (n < 25) return new Array(n).fill(1);
	const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
	return [...ramp, ...new Array(25).fill(1)];
}

/** A numeric dimension in the internal space. */
interface NumDim {
	kind: 'num';
	name: string;
	low: number;
	high: number;
	/** Bin width for integers and stepped floats; 0 when continuous. */
	step: number;
	mus: number[];
	sigmas: number[];
}
interface CatDim {
	kind: 'cat';
	name: string;
	/** Per kernel, the probability of each choice. */
	probs: number[][];
}
type Dim = NumDim | CatDim;

function internalBounds(d: Exclude<Distribution, { type: 'categorical' }>): { low: number; high: number; step: number } {
	if (d.log) {
		if (d.type === 'int') return { low: Math.log(d.low - 0.5), high: Math.log(d.high + 0.5), step: 0 };
		return { low: Math.log(d.low), high: Math.log(d.high), step: 0 };
	}
	const step = d.type === 'int' ? (d.step ?? 1) : (d.step ?? 0);
	return { low: d.low - step / 2, high: d.high + step / 2, step };
}

export function toInternal(d: Distribution, v: ParamValue): number {
	if (d.type === 'categorical') return d.choices.indexOf(v);
	return d.log ? Math.log(v as number) : (v as number);
}

function fromInternal(d: Distribution, x: number): ParamValue {
	if (d.type === 'categorical') return d.choices[x];
	return snap(d, d.log ? Math.exp(x) : x);
}

function univariateSigmas(mus: number[], low: number, high: number, considerEndpoints: boolean): number[] {
	// The prior's mean joins the sorted observations, as in Optuna.
	const withPrior = [...mus, 0.5 * (low + high)];
	const order = withPrior.map((_, i) => i).sort((a, b) => withPrior[a] - withPrior[b]);
	const sorted = [low, ...order.map((i) => withPrior[i]), high];
	const s: number[] = [];
	for (let i = 1; i < sorted.length - 1; i++) s.push(Math.max(sorted[i] - sorted[i - 1], sorted[i + 1] - sorted[i]));
	if (!considerEndpoints && sorted.length >= 4) {
		s[0] = sorted[2] - sorted[1];
		s[s.length - 1] = sorted[sorted.length - 2] - sorted[sorted.length - 3];
	}
	const out = new Array<number>(withPrior.length);
	order.forEach((orig, rank) => (out[orig] = s[rank]));
	return out.slice(0, mus.length);
}

/** A Parzen mixture over some parameters, built from observations in the internal space. */
export class ParzenEstimator {
	readonly dims: Dim[];
	readonly logWeights: number[];

	constructor(
		readonly space: SearchSpace,
		readonly names: string[],
		observations: number[][], // [obs][dim], internal values
		obsWeights: number[],
		opts: TpeOptions
	) {
		const n = observations.length;
		const weights = [...obsWeights, opts.priorWeight];
		const total = weights.reduce((a, b) => a + b, 0);
		this.logWeights = weights.map((w) => Math.log(w / total));
		const nKernels = n + 1;
		this.dims = names.map((name, j) => {
			const d = space[name];
			const col = observations.map((o) => o[j]);
			if (d.type === 'categorical') {
				const k = d.choices.length;
				const probs = Array.from({ length: nKernels }, (_, i) => {
					const row = new Array(k).fill(opts.priorWeight / nKernels);
					if (i < n) row[col[i]] += 1;
					const s = row.reduce((a, b) => a + b, 0);
					return row.map((p) => p / s);
				});
				return { kind: 'cat', name, probs } satisfies CatDim;
			}
			const { low, high, step } = internalBounds(d);
			const range = high - low;
			let sigmas: number[];
			if (opts.multivariate && names.some((n) => !space[n].when)) {
				const s = 0.2 * Math.max(n, 1) ** (-1 / (names.length + 4)) * range;
				sigmas = new Array(n).fill(s);
			} else sigmas = univariateSigmas(col, low, high, opts.considerEndpoints);
			const minSigma = opts.considerMagicClip ? range / Math.min(100, 1 + nKernels) : 1e-12;
			sigmas = sigmas.map((s) => Math.min(range, Math.max(minSigma, s)));
			return { kind: 'num', name, low, high, step, mus: [...col, 0.5 * (low + high)], sigmas: [...sigmas, range] } satisfies NumDim;
		});
	}

	sample(rng: Prng, count: number): number[][] {
		const w = this.logWeights.map(Math.exp);
		const out: number[][] = [];
		for (let c = 0; c < count; c++) {
			const k = pick(w, rng.next());
			out.push(
				this.dims.map((d) => {
					if (d.kind === 'cat') return pick(d.probs[k], rng.next());
					const x = truncNormal(d.mus[k], d.sigmas[k], d.low, d.high, rng.next());
					if (!d.step) return x;
					// Back onto the grid of values (the bounds were widened by half a step).
					const first = d.low + d.step / 2;
					const last = d.high - d.step / 2;
					return Math.min(last, Math.max(first, first + Math.round((x - first) / d.step) * d.step));
				})
			);
		}
		return out;
	}

	logPdf(x: number[]): number {
		const terms = this.logWeights.map((lw, k) => {
			let s = lw;
			this.dims.forEach((d, j) => {
				if (d.kind === 'cat') s += Math.log(d.probs[k][x[j]]);
				else s += truncNormalLogPdf(x[j], d.mus[k], d.sigmas[k], d.low, d.high, d.step);
			});
			return s;
		});
		return logSumExp(terms);
	}
}

function pick(probs: readonly number[], u: number): number {
	let acc = 0;
	const total = probs.reduce((a, b) => a + b, 0);
	for (let i = 0; i < probs.length; i++) {
		acc += probs[i] / total;
		if (u < acc) return i;
	}
	return probs.length - 1;
}

/** P(a < Z < b) for a standard normal, accurate in either tail. */
function normalMass(a: number, b: number): number {
	return a > 0 ? normalCdf(-a) - normalCdf(-b) : normalCdf(b) - normalCdf(a);
}

function truncNormal(mu: number, sigma: number, low: number, high: number, u: number): number {
	let a = (low - mu) / sigma;
	let b = (high - mu) / sigma;
	// Sample in the tail that keeps the CDF away from 1, where it loses precision.
	const flip = a > 0;
	if (flip) [a, b] = [-b, -a];
	const pa = normalCdf(a);
	const pb = normalCdf(b);
	let z = normalQuantile(pa + u * (pb - pa));
	if (!Number.isFinite(z)) z = u < 0.5 ? a : b;
	z = Math.min(b, Math.max(a, z));
	const x = mu + sigma * (flip ? -z : z);
	return Math.min(high, Math.max(low, x));
}

function truncNormalLogPdf(x: number, mu: number, sigma: number, low: number, high: number, step: number): number {
	const logZ = Math.log(Math.max(normalMass((low - mu) / sigma, (high - mu) / sigma), 1e-300));
	if (step) {
		const m = normalMass((x - step / 2 - mu) / sigma, (x + step / 2 - mu) / sigma);
		return Math.log(Math.max(m, 1e-300)) - logZ;
	}
	const z = (x - mu) / sigma;
	return -0.5 * z * z - Math.log(sigma * Math.sqrt(2 * Math.PI)) - logZ;
}

/** Finished trials ranked best first: complete by value, then pruned by the step reached (later first) and last value. */
function rankTrials(trials: readonly Trial[], direction: Direction): Trial[] {
	const complete = trials.filter((t) => t.state === 'complete' && Number.isFinite(t.value));
	const pruned = trials.filter((t) => t.state === 'pruned');
	complete.sort((a, b) => signed(direction, a.value!) - signed(direction, b.value!));
	const last = (t: Trial) => t.intermediate[t.intermediate.length - 1];
	pruned.sort((a, b) => {
		const la = last(a);
		const lb = last(b);
		if (!la || !lb) return (lb ? 1 : 0) - (la ? 1 : 0);
		return lb[0] - la[0] || signed(direction, la[1]) - signed(direction, lb[1]);
	});
	return [...complete, ...pruned];
}

function splitTrials(trials: readonly Trial[], direction: Direction, gamma: number): { below: Trial[]; above: Trial[] } {
	const ranked = rankTrials(trials, direction);
	const nBelow = gammaOf(ranked.length, gamma);
	const byNumber = (a: Trial, b: Trial) => a.number - b.number;
	return { below: ranked.slice(0, nBelow).sort(byNumber), above: ranked.slice(nBelow).sort(byNumber) };
}

/** Sample the parameters `names` jointly (one name: univariate) from the trials that have all of them. */
function sampleGroup(
	space: SearchSpace,
	names: string[],
	trials: readonly Trial[],
	direction: Direction,
	rng: Prng,
	opts: TpeOptions
): Params {
	const usable = trials.filter((t) => names.every((n) => n in t.params));
	const { below, above } = splitTrials(usable, direction, opts.gamma);
	const obs = (ts: Trial[]) => ts.map((t) => names.map((n) => toInternal(space[n], t.params[n])));
	const l = new ParzenEstimator(space, names, obs(below), defaultWeights(below.length), opts);
	const g = new ParzenEstimator(space, names, obs(above), defaultWeights(above.length), opts);
	let best: number[] | null = null;
	let bestScore = -Infinity;
	for (const x of l.sample(rng, opts.nEiCandidates)) {
		const score = l.logPdf(x) - g.logPdf(x);
		if (best === null || score > bestScore) {
			best = x;
			bestScore = score;
		}
	}
	const out: Params = {};
	names.forEach((n, j) => (out[n] = fromInternal(space[n], best![j])));
	return out;
}

export function sampleTpe(space: SearchSpace, trials: readonly Trial[], direction: Direction, rng: Prng, options: Partial<TpeOptions> = {}): Params {
	const opts = { ...tpeDefaults, ...stripUndefined(options) };
	const finished = trials.filter((t) => t.state === 'complete' || t.state === 'pruned');
	if (finished.length < opts.nStartupTrials) return sampleRandom(space, rng);
	const out: Params = {};
	const names = Object.keys(space);
	if (opts.multivariate && names.some((n) => !space[n].when)) {
		// Unconditional parameters jointly; the conditional ones where they exist, one at a time
		// (Optuna's multivariate TPE without `group` falls back to independent sampling for them too).
		const joint = names.filter((n) => !space[n].when);
		Object.assign(out, sampleGroup(space, joint, finished, direction, rng, opts));
	}
	for (const name of names) {
		if (name in out || !isActive(space, name, out)) continue;
		const seen = finished.some((t) => name in t.params);
		out[name] = seen ? sampleGroup(space, [name], finished, direction, rng, opts)[name] : sampleOne(space[name], rng);
	}
	return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
