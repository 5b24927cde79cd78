/**
 * LoRA, freezing and linear probes on the four tiny fixtures (tfjs CPU): the adapter starts as a
 * no-op, merging equals the unmerged adapter, only the chosen tensors train, a LoRA checkpoint
 * holds only what trains and restores exactly, the peft export has peft's names, and the page's
 * pure counts match the engine.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { Objective } from '../../../src/lib/shared/config';
import { countMethod, fanInFanOutFor, hfParamShapes, methodProblems, planMethod, type FineTuneMethod } from '../../../src/lib/shared/method';
import { estimateMethodBytes } from '../../../src/lib/shared/memory';
import { PretrainedSession, configForObjective } from '../../../src/lib/engine/pretrained';
import { resolveConfig } from '../../../src/lib/engine/models/registry';
import { exportPeftAdapter, initAdapters, mergeAdapters, targetModulesFor, withLora } from '../../../src/lib/engine/train/lora';
import { parseSafetensors } from '../../../src/lib/engine/io';
import type { Params } from '../../../src/lib/engine/models/spec';
import { fixtureJson, fixtureModel, fixtureTensors, maxAbsDiff } from '../models/fixtures';

import { batchLogits, methodConfig, tokenRows, trainSteps } from '../models/method-fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const ARCHS = ['bert', 'gpt2', 'llama', 'qwen2'];
const labels = ['a', 'b', 'c'];
const special = { padId: 0 };
const lora = (targetModules: string, dropout = 0): FineTuneMethod => ({ kind: 'lora', rank: 4, alpha: 8, dropout, targetModules });
/** BERT only classifies; the decoders are tested as language models (and as classifiers where it matters). */
const objectiveOf = (arch: string): Objective => (arch === 'bert' ? 'classification' : 'causal-lm');

const data = tokenRows();
const config = methodConfig;
const train = (s: PretrainedSession, steps = 3) => trainSteps(s, data, steps);
/** The session's logits on a fixed batch, as host numbers. */
const logits = (s: PretrainedSession, params?: Params, spec?: PretrainedSession['spec'], hf?: PretrainedSession['hf']) => batchLogits(s, data, params, spec, hf);

const hostMap = (ts: { name: string; shape: number[]; data: Float32Array }[]) => new Map(ts.map((t) => [t.name, t]));

