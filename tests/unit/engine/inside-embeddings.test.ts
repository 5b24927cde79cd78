/**
 * PCA (engine/inside/pca.ts) against a known decomposition: data built as U·diag(σ)·Vᵀ with chosen
 * orthonormal V gives V's columns as the components, σ²/(n − 1) as the variances and U·diag(σ) as
 * the projection, through the covariance (n > d) and through the Gram matrix (n < d). And the
 * pooled representations (engine/inside/embeddings.ts) equal what the model's last head layer
 * reads: re-applying that layer to them gives the model's own logits. Through the engine API on a
 * tiny BERT fine-tuned from the (fake, local) Hub: the test split before (the downloaded weights
 * with the run's fresh head) and after, and Why this label with [CLS]/[SEP] kept but not occluded.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { pca, topEigen } from '../../../src/lib/engine/inside/pca';
import { pooledBatch, pooledModel, project } from '../../../src/lib/engine/inside/embeddings';
import { defaultRunConfig, type RunConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { PretrainedSession } from '../../../src/lib/engine/pretrained';
import type { TokenRows } from '../../../src/lib/engine/batching';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureJson, fixtureTensors } from '../models/fixtures';
import { api } from '../../../workers/engine-api';
import { hubFileReader } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { modelCache, useDatabase } from '../../../src/lib/storage';
import { startHubServer, type HubServer } from '../../support/hub-server';

let hub: HubServer;

beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
});
afterAll(() => hub?.close());

/** A random orthonormal (m, m) matrix by Gram–Schmidt; columns are the basis. */
function orthonormal(m: number, rng: Prng): number[][] {
	const cols: number[][] = [];
	while (cols.length < m) {
		let v = Array.from({ length: m }, () => rng.normal());
		for (const c of cols) {
			const p = v.reduce((a, x, i) => a + x * c[i], 0);
			v = v.map((x, i) => x - p * c[i]);
		}
		const n = Math.hypot(...v);
		if (n > 1e-6) cols.push(v.map((x) => x / n));
	}
	return cols;
}

/** X = U diag(σ) Vᵀ with U's columns orthonormal and zero-mean (so X is already centred). */
function known(n: number, d: number, sigma: number[], seed: number) {
	const rng = new Prng(seed);
	const V = orthonormal(d, rng).slice(0, sigma.length); // k directions in R^d
	// U: k orthonormal columns in R^n orthogonal to the all-ones vector (zero mean).
	const ones = Array(n).fill(1 / Math.sqrt(n));
	const basis = orthonormal(n, rng);
	const U: number[][] = [];
	for (const b of basis) {
		let v = b.slice();
		for (const c of [ones, ...U]) {
			const p = v.reduce((a, x, i) => a + x * c[i], 0);
			v = v.map((x, i) => x - p * c[i]);
		}
		const nn = Math.hypot(...v);
		if (nn > 1e-6) U.push(v.map((x) => x / nn));
		if (U.length === sigma.length) break;
	}
	const x = new Float64Array(n * d);
	for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < sigma.length; k++) x[i * d + j] += U[k][i] * sigma[k] * V[k][j];
	return { x, U, V };
}

