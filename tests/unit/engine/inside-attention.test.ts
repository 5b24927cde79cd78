/**
 * Attention capture (ops/attention.ts `captureAttention`) and the Inside view's maps
 * (engine/inside/attention.ts) for every architecture the studio runs: each captured map equals
 * softmax(q kᵀ / √hs + mask) recomputed here in float64 from the model's own q and k, with the
 * causal, sliding-window and padding masks built here from the batch; rows sum to 1 and masked
 * entries are exactly 0. Rollout is checked against Abnar & Zuidema's definition on a hand example.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { captureAttention } from '../../../src/lib/engine/ops/attention';
import { attentionMaps, headAverage, rollout } from '../../../src/lib/engine/inside/attention';
import { archModel, scratchModel } from '../../../src/lib/engine/inside/model';
import { forward as scratchForward, initParams } from '../../../src/lib/engine/models/transformer';
import { defaultModelConfig, type ModelConfig } from '../../../src/lib/shared/config';
import type { Params } from '../../../src/lib/engine/models/spec';
import { fixtureModel, maxAbsDiff } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

interface Captured {
	w: number[][][][];
	q: number[][][][];
	k: number[][][][];
	scale: number;
}

/** Every layer's capture of one forward pass, read back; the pass's tensors are disposed. */
function capturePass(run: () => tf.Tensor): { layers: Captured[]; logits: tf.Tensor } {
	const layers: Captured[] = [];
	const logits = tf.tidy(() =>
		captureAttention(
			(c) => layers.push({ w: c.weights.arraySync(), q: c.q.arraySync(), k: c.k.arraySync(), scale: c.scale }),
			run
		)
	);
	return { layers, logits };
}

/** Whether query i may see key j: padding, causal and sliding window as transformers' eager masks. */
function visible(mask: number[], i: number, j: number, causal: boolean, window: number | null): boolean {
	if (mask[j] === 0) return false;
	if (!causal) return true;
	if (j > i) return false;
	return window === null || j >= i - window;
}

/** Compare each captured map with softmax(q kᵀ/√hs + mask) in float64; returns the largest difference. */
function checkLayers(layers: Captured[], masks: number[][], opts: { causal: boolean; window: number | null; headDim: number; nLayer: number; nHead: number }) {
	expect(layers).toHaveLength(opts.nLayer);
	let worst = 0;
	for (const l of layers) {
		expect(l.scale).toBeCloseTo(1 / Math.sqrt(opts.headDim), 6);
		expect(l.w[0]).toHaveLength(opts.nHead);
		l.w.forEach((row, b) =>
			row.forEach((head, h) =>
				head.forEach((probs, i) => {
					const logits = probs.map((_, j) => {
						let dot = 0;
						for (let d = 0; d < opts.headDim; d++) dot += l.q[b][h][i][d] * l.k[b][h][j][d];
						return dot / Math.sqrt(opts.headDim);
					});
					const seen = probs.map((_, j) => visible(masks[b], i, j, opts.causal, opts.window));
					const max = Math.max(...logits.filter((_, j) => seen[j]));
					const e = logits.map((x, j) => (seen[j] ? Math.exp(x - max) : 0));
					const sum = e.reduce((a, x) => a + x, 0);
					probs.forEach((p, j) => {
						if (!seen[j]) expect(p).toBe(0);
						worst = Math.max(worst, Math.abs(p - e[j] / sum));
					});
					expect(Math.abs(probs.reduce((a, x) => a + x, 0) - 1)).toBeLessThan(1e-5);
				})
			)
		);
	}
	return worst;
}

const ARCHS: { arch: string; causal: boolean; window?: number }[] = [
	{ arch: 'gpt2', causal: true },
	{ arch: 'llama', causal: true },
	{ arch: 'qwen2', causal: true },
	{ arch: 'bert', causal: false },
	{ arch: 'distilbert', causal: false },
	{ arch: 'roberta', causal: false },
	{ arch: 'gpt_neox', causal: true },
	{ arch: 'mistral', causal: true, window: 6 },
	{ arch: 'gemma', causal: true },
	{ arch: 'phi3', causal: true }
];

