/**
 * Fine-tuning methods on DistilBERT, RoBERTa, GPT-NeoX, Mistral, Gemma and Phi-3 (tiny fixtures,
 * tfjs CPU): LoRA on peft's default target modules for each, the merged Hugging Face folder and the
 * peft adapter loading back to the trained logits, freezing and the linear probe, and the page's
 * pure counts (shared/arch-shapes.ts) equal to the engine's.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Objective } from '../../../src/lib/shared/config';
import { countMethod, DEFAULT_LORA_TARGETS, fanInFanOutFor, hfParamShapes, methodProblems, planMethod, type FineTuneMethod } from '../../../src/lib/shared/method';
import { PretrainedSession, configForObjective } from '../../../src/lib/engine/pretrained';
import { resolveConfig } from '../../../src/lib/engine/models/registry';
import { paramsFromCheckpoint } from '../../../src/lib/engine/models/load';
import { exportHfModel } from '../../../src/lib/engine/io/export';
import { exportPeftAdapter, withLora } from '../../../src/lib/engine/train/lora';
import { parseSafetensors } from '../../../src/lib/engine/io';
import type { Params } from '../../../src/lib/engine/models/spec';
import { fixtureJson, fixtureTensors } from './fixtures';

import { batchLogits, methodConfig, tokenRows, trainSteps } from './method-fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const ENCODERS = ['distilbert', 'roberta'];
const DECODERS = ['gpt_neox', 'mistral', 'gemma', 'phi3'];
const ARCHS = [...ENCODERS, ...DECODERS];
const labels = ['a', 'b', 'c'];
const objectiveOf = (arch: string): Objective => (ENCODERS.includes(arch) ? 'classification' : 'causal-lm');
const objectives = (arch: string): Objective[] => (ENCODERS.includes(arch) ? ['classification'] : ['classification', 'causal-lm']);
const special = (arch: string) => ({ padId: arch === 'roberta' ? 1 : 0 });

/** peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING (v0.10) for these model types. */
const PEFT_DEFAULTS: Record<string, string[]> = {
	distilbert: ['q_lin', 'v_lin'],
	roberta: ['query', 'value'],
	gpt_neox: ['query_key_value'],
	mistral: ['q_proj', 'v_proj'],
	gemma: ['q_proj', 'v_proj'],
	phi3: ['qkv_proj']
};

const data = tokenRows();
const config = methodConfig;
const train = (s: PretrainedSession, steps = 3) => trainSteps(s, data, steps);
/** The session's logits on a fixed batch, as host numbers. */
const logits = (s: PretrainedSession, params?: Params, spec?: PretrainedSession['spec'], hf?: PretrainedSession['hf']) => batchLogits(s, data, params, spec, hf);

const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
const buffer = (u8: Uint8Array) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;

describe('LoRA on peft default target modules', () => {
	for (const arch of ARCHS)
		it(`${arch}: ${PEFT_DEFAULTS[arch].join('/')} adapted; the merged HF folder and the peft adapter load back to the trained logits`, async () => {
			expect(DEFAULT_LORA_TARGETS[arch]).toBe(PEFT_DEFAULTS[arch].join(','));
			const before = tf.memory().numTensors;
			const objective = objectiveOf(arch);
			const method: FineTuneMethod = { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: DEFAULT_LORA_TARGETS[arch] };
			const s = await PretrainedSession.fromPretrained(config(arch, objective, method), fixtureTensors(arch), special(arch), labels);
			const nLayers = 2;
			expect(s.lora!.modules).toHaveLength(nLayers * PEFT_DEFAULTS[arch].length);
			expect(s.lora!.modules.every((m) => PEFT_DEFAULTS[arch].includes(m.split('.').pop()!))).toBe(true);
			const trained = [...s.params.keys()];
			expect(trained.filter((n) => !n.includes('.lora_'))).toEqual(objective === 'classification' ? s.spec.headParams(s.hf) : []);
			const base = await logits(s);
			train(s);
			await s.takeStats();
			const adapted = await logits(s);
			expect(maxDiff(adapted, base)).toBeGreaterThan(1e-4);

			// the merged model as a Hugging Face folder, loaded the way a downloaded one is
			const merged = await s.weights();
			const { files } = await exportHfModel(s.spec, s.hf, Object.fromEntries(merged.map((t) => [t.name, t])));
			const back = resolveConfig(JSON.parse(files['config.json']));
			expect(back.spec.modelType).toBe(arch);
			const loaded = paramsFromCheckpoint(back.spec, back.config, parseSafetensors(buffer(files['model.safetensors'])).tensors);
			expect(loaded.missing).toEqual([]);
			expect(maxDiff(await logits(s, loaded.params, back.spec, back.config), adapted)).toBeLessThan(1e-5);
			tf.dispose(Object.values(loaded.params));

			// the peft adapter: peft's names, its config, and applied to the base weights as PeftModel does
			const peft = exportPeftAdapter({ spec: s.spec, config: s.hf, lora: s.lora!, tensors: await s.adapterTensors(), baseModel: `whetstone-test/tiny-${arch}`, revision: 'r' });
			const cfg = JSON.parse(peft['adapter_config.json']);
			expect(cfg).toMatchObject({ target_modules: [...PEFT_DEFAULTS[arch]].sort(), task_type: objective === 'classification' ? 'SEQ_CLS' : 'CAUSAL_LM', r: 4, lora_alpha: 8, fan_in_fan_out: false });
			const adapter = parseSafetensors(buffer(peft['adapter_model.safetensors'])).tensors;
			expect([...adapter.keys()].every((n) => n.startsWith('base_model.model.'))).toBe(true);
			const baseLoaded = paramsFromCheckpoint(s.spec, s.hf, fixtureTensors(arch)); // the Hub weights (a classifier's head comes from the adapter)
			const withAdapter: Params = { ...baseLoaded.params };
			for (const [name, t] of adapter) withAdapter[name.slice('base_model.model.'.length)] = tf.tensor(t.data as Float32Array, t.shape);
			expect(baseLoaded.missing.every((n) => n in withAdapter)).toBe(true);
			const peftSpec = withLora(s.spec, { rank: cfg.r, alpha: cfg.lora_alpha, dropout: 0 });
			expect(maxDiff(await logits(s, withAdapter, peftSpec), adapted)).toBeLessThan(1e-5);
			tf.dispose([...new Set([...Object.values(withAdapter), ...Object.values(baseLoaded.params)])]);
			s.dispose();
			expect(tf.memory().numTensors).toBe(before);
		});
});

