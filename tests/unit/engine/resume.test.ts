/**
 * Exact resume: training 2k steps equals training k steps, snapshotting to plain tensors (as
 * storage would), building a fresh session from them and training k more: the same weights, bit
 * for bit, and the same metric series. For the from-scratch classifier and a pretrained GPT-2
 * (tiny fixture), with dropout, word dropout, accumulation and a warmup, pausing mid-window; and
 * through the engine worker's API with IndexedDB (fake-indexeddb) in between.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig, type TrainConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { PretrainedSession, type LmTokenRows } from '../../../src/lib/engine/pretrained';
import { initialLoopState, trainLoop, type LoopState, type TrainSession } from '../../../src/lib/engine/train/loop';
import type { HostTensor } from '../../../src/lib/engine/tensors';
import type { MetricPoint } from '../../../src/lib/shared/types';
import { Prng } from '../../../src/lib/shared/prng';
import { api } from '../../../workers/engine-api';
import { importDataset, prepareTokens } from '../../../src/lib/data/pipeline';
import { getMetrics, getRun, loadCheckpoint, useDatabase } from '../../../src/lib/storage';
import { fixtureJson, fixtureTensors } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

type Host = Map<string, { shape: number[]; data: Float32Array }>;
type Point = Omit<MetricPoint, 'runId'>;

function rows(n: number, classes = 3, seed = 3): LmTokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const labels: number[] = [];
	const lossStart: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 4 + rng.int(10);
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 4 + (i % classes) : 10 + rng.int(50));
		offsets.push(ids.length);
		labels.push(i % classes);
		lossStart.push(1);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels), lossStart: Int32Array.from(lossStart) };
}

/** 12 optimizer steps over 4 epochs; checkpoints (every 5) fall between log steps (every 2). */
const TRAIN: Partial<TrainConfig> = {
	batchSize: 4,
	gradAccumSteps: 2,
	epochs: 4,
	schedule: 'cosine',
	warmupSteps: 3,
	tokenDropout: 0.1,
	logEvery: 2,
	evalEvery: 4,
	checkpointEvery: 5,
	earlyStopping: { metric: 'loss', patience: 50, minDelta: 0 }
};
const DATA = { tokens: rows(30), train: [...Array(24).keys()], validation: [24, 25, 26, 27, 28, 29] };

/** What a metric point says about training (wall-clock fields aside). */
const numbers = (p: Point) => ({ step: p.step, epoch: p.epoch, lr: p.lr, trainLoss: p.trainLoss, trainAccuracy: p.trainAccuracy, gradNorm: p.gradNorm, valLoss: p.valLoss, valAccuracy: p.valAccuracy });

const bits = (t: { data: Float32Array }) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));

async function straight(session: TrainSession, cfg: RunConfig) {
	const points: Point[] = [];
	const result = await trainLoop(session, DATA, cfg, initialLoopState(cfg, DATA.train), { control: () => 'run', onMetrics: (p) => void points.push(p), onCheckpoint: async () => {} });
	return { result, points, weights: await session.snapshot() };
}

/**
 * Train, ask for a pause in the middle of step 7 (between the log steps 6 and 8), which is honoured
 * at step 8; resume a fresh session from plain copies of that checkpoint.
 */
async function interrupted(first: TrainSession, cfg: RunConfig, fresh: (tensors: Host, state: LoopState) => TrainSession & { dispose(): void }) {
	const points: Point[] = [];
	let last: { state: LoopState; tensors: HostTensor[] } | null = null;
	const step = first.trainStep.bind(first);
	first.trainStep = (...args) => {
		step(...args);
		if (first.optimizer.step === 7) pause = true;
	};
	let pause = false;
	const r1 = await trainLoop(first, DATA, cfg, initialLoopState(cfg, DATA.train), {
		control: () => (pause ? 'pause' : 'run'),
		onMetrics: (p) => void points.push(p),
		onCheckpoint: async (snap) => {
			// As storage keeps them: structured copies of the state, the floats copied out.
			last = { state: structuredClone(snap.state), tensors: snap.tensors.map((t) => ({ name: t.name, shape: [...t.shape], data: new Float32Array(t.data) })) };
		}
	});
	const saved = last as unknown as { state: LoopState; tensors: HostTensor[] };
	const second = fresh(new Map(saved.tensors.map((t) => [t.name, t])), saved.state);
	const r2 = await trainLoop(second, DATA, cfg, saved.state, { control: () => 'run', onMetrics: (p) => void points.push(p), onCheckpoint: async () => {} });
	const weights = await second.snapshot();
	second.dispose();
	return { r1, r2, points, weights };
}

function expectSameRun(a: Awaited<ReturnType<typeof straight>>, b: Awaited<ReturnType<typeof interrupted>>) {
	expect(b.r1).toMatchObject({ outcome: 'paused', step: 8 });
	expect(b.r2).toEqual(a.result);
	expect(b.points.map(numbers)).toEqual(a.points.map(numbers));
	expect(b.weights.map((t) => t.name)).toEqual(a.weights.map((t) => t.name));
	b.weights.forEach((t, i) => expect(bits(t), t.name).toEqual(bits(a.weights[i])));
}

