/**
 * Random search (Bergstra & Bengio 2012): every parameter drawn independently, uniformly on its
 * scale (log-uniform when `log`), as Optuna's RandomSampler.
 */
import type { Prng } from '../../shared/prng';
import { isActive, snap, type Distribution, type Params, type ParamValue, type SearchSpace } from '../space';

export function sampleOne(d: Distribution, rng: Prng): ParamValue {
	if (d.type === 'categorical') return d.choices[rng.int(d.choices.length)];
	const u = rng.next();
	if (d.log) {
		const lo = Math.log(d.type === 'int' ? d.low - 0.5 : d.low);
		const hi = Math.log(d.type === 'int' ? d.high + 0.5 : d.high);
		return snap(d, Math.exp(lo + u * (hi - lo)));
	}
	const step = d.type === 'int' ? (d.step ?? 1) : d.step;
	if (step !== undefined) {
		// Uniform over the grid of steps, each value equally likely.
		const n = Math.floor((d.high - d.low) / step + 1e-9) + 1;
		return snap(d, d.low + Math.floor(u * n) * step);
	}
	return d.low + u * (d.high - d.low);
}

export function sampleRandom(space: SearchSpace, rng: Prng): Params {
	const out: Params = {};
	for (const name of Object.keys(space)) if (isActive(space, name, out)) out[name] = sampleOne(space[name], rng);
	return out;
}