describe('freezing and the linear probe', () => {
	it('a probe trains only the head: pre_classifier and classifier (DistilBERT), classifier.dense/out_proj (RoBERTa), score (decoders)', () => {
		const probe: FineTuneMethod = { kind: 'freeze', layers: 'all-but-head' };
		const head = (arch: string) => planMethod(hfParamShapes(fixtureJson(arch, 'config.json'), 'classification', 3), probe).trained;
		expect(head('distilbert')).toEqual(['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias']);
		expect(head('roberta')).toEqual(['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']);
		for (const arch of DECODERS) expect(head(arch)).toEqual(['score.weight']);
		// GPT-NeoX's untied LM head is embed_out: a probe of the language model trains it alone, LoRA leaves it frozen
		const neox = hfParamShapes(fixtureJson('gpt_neox', 'config.json'), 'causal-lm', 3);
		expect(planMethod(neox, probe).trained).toEqual(['embed_out.weight']);
		expect(planMethod(neox, { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: 'query_key_value' }).trained).toEqual([]);
		// freezing the first layer freezes the input embedding with it, not the output one
		const frozen1 = planMethod(neox, { kind: 'freeze', layers: 1 }).trained;
		expect(frozen1).toContain('embed_out.weight');
		expect(frozen1).not.toContain('gpt_neox.embed_in.weight');
		expect(frozen1.some((n) => n.startsWith('gpt_neox.layers.0.'))).toBe(false);
		// Gemma ties its head: there is nothing to probe in its language model
		expect(methodProblems(probe, hfParamShapes(fixtureJson('gemma', 'config.json'), 'causal-lm', 3))[0]).toMatch(/ties its LM head/);
	});

	it('countMethod gives the trainable and total parameters the session trains', async () => {
		const methods: FineTuneMethod[] = [{ kind: 'full' }, { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: 'all-linear' }, { kind: 'freeze', layers: 1 }, { kind: 'freeze', layers: 'all-but-head' }];
		for (const arch of ARCHS)
			for (const method of methods) {
				const objective = objectiveOf(arch);
				const json = fixtureJson(arch, 'config.json');
				const shapes = hfParamShapes(json, objective, labels.length);
				if (methodProblems(method, shapes).length) continue;
				const s = await PretrainedSession.fromPretrained(config(arch, objective, method), fixtureTensors(arch), special(arch), labels);
				expect(countMethod(shapes, method, fanInFanOutFor(arch)), `${arch} ${method.kind}`).toEqual({ trainable: s.trainableParams, total: s.totalParams });
				s.dispose();
			}
	});
});

describe("the page's pure shapes", () => {
	it("hfParamShapes mirrors each new architecture's paramShapes, for each objective", () => {
		for (const arch of ARCHS)
			for (const objective of objectives(arch)) {
				const json = fixtureJson(arch, 'config.json');
				const { spec, config: hf } = resolveConfig(configForObjective(json, objective, labels));
				expect(hfParamShapes(json, objective, labels.length), `${arch} ${objective}`).toEqual(spec.paramShapes(hf));
			}
	});

	it('and with the defaults transformers fills in for a bare config', () => {
		for (const arch of ARCHS) {
			const json = { model_type: arch, num_hidden_layers: 1, n_layers: 1 };
			const objective = objectiveOf(arch);
			const { spec, config: hf } = resolveConfig(configForObjective(json, objective, labels));
			expect(hfParamShapes(json, objective, labels.length), arch).toEqual(spec.paramShapes(hf));
		}
	});

	it('the encoders only classify: asking one to generate is a named error', () => {
		expect(() => configForObjective(fixtureJson('distilbert', 'config.json'), 'causal-lm', labels)).toThrow(/DistilBERT is an encoder/);
		expect(() => configForObjective(fixtureJson('roberta', 'config.json'), 'instruction', labels)).toThrow(/RoBERTa is an encoder/);
	});
});