describe('LoRA forward', () => {
	for (const arch of ARCHS)
		it(`${arch}: with B = 0 the adapted model's logits equal the base model's exactly`, () => {
			const m = fixtureModel(arch);
			const modules = targetModulesFor(m.spec, m.config, 'all-linear');
			const adapters: Params = Object.fromEntries(Object.entries(initAdapters(m.spec, m.config, modules, 4, 7)).map(([n, t]) => [n, tf.tensor(t.data, t.shape)]));
			const adapted = withLora(m.spec, { rank: 4, alpha: 8, dropout: 0.1 });
			const diff = tf.tidy(() => maxAbsDiff(m.spec.forward(m.params, m.config, m.batch), adapted.forward({ ...m.params, ...adapters }, m.config, m.batch)));
			expect(diff).toBe(0);
			// A is kaiming-uniform(a=√5): U(-1/√in, 1/√in), not zero.
			const a = adapters[`${modules[0]}.lora_A.weight`];
			const bound = 1 / Math.sqrt(a.shape[1]!);
			const av = a.dataSync();
			expect(Math.max(...av.map(Math.abs))).toBeLessThanOrEqual(bound);
			expect(Math.max(...av.map(Math.abs))).toBeGreaterThan(bound / 2);
			tf.dispose([...Object.values(adapters), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
		});

	it('refuses adapters in the params without LoRA settings (an unwrapped spec would silently drop them)', () => {
		const m = fixtureModel('llama');
		const modules = targetModulesFor(m.spec, m.config, 'q_proj');
		const adapters: Params = Object.fromEntries(Object.entries(initAdapters(m.spec, m.config, modules, 2, 1)).map(([n, t]) => [n, tf.tensor(t.data, t.shape)]));
		expect(() => tf.tidy(() => m.spec.forward({ ...m.params, ...adapters }, m.config, m.batch))).toThrow(/withLora/);
		tf.dispose([...Object.values(adapters), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});

describe('target modules', () => {
	const names = (arch: string, pattern: string) => {
		const m = fixtureModel(arch);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
		return targetModulesFor(m.spec, m.config, pattern);
	};
	it('select the layers peft would, per architecture', () => {
		for (const arch of ['llama', 'qwen2'])
			expect(names(arch, 'q_proj,v_proj')).toEqual([0, 1].flatMap((i) => [`model.layers.${i}.self_attn.q_proj`, `model.layers.${i}.self_attn.v_proj`]));
		expect(names('gpt2', 'c_attn')).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.1.attn.c_attn']);
		expect(names('gpt2', 'c_proj')).toEqual(['transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj']);
		expect(names('bert', 'query, value')).toEqual([0, 1].flatMap((i) => [`bert.encoder.layer.${i}.attention.self.query`, `bert.encoder.layer.${i}.attention.self.value`]));
		expect(names('llama', 'self_attn.o_proj')).toEqual(['model.layers.0.self_attn.o_proj', 'model.layers.1.self_attn.o_proj']);
	});
	it("'all-linear' is every linear layer of the blocks, never the embeddings, LM head, pooler or classifier", () => {
		expect(names('llama', 'all-linear')).toHaveLength(2 * 7);
		expect(names('gpt2', 'all-linear')).toHaveLength(2 * 4);
		const bert = names('bert', 'all-linear');
		expect(bert).toHaveLength(2 * 6);
		expect(bert.some((n) => /pooler|classifier|embeddings/.test(n))).toBe(false);
	});
	it('a target that matches nothing is a named error listing the layers there are', () => {
		expect(() => names('gpt2', 'q_proj')).toThrow(/'q_proj' matches no linear layer.*c_attn/);
		expect(() => names('llama', 'lm_head')).toThrow(/matches no linear layer/);
	});
});

describe('LoRA training in a session', () => {
	for (const arch of ARCHS)
		it(`${arch}: only the adapter (and a classifier's head) train; merging gives the same logits`, async () => {
			const before = tf.memory().numTensors;
			const objective = objectiveOf(arch);
			const s = await PretrainedSession.fromPretrained(config(arch, objective, lora('all-linear')), fixtureTensors(arch), special, labels);
			const trainedNames = [...s.params.keys()];
			expect(trainedNames.every((n) => /\.lora_[AB]\.weight$/.test(n) || /^(score|classifier)\.|^bert\.pooler\./.test(n))).toBe(true);
			expect(trainedNames.some((n) => /^(score|classifier)\./.test(n))).toBe(objective === 'classification');
			const frozenBefore = new Map([...s.frozen].map(([n, t]) => [n, t.dataSync().slice()]));
			const baseLogits = await logits(s);
			train(s);
			await s.takeStats();
			// the base is bit-identical; the adapters moved
			for (const [n, t] of s.frozen) expect(Array.from(t.dataSync())).toEqual(Array.from(frozenBefore.get(n)!));
			const bName = trainedNames.find((n) => n.endsWith('lora_B.weight'))!;
			expect(tf.tidy(() => s.params.get(bName)!.abs().max().dataSync()[0])).toBeGreaterThan(0);
			const adapted = await logits(s);
			expect(Math.max(...adapted.map((v, i) => Math.abs(v - baseLogits[i])))).toBeGreaterThan(1e-4);
			// merged: a plain model (no adapter tensors), the same logits
			const merged = await s.weights();
			expect(merged.some((t) => t.name.includes('lora_'))).toBe(false);
			expect(merged.map((t) => t.name)).toEqual(Object.keys(s.spec.paramShapes(s.hf)));
			const plain: Params = Object.fromEntries(merged.map((t) => [t.name, tf.tensor(t.data, t.shape)]));
			const mergedLogits = await logits(s, plain);
			tf.dispose(Object.values(plain));
			expect(Math.max(...mergedLogits.map((v, i) => Math.abs(v - adapted[i])))).toBeLessThan(1e-5);
			s.dispose();
			expect(tf.memory().numTensors).toBe(before);
		});

	it('mergeAdapters computes W + scale·B·A, transposed for a Conv1D weight', () => {
		const w = tf.tensor2d([[1, 2, 3], [4, 5, 6]]); // nn.Linear (out 2, in 3)
		const a = tf.tensor2d([[1, 0, 1]]); // (r 1, in 3)
		const b = tf.tensor2d([[2], [3]]); // (out 2, r 1)
		const linearMerged = mergeAdapters({ 'l.weight': w }, { 'l.lora_A.weight': a, 'l.lora_B.weight': b }, { rank: 1, alpha: 2 });
		expect(linearMerged['l.weight'].arraySync()).toEqual([[5, 2, 7], [10, 5, 12]]);
		const conv = w.transpose(); // Conv1D (in 3, out 2)
		const convMerged = mergeAdapters({ 'l.weight': conv }, { 'l.lora_A.weight': a, 'l.lora_B.weight': b }, { rank: 1, alpha: 2 }, true);
		expect(convMerged['l.weight'].arraySync()).toEqual([[5, 10], [2, 5], [7, 12]]);
		tf.dispose([w, a, b, conv, ...Object.values(linearMerged), ...Object.values(convMerged)]);
	});

	it('adapter dropout is on in training only, and the same seed replays the same step', async () => {
		const cfg = config('llama', 'causal-lm', lora('q_proj,v_proj', 0.5));
		const [a, b] = [await PretrainedSession.fromPretrained(cfg, fixtureTensors('llama'), special, labels), await PretrainedSession.fromPretrained(cfg, fixtureTensors('llama'), special, labels)];
		train(a, 2);
		train(b, 2);
		const [wa, wb] = [await a.adapterTensors(), await b.adapterTensors()];
		for (let i = 0; i < wa.length; i++) expect(Array.from(wb[i].data)).toEqual(Array.from(wa[i].data));
		// llama's own attention dropout is 0 here: any difference is the adapter's dropout
		const batch = { inputIds: tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32') };
		const [evalDiff, trainDiff] = tf.tidy(() => {
			const plain = a.spec.forward(a.modelParams, a.hf, batch);
			return [maxAbsDiff(plain, a.spec.forward(a.modelParams, a.hf, batch)), maxAbsDiff(plain, a.spec.forward(a.modelParams, a.hf, batch, { training: true, dropoutSeed: 3 }))];
		});
		expect(evalDiff).toBe(0);
		expect(trainDiff).toBeGreaterThan(0);
		batch.inputIds.dispose();
		await a.takeStats();
		await b.takeStats();
		a.dispose();
		b.dispose();
	});
});

describe('LoRA checkpoints', () => {
	for (const [arch, objective] of [['llama', 'causal-lm'], ['gpt2', 'classification'], ['bert', 'classification']] as const)
		it(`${arch} ${objective}: a snapshot holds only adapter, head and optimizer state, and restores the exact logits and next step`, async () => {
			const before = tf.memory().numTensors;
			const cfg = config(arch, objective, lora(arch === 'bert' ? 'query,value' : arch === 'gpt2' ? 'c_attn' : 'q_proj,v_proj'));
			const a = await PretrainedSession.fromPretrained(cfg, fixtureTensors(arch), special, labels);
			train(a);
			await a.takeStats();
			const snap = await a.snapshot();
			const weightNames = snap.map((t) => t.name).filter((n) => !n.startsWith('optimizer.'));
			expect(weightNames.sort()).toEqual([...a.params.keys()].sort());
			expect(snap.every((t) => t.name.startsWith('optimizer.') || /\.lora_[AB]\.weight$/.test(t.name) || /^(score|classifier)\.|^bert\.pooler\./.test(t.name))).toBe(true);
			expect(snap.some((t) => t.name.startsWith('optimizer.'))).toBe(true);
			const snapBytes = snap.reduce((n, t) => n + t.data.length, 0);
			expect(snapBytes).toBeLessThan(a.totalParams / 2);

			expect(() => PretrainedSession.fromTensors(cfg, hostMap(snap), special, labels, a.optimizer.step)).toThrow(/base/);
			const b = PretrainedSession.fromTensors(cfg, hostMap(snap), special, labels, a.optimizer.step, fixtureTensors(arch));
			expect(Array.from(await logits(b))).toEqual(Array.from(await logits(a)));
			a.trainStep(a.batch(data, [4, 5, 6, 7]), 1e-2, 9);
			b.trainStep(b.batch(data, [4, 5, 6, 7]), 1e-2, 9);
			const [wa, wb] = [await a.adapterTensors(), await b.adapterTensors()];
			expect(wb.map((t) => t.name)).toEqual(wa.map((t) => t.name));
			for (let i = 0; i < wa.length; i++) expect(Array.from(wb[i].data)).toEqual(Array.from(wa[i].data));
			await a.takeStats();
			await b.takeStats();
			a.dispose();
			b.dispose();
			expect(tf.memory().numTensors).toBe(before);
		});
});

describe('freezing', () => {
	async function changed(arch: string, objective: Objective, method: FineTuneMethod): Promise<{ changed: string[]; s: PretrainedSession }> {
		const s = await PretrainedSession.fromPretrained(config(arch, objective, method), fixtureTensors(arch), special, labels);
		const start = hostMap(await s.weights());
		train(s);
		await s.takeStats();
		const end = await s.weights();
		return { s, changed: end.filter((t) => t.data.some((v, i) => v !== start.get(t.name)!.data[i])).map((t) => t.name) };
	}

	it('a linear probe trains only the head', async () => {
		for (const arch of ['gpt2', 'bert']) {
			const { s, changed: c } = await changed(arch, 'classification', { kind: 'freeze', layers: 'all-but-head' });
			expect([...s.params.keys()].sort()).toEqual(s.spec.headParams(s.hf).sort());
			expect(c.length).toBeGreaterThan(0);
			expect(c.every((n) => s.spec.headParams(s.hf).includes(n))).toBe(true);
			s.dispose();
		}
		const qwen = await changed('qwen2', 'causal-lm', { kind: 'freeze', layers: 'all-but-head' });
		expect(qwen.changed).toEqual(['lm_head.weight']);
		qwen.s.dispose();
	});

	it('a tied LM has no head to probe: a named error', async () => {
		await expect(PretrainedSession.fromPretrained(config('gpt2', 'causal-lm', { kind: 'freeze', layers: 'all-but-head' }), fixtureTensors('gpt2'), special, labels)).rejects.toThrow(
			/ties its LM head/
		);
	});

	it('freezing N layers leaves the embeddings and layers < N unchanged, and trains the rest', async () => {
		const { s, changed: c } = await changed('llama', 'classification', { kind: 'freeze', layers: 1 });
		expect(c.some((n) => n.startsWith('model.layers.0.') || n.startsWith('model.embed_tokens'))).toBe(false);
		expect(c.some((n) => n.startsWith('model.layers.1.'))).toBe(true);
		expect(c).toContain('score.weight');
		expect(s.trainableParams).toBeLessThan(s.totalParams);
		// a freeze run's checkpoint is whole: it restores without the base
		const snap = await s.snapshot();
		const b = PretrainedSession.fromTensors(s.config, hostMap(snap), special, labels, s.optimizer.step);
		expect(Array.from(await logits(b))).toEqual(Array.from(await logits(s)));
		b.dispose();
		s.dispose();
		await expect(PretrainedSession.fromPretrained(config('llama', 'causal-lm', { kind: 'freeze', layers: 3 }), fixtureTensors('llama'), special, labels)).rejects.toThrow(/has 2 layers/);
	});
});

describe('peft export', () => {
	it('writes peft names, shapes and adapter_config.json for a classifier (modules_to_save: the head)', async () => {
		const cfg = config('gpt2', 'classification', lora('c_attn'));
		const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), special, labels);
		const files = exportPeftAdapter({ spec: s.spec, config: s.hf, lora: s.lora!, tensors: await s.adapterTensors(), baseModel: 'openai-community/gpt2', revision: 'abc' });
		const json = JSON.parse(files['adapter_config.json']);
		expect(json).toMatchObject({
			peft_type: 'LORA',
			r: 4,
			lora_alpha: 8,
			lora_dropout: 0,
			target_modules: ['c_attn'],
			task_type: 'SEQ_CLS',
			fan_in_fan_out: true,
			bias: 'none',
			modules_to_save: ['score'],
			base_model_name_or_path: 'openai-community/gpt2',
			revision: 'abc'
		});
		const st = parseSafetensors(files['adapter_model.safetensors'].buffer as ArrayBuffer);
		const shapes = Object.fromEntries([...st.tensors].map(([n, t]) => [n, t.shape]));
		expect(shapes).toEqual({
			'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': [4, 32],
			'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight': [96, 4],
			'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight': [4, 32],
			'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': [96, 4],
			'base_model.model.score.weight': [3, 32]
		});
		expect(st.metadata).toEqual({ format: 'pt' });
		expect(files['README.md']).toMatch(/PeftModel\.from_pretrained/);
		s.dispose();
	});

	it('causal LM: task CAUSAL_LM, no modules_to_save; short names only when peft would match exactly those layers', async () => {
		const llama = await PretrainedSession.fromPretrained(config('llama', 'causal-lm', lora('v_proj,q_proj')), fixtureTensors('llama'), special, labels);
		const lj = JSON.parse(exportPeftAdapter({ spec: llama.spec, config: llama.hf, lora: llama.lora!, tensors: await llama.adapterTensors(), baseModel: 'x/y', revision: 'r' })['adapter_config.json']);
		expect(lj).toMatchObject({ task_type: 'CAUSAL_LM', modules_to_save: null, target_modules: ['q_proj', 'v_proj'], fan_in_fan_out: false });
		llama.dispose();
		// BERT all-linear: 'dense' would also catch the pooler, so the full names are written
		const bert = await PretrainedSession.fromPretrained(config('bert', 'classification', lora('all-linear')), fixtureTensors('bert'), special, labels);
		const bj = JSON.parse(exportPeftAdapter({ spec: bert.spec, config: bert.hf, lora: bert.lora!, tensors: await bert.adapterTensors(), baseModel: 'x/y', revision: 'r' })['adapter_config.json']);
		expect(bj.target_modules).toHaveLength(12);
		expect(bj.target_modules).toContain('bert.encoder.layer.0.output.dense');
		expect(bj.modules_to_save.sort()).toEqual(['classifier', 'pooler']);
		bert.dispose();
	});
});

describe("the page's pure counts", () => {
	const objectives = (arch: string): Objective[] => (arch === 'bert' ? ['classification'] : ['classification', 'causal-lm']);

	it("hfParamShapes mirrors every architecture's paramShapes", () => {
		for (const arch of ARCHS)
			for (const objective of objectives(arch)) {
				const json = fixtureJson(arch, 'config.json');
				const { spec, config: hf } = resolveConfig(configForObjective(json, objective, labels));
				expect(hfParamShapes(json, objective, labels.length)).toEqual(spec.paramShapes(hf));
			}
	});

	it('countMethod gives the trainable and total parameters the session trains', async () => {
		const methods: FineTuneMethod[] = [{ kind: 'full' }, lora('all-linear'), { kind: 'freeze', layers: 1 }, { kind: 'freeze', layers: 'all-but-head' }];
		for (const arch of ARCHS)
			for (const objective of objectives(arch))
				for (const method of methods) {
					const json = fixtureJson(arch, 'config.json');
					const shapes = hfParamShapes(json, objective, labels.length);
					if (methodProblems(method, shapes).length) continue; // a tied LM has no head to probe
					const s = await PretrainedSession.fromPretrained(config(arch, objective, method), fixtureTensors(arch), special, labels);
					expect(countMethod(shapes, method, fanInFanOutFor(String(json.model_type)))).toEqual({ trainable: s.trainableParams, total: s.totalParams });
					s.dispose();
				}
	});

	it('estimates less memory for LoRA and freezing than for full fine-tuning, and names bad settings', () => {
		const json = fixtureJson('qwen2', 'config.json');
		const shapes = hfParamShapes(json, 'causal-lm', 3);
		const batch = { batchSize: 8, seqLen: 64 };
		const bytes = (m: FineTuneMethod) => estimateMethodBytes(countMethod(shapes, m, false), json, batch);
		expect(bytes(lora('q_proj,v_proj'))).toBeLessThan(bytes({ kind: 'full' }));
		expect(bytes({ kind: 'freeze', layers: 2 })).toBeLessThan(bytes({ kind: 'full' }));
		expect(methodProblems({ kind: 'lora', rank: 0, alpha: 8, dropout: 0, targetModules: 'q_proj' })).toHaveLength(1);
		expect(methodProblems(lora('nope'), shapes)[0]).toMatch(/'nope' matches no linear layer/);
		expect(planMethod(shapes, lora('q_proj')).adapted).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj']);
	});
});