describe('attention capture equals softmax(QKᵀ/√d + mask) from the model’s own tensors', () => {
	for (const { arch, causal, window } of ARCHS)
		it(arch, async () => {
			const m = fixtureModel(arch);
			const masks = m.batch.attentionMask!.arraySync() as number[][];
			expect(masks[1]).toContain(0); // the fixture's second row is padded
			const before = tf.memory().numTensors;
			const { layers, logits } = capturePass(() => m.spec.forward(m.params, m.config, m.batch));
			const worst = checkLayers(layers, masks, { causal, window: window ?? null, headDim: m.config.headDim, nLayer: m.config.nLayer, nHead: m.config.nHead });
			expect(worst).toBeLessThan(1e-5);
			// capturing changes nothing: the logits equal an uncaptured pass's, and nothing leaks
			const plain = tf.tidy(() => m.spec.forward(m.params, m.config, m.batch));
			expect(maxAbsDiff(logits, plain)).toBe(0);
			tf.dispose([logits, plain]);
			expect(tf.memory().numTensors).toBe(before);

			// The Inside view's maps of the padded row (its real tokens, padded to their length bucket)
			const ids = (m.batch.inputIds.arraySync() as number[][])[1].filter((_, j) => masks[1][j] === 1);
			const model = archModel(m.spec, m.config, m.params, 0);
			const held = tf.memory().numTensors;
			const maps = await attentionMaps(model, ids);
			expect(tf.memory().numTensors).toBe(held);
			expect(maps).toMatchObject({ real: ids.length, length: 16, nLayer: m.config.nLayer, nHead: m.config.nHead });
			const t = maps.length;
			for (const layer of maps.maps)
				for (const head of layer)
					for (let i = 0; i < t; i++) {
						let sum = 0;
						const real = Array.from({ length: t }, (_, x) => (x < ids.length ? 1 : 0));
						const blind = real.every((_, j) => !visible(real, i, j, causal, window ?? null));
						if (blind) expect(i).toBeGreaterThanOrEqual(ids.length); // only a padding query can see nothing
						for (let j = 0; j < t; j++) {
							const hidden = !visible(real, i, j, causal, window ?? null);
							expect(maps.masked[i * t + j]).toBe(hidden ? 1 : 0);
							if (hidden) expect(head[i * t + j]).toBe(0);
							sum += head[i * t + j];
						}
						expect(sum).toBeCloseTo(blind ? 0 : 1, 5);
					}
			// the row's real positions see what they saw inside the reference batch
			const inBatch = layers[0].w[1][0];
			for (let i = 0; i < ids.length; i++) for (let j = 0; j < ids.length; j++) expect(maps.maps[0][0][i * t + j]).toBeCloseTo(inBatch[i][j], 5);
			tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!, m.batch.tokenTypeIds].filter((x) => x !== undefined));
		});

	for (const causal of [false, true])
		it(`from-scratch transformer (${causal ? 'causal' : 'bidirectional'})`, async () => {
			const config: ModelConfig = { ...defaultModelConfig, vocabSize: 64, nLayer: 2, nHead: 2, dModel: 16, contextLength: 32, dropout: 0, causal, head: causal ? 'lm' : 'classification' };
			const params: Params = Object.fromEntries(Object.entries(initParams(config, 3)).map(([n, t]) => [n, tf.tensor(t.data, t.shape)]));
			// bigger weights than the init's 0.02 so the maps are far from uniform
			const sharp: Params = Object.fromEntries(Object.entries(params).map(([n, t]) => [n, n.includes('c_attn') ? t.mul(40) : t.clone()]));
			const mask = [
				[1, 1, 1, 1, 1, 1],
				[1, 1, 1, 1, 0, 0]
			];
			const inputIds = tf.tensor2d([[5, 9, 2, 33, 7, 1], [4, 4, 8, 12, 0, 0]], undefined, 'int32');
			const attentionMask = tf.tensor2d(mask, undefined, 'float32');
			const before = tf.memory().numTensors;
			const { layers, logits } = capturePass(() => scratchForward(sharp, config, { inputIds, attentionMask }));
			const worst = checkLayers(layers, mask, { causal, window: null, headDim: config.dModel / config.nHead, nLayer: 2, nHead: 2 });
			expect(worst).toBeLessThan(1e-5);
			logits.dispose();
			expect(tf.memory().numTensors).toBe(before);
			const maps = await attentionMaps(scratchModel(config, sharp, 0, []), [5, 9, 2]);
			expect(maps).toMatchObject({ real: 3, length: 16, nLayer: 2, nHead: 2 });
			expect(tf.memory().numTensors).toBe(before);
			// a uniform row would be 1/3 everywhere: the sharpened weights make the maps differ from it
			expect(Math.max(...maps.maps[0][0].slice(0, 3)) - Math.min(...maps.maps[0][0].slice(0, 3))).toBeGreaterThan(0.01);
			tf.dispose([inputIds, attentionMask, ...Object.values(params), ...Object.values(sharp)]);
		});
});