describe('exact resume', () => {
	it('from-scratch classifier: k steps + snapshot + k steps in a fresh session = 2k steps, bit for bit', async () => {
		const cfg = defaultRunConfig(3);
		cfg.model = { ...cfg.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0.1 };
		cfg.train = { ...cfg.train, learningRate: 1e-2, ...TRAIN };
		const a = ClassifierSession.create(cfg, { padId: 0 });
		const ra = await straight(a, cfg);
		a.dispose();
		const b = ClassifierSession.create(cfg, { padId: 0 });
		const rb = await interrupted(b, cfg, (tensors, state) => ClassifierSession.fromTensors(cfg, tensors, { padId: 0 }, state.optimizerStep));
		b.dispose();
		expect(ra.result.step).toBe(12);
		expectSameRun(ra, rb);
	});

	for (const [objective, train] of [
		['causal-lm', { optimizer: 'adam', weightDecay: 0.01 }],
		['classification', { optimizer: 'sgd', momentum: 0.9, nesterov: true, labelSmoothing: 0.1 }]
	] as const) {
		it(`pretrained GPT-2 (${objective}, ${train.optimizer}), with the model's dropout: the same, bit for bit`, async () => {
			const cfg = defaultRunConfig(3);
			cfg.train = { ...cfg.train, learningRate: 3e-3, ...TRAIN, batchSize: 2, epochs: 2, ...train };
			const hfConfig = fixtureJson('gpt2', 'config.json');
			cfg.pretrained = { repo: 'whetstone-test/tiny-gpt2', revision: 'f'.repeat(40), modelType: 'gpt2', hfConfig, objective, contextLength: 16, numClasses: 3 };
			const labels = ['a', 'b', 'c'];
			const a = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), { padId: 0 }, labels);
			const ra = await straight(a, cfg);
			a.dispose();
			const b = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), { padId: 0 }, labels);
			const rb = await interrupted(b, cfg, (tensors, state) => PretrainedSession.fromTensors(cfg, tensors, { padId: 0 }, labels, state.optimizerStep));
			b.dispose();
			expect(ra.result.step).toBe(12);
			expectSameRun(ra, rb);
		});
	}
});

describe('exact resume through the engine API and IndexedDB', () => {
	beforeEach(() => useDatabase('resume-' + Math.random()));

	it('pause at a checkpoint, resume from storage: the same final weights and metrics as an uninterrupted run', async () => {
		const lines = ['text,label'];
		const words = [['refund', 'invoice', 'charged'], ['parcel', 'courier', 'tracking'], ['crash', 'error', 'sync']];
		for (let i = 0; i < 90; i++) lines.push(`ticket ${i} about the ${words[i % 3][i % 2]} and ${words[i % 3][(i * 7) % 3]},${['billing', 'shipping', 'technical'][i % 3]}`);
		const bytes = new TextEncoder().encode(lines.join('\n')).buffer as ArrayBuffer;
		const version = await importDataset({ projectId: 'p1', fileName: 't.csv', bytes, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.15, test: 0.15 }, skipBadRows: false });
		const config = defaultRunConfig(version.labels.length);
		config.model = { ...config.model, nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, dropout: 0.1 };
		config.tokenizer.vocabSize = 300;
		// Micro-batches of 8, two a step: 4 steps an epoch, 8 in all; the resume from step 3 crosses an epoch's end.
		config.train = { ...config.train, batchSize: 8, gradAccumSteps: 2, epochs: 2, logEvery: 2, evalEvery: 4, checkpointEvery: 3, warmupSteps: 2, tokenDropout: 0.1 };
		const prep = await prepareTokens(version.id, config.tokenizer, config.model.contextLength);
		config.model.vocabSize = prep.vocabSize;
		const create = (name: string) => api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, config, name });

		const whole = await create('whole');
		expect(await api.train(whole.id, () => {})).toBe('completed');

		const parts = await create('parts');
		expect(await api.train(parts.id, (e) => e.type === 'checkpoint' && api.pause())).toBe('paused');
		const paused = (await getRun(parts.id))!;
		expect(paused.step).toBe(3); // asked when step 3's checkpoint was saved: the window is empty there
		expect(await api.train(parts.id, () => {})).toBe('completed');

		const [a, b] = [(await getRun(whole.id))!, (await getRun(parts.id))!];
		expect(b.step).toBe(a.step);
		const ca = await loadCheckpoint(a.lastCheckpointId!);
		const cb = await loadCheckpoint(b.lastCheckpointId!);
		expect([...cb.tensors.keys()]).toEqual([...ca.tensors.keys()]);
		for (const [name, t] of ca.tensors) expect(bits(cb.tensors.get(name)!), name).toEqual(bits(t));
		expect(cb.manifest.trainerState).toEqual(ca.manifest.trainerState);
		const series = async (id: string) => (await getMetrics(id)).map((p) => numbers(p));
		expect(await series(parts.id)).toEqual(await series(whole.id));
	});
});
