/** Training settings: defaults, old stored configs, validation messages, the effective batch. */
import { describe, expect, it } from 'vitest';
import { defaultRunConfig, defaultTrainConfig, effectiveBatchSize, finetunePreset, normalizeRunConfig, normalizeTrainConfig, validateRunConfig, validateTrainConfig, type TrainConfig } from '../../../src/lib/shared/config';

/** A training config as the studio stored it before optimizers and schedules could be chosen. */
const OLD = { learningRate: 3e-3, batchSize: 32, epochs: 12, maxSteps: 0, weightDecay: 0.1, warmupSteps: 20, gradClip: 1, tokenDropout: 0, seed: 1337, logEvery: 5, evalEvery: 20, checkpointEvery: 50 };

describe('normalizeTrainConfig', () => {
	it('gives an old stored config every new field, keeping its cosine floor of 10%', () => {
		const t = normalizeTrainConfig(OLD as Partial<TrainConfig>);
		expect(t).toEqual({ ...defaultTrainConfig, ...OLD, schedule: 'cosine', minLrRatio: 0.1 });
		expect(validateTrainConfig(t)).toEqual([]);
		const run = normalizeRunConfig({ ...defaultRunConfig(2), train: OLD as TrainConfig });
		expect(run.train.optimizer).toBe('adamw');
		expect(run.train.gradAccumSteps).toBe(1);
	});

	it('keeps what a new config says, including fields it does not know', () => {
		const t = { ...defaultTrainConfig, schedule: 'linear' as const, minLrRatio: 0, keepCheckpoints: 5 };
		expect(normalizeTrainConfig(t)).toEqual(t);
		expect(defaultTrainConfig.minLrRatio).toBe(0);
	});
});

describe('validateTrainConfig', () => {
	it('accepts the defaults and the fine-tuning preset', () => {
		expect(validateRunConfig(defaultRunConfig(2))).toEqual([]);
		expect(validateTrainConfig({ ...defaultTrainConfig, ...finetunePreset })).toEqual([]);
	});

	it('says what to change', () => {
		const bad: TrainConfig = {
			...defaultTrainConfig,
			gradAccumSteps: 0,
			optimizer: 'sgd',
			momentum: 0,
			nesterov: true,
			warmupRatio: 1.5,
			labelSmoothing: 1,
			earlyStopping: { metric: 'loss', patience: 0, minDelta: -1 },
			divergenceFactor: 0.5,
			logEvery: 0
		};
		const errs = validateTrainConfig(bad).join('\n');
		for (const m of [/Gradient accumulation/, /Nesterov momentum needs a momentum above 0/, /Warmup ratio/, /Label smoothing/, /patience/, /minimum improvement/, /divergence factor/, /Log every/]) expect(errs).toMatch(m);
		expect(validateTrainConfig({ ...defaultTrainConfig, beta2: 1 }).join()).toMatch(/β2/);
	});

	it('checks a pretrained run\'s training settings but not the from-scratch model it does not use', () => {
		const c = defaultRunConfig(2);
		c.model.nHead = 3; // would fail for a from-scratch model
		c.pretrained = { repo: 'x/y', revision: 'f'.repeat(40), modelType: 'gpt2', hfConfig: {}, objective: 'causal-lm', contextLength: 16, numClasses: 2 };
		expect(validateRunConfig(c)).toEqual([]);
		c.train.gradAccumSteps = 1.5;
		expect(validateRunConfig(c)).toHaveLength(1);
	});
});

describe('effectiveBatchSize', () => {
	it('is the micro-batch times the accumulation', () => {
		expect(effectiveBatchSize({ batchSize: 8, gradAccumSteps: 4 })).toBe(32);
		expect(effectiveBatchSize({ batchSize: 8 })).toBe(8);
	});
});
