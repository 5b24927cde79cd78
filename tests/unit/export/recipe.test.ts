/**
 * The recipe bundle: the YAML and JSON parse back and every mapped field equals the run's config;
 * the data is in each target's format, split as in the browser; train.py compiles; settings with
 * no equivalent are listed, not dropped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { normalizeTrainConfig } from '../../../src/lib/shared/config';
import { recipeFiles, reproducibility, scriptConfig } from '../../../src/lib/export/recipe';
import type { StoredRow } from '../../../src/lib/shared/types';
import { fakeRun, loraClassifierConfig, version } from './fixtures';

const rows: StoredRow[] = [
	{ text: 'refund please', label: 0, split: 0 },
	{ text: "can't log in", label: 1, split: 0 },
	{ text: 'great app', label: 2, split: 1 },
	{ text: 'where is my order?', label: 0, split: 2 }
];

function lines(s: string) {
	return s.trim().split('\n').map((l) => JSON.parse(l));
}

describe('recipe bundle: a LoRA classifier', () => {
	const config = loraClassifierConfig('llama');
	config.train = { ...config.train, earlyStopping: { metric: 'accuracy', patience: 2, minDelta: 0.01 }, labelSmoothing: 0.1, tokenDropout: 0.05, schedule: 'cosine', minLrRatio: 0.1 };
	const run = fakeRun(config);
	const files = recipeFiles({ run, version, rows, memoryBytes: 3 * 2 ** 30 });
	const t = normalizeTrainConfig(run.config.train);
	const p = run.config.pretrained!;

	it('writes the splits as text/label for train.py and alpaca for the causal-LM tools', () => {
		expect(lines(files['data/train.text-label.jsonl'])).toEqual([{ text: 'refund please', label: 'a' }, { text: "can't log in", label: 'b' }]);
		expect(lines(files['data/validation.text-label.jsonl'])).toEqual([{ text: 'great app', label: 'c' }]);
		expect(lines(files['data/test.alpaca.jsonl'])).toEqual([{ instruction: 'where is my order?', input: '', output: 'a' }]);
	});

	it('maps every Axolotl field from the run config', () => {
		const y = parse(files['axolotl.yaml']);
		expect(y).toMatchObject({
			base_model: p.repo,
			revision_of_model: p.revision,
			sequence_len: p.contextLength,
			adapter: 'lora',
			lora_r: 4,
			lora_alpha: 8,
			lora_dropout: 0.05,
			lora_target_modules: ['q_proj', 'v_proj'],
			micro_batch_size: t.batchSize,
			gradient_accumulation_steps: t.gradAccumSteps,
			num_epochs: t.epochs,
			max_steps: t.maxSteps,
			optimizer: 'adamw_torch',
			lr_scheduler: 'cosine',
			cosine_min_lr_ratio: 0.1,
			learning_rate: t.learningRate,
			warmup_steps: t.warmupSteps,
			weight_decay: t.weightDecay,
			max_grad_norm: t.gradClip,
			adam_beta1: t.beta1,
			adam_beta2: t.beta2,
			adam_epsilon: t.eps,
			seed: t.seed,
			eval_steps: t.evalEvery,
			save_steps: t.checkpointEvery,
			logging_steps: t.logEvery,
			early_stopping_patience: 2,
			val_set_size: 0
		});
		expect(y.datasets).toEqual([{ path: 'data/train.alpaca.jsonl', ds_type: 'json', type: 'alpaca' }]);
		expect(y.test_datasets[0].path).toBe('data/validation.alpaca.jsonl');
		// the multi-GPU block is there, commented out
		expect(files['axolotl.yaml']).toMatch(/^# deepspeed: deepspeed_configs\/zero2\.json$/m);
		expect(files['axolotl.yaml']).toMatch(/^# deepspeed: deepspeed_configs\/zero3_bf16\.json$/m);
		expect(files['axolotl.yaml']).toMatch(/^#   fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer$/m);
		// no silent drops
		expect(files['axolotl.yaml']).toMatch(/# - labelSmoothing 0\.1/);
		expect(files['axolotl.yaml']).toMatch(/# - tokenDropout 0\.05/);
		expect(files['axolotl.yaml']).toMatch(/# - objective classification/);
		expect(files['axolotl.yaml']).toContain(`axolotl v0.6.0`);
	});

	it('maps every LLaMA-Factory field and registers the data in dataset_info.json', () => {
		const y = parse(files['llamafactory.yaml']);
		expect(y).toMatchObject({
			model_name_or_path: p.repo,
			model_revision: p.revision,
			stage: 'sft',
			finetuning_type: 'lora',
			lora_rank: 4,
			lora_alpha: 8,
			lora_dropout: 0.05,
			lora_target: 'q_proj,v_proj',
			cutoff_len: p.contextLength,
			per_device_train_batch_size: t.batchSize,
			gradient_accumulation_steps: t.gradAccumSteps,
			learning_rate: t.learningRate,
			num_train_epochs: t.epochs,
			max_steps: t.maxSteps,
			lr_scheduler_type: 'cosine_with_min_lr',
			lr_scheduler_kwargs: { min_lr_rate: 0.1 },
			warmup_steps: t.warmupSteps,
			weight_decay: t.weightDecay,
			max_grad_norm: t.gradClip,
			seed: t.seed,
			label_smoothing_factor: 0.1,
			eval_steps: t.evalEvery,
			dataset: 'whetstone_train',
			eval_dataset: 'whetstone_validation',
			dataset_dir: 'data'
		});
		const info = JSON.parse(files['data/dataset_info.json']);
		expect(info.whetstone_train).toEqual({ file_name: 'train.alpaca.jsonl', formatting: 'alpaca', columns: { prompt: 'instruction', query: 'input', response: 'output' } });
		expect(Object.keys(info)).toEqual(['whetstone_train', 'whetstone_validation', 'whetstone_test']);
		expect(files['llamafactory.yaml']).toMatch(/# - early stopping \(patience 2\)/);
	});

	it("embeds the run's settings in train.py under TrainingArguments' names", () => {
		const m = /CONFIG = json\.loads\(r'''([\s\S]*?)'''\)/.exec(files['train.py']);
		expect(m).not.toBeNull();
		const c = JSON.parse(m![1]);
		expect(c).toEqual(JSON.parse(JSON.stringify(scriptConfig(run, version, 'text-label'))));
		expect(c.training_arguments).toMatchObject({
			per_device_train_batch_size: t.batchSize, gradient_accumulation_steps: t.gradAccumSteps, num_train_epochs: t.epochs, max_steps: t.maxSteps,
			learning_rate: t.learningRate, warmup_steps: t.warmupSteps, weight_decay: t.weightDecay, max_grad_norm: t.gradClip, seed: t.seed,
			adam_beta1: t.beta1, adam_beta2: t.beta2, adam_epsilon: t.eps, label_smoothing_factor: 0.1, early_stopping_patience: 2, metric_for_best_model: 'eval_accuracy'
		});
		expect(c.method).toMatchObject({ kind: 'lora', rank: 4, alpha: 8, dropout: 0.05, target_modules: ['q_proj', 'v_proj'] });
		expect(c.labels).toEqual(['a', 'b', 'c']);
		for (const word of ['TrainingArguments(', 'LoraConfig(', 'Trainer(', 'accelerate launch', 'torchrun']) expect(files['train.py']).toContain(word);
		expect(files['train.py']).not.toMatch(/import datasets|from datasets/);
	});

	it('compiles with python3 -m py_compile', (ctx) => {
		if (spawnSync('python3', ['--version']).status !== 0) return ctx.skip();
		const dir = mkdtempSync(join(tmpdir(), 'recipe-'));
		writeFileSync(join(dir, 'train.py'), files['train.py']);
		expect(() => execFileSync('python3', ['-m', 'py_compile', join(dir, 'train.py')], { stdio: 'pipe' })).not.toThrow();
	});

	it('says the commands, the memory estimate and what does not carry over in its README', () => {
		expect(files['README.md']).toContain('python train.py');
		expect(files['README.md']).toContain('3.00 GiB');
		expect(files['README.md']).toContain('llamafactory-cli train llamafactory.yaml');
		expect(files['README.md']).toMatch(/tokenDropout/);
	});
});

describe('recipe bundle: other objectives', () => {
	it('instruction pairs with messages become chat JSONL and chat_template / sharegpt entries', () => {
		const config = loraClassifierConfig('qwen2');
		config.pretrained = { ...config.pretrained!, objective: 'instruction', method: { kind: 'lora', rank: 8, alpha: 16, dropout: 0, targetModules: 'all-linear' } };
		const msgs = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];
		const files = recipeFiles({ run: fakeRun(config), version, rows: [{ text: 'hi', label: 0, split: 0, messages: msgs }] });
		expect(lines(files['data/train.messages.jsonl'])).toEqual([{ messages: msgs }]);
		const ax = parse(files['axolotl.yaml']);
		expect(ax.datasets[0]).toMatchObject({ type: 'chat_template', field_messages: 'messages' });
		expect(ax.lora_target_linear).toBe(true);
		expect(parse(files['llamafactory.yaml']).lora_target).toBe('all');
		expect(JSON.parse(files['data/dataset_info.json']).whetstone_train.formatting).toBe('sharegpt');
	});

	it('a causal LM on domain text becomes text JSONL, completion / pt stage, full fine-tuning', () => {
		const config = loraClassifierConfig('gpt2');
		config.pretrained = { ...config.pretrained!, objective: 'causal-lm', method: { kind: 'full' } };
		const files = recipeFiles({ run: fakeRun(config), version, rows: [{ text: 'some text', label: 0, split: 0 }] });
		expect(lines(files['data/train.text.jsonl'])).toEqual([{ text: 'some text' }]);
		const ax = parse(files['axolotl.yaml']);
		expect(ax.datasets[0]).toMatchObject({ type: 'completion', field: 'text' });
		expect(ax.adapter).toBeUndefined();
		expect(parse(files['llamafactory.yaml'])).toMatchObject({ stage: 'pt', finetuning_type: 'full' });
		expect(ax.fsdp).toBeUndefined();
	});

	it('a from-scratch run has no recipe, and says why', () => {
		expect(() => recipeFiles({ run: fakeRun({ ...loraClassifierConfig('gpt2'), pretrained: undefined }), version, rows })).toThrow(/studio's own small model/);
	});
});

describe('reproducibility JSON', () => {
	it('holds the config, data hash, base revision, seed, metrics and adapter', () => {
		const run = fakeRun(loraClassifierConfig('llama'), { backend: { name: 'webgpu' } as never });
		const r = JSON.parse(JSON.stringify(reproducibility(run, version)));
		expect(r.config).toEqual(JSON.parse(JSON.stringify(run.config)));
		expect(r.dataset).toMatchObject({ versionId: 'v1', contentHash: 'abc123', rows: 12 });
		expect(r.baseModel).toEqual({ repo: 'whetstone-test/tiny-llama', revision: 'f'.repeat(40), modelType: 'llama' });
		expect(r.seed).toBe(7);
		expect(r.adapter).toMatchObject({ kind: 'lora', rank: 4 });
		expect(r.backend).toEqual({ name: 'webgpu' });
		expect(r.metrics.test).toBeNull();
	});
});
