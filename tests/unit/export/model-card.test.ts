/**
 * What leaves the tab with a fine-tuned model: the model card's front matter and sections, a LoRA
 * classifier adapter that carries its head's config (num_labels, labels, pad id) with the load code
 * in its README, and generation_config.json with config.json's pad id.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'yaml';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { PretrainedSession } from '../../../src/lib/engine/pretrained';
import { exportPeftAdapter, headConfig } from '../../../src/lib/engine/train/lora';
import { withPad } from '../../../src/lib/engine/io/export';
import { cardMetadata, modelCard } from '../../../src/lib/export/model-card';
import type { Run } from '../../../src/lib/shared/types';
import { fixtureTensors } from '../models/fixtures';
import { fakeRun, loraClassifierConfig, version } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const evaluation = {
	split: 'test', checkpointId: 'c', step: 10, accuracy: 0.75, macroF1: 0.7, loss: 0.6, perClass: [], confusion: [], labels: ['a', 'b', 'c'], count: 40, createdAt: 0,
	intervals: { accuracy: { estimate: 0.75, low: 0.6, high: 0.875 }, macroF1: { estimate: 0.7, low: 0.55, high: 0.82 }, logLoss: { estimate: 0.6, low: 0.5, high: 0.7 } },
	bootstrap: { resamples: 1000, seed: 1, alpha: 0.05 },
	slices: [{ column: 'channel', gap: 0.2, notable: false, slices: [{ value: 'email', count: 20, accuracy: 0.85, macroF1: 0.8, low: 0.6, high: 0.95, small: false }, { value: 'chat', count: 20, accuracy: 0.65, macroF1: 0.6, low: 0.43, high: 0.82, small: false }] }]
} as unknown as Run['evaluation'];

describe('LoRA classifier adapter', () => {
	for (const arch of ['gpt2', 'llama', 'qwen2']) {
		it(`${arch}: carries head_config.json and shows num_labels, id2label, label2id and the pad id in its README`, async () => {
			const s = await PretrainedSession.fromPretrained(loraClassifierConfig(arch), fixtureTensors(arch), { padId: 0 }, ['neg', 'neu', 'pos']);
			const files = exportPeftAdapter({ spec: s.spec, config: s.hf, lora: s.lora!, tensors: await s.adapterTensors(), baseModel: `whetstone-test/tiny-${arch}`, revision: 'r', padTokenId: 5 });
			const head = JSON.parse(files['head_config.json']!);
			expect(head).toEqual({ num_labels: 3, id2label: { 0: 'neg', 1: 'neu', 2: 'pos' }, label2id: { neg: 0, neu: 1, pos: 2 }, pad_token_id: 5, problem_type: 'single_label_classification' });
			const readme = files['README.md'];
			expect(readme).toContain('num_labels=3');
			expect(readme).toContain('id2label={0:"neg",1:"neu",2:"pos"}');
			expect(readme).toContain('label2id={"neg":0,"neu":1,"pos":2}');
			expect(readme).toContain('pad_token_id=5');
			s.dispose();
		});
	}

	it('falls back to the config pad id and leaves it out when there is none', () => {
		const config = { numLabels: 2, labelNames: ['x', 'y'], padTokenId: null } as never;
		expect(headConfig({ config })).toEqual({ num_labels: 2, id2label: { 0: 'x', 1: 'y' }, label2id: { x: 0, y: 1 } });
		expect(headConfig({ config: { numLabels: 2, labelNames: ['x', 'y'], padTokenId: 3 } as never }).pad_token_id).toBe(3);
	});
});

describe('generation_config.json', () => {
	it("gains config.json's pad id and keeps its own", () => {
		expect(withPad({ eos_token_id: 2, do_sample: true }, 0)).toEqual({ eos_token_id: 2, do_sample: true, pad_token_id: 0 });
		expect(withPad({ pad_token_id: 9 }, 0)).toEqual({ pad_token_id: 9 });
		expect(withPad({ eos_token_id: 2 }, undefined)).toEqual({ eos_token_id: 2 });
	});
});

describe('model card', () => {
	const run = fakeRun(loraClassifierConfig('llama'), { evaluation });
	const baseline = fakeRun(defaultRunConfig(3), { id: 'b', name: 'majority', baseline: { kind: 'majority', description: "always 'a'" }, evaluation: { ...evaluation!, accuracy: 0.33, macroF1: 0.17, intervals: { accuracy: { estimate: 0.33, low: 0.2, high: 0.48 }, macroF1: { estimate: 0.17, low: 0.1, high: 0.25 }, logLoss: { estimate: 1, low: 1, high: 1 } } } });
	const card = modelCard({ run, version, baselines: [baseline], step: 10, kind: 'adapter', usage: '# LoRA adapter\n\n```python\nPeftModel.from_pretrained(base, "./this-folder")\n```' });

	it('has Hugging Face card metadata in its YAML front matter', () => {
		const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
		expect(m).not.toBeNull();
		const meta = parse(m![1]);
		expect(meta).toEqual(cardMetadata({ run, version, step: 10, kind: 'adapter', usage: '' }));
		expect(meta).toMatchObject({ library_name: 'peft', base_model: 'whetstone-test/tiny-llama', pipeline_tag: 'text-classification' });
		expect(meta['model-index'][0].results[0].metrics).toEqual([
			{ type: 'accuracy', value: 0.75, name: 'Accuracy' },
			{ type: 'f1', value: 0.7, name: 'Macro F1', args: { average: 'macro' } }
		]);
		expect(meta['model-index'][0].results[0].dataset).toMatchObject({ name: 'tickets v1', revision: 'abc123', split: 'test' });
	});

	it('says the base revision, data, every training setting, results against the baseline, slices, use and limits', () => {
		expect(card).toContain('f'.repeat(40));
		expect(card).toContain('tickets.csv');
		expect(card).toContain('`abc123`');
		expect(card).toContain('Rows: 12');
		for (const [k, v] of Object.entries(run.config.train)) expect(card).toContain(`| train.${k} | ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)} |`);
		expect(card).toContain('| this model | 75.0% [60.0%, 87.5%] | 70.0% [55.0%, 82.0%] |');
		expect(card).toContain("| baseline: always 'a' | 33.0% [20.0%, 48.0%] |");
		expect(card).toContain('  - email: 85.0% [60.0%, 95.0%], n=20');
		expect(card).toContain('## Intended use');
		expect(card).toContain('## Limitations');
		expect(card).toContain('PeftModel.from_pretrained');
	});

	it('says when the run has not been evaluated', () => {
		const c = modelCard({ run: fakeRun(loraClassifierConfig('gpt2')), step: 3, kind: 'model', usage: 'x' });
		expect(c).toMatch(/has not been scored/);
		expect(parse(/^---\n([\s\S]*?)\n---\n/.exec(c)![1])['model-index']).toBeUndefined();
	});
});