describe('the captured q and k are the layer’s own', () => {
	it('gpt2 layer 0: q, k = split(ln_1(wte[ids] + wpe[pos]) @ c_attn), computed here from the parameters', () => {
		const m = fixtureModel('gpt2');
		const { layers, logits } = capturePass(() => m.spec.forward(m.params, m.config, m.batch));
		logits.dispose();
		const d = m.config.hiddenSize;
		const [q, k] = tf.tidy(() => {
			const [b, t] = m.batch.inputIds.shape;
			const x = tf.gather(m.params['transformer.wte.weight'], m.batch.inputIds.reshape([-1])).add(tf.tile(m.params['transformer.wpe.weight'].slice([0, 0], [t, d]), [b, 1])); // (B*T, d)
			const mean = x.mean(-1, true);
			const variance = x.sub(mean).square().mean(-1, true);
			const ln = x.sub(mean).div(variance.add(m.config.normEps).sqrt()).mul(m.params['transformer.h.0.ln_1.weight']).add(m.params['transformer.h.0.ln_1.bias']);
			const qkv = ln.matMul(m.params['transformer.h.0.attn.c_attn.weight']).add(m.params['transformer.h.0.attn.c_attn.bias']); // (B*T, 3d)
			const heads = (y: tf.Tensor) => y.reshape([b, t, m.config.nHead, m.config.headDim]).transpose([0, 2, 1, 3]).arraySync() as number[][][][];
			return [heads(qkv.slice([0, 0], [-1, d])), heads(qkv.slice([0, d], [-1, d]))];
		});
		const diff = (a: number[][][][], b: number[][][][]) => Math.max(...a.flat(3).map((v, i) => Math.abs(v - b.flat(3)[i])));
		expect(diff(layers[0].q, q)).toBeLessThan(1e-4);
		expect(diff(layers[0].k, k)).toBeLessThan(1e-4);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
	});
});

describe('head average and attention rollout', () => {
	it('average the heads, add the identity, renormalise, multiply across layers (Abnar & Zuidema 2020)', () => {
		const a = Float32Array.from([1, 0, 0.5, 0.5]); // layer 1, head 1 (2 × 2)
		const b = Float32Array.from([1, 0, 0.1, 0.9]); // layer 1, head 2
		const avg = headAverage([a, b]);
		expect(Array.from(avg)).toEqual([1, 0, Math.fround(0.3), Math.fround(0.7)].map((x) => expect.closeTo(x, 6)));
		const second = Float32Array.from([0, 1, 0, 1]) as Float32Array; // (a map a causal model cannot make, but rollout is plain algebra)
		const [r1, r2] = rollout([avg, second]);
		// Ã1 = rownorm(avg + I) = [[1, 0], [0.15, 0.85]]; Ã2 = rownorm(second + I) = [[0.5, 0.5], [0, 1]]
		expect(Array.from(r1)).toEqual([1, 0, 0.15, 0.85].map((x) => expect.closeTo(x, 6)));
		// R2 = Ã2 · Ã1 = [[0.575, 0.425], [0.15, 0.85]]
		expect(Array.from(r2)).toEqual([0.575, 0.425, 0.15, 0.85].map((x) => expect.closeTo(x, 6)));
		for (const r of [r1, r2]) for (let i = 0; i < 2; i++) expect(r[i * 2] + r[i * 2 + 1]).toBeCloseTo(1, 6);
	});
});