describe('pca', () => {
	for (const [n, d] of [
		[40, 6],
		[5, 30]
	])
		it(`recovers a known decomposition (${n} rows × ${d} dims)`, () => {
			const sigma = [5, 2, 0.5];
			const { x, U, V } = known(n, d, sigma, n + d);
			const r = pca(x, n, d, 2);
			for (let k = 0; k < 2; k++) {
				const comp = Array.from(r.components.slice(k * d, (k + 1) * d));
				const align = comp.reduce((a, c, j) => a + c * V[k][j], 0);
				expect(Math.abs(align)).toBeCloseTo(1, 8);
				expect(r.variances[k]).toBeCloseTo((sigma[k] * sigma[k]) / (n - 1), 8);
				const sign = Math.sign(align);
				for (let i = 0; i < n; i++) expect(r.projection[i * 2 + k]).toBeCloseTo(sign * U[k][i] * sigma[k], 7);
			}
			const total = sigma.reduce((a, s) => a + s * s, 0);
			expect(r.explained[0]).toBeCloseTo((sigma[0] * sigma[0]) / total, 8);
			expect(r.explained[1]).toBeCloseTo((sigma[1] * sigma[1]) / total, 8);
		});

	it('centres the data and fixes the sign (largest entry positive)', () => {
		const { x } = known(30, 4, [3, 1], 9);
		const shifted = x.map((v, i) => v + 100 * ((i % 4) + 1));
		const a = pca(x, 30, 4);
		const b = pca(shifted, 30, 4);
		for (let i = 0; i < a.projection.length; i++) expect(b.projection[i]).toBeCloseTo(a.projection[i], 6);
		for (let k = 0; k < 2; k++) {
			const c = Array.from(a.components.slice(k * 4, (k + 1) * 4));
			expect(c[c.map(Math.abs).indexOf(Math.max(...c.map(Math.abs)))]).toBeGreaterThan(0);
		}
	});

	it('topEigen finds the eigenpairs of a diagonal matrix in order', () => {
		const e = topEigen(Float64Array.from([2, 0, 0, 0, 7, 0, 0, 0, 4]), 3, 3);
		expect(e.values.map((v) => +v.toFixed(9))).toEqual([7, 4, 2]);
		expect(Math.abs(e.vectors[1])).toBeCloseTo(1, 9);
	});

	it('refuses mismatched input', () => {
		expect(() => pca([1, 2, 3], 2, 2)).toThrow(/rows/);
		expect(() => pca([1, 2], 1, 2)).toThrow(/two rows/);
	});
});

function rows(n: number): TokenRows {
	const rng = new Prng(4);
	const ids: number[] = [];
	const offsets = [0];
	for (let i = 0; i < n; i++) {
		const len = 3 + rng.int(8);
		for (let j = 0; j < len; j++) ids.push(5 + rng.int(50));
		offsets.push(ids.length);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from({ length: n }, (_, i) => i % 3) };
}

describe('pooled representations', () => {
	const cases: [string, () => Promise<ClassifierSession | PretrainedSession>][] = [
		[
			'from-scratch classifier',
			async () => {
				const c = defaultRunConfig(3);
				c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0 };
				c.train = { ...c.train, batchSize: 4 };
				return ClassifierSession.create(c, { padId: 0 });
			}
		],
		[
			'bert',
			async () => {
				const c: RunConfig = defaultRunConfig(3);
				const hfConfig = fixtureJson('bert', 'config.json');
				c.pretrained = { repo: 'whetstone-test/tiny-bert', revision: 'f'.repeat(40), modelType: 'bert', hfConfig, objective: 'classification', contextLength: 16, numClasses: 3 };
				c.train = { ...c.train, batchSize: 4 };
				return PretrainedSession.fromPretrained(c, fixtureTensors('bert'), { padId: 0 }, ['a', 'b', 'c']);
			}
		]
	];
	it.each(cases)('of the %s: the head applied to them gives the model\'s probabilities', async (_n, make) => {
		const s = await make();
		const data = rows(3);
		const hb = s.batch(data, [0, 1, 2]);
		const m = pooledModel(s);
		const before = tf.memory().numTensors;
		const { vectors, probs, d } = await pooledBatch(m, hb);
		expect(tf.memory().numTensors).toBe(before);
		expect(vectors).toHaveLength(3 * d);
		const expected = await s.probs(hb);
		probs.forEach((p, i) => expect(p).toBeCloseTo(expected[i], 5));
		// Re-apply the head layer on the host: softmax(v Wᵀ + b) equals the model's probabilities.
		const w = (await m.params[m.head.weight].data()) as Float32Array;
		const b = m.head.bias ? ((await m.params[m.head.bias].data()) as Float32Array) : new Float32Array(3);
		for (let i = 0; i < 3; i++) {
			const z = [0, 1, 2].map((k) => b[k] + Array.from({ length: d }, (_, j) => vectors[i * d + j] * w[k * d + j]).reduce((a, x) => a + x, 0));
			const mx = Math.max(...z);
			const e = z.map((x) => Math.exp(x - mx));
			const sum = e.reduce((a, x) => a + x, 0);
			e.forEach((x, k) => expect(x / sum).toBeCloseTo(expected[i * 3 + k], 5));
		}
		const p = project(vectors, probs, 3, d, 3);
		expect(p.points).toHaveLength(6);
		expect(p.preds).toEqual([0, 1, 2].map((i) => { const r = Array.from(probs.slice(i * 3, i * 3 + 3)); return r.indexOf(Math.max(...r)); }));
		s.dispose();
	});
});

