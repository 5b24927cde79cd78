import { describe, expect, it } from 'vitest';
import {
	countParams,
	defaultModelConfig,
	defaultTrainConfig,
	matchingTrainPreset,
	modelPresetLabel,
	modelPresets,
	rebaseTrainConfig,
	suggestedLearningRate,
	suggestedTrainConfig,
	trainPreset,
	validateTrainConfig,
	type ModelPreset
} from '../../../src/lib/shared/config';
import { warmupSteps } from '../../../src/lib/engine/train/schedule';

describe('model preset labels', () => {
	it('name what sets each preset apart, with the right plural', () => {
		const labels = (Object.keys(modelPresets) as ModelPreset[]).map(modelPresetLabel);
		expect(new Set(labels).size).toBe(labels.length);
		expect(modelPresetLabel('nano')).toBe('nano · 1 layer · width 32 · context 32');
		expect(modelPresetLabel('micro')).toBe('micro · 1 layer · width 32 · context 64');
		expect(modelPresetLabel('tiny')).toBe('tiny · 2 layers · width 64 · context 64');
		expect(labels.join('\n')).not.toMatch(/\b1 layers\b/);
	});
});

describe('suggested training settings', () => {
	it('warm up over a tenth of the run, whatever its length', () => {
		for (const shape of [{ source: 'scratch' as const }, { source: 'pretrained' as const, method: 'lora' as const }]) {
			const t = suggestedTrainConfig(shape);
			expect(validateTrainConfig(t)).toEqual([]);
			expect(warmupSteps(t, 10)).toBe(1); // a max-steps-10 run
			expect(warmupSteps(t, 21)).toBe(3); // the quick preset on the example
			expect(warmupSteps(t, 222)).toBe(23);
			// The stored default (20 steps) would have spent 20 of 21 steps warming up.
			expect(warmupSteps(defaultTrainConfig, 21)).toBe(20);
		}
	});

	it('choose the learning rate and epochs by method and model size, as the Trainer and PEFT recipes do', () => {
		const tiny = countParams(defaultModelConfig);
		expect(tiny).toBeLessThan(1e6);
		expect(suggestedTrainConfig({ source: 'scratch', params: tiny })).toMatchObject({ learningRate: 3e-3, epochs: 12, schedule: 'cosine' });
		expect(suggestedLearningRate({ source: 'scratch', params: 5e6 })).toBe(1e-3);
		expect(suggestedLearningRate({ source: 'scratch', params: 5e7 })).toBe(6e-4);

		const full = suggestedTrainConfig({ source: 'pretrained', method: 'full', params: 135e6 });
		expect(full).toMatchObject({ learningRate: 5e-5, epochs: 3, batchSize: 8, schedule: 'linear' });
		expect(full.learningRate).toBeGreaterThanOrEqual(2e-5);
		expect(full.learningRate).toBeLessThanOrEqual(5e-5);
		expect(suggestedLearningRate({ source: 'pretrained', method: 'full', params: 1.5e9 })).toBe(2e-5);
		expect(suggestedLearningRate({ source: 'pretrained', method: 'freeze', params: 135e6 })).toBe(5e-5);

		const lora = suggestedTrainConfig({ source: 'pretrained', method: 'lora', params: 135e6 });
		expect(lora.learningRate).toBeGreaterThanOrEqual(1e-4);
		expect(lora.learningRate).toBeLessThanOrEqual(3e-4);
		expect(lora.epochs).toBe(3);
		expect(suggestedLearningRate({ source: 'pretrained', method: 'lora', params: 7e9 })).toBe(2e-4);
		expect(suggestedLearningRate({ source: 'pretrained', method: 'lora', params: 7e10 })).toBe(1e-4);
		expect(suggestedLearningRate({ source: 'pretrained', method: 'probe', params: 135e6 })).toBe(1e-3);
	});

	it('move the fields the user left alone to the new suggestion and keep the ones they changed', () => {
		const fullT = suggestedTrainConfig({ source: 'pretrained', method: 'full', params: 1e6 });
		const loraT = suggestedTrainConfig({ source: 'pretrained', method: 'lora', params: 1e6 });
		// The user typed 8 epochs and a batch of 4; the learning rate is still the suggestion.
		const typed = { ...fullT, epochs: 8, batchSize: 4 };
		const next = rebaseTrainConfig(typed, fullT, loraT);
		expect(next.learningRate).toBe(loraT.learningRate);
		expect(next.epochs).toBe(8);
		expect(next.batchSize).toBe(4);
		// Back to full: the rate follows again, the typed fields still stay.
		const back = rebaseTrainConfig(next, loraT, fullT);
		expect(back).toMatchObject({ learningRate: 5e-5, epochs: 8, batchSize: 4 });
		// From scratch to pretrained: schedule, decay, batch and early stopping follow too.
		const scratch = suggestedTrainConfig({ source: 'scratch', params: 1e5 });
		const moved = rebaseTrainConfig({ ...scratch, learningRate: 0.01 }, scratch, fullT);
		expect(moved).toMatchObject({ learningRate: 0.01, schedule: 'linear', batchSize: 8, epochs: 3, weightDecay: 0.01, earlyStopping: fullT.earlyStopping });
		expect(moved.earlyStopping).not.toBe(fullT.earlyStopping);
		// A copied run's settings: nothing is a suggestion, everything is kept.
		expect(rebaseTrainConfig(scratch, null, fullT)).toEqual(scratch);
	});

	it('scale the training presets from the suggestion and recognise them', () => {
		const scratch = suggestedTrainConfig({ source: 'scratch', params: 1e5 });
		expect(trainPreset('quick', scratch)).toEqual({ epochs: 3, learningRate: 3e-3 });
		expect(trainPreset('thorough', scratch)).toEqual({ epochs: 30, learningRate: 2e-3 });
		const full = suggestedTrainConfig({ source: 'pretrained', method: 'full', params: 1e6 });
		expect(trainPreset('quick', full).epochs).toBe(1);
		expect(matchingTrainPreset(full, full)).toBe('default');
		expect(matchingTrainPreset({ ...full, ...trainPreset('thorough', full) }, full)).toBe('thorough');
		expect(matchingTrainPreset({ ...full, epochs: 7 }, full)).toBeNull();
	});
});
