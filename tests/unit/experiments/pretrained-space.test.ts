/**
 * Studies over a pretrained model's settings: the tunables a pretrained base offers (its method,
 * LoRA's rank, alpha and dropout conditional on LoRA, a fine-tuning learning-rate range), trial
 * configs that carry the sampled method and rank as the engine reads them (shared/method.ts), and
 * the refusals a user can meet. A study sampled end to end gives every LoRA trial its rank.
 */
import { describe, expect, it } from 'vitest';
import { configFor, studioSpace, tunablesFor, validateStudioSpace } from '../../../src/lib/experiments/record';
import { isActive, validateSpace, type SearchSpace } from '../../../src/lib/experiments/space';
import { Study } from '../../../src/lib/experiments/study';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';

function pretrainedBase(method?: NonNullable<RunConfig['pretrained']>['method']): RunConfig {
	const cfg = defaultRunConfig(5);
	cfg.pretrained = { repo: 'whetstone-test/tiny-bert', revision: 'abc', modelType: 'bert', hfConfig: {}, objective: 'classification', contextLength: 32, numClasses: 5, ...(method ? { method } : {}) };
	return cfg;
}
const pick = (pretrained: boolean, paths: string[]) => tunablesFor(pretrained).filter((t) => paths.includes(t.path)).map((t) => ({ path: t.path, dist: t.dist }));

describe('tunables by base', () => {
	it('a pretrained base offers the method and LoRA settings, not the from-scratch dropout, and a smaller learning rate range', () => {
		const p = tunablesFor(true).map((t) => t.path);
		expect(p).toEqual(expect.arrayContaining(['pretrained.method.kind', 'pretrained.method.rank', 'pretrained.method.alpha', 'pretrained.method.dropout']));
		expect(p).not.toContain('model.dropout');
		const s = tunablesFor(false).map((t) => t.path);
		expect(s).toContain('model.dropout');
		expect(s.some((x) => x.startsWith('pretrained.'))).toBe(false);
		const lr = (pre: boolean) => tunablesFor(pre).find((t) => t.path === 'train.learningRate')!.dist;
		expect(lr(true)).toMatchObject({ low: 1e-5, high: 1e-3, log: true });
		expect(lr(false)).toMatchObject({ low: 1e-4, high: 3e-2, log: true });
		// LoRA's settings exist only when the method is LoRA.
		const rank = tunablesFor(true).find((t) => t.path === 'pretrained.method.rank')!.dist;
		expect(rank.when).toEqual({ param: 'pretrained.method.kind', in: ['lora'] });
	});
});

