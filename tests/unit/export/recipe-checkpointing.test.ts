/** A run trained with activation checkpointing asks the recipe's targets for it (TrainingArguments' and Axolotl's `gradient_checkpointing`). */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { recipeFiles, trainingArguments } from '../../../src/lib/export/recipe';
import { fakeRun, loraClassifierConfig, version } from './fixtures';

describe('activation checkpointing in the recipe', () => {
	it('is gradient_checkpointing in the Trainer arguments and the Axolotl YAML only when the run had it', () => {
		const config = loraClassifierConfig('llama');
		const off = fakeRun(config);
		expect(trainingArguments(off).args.gradient_checkpointing).toBeUndefined();
		const on = fakeRun({ ...config, train: { ...config.train, activationCheckpointing: true } });
		expect(trainingArguments(on).args.gradient_checkpointing).toBe(true);
		const files = recipeFiles({ run: on, version, rows: [], memoryBytes: 2 ** 30 });
		expect(parse(files['axolotl.yaml']).gradient_checkpointing).toBe(true);
		expect(parse(recipeFiles({ run: off, version, rows: [], memoryBytes: 2 ** 30 })['axolotl.yaml']).gradient_checkpointing).toBeUndefined();
	});
});
