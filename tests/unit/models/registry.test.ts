import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/shared/errors';
import { archFor, resolveConfig, SUPPORTED_MODEL_TYPES } from '../../../src/lib/engine/models/registry';
import { fixtureJson } from './fixtures';

describe('model registry', () => {
	it('maps every fixture config.json to its architecture', () => {
		for (const arch of ['gpt2', 'llama', 'qwen2', 'bert', 'distilbert', 'roberta', 'gpt_neox', 'mistral', 'gemma', 'phi3']) {
			const { spec, config } = resolveConfig(fixtureJson(arch, 'config.json'));
			expect(spec.modelType).toBe(arch);
			expect(config.modelType).toBe(arch);
		}
	});

	it('names the supported types for an unknown model_type', () => {
		expect(SUPPORTED_MODEL_TYPES).toEqual(['gpt2', 'llama', 'qwen2', 'bert', 'distilbert', 'roberta', 'gpt_neox', 'mistral', 'gemma', 'phi3']);
		expect(() => archFor('mamba')).toThrow(UserError);
		expect(() => archFor('mamba')).toThrow(/"mamba" is not supported\. Supported: gpt2, llama, qwen2, bert, distilbert, roberta, gpt_neox, mistral, gemma, phi3/);
		expect(() => resolveConfig({})).toThrow(/no model_type/);
	});

	it('says which config field is wrong', () => {
		expect(() => resolveConfig({ model_type: 'llama', hidden_size: 'big' })).toThrow(/llama: config.json field 'hidden_size' must be a number/);
		expect(() => resolveConfig({ model_type: 'gpt2', n_layer: 0 })).toThrow(/'n_layer' must be a positive integer/);
	});
});
