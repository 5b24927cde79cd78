/**
 * Integrated gradients and occlusion (engine/inside/attribution.ts) through the models' own
 * forward: completeness (Σ attributions = F(x) − F(baseline)) within the studio's tolerance on the
 * from-scratch classifier and on the tiny BERT, RoBERTa and GPT-2 sequence classifiers of
 * tests/fixtures/hf-tiny; the trapezoid rule closer than a coarse Riemann sum; occlusion equal to
 * recomputing each shortened sequence by hand; no tensor left behind. Through the engine worker's
 * API on a trained run (fake-indexeddb): whyLabel and insideEmbeddings, and the run's stored
 * metric points carry the per-layer internals.
 */
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { PretrainedSession } from '../../../src/lib/engine/pretrained';
import { COMPLETENESS_TOLERANCE, classifierModel, igGrid, integratedGradients, occlusion, type ClassifierModel } from '../../../src/lib/engine/inside/attribution';
import { fixtureJson, fixtureTensors } from '../models/fixtures';
import { api } from '../../../workers/engine-api';
import { createTicketRun } from './api-fixtures';
import { getMetrics, useDatabase } from '../../../src/lib/storage';
import type { PointWithLayers } from '../../../src/lib/shared/internals';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function scratch(): ClassifierSession {
	const c = defaultRunConfig(3);
	c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 };
	c.train = { ...c.train, seed: 7 };
	return ClassifierSession.create(c, { padId: 0 });
}

async function pretrained(arch: string): Promise<PretrainedSession> {
	const c: RunConfig = defaultRunConfig(3);
	const hfConfig = fixtureJson(arch, 'config.json');
	c.pretrained = { repo: `whetstone-test/tiny-${arch}`, revision: 'f'.repeat(40), modelType: String(hfConfig.model_type), hfConfig, objective: 'classification', contextLength: 16, numClasses: 3 };
	return PretrainedSession.fromPretrained(c, fixtureTensors(arch), { padId: Number(hfConfig.pad_token_id ?? 0) }, ['a', 'b', 'c']);
}

/** (C) logits of one id sequence, straight through the model's forward. */
async function logitsOf(m: ClassifierModel, ids: number[]): Promise<number[]> {
	const t = tf.tidy(() =>
		m.forward(m.params, {
			inputIds: tf.tensor2d(ids, [1, ids.length], 'int32'),
			attentionMask: tf.ones([1, ids.length]) as tf.Tensor2D,
			...(m.positionsFor ? { positionIds: tf.tensor2d(m.positionsFor(ids), [1, ids.length], 'int32') } : {})
		})
	);
	const v = Array.from(await t.data());
	t.dispose();
	return v;
}

const softmax = (z: number[]) => {
	const mx = Math.max(...z);
	const e = z.map((x) => Math.exp(x - mx));
	const s = e.reduce((a, b) => a + b, 0);
	return e.map((x) => x / s);
};

describe('igGrid', () => {
	it('weights integrate constants exactly and x exactly under the trapezoid rule', () => {
		for (const rule of ['riemann', 'trapezoid'] as const) {
			const { alphas, weights } = igGrid(8, rule);
			expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
			if (rule === 'trapezoid') expect(alphas.reduce((a, x, i) => a + x * weights[i], 0)).toBeCloseTo(0.5, 12);
		}
		expect(igGrid(4, 'riemann').alphas).toEqual([0.25, 0.5, 0.75, 1]);
		expect(() => igGrid(0, 'riemann')).toThrow(/steps/);
	});
});

const CASES: [string, () => Promise<ClassifierSession | PretrainedSession>, number[]][] = [
	['from-scratch classifier', async () => scratch(), [5, 17, 23, 9, 41, 3]],
	['bert', () => pretrained('bert'), [2, 17, 23, 9, 41, 3]],
	['roberta', () => pretrained('roberta'), [0, 17, 23, 9, 41, 2]],
	['gpt2', () => pretrained('gpt2'), [17, 23, 9, 41, 3]]
];

