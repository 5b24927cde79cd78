/**
 * Reading tests/fixtures/hf-tiny/<arch> into what the parity module takes, and a parity suite every
 * architecture's test file runs (one `it` per check, so a failure names the check).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { parseSafetensors, type SafetensorsTensor } from '../../../src/lib/engine/io';
import {
	formatCheck,
	loadModel,
	referenceBatch,
	runParity,
	type LoadedModel,
	type ParityCheck,
	type ParityInput,
	type ParityReference
} from '../../../src/lib/engine/models/parity';
import { loadPretrained } from '../../../src/lib/engine/models/load';
import { resolveConfig, withTask } from '../../../src/lib/engine/models/registry';
import type { ArchSpec, Batch, HfConfigBase, Params } from '../../../src/lib/engine/models/spec';

export const FIXTURES = fileURLToPath(new URL('../../fixtures/hf-tiny', import.meta.url));

export function fixtureBuffer(arch: string, file: string): ArrayBuffer {
	const b = readFileSync(join(FIXTURES, arch, file));
	return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function fixtureJson<T = Record<string, unknown>>(arch: string, file: string): T {
	return JSON.parse(readFileSync(join(FIXTURES, arch, file), 'utf8'));
}

export function fixtureTensors(arch: string, file = 'model.safetensors'): Map<string, SafetensorsTensor> {
	return parseSafetensors(fixtureBuffer(arch, file)).tensors;
}

export function parityInput(arch: string): ParityInput {
	const optional = (f: string) => (existsSync(join(FIXTURES, arch, f)) ? fixtureTensors(arch, f) : undefined);
	return {
		config: fixtureJson(arch, 'config.json'),
		tensors: fixtureTensors(arch),
		reference: fixtureJson<ParityReference>(arch, 'reference.json'),
		f16: optional('model.f16.safetensors'),
		bf16: optional('model.bf16.safetensors')
	};
}

/** Declares one test per parity check against the transformers reference for `arch`. */
export function parityTests(arch: string, checkNames: string[]): void {
	let checks: ParityCheck[] = [];
	let leaked = 0;
	beforeAll(async () => {
		await tf.setBackend('cpu');
		const before = tf.memory().numTensors;
		checks = await runParity(parityInput(arch));
		leaked = tf.memory().numTensors - before;
	});
	for (const name of checkNames)
		it(`matches transformers: ${name}`, () => {
			const c = checks.find((x) => x.name === name);
			expect(c, `no '${name}' check was run`).toBeDefined();
			expect(c!.pass, formatCheck(c!)).toBe(true);
		});
	it('runs every check it was asked for and leaks no tensors', () => {
		expect(checks.map((c) => c.name).sort()).toEqual([...checkNames].sort());
		expect(leaked).toBe(0);
	});
}

export const CAUSAL_CHECKS = ['logits', 'loss', 'grad_norm', 'param grad norms', 'generation', 'f16 rounding', 'bf16 rounding'];
export const CLASSIFIER_CHECKS = ['logits', 'loss', 'grad_norm', 'param grad norms', 'f16 rounding', 'bf16 rounding'];

/** The fixture model with its reference batch (caller disposes with `disposeAll`). */
export function fixtureModel(arch: string): LoadedModel & { batch: Batch; labels: tf.Tensor; reference: ParityReference } {
	const input = parityInput(arch);
	const m = loadModel(input.config, input.tensors);
	return { ...m, ...referenceBatch(input.reference, m.config.task), reference: input.reference };
}

/** The fixture checkpoint as an `n`-class classifier, its fresh head seeded (caller disposes params). */
export function fixtureClassifier(arch: string, n = 3, seed = 11): { spec: ArchSpec; config: HfConfigBase; params: Params } {
	const { spec, config } = resolveConfig(fixtureJson(arch, 'config.json'));
	const cls = withTask(spec, config, 'sequence-classification', n);
	return { spec, config: cls, params: loadPretrained(spec, cls, fixtureTensors(arch), seed).params };
}

/** Small random weights for a config (N(0, 0.02), unit norms, zero biases), as HF's init does. */
export function randomParams(spec: ArchSpec, config: HfConfigBase, seed = 1): Params {
	const params: Params = {};
	let i = 0;
	for (const [name, shape] of Object.entries(spec.paramShapes(config))) {
		const isNorm = /norm|ln_|LayerNorm/.test(name) && name.endsWith('.weight');
		params[name] = isNorm ? tf.ones(shape) : name.endsWith('.bias') ? tf.zeros(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', seed + i++);
	}
	return params;
}

/** Logits shape, loss and every gradient of a model built from `config` with random weights. */
export function smokeStep(spec: ArchSpec, config: HfConfigBase, batch: Batch, labels: tf.Tensor) {
	const params = randomParams(spec, config);
	const names = Object.keys(params);
	const logitsShape = tf.tidy(() => spec.forward(params, config, batch).shape);
	const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) =>
		spec.loss(spec.forward(Object.fromEntries(names.map((n, j) => [n, xs[j]])), config, batch), labels, config)
	)(names.map((n) => params[n]));
	const loss = value.dataSync()[0];
	const gradNorms = Object.fromEntries(names.map((n, j) => [n, grads[j].norm().dataSync()[0]]));
	tf.dispose([value, ...grads, ...Object.values(params)]);
	return { logitsShape, loss, gradNorms, names };
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
	return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
}

/**
 * After an SGD step on a tied model there is still one embedding tensor, and the LM head is that
 * updated tensor: the logits equal those of an untied copy whose lm_head is the new embedding.
 */
export function expectTiedAfterStep(arch: string, embedding: string): void {
	const m = fixtureModel(arch);
	expect(m.spec.isTied(m.config)).toBe(true);
	expect(Object.keys(m.params)).not.toContain('lm_head.weight');
	const vars: Params = Object.fromEntries(Object.entries(m.params).map(([n, t]) => [n, tf.variable(t, true)]));
	const before = vars[embedding].clone();
	const opt = tf.train.sgd(1);
	opt.minimize(() => m.spec.loss(m.spec.forward(vars, m.config, m.batch), m.labels, m.config), false, Object.values(vars) as tf.Variable[]);
	expect(Object.keys(vars)).not.toContain('lm_head.weight');
	expect(maxAbsDiff(before, vars[embedding])).toBeGreaterThan(1e-4);

	const untiedConfig = { ...m.config, tieWordEmbeddings: false };
	const untied: Params = { ...vars, 'lm_head.weight': vars[embedding].clone() };
	const diff = tf.tidy(() => maxAbsDiff(m.spec.forward(vars, m.config, m.batch), m.spec.forward(untied, untiedConfig, m.batch)));
	expect(diff).toBe(0);
	tf.dispose([before, untied['lm_head.weight'], ...Object.values(vars), ...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	opt.dispose();
}

/** A forward pass and its loss inside tf.tidy leave no tensors behind. */
export function expectNoLeak(arch: string): void {
	const m = fixtureModel(arch);
	const before = tf.memory().numTensors;
	const loss = tf.tidy(() => m.spec.loss(m.spec.forward(m.params, m.config, m.batch), m.labels, m.config).dataSync()[0]);
	expect(Number.isFinite(loss)).toBe(true);
	expect(tf.memory().numTensors).toBe(before);
	tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
}
