/**
 * Training internals (engine/train/step.ts, shared/internals.ts): the per-layer-group gradient
 * norms and update/weight ratios a recorded step reports equal a direct computation on a small
 * model (tf.variableGrads on the same loss, weights read before and after the step); the loop
 * records them only at log points and stores them with the point; a resumed run reports the same
 * internals, bit for bit, as an uninterrupted one; nothing leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { forward } from '../../../src/lib/engine/models/transformer';
import { crossEntropy } from '../../../src/lib/engine/ops';
import { initialLoopState, trainLoop } from '../../../src/lib/engine/train/loop';
import type { TokenRows } from '../../../src/lib/engine/batching';
import { groupOrder, layerGroup, type PointWithLayers } from '../../../src/lib/shared/internals';
import { Prng } from '../../../src/lib/shared/prng';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function config(): RunConfig {
	const c = defaultRunConfig(3);
	c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 };
	c.train = { ...c.train, batchSize: 4, learningRate: 1e-2, warmupSteps: 0, gradClip: 0.5, epochs: 3, logEvery: 2, evalEvery: 3, checkpointEvery: 100, seed: 11 };
	return c;
}

function rows(n: number, seed = 2): TokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const labels: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 3 + rng.int(8);
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 4 + (i % 3) : 10 + rng.int(50));
		offsets.push(ids.length);
		labels.push(i % 3);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels) };
}

const norm = (xs: Float32Array[]) => Math.sqrt(xs.reduce((a, x) => a + x.reduce((b, v) => b + v * v, 0), 0));

describe('layer groups', () => {
	it('name the groups of every architecture by their Hugging Face names, in forward order', () => {
		expect(layerGroup('transformer.wte.weight')).toBe('embeddings');
		expect(layerGroup('transformer.h.3.attn.c_attn.weight')).toBe('layer 3');
		expect(layerGroup('bert.encoder.layer.11.output.dense.weight')).toBe('layer 11');
		expect(layerGroup('model.layers.0.mlp.up_proj.lora_A.weight')).toBe('layer 0');
		expect(layerGroup('distilbert.transformer.layer.2.ffn.lin1.weight')).toBe('layer 2');
		expect(layerGroup('bert.embeddings.word_embeddings.weight')).toBe('embeddings');
		expect(layerGroup('classifier.weight')).toBe('head');
		expect(layerGroup('transformer.ln_f.bias')).toBe('head');
		expect(['head', 'layer 10', 'embeddings', 'layer 2'].sort(groupOrder)).toEqual(['embeddings', 'layer 2', 'layer 10', 'head']);
	});
});

describe('recorded internals', () => {
	it('equal a direct computation of the gradient norms and update/weight ratios per group', async () => {
		const cfg = config();
		const s = ClassifierSession.create(cfg, { padId: 0 });
		const data = rows(8);
		const hb = s.batch(data, [0, 1, 2, 3]);
		const names = [...s.params.keys()];
		const w0 = new Map(names.map((n) => [n, s.params.get(n)!.dataSync().slice() as Float32Array]));
		// The step's own loss on the same batch, differentiated directly.
		const { grads } = tf.variableGrads(() => {
			const logits = forward(Object.fromEntries(s.params), cfg.model, { inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'), attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length]) }, { training: true, seed: 5 }) as tf.Tensor2D;
			return crossEntropy(logits, tf.tensor1d(hb.labels, 'int32'));
		}, [...s.params.values()]);
		const byVar = new Map([...s.params].map(([n, v]) => [v.name, n]));
		const g = new Map(Object.entries(grads).map(([vn, t]) => [byVar.get(vn)!, t.dataSync().slice() as Float32Array]));
		tf.dispose(Object.values(grads));

		const before = tf.memory().numTensors;
		s.trainStep(hb, 1e-2, 5, { scale: 1, apply: true, record: true });
		const stats = await s.takeStats();
		expect(tf.memory().numTensors).toBe(before);
		const w1 = new Map(names.map((n) => [n, s.params.get(n)!.dataSync().slice() as Float32Array]));
		const groups = [...new Set(names.map(layerGroup))].sort(groupOrder);
		expect(stats!.layers!.map((l) => l.group)).toEqual(groups);
		expect(groups).toEqual(['embeddings', 'layer 0', 'layer 1', 'head']);
		for (const l of stats!.layers!) {
			const members = names.filter((n) => layerGroup(n) === l.group);
			expect(l.gradNorm).toBeCloseTo(norm(members.map((n) => g.get(n)!)), 5);
			const moved = norm(members.map((n) => w1.get(n)!.map((v, i) => v - w0.get(n)![i])));
			expect(l.updateRatio).toBeCloseTo(moved / norm(members.map((n) => w0.get(n)!)), 6);
			expect(l.updateRatio).toBeGreaterThan(0);
		}
		// The groups' norms make up the global one: Σ ‖g_group‖² = ‖g‖².
		expect(Math.hypot(...stats!.layers!.map((l) => l.gradNorm))).toBeCloseTo(stats!.gradNorm, 4);

		// A step not asked to record reports none, and costs nothing extra.
		s.trainStep(hb, 1e-2, 6);
		expect((await s.takeStats())!.layers).toBeUndefined();
		s.dispose();
	});

	it('a dead layer shows: with a zero classifier no gradient reaches the layers below it', async () => {
		const cfg = config();
		cfg.train = { ...cfg.train, weightDecay: 0 };
		const s0 = ClassifierSession.create(cfg, { padId: 0 });
		const weights = new Map((await s0.weights()).map((t) => [t.name, { shape: t.shape, data: t.data as Float32Array }]));
		s0.dispose();
		weights.get('classifier.weight')!.data.fill(0);
		const s = ClassifierSession.fromTensors(cfg, weights, { padId: 0 }, 0);
		s.trainStep(s.batch(rows(8), [0, 1, 2, 3]), 1e-2, 5, { scale: 1, apply: true, record: true });
		const layers = (await s.takeStats())!.layers!;
		const by = Object.fromEntries(layers.map((l) => [l.group, l]));
		for (const g of ['embeddings', 'layer 0', 'layer 1']) {
			expect(by[g].gradNorm, g).toBe(0);
			expect(by[g].updateRatio, g).toBe(0);
		}
		expect(by.head.gradNorm).toBeGreaterThan(0);
		expect(by.head.updateRatio).toBeGreaterThan(0);
		s.dispose();
	});

	it('the loop stores them at its log points only, and a resumed run reports the same ones bit for bit', async () => {
		const cfg = config();
		const data = { tokens: rows(24), train: [...Array(20).keys()], validation: [20, 21, 22, 23] };
		const run = async (stopAt?: number) => {
			const points: PointWithLayers[] = [];
			let s = ClassifierSession.create(cfg, { padId: 0 });
			let state = initialLoopState(cfg, data.train);
			type Saved = { state: typeof state; tensors: Map<string, { shape: number[]; data: Float32Array }> };
			const saved: Saved[] = [];
			let pausing = false;
			const r = await trainLoop(s, data, cfg, state, {
				control: () => (pausing ? 'pause' : 'run'),
				onMetrics: (p) => {
					points.push(p as PointWithLayers);
					if (stopAt !== undefined && p.step >= stopAt) pausing = true;
				},
				onCheckpoint: async (snap) => void saved.push({ state: snap.state, tensors: new Map(snap.tensors.map((t) => [t.name, { shape: t.shape, data: t.data as Float32Array }])) })
			});
			if (stopAt !== undefined) expect(r.outcome).toBe('paused');
			if (r.outcome === 'paused') {
				const sv = saved.at(-1)!;
				s.dispose();
				s = ClassifierSession.fromTensors(cfg, sv.tensors, { padId: 0 }, sv.state.optimizerStep);
				state = sv.state;
				await trainLoop(s, data, cfg, state, { control: () => 'run', onMetrics: (p) => void points.push(p as PointWithLayers), onCheckpoint: async () => {} });
			}
			s.dispose();
			return points;
		};
		const whole = await run();
		const parts = await run(4);
		expect(whole.length).toBeGreaterThan(3);
		for (const p of whole) {
			if (p.trainLoss === undefined) continue;
			expect(p.layers, `step ${p.step}`).toHaveLength(4);
			for (const l of p.layers!) expect(Number.isFinite(l.gradNorm) && Number.isFinite(l.updateRatio)).toBe(true);
		}
		const layersOf = (ps: PointWithLayers[]) => ps.map((p) => ({ step: p.step, layers: p.layers }));
		expect(layersOf(parts)).toEqual(layersOf(whole));
	});
});