describe.each(CASES)('integrated gradients on the %s', (_name, make, ids) => {
	it('sum to the logit difference from the baseline within the tolerance (each baseline, each rule)', async () => {
		const s = await make();
		const m = classifierModel(s);
		const logits = await logitsOf(m, ids);
		const target = logits.indexOf(Math.max(...logits));
		const before = tf.memory().numTensors;
		// The studio's default count (WhyLabel.svelte: 32 steps); the trapezoid's 31 intervals are 32 points.
		const settings = [
			{ baseline: 'zero', rule: 'trapezoid', steps: 31 },
			{ baseline: 'pad', rule: 'riemann', steps: 32 }
		] as const;
		for (const { baseline, rule, steps } of settings) {
			const r = await integratedGradients(m, ids, target, { steps, rule, baseline, chunk: 24 });
			expect(r.attributions).toHaveLength(ids.length);
			expect(r.logit).toBeCloseTo(logits[target], 4);
			expect(Math.abs(r.sum - (r.logit - r.baselineLogit))).toBeLessThan(COMPLETENESS_TOLERANCE * Math.abs(r.logit - r.baselineLogit) + 1e-4);
			expect(r.relativeError).toBeLessThan(COMPLETENESS_TOLERANCE);
			expect(r.attributions.some((a) => Math.abs(a) > 1e-6)).toBe(true);
		}
		expect(tf.memory().numTensors).toBe(before);
		s.dispose();
	});

	it('the trapezoid rule is at least as close as a coarse Riemann sum, and more steps close the gap', async () => {
		const s = await make();
		const m = classifierModel(s);
		const coarse = await integratedGradients(m, ids, 0, { steps: 2, rule: 'riemann', baseline: 'zero' });
		const fine = await integratedGradients(m, ids, 0, { steps: 31, rule: 'trapezoid', baseline: 'zero' });
		expect(fine.relativeError).toBeLessThanOrEqual(coarse.relativeError + 1e-6);
		expect(fine.relativeError).toBeLessThan(0.01);
		s.dispose();
	});

	it('padding to the length bucket and the chunk size change nothing', async () => {
		const s = await make();
		const m = classifierModel(s);
		expect(m.contextLength).toBe(16);
		const bare = { ...m, contextLength: undefined };
		const a = await integratedGradients(m, ids, 1, { steps: 5, rule: 'riemann', baseline: 'pad', chunk: 4 });
		const b = await integratedGradients(bare, ids, 1, { steps: 5, rule: 'riemann', baseline: 'pad', chunk: 5 });
		a.attributions.forEach((x, i) => expect(x).toBeCloseTo(b.attributions[i], 5));
		expect(a.logit).toBeCloseTo(b.logit, 5);
		expect(a.baselineLogit).toBeCloseTo(b.baselineLogit, 5);
		s.dispose();
	});

	it('occlusion equals recomputing each sequence without the token', async () => {
		const s = await make();
		const m = classifierModel(s);
		const positions = ids.map((_, i) => i).slice(1);
		const target = 1;
		const before = tf.memory().numTensors;
		const r = await occlusion(m, ids, target, positions);
		expect(tf.memory().numTensors).toBe(before);
		const full = softmax(await logitsOf(m, ids));
		r.probs.forEach((p, k) => expect(p).toBeCloseTo(full[k], 5));
		expect(Number.isNaN(r.drop[0])).toBe(true);
		for (const j of positions) {
			const without = softmax(await logitsOf(m, ids.filter((_, i) => i !== j)));
			expect(r.drop[j]).toBeCloseTo(full[target] - without[target], 5);
			expect(r.predWithout[j]).toBe(without.indexOf(Math.max(...without)));
		}
		s.dispose();
	});
});

describe('classifierModel', () => {
	it('refuses a language model', async () => {
		const c: RunConfig = defaultRunConfig(3);
		const hfConfig = fixtureJson('gpt2', 'config.json');
		c.pretrained = { repo: 'whetstone-test/tiny-gpt2', revision: 'f'.repeat(40), modelType: 'gpt2', hfConfig, objective: 'causal-lm', contextLength: 16, numClasses: 3 };
		const s = await PretrainedSession.fromPretrained(c, fixtureTensors('gpt2'), { padId: 0 }, ['a', 'b', 'c']);
		expect(() => classifierModel(s)).toThrow(/classifier/);
		s.dispose();
	});
});

describe('through the engine API on a trained run', () => {
	it('explains a text, projects the test split before and after, and stored the per-layer internals', async () => {
		useDatabase('inside-why-' + Math.random());
		const { run } = await createTicketRun({ epochs: 1, logEvery: 2, evalEvery: 4, checkpointEvery: 4, warmupSteps: 1 });
		expect(await api.train(run.id, () => {})).toBe('completed');
		const metrics = (await getMetrics(run.id)) as PointWithLayers[];
		const logged = metrics.filter((p) => p.trainLoss !== undefined);
		expect(logged.length).toBeGreaterThan(0);
		for (const p of logged) expect(p.layers?.map((l) => l.group)).toEqual(['embeddings', 'layer 0', 'head']);

		const why = await api.whyLabel({ runId: run.id }, 'my card was charged twice, please refund', { steps: 48, rule: 'trapezoid', baseline: 'pad' });
		expect(why.tokens.length).toBe(why.attributions.length);
		expect(why.relativeError).toBeLessThan(why.tolerance);
		expect(Math.abs(why.sum - (why.logit - why.baselineLogit))).toBeLessThan(why.tolerance * Math.abs(why.logit - why.baselineLogit) + 1e-4);
		expect(why.target).toBe(why.predicted);
		expect(why.occlusion.filter((v) => v !== null)).toHaveLength(why.special.filter((x) => !x).length);
		const other = await api.whyLabel({ runId: run.id }, 'my card was charged twice, please refund', { steps: 8, rule: 'riemann', baseline: 'zero', target: (why.predicted + 1) % why.labels.length });
		expect(other.target).toBe((why.predicted + 1) % why.labels.length);
		await expect(api.whyLabel({ runId: run.id }, 'x', { steps: 0, rule: 'riemann', baseline: 'zero' })).rejects.toThrow(/steps/);
		await expect(api.whyLabel({ runId: run.id }, '   ', { steps: 8, rule: 'riemann', baseline: 'zero' })).rejects.toThrow(/text/);

		const emb = await api.insideEmbeddings(run.id);
		expect(emb.examples.length).toBe(emb.total);
		expect(emb.examples.every((e) => e.text.length > 0)).toBe(true);
		for (const p of [emb.before, emb.after]) {
			expect(p.points).toHaveLength(2 * emb.examples.length);
			expect(p.preds).toHaveLength(emb.examples.length);
			expect(p.points.every(Number.isFinite)).toBe(true);
			expect(p.dim).toBe(16);
		}
		expect(emb.after.points).not.toEqual(emb.before.points);
	}, 120_000);
});