describe('the space from a pretrained base', () => {
	it('method searched: rank stays conditional on it', () => {
		const space = studioSpace(pick(true, ['pretrained.method.kind', 'pretrained.method.rank']), pretrainedBase());
		validateSpace(space);
		validateStudioSpace(space, pretrainedBase());
		expect(space['pretrained.method.rank'].when).toBeDefined();
		expect(isActive(space, 'pretrained.method.rank', { 'pretrained.method.kind': 'full' })).toBe(false);
		expect(isActive(space, 'pretrained.method.rank', { 'pretrained.method.kind': 'lora' })).toBe(true);
	});

	it('rank alone from a LoRA base is searched unconditionally; from a full base it is left out', () => {
		const lora = pretrainedBase({ kind: 'lora', rank: 8, alpha: 16, dropout: 0.05, targetModules: 'query,value' });
		const s1 = studioSpace(pick(true, ['pretrained.method.rank']), lora);
		expect(s1['pretrained.method.rank']).toEqual({ type: 'int', low: 2, high: 32, log: true });
		expect(studioSpace(pick(true, ['pretrained.method.rank']), pretrainedBase())).toEqual({});
	});

	it('refuses what cannot run, saying what to do', () => {
		const scratch = defaultRunConfig(5);
		const space: SearchSpace = { 'pretrained.method.kind': { type: 'categorical', choices: ['full', 'lora'] } };
		expect(() => validateStudioSpace(space, scratch)).toThrow(/pretrained model's setting: start from a pretrained run/);
		expect(() => validateStudioSpace({ 'pretrained.method.kind': { type: 'categorical', choices: ['lora', 'qlora'] } }, pretrainedBase())).toThrow('Unknown fine-tuning method "qlora"');
		expect(() => validateStudioSpace({ 'pretrained.method.rank': { type: 'int', low: 2, high: 8 } }, pretrainedBase())).toThrow(/LoRA setting: search the fine-tuning method too/);
		const lora = pretrainedBase({ kind: 'lora', rank: 8, alpha: 16, dropout: 0, targetModules: 'query,value' });
		expect(() => validateStudioSpace({ 'pretrained.method.rank': { type: 'int', low: 0, high: 8 } }, lora)).toThrow('must be at least 1');
	});
});

describe('trial configs', () => {
	it('method lora from a full base: peft-style defaults for the model type, then the sampled rank, alpha and dropout', () => {
		const cfg = configFor(pretrainedBase(), { 'pretrained.method.kind': 'lora', 'pretrained.method.rank': 4, 'pretrained.method.alpha': 12, 'pretrained.method.dropout': 0.1, 'train.learningRate': 2e-4 }, 6);
		expect(cfg.pretrained!.method).toEqual({ kind: 'lora', rank: 4, alpha: 12, dropout: 0.1, targetModules: 'query,value' });
		expect(cfg.train.learningRate).toBe(2e-4);
		expect(cfg.train.maxSteps).toBe(6);
	});

	it('method full from a LoRA base drops the adapter; a LoRA base keeps its targets under a new rank', () => {
		const lora = pretrainedBase({ kind: 'lora', rank: 8, alpha: 16, dropout: 0.05, targetModules: 'all-linear' });
		expect(configFor(lora, { 'pretrained.method.kind': 'full' }, 3).pretrained!.method).toEqual({ kind: 'full' });
		expect(configFor(lora, { 'pretrained.method.rank': 2 }, 3).pretrained!.method).toEqual({ kind: 'lora', rank: 2, alpha: 16, dropout: 0.05, targetModules: 'all-linear' });
		// The base is not changed.
		expect(lora.pretrained!.method).toMatchObject({ rank: 8 });
	});

	it('a LoRA setting on a full-fine-tuning trial is an error, not a silent no-op', () => {
		expect(() => configFor(pretrainedBase(), { 'pretrained.method.rank': 4 }, 3)).toThrow('applies to LoRA only');
		expect(() => configFor(defaultRunConfig(3), { 'pretrained.method.kind': 'lora' }, 3)).toThrow('needs a pretrained model');
	});

	it('a sampled study: every LoRA trial config has the rank the sampler chose, full trials have no adapter', () => {
		const base = pretrainedBase();
		const space = studioSpace(pick(true, ['pretrained.method.kind', 'pretrained.method.rank', 'train.learningRate']), base);
		const study = Study.create({ name: 's', space, direction: 'minimize', sampler: { kind: 'random' }, pruner: { kind: 'none' }, budget: { trials: 12 }, seed: 3 }, 's');
		const kinds = new Set<string>();
		for (let t = study.ask(); t; t = study.ask()) {
			const cfg = configFor(base, t.params, 4);
			const method = cfg.pretrained!.method!;
			kinds.add(method.kind);
			if (t.params['pretrained.method.kind'] === 'lora') {
				expect(method).toMatchObject({ kind: 'lora', rank: t.params['pretrained.method.rank'] });
				expect(Number.isInteger(t.params['pretrained.method.rank'])).toBe(true);
			} else {
				expect(method).toEqual({ kind: 'full' });
				expect('pretrained.method.rank' in t.params).toBe(false);
			}
			study.tell(t.number, { value: t.number % 5 });
		}
		expect(kinds).toEqual(new Set(['full', 'lora']));
	});
});