describe('through the engine API on a fine-tuned tiny BERT', () => {
	it('projects the test split from the starting weights and the checkpoint, and explains a text', async () => {
		useDatabase('inside-emb-' + Math.random());
		// A fifth of the example's tickets (one a line; all five teams): every step below reads the whole test split.
		const [header, ...lines] = readFileSync(new URL('../../../static/examples/support-tickets.csv', import.meta.url), 'utf8').trimEnd().split('\n');
		const bytes = new TextEncoder().encode([header, ...lines.filter((_, i) => i % 5 === 0)].join('\n'));
		const version = await importDataset({
			projectId: 'p1',
			fileName: 'support-tickets.csv',
			bytes: bytes.buffer as ArrayBuffer,
			kind: 'classification',
			textColumn: 'text',
			labelColumn: 'team',
			split: { seed: 1, validation: 0.15, test: 0.15 },
			skipBadRows: false
		});
		const settings = { endpoint: hub.url };
		const insp = await inspectModel('whetstone-test/tiny-bert', 'main', settings, { cache: modelCache });
		await downloadModel(insp, settings, modelCache);
		const ref = { repo: insp.repo, revision: insp.revision };
		const config = defaultRunConfig(version.labels.length);
		config.train = { ...config.train, batchSize: 8, epochs: 1, maxSteps: 4, learningRate: 3e-3, warmupSteps: 0, logEvery: 2, evalEvery: 4, checkpointEvery: 4 };
		config.pretrained = { ...ref, modelType: 'bert', hfConfig: insp.config, objective: 'classification', contextLength: 32, numClasses: version.labels.length };
		const prep = await prepareHubTokens(version.id, ref, 'classification', 32, hubFileReader(ref));
		const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: 'bert' });
		expect(version.labels).toHaveLength(5);
		expect(await api.train(run.id, () => {})).toBe('completed');

		const emb = await api.insideEmbeddings(run.id);
		expect(emb.examples.length).toBe(Math.min(emb.total, 400));
		expect(emb.beforeWhat).toContain('whetstone-test/tiny-bert');
		expect(emb.after.dim).toBe(Number(insp.config.hidden_size));
		expect(emb.before.points).toHaveLength(2 * emb.examples.length);
		expect(emb.after.points).not.toEqual(emb.before.points);
		// The checkpoint's predictions are the ones its evaluation scored on the same rows.
		const scored = await api.evaluate(run.id, undefined, 'test');
		expect(emb.after.preds.filter((p, i) => p === emb.examples[i].label).length / emb.examples.length).toBeCloseTo(scored.accuracy, 6);

		const why = await api.whyLabel({ runId: run.id }, 'my card was charged twice', { steps: 32, rule: 'trapezoid', baseline: 'zero' });
		expect(why.special[0]).toBe(true);
		expect(why.special.at(-1)).toBe(true);
		expect(why.occlusion[0]).toBeNull();
		expect(why.relativeError).toBeLessThan(why.tolerance);
	}, 180_000);
});
