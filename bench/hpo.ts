/**
 * The study engine on a known function in Node: for each sampler, `--seeds` studies of `--trials`
 * trials, and the median and quartiles over seeds of the best value after 10, 25 and 50 trials
 * (and the last). The objective is an ES module exporting `space` (Optuna's distributions) and
 * `evaluate(params) => number | Promise<number>`, to minimise.
 *
 *   npm run bench:hpo -- --objective bench/objectives/branin.mjs --trials 50 --seeds 10 [--sampler tpe|random|grid] [--multivariate] [--json]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Study, bestSoFar, optimize } from '../src/lib/experiments/study';
import { enumerateGrid } from '../src/lib/experiments/samplers/grid';
import { quantile } from '../src/lib/experiments/stats';
import { validateSpace, type Params, type SearchSpace } from '../src/lib/experiments/space';
import type { SamplerConfig } from '../src/lib/experiments/types';

const arg = (name: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);

function fail(message: string): never {
	console.error(message);
	process.exit(2);
}

const objectivePath = arg('objective') ?? fail('Give an objective module: --objective bench/objectives/branin.mjs');
const trials = Number(arg('trials') ?? 50);
const seeds = Number(arg('seeds') ?? 10);
if (!(Number.isInteger(trials) && trials > 0)) fail(`--trials must be a positive integer (got ${arg('trials')}).`);
if (!(Number.isInteger(seeds) && seeds > 0)) fail(`--seeds must be a positive integer (got ${arg('seeds')}).`);
const samplerNames = (arg('sampler') ?? 'tpe,random,grid').split(',');
for (const s of samplerNames) if (!['tpe', 'random', 'grid'].includes(s)) fail(`Unknown sampler "${s}": use tpe, random or grid.`);

const mod = (await import(pathToFileURL(resolve(objectivePath)).href)) as {
	space?: SearchSpace;
	evaluate?: (p: Params) => number | Promise<number>;
};
if (!mod.space || typeof mod.evaluate !== 'function') fail(`${objectivePath} must export \`space\` and \`evaluate(params)\`.`);
const space = mod.space;
const evaluate = mod.evaluate;
try {
	validateSpace(space);
} catch (e) {
	fail(`${objectivePath}: ${(e as Error).message}`);
}

const checkpoints = [...new Set([10, 25, 50, 100, 200, 500].filter((c) => c < trials).concat(trials))];

/** The grid sampler gets the fewest points per numeric parameter whose grid has at least `trials` points. */
function gridPoints(): number {
	for (let p = 2; p <= 1000; p++) if (enumerateGrid(space, p).length >= trials) return p;
	return 1000;
}

function samplerConfig(name: string): SamplerConfig {
	if (name === 'tpe') return { kind: 'tpe', multivariate: flag('multivariate') };
	if (name === 'grid') return { kind: 'grid', points: gridPoints() };
	return { kind: 'random' };
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

if (!flag('json')) {
	console.log(`${objectivePath}: ${Object.keys(space).length} parameters, ${trials} trials, ${seeds} seeds`);
	console.log(`best value after n trials: median [first quartile, third quartile] over seeds`);
	console.log(['sampler'.padEnd(18), ...checkpoints.map((c) => `n=${c}`.padEnd(30))].join(''));
}

for (const name of samplerNames) {
	const sampler = samplerConfig(name);
	const at: Record<number, number[]> = Object.fromEntries(checkpoints.map((c) => [c, []]));
	const t0 = performance.now();
	for (let s = 0; s < seeds; s++) {
		const study = Study.create({ name, space, direction: 'minimize', sampler, pruner: { kind: 'none' }, budget: { trials }, seed: 1000 + s });
		await optimize(study, (p) => evaluate(p));
		const best = bestSoFar(study.trials, 'minimize');
		for (const c of checkpoints) {
			const b = best[Math.min(c, best.length) - 1];
			if (b !== null && b !== undefined) at[c].push(b);
		}
	}
	const seconds = (performance.now() - t0) / 1000;
	const stat = (q: number) => Object.fromEntries(checkpoints.map((c) => [String(c), quantile(at[c], q)]));
	const label = name === 'tpe' && flag('multivariate') ? 'tpe-multivariate' : name;
	if (flag('json')) {
		console.log(
			JSON.stringify({
				sampler: label,
				objective: objectivePath,
				trials,
				seeds,
				bestMedian: stat(0.5),
				bestQ1: stat(0.25),
				bestQ3: stat(0.75),
				...(sampler.kind === 'grid' ? { gridPoints: sampler.points } : {}),
				seconds: Number(seconds.toFixed(3))
			})
		);
	} else {
		const cells = checkpoints.map((c) => `${fmt(quantile(at[c], 0.5))} [${fmt(quantile(at[c], 0.25))}, ${fmt(quantile(at[c], 0.75))}]`.padEnd(30));
		console.log([label.padEnd(18), ...cells].join(''));
	}
}
