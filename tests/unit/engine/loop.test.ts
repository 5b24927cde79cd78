/**
 * The training loop's Trainer features: gradient accumulation equals one large batch, early
 * stopping as EarlyStoppingCallback decides it, and the watchdog that stops a diverging run
 * without saving its bad weights.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig, type TrainConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { PretrainedSession } from '../../../src/lib/engine/pretrained';
import { initialLoopState, trainLoop, type LoopCallbacks, type TrainSession } from '../../../src/lib/engine/train/loop';
import { earlyStoppingUpdate, initialEarlyStopping } from '../../../src/lib/engine/train/early-stopping';
import { initialWatchdog, watchLoss } from '../../../src/lib/engine/train/watchdog';
import type { HostBatch, TokenRows } from '../../../src/lib/engine/batching';
import type { HostTensor } from '../../../src/lib/engine/tensors';
import type { MetricPoint } from '../../../src/lib/shared/types';
import { UserError } from '../../../src/lib/shared/errors';
import { fixtureJson, fixtureTensors } from '../models/fixtures';

import { classRows } from './api-fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const rows = classRows;

function classifierConfig(train: Partial<TrainConfig>): RunConfig {
	const c = defaultRunConfig(3);
	c.model = { ...c.model, vocabSize: 64, contextLength: 16, nLayer: 1, nHead: 2, dModel: 16, dropout: 0 };
	c.train = { ...c.train, learningRate: 1e-2, warmupSteps: 2, logEvery: 3, evalEvery: 3, checkpointEvery: 100, ...train };
	return c;
}

async function collect(session: TrainSession, data: { tokens: TokenRows; train: number[]; validation: number[] }, cfg: RunConfig) {
	const points: Omit<MetricPoint, 'runId'>[] = [];
	const result = await trainLoop(session, data, cfg, initialLoopState(cfg, data.train), {
		control: () => 'run',
		onMetrics: (p) => void points.push(p),
		onCheckpoint: async () => {}
	});
	return { result, points, weights: await session.snapshot() };
}

function maxDiff(a: HostTensor[], b: HostTensor[], prefix = ''): number {
	const byName = new Map(b.map((t) => [t.name, t]));
	let d = 0;
	for (const t of a) {
		if (!t.name.startsWith(prefix) || t.name.startsWith('optimizer.')) continue;
		const u = byName.get(t.name)!;
		for (let i = 0; i < t.data.length; i++) d = Math.max(d, Math.abs(t.data[i] - u.data[i]));
	}
	return d;
}

describe('gradient accumulation', () => {
	it('classifier: 2 micro-batches of 4 make the same updates as one batch of 8', async () => {
		const data = { tokens: rows(40), train: [...Array(32).keys()], validation: [32, 33, 34, 35, 36, 37, 38, 39] };
		const big = classifierConfig({ batchSize: 8, epochs: 2 });
		const acc = classifierConfig({ batchSize: 4, gradAccumSteps: 2, epochs: 2 });
		const a = ClassifierSession.create(big, { padId: 0 });
		const b = ClassifierSession.create(acc, { padId: 0 });
		const ra = await collect(a, data, big);
		const rb = await collect(b, data, acc);
		expect(rb.result.step).toBe(8); // optimizer steps: 32 rows / (4 × 2) per epoch, 2 epochs
		expect(rb.points.map((p) => p.step)).toEqual(ra.points.map((p) => p.step));
		rb.points.forEach((p, i) => {
			expect(p.trainLoss!).toBeCloseTo(ra.points[i].trainLoss!, 5);
			expect(p.gradNorm!).toBeCloseTo(ra.points[i].gradNorm!, 5);
			expect(p.lr).toBe(ra.points[i].lr);
		});
		expect(maxDiff(ra.weights, rb.weights)).toBeLessThan(1e-5);
		a.dispose();
		b.dispose();
	});

	it('leaks nothing: the summed gradients live until the step applies them', async () => {
		const cfg = classifierConfig({ batchSize: 4, gradAccumSteps: 2 });
		const s = ClassifierSession.create(cfg, { padId: 0 });
		const data = rows(8);
		s.trainStep(s.batch(data, [0, 1, 2, 3]), 1e-3, 1);
		await s.takeStats();
		const before = tf.memory().numTensors;
		s.trainStep(s.batch(data, [0, 1, 2, 3]), 1e-3, 1, { scale: 0.5, apply: false });
		const nParams = s.params.size;
		expect(tf.memory().numTensors).toBe(before + nParams + 2); // gradients, loss and correct sums
		s.trainStep(s.batch(data, [4, 5, 6, 7]), 1e-3, 2, { scale: 0.5, apply: true });
		expect((await s.takeStats())!.steps).toBe(1);
		expect(tf.memory().numTensors).toBe(before);
		s.dispose();
	});

	it('causal LM: micro-batches weighted by their target tokens match one batch of 4', async () => {
		const hfConfig = { ...fixtureJson('gpt2', 'config.json'), attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0 };
		const cfg = (train: Partial<TrainConfig>): RunConfig => {
			const c = defaultRunConfig(3);
			c.train = { ...c.train, learningRate: 3e-3, weightDecay: 0.01, warmupSteps: 0, epochs: 1, logEvery: 1, evalEvery: 100, checkpointEvery: 100, ...train };
			c.pretrained = { repo: 'whetstone-test/tiny-gpt2', revision: 'f'.repeat(40), modelType: 'gpt2', hfConfig, objective: 'causal-lm', contextLength: 16, numClasses: 3 };
			return c;
		};
		// Rows of very different lengths, so the two micro-batches hold different numbers of target tokens.
		const data = { tokens: rows(12, 3, 7), train: [...Array(12).keys()], validation: [] };
		const big = cfg({ batchSize: 4 });
		const acc = cfg({ batchSize: 2, gradAccumSteps: 2 });
		const a = await PretrainedSession.fromPretrained(big, fixtureTensors('gpt2'), { padId: 0 }, ['a', 'b', 'c']);
		const b = await PretrainedSession.fromPretrained(acc, fixtureTensors('gpt2'), { padId: 0 }, ['a', 'b', 'c']);
		const ra = await collect(a, data, big);
		const rb = await collect(b, data, acc);
		expect(rb.result.step).toBe(3);
		rb.points.forEach((p, i) => expect(p.trainLoss!).toBeCloseTo(ra.points[i].trainLoss!, 5));
		expect(maxDiff(ra.weights, rb.weights)).toBeLessThan(1e-5);
		a.dispose();
		b.dispose();
	});
});

/** A session whose losses are scripted: what the loop does with them is under test, not the maths. */
class ScriptedSession implements TrainSession {
	optimizer = { step: 0 };
	steps = 0;
	constructor(
		private train: (step: number) => number,
		private val: (evalIndex: number) => { loss: number; accuracy: number } = () => ({ loss: 1, accuracy: 0.5 })
	) {}
	private evals = 0;
	private window: number[] = [];
	batch(_d: TokenRows, r: number[]): HostBatch {
		return { ids: new Int32Array(0), mask: new Float32Array(0), labels: new Int32Array(0), rows: r.length, length: 0, real: r.length };
	}
	trainStep(_hb: HostBatch, _lr: number, _seed: number, micro = { scale: 1, apply: true }) {
		if (!micro.apply) return;
		this.steps++;
		this.optimizer.step++;
		this.window.push(this.train(this.steps));
	}
	async takeStats() {
		if (!this.window.length) return null;
		const loss = this.window.reduce((a, b) => a + b, 0) / this.window.length;
		const out = { loss, accuracy: 0.5, gradNorm: 1, steps: this.window.length };
		this.window = [];
		return out;
	}
	async evaluate() {
		return this.val(this.evals++);
	}
	async snapshot(): Promise<HostTensor[]> {
		return [{ name: 'w', shape: [1], data: Float32Array.of(this.steps) }];
	}
}

function scriptedConfig(train: Partial<TrainConfig>): RunConfig {
	const c = defaultRunConfig(2);
	c.train = { ...c.train, batchSize: 1, epochs: 1, warmupSteps: 0, logEvery: 1, evalEvery: 1, checkpointEvery: 100, ...train };
	return c;
}

const DATA = { tokens: rows(1), train: [...Array(40).keys()], validation: [0] };

function recorder() {
	const saved: number[] = [];
	const points: Omit<MetricPoint, 'runId'>[] = [];
	const cb: LoopCallbacks = { control: () => 'run', onMetrics: (p) => void points.push(p), onCheckpoint: async (s) => void saved.push(s.step) };
	return { saved, points, cb };
}

describe('early stopping', () => {
	it('counts evaluations that do not beat the best by more than minDelta, as EarlyStoppingCallback', () => {
		const cfg = { metric: 'loss' as const, patience: 2, minDelta: 0.01 };
		const s = initialEarlyStopping();
		expect([1.0, 0.9, 0.895, 0.89].map((v, i) => earlyStoppingUpdate(cfg, s, v, i + 1))).toEqual([false, false, false, true]);
		// Small improvements still move the best (the Trainer's best_metric), they just do not reset the count.
		expect(s).toEqual({ best: 0.89, bestStep: 4, badEvals: 2 });
		const acc = initialEarlyStopping();
		const up = { metric: 'accuracy' as const, patience: 1, minDelta: 0 };
		expect([0.5, 0.6, 0.6].map((v, i) => earlyStoppingUpdate(up, acc, v, i))).toEqual([false, false, true]);
	});

	it('ends the run as completed, with a checkpoint and the reason, when the validation loss stops improving', async () => {
		const losses = [1.0, 0.8, 0.85, 0.81, 0.9, 0.5];
		const session = new ScriptedSession(() => 1, (i) => ({ loss: losses[i], accuracy: 0.5 }));
		const cfg = scriptedConfig({ earlyStopping: { metric: 'loss', patience: 3, minDelta: 0 } });
		const { saved, points, cb } = recorder();
		const result = await trainLoop(session, DATA, cfg, initialLoopState(cfg, DATA.train), cb);
		expect(result.outcome).toBe('completed');
		expect(result.step).toBe(5);
		expect(result.reason).toMatch(/validation loss did not improve for 3 evaluations \(best 0\.8000 at step 2\)/);
		expect(saved.at(-1)).toBe(5);
		expect(points.at(-1)!.valLoss).toBe(0.9);
	});

	it('is off without a config, and carries its count across a resume', async () => {
		const cfg = scriptedConfig({ maxSteps: 6, earlyStopping: null });
		const r = recorder();
		expect((await trainLoop(new ScriptedSession(() => 1), DATA, cfg, initialLoopState(cfg, DATA.train), r.cb)).step).toBe(6);

		const es = scriptedConfig({ checkpointEvery: 2, earlyStopping: { metric: 'accuracy', patience: 3, minDelta: 0 } });
		let paused = false;
		const states: Parameters<LoopCallbacks['onCheckpoint']>[0]['state'][] = [];
		const first = await trainLoop(new ScriptedSession(() => 1), DATA, es, initialLoopState(es, DATA.train), {
			control: () => (paused ? 'pause' : 'run'),
			onMetrics: (p) => void (paused = p.step >= 2),
			onCheckpoint: async (s) => void states.push(JSON.parse(JSON.stringify(s.state)))
		});
		expect(first).toMatchObject({ outcome: 'paused', step: 2 });
		expect(states.at(-1)!.earlyStopping).toEqual({ best: 0.5, bestStep: 1, badEvals: 1 });
		const second = await trainLoop(new ScriptedSession(() => 1), DATA, es, states.at(-1)!, recorder().cb);
		expect(second).toMatchObject({ outcome: 'completed', step: 4 }); // evaluations 3 and 4 make patience 3
	});
});

describe('watchdog', () => {
	it('flags NaN and Inf at once, divergence after `patience` log points above both bounds', () => {
		const t = { divergenceFactor: 2, divergencePatience: 3 };
		expect(watchLoss(t, initialWatchdog(), NaN, 1).kind).toBe('non-finite');
		expect(watchLoss(t, initialWatchdog(), 1, Infinity).kind).toBe('non-finite');
		const s = initialWatchdog();
		// Near zero, 2 × best is tiny: the first loss (1.1) is the bound that counts.
		expect([1.1, 0.4, 0.05, 0.3, 1.0, 1.2, 1.3, 0.2, 1.5, 1.6, 1.7].map((l) => watchLoss(t, s, l, 1).kind)).toEqual([
			'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'diverged'
		]);
		const off = initialWatchdog();
		expect([1, 100, 100, 100].map((l) => watchLoss({ divergenceFactor: 0, divergencePatience: 1 }, off, l, 1).kind)).toEqual(['ok', 'ok', 'ok', 'ok']);
	});

	it('a NaN loss stops the run with a named error, and no checkpoint is saved after it', async () => {
		const session = new ScriptedSession((step) => (step === 5 ? NaN : 1));
		const cfg = scriptedConfig({ logEvery: 2, evalEvery: 100, checkpointEvery: 2 });
		const { saved, points, cb } = recorder();
		const err = await trainLoop(session, DATA, cfg, initialLoopState(cfg, DATA.train), cb).catch((e) => e);
		expect(err).toBeInstanceOf(UserError);
		expect(err.code).toBe('training-diverged');
		expect(err.message).toMatch(/at step 6: the training loss was NaN \(averaged over steps 5–6\)/);
		expect(err.message).toMatch(/last good checkpoint \(step 4\)/);
		expect(saved).toEqual([2, 4]);
		expect(points.map((p) => p.step)).toEqual([2, 4]);
	});

	it('a loss that climbs and stays up stops the run', async () => {
		const session = new ScriptedSession((step) => (step < 4 ? 1 / step : 5));
		const cfg = scriptedConfig({ evalEvery: 100, divergenceFactor: 2, divergencePatience: 3 });
		const { saved, cb } = recorder();
		const err = await trainLoop(session, DATA, cfg, initialLoopState(cfg, DATA.train), cb).catch((e) => e);
		expect(err.code).toBe('training-diverged');
		expect(err.message).toMatch(/at step 6: the training loss \(5\.000, at step 6\) stayed above 1\.000 for 3 log points/);
		expect(err.message).toMatch(/a learning rate of/);
		expect(saved).toEqual([]);
	});

	it('an absurd learning rate diverges a real classifier; every saved checkpoint is finite', async () => {
		const cfg = classifierConfig({ batchSize: 8, epochs: 20, learningRate: 50, gradClip: 0, warmupSteps: 0, logEvery: 2, evalEvery: 4, checkpointEvery: 2 });
		const s = ClassifierSession.create(cfg, { padId: 0 });
		const data = { tokens: rows(40), train: [...Array(32).keys()], validation: [32, 33, 34, 35, 36, 37, 38, 39] };
		const saved: { step: number; tensors: HostTensor[] }[] = [];
		const err = await trainLoop(s, data, cfg, initialLoopState(cfg, data.train), {
			control: () => 'run',
			onMetrics: () => {},
			onCheckpoint: async (snap) => void saved.push({ step: snap.step, tensors: snap.tensors })
		}).catch((e) => e);
		expect(err).toBeInstanceOf(UserError);
		expect(err.code).toBe('training-diverged');
		expect(err.message).toMatch(/gradient clipping at 1\.0/);
		const at = Number(/at step (\d+)/.exec(err.message)![1]);
		expect(at).toBeLessThan(80);
		for (const c of saved) {
			expect(c.step).toBeLessThan(at);
			for (const t of c.tensors) expect(t.data.every(Number.isFinite)).toBe(true);
		}
		s.dispose();
	});
});

describe('label smoothing', () => {
	/** torch's cross_entropy(label_smoothing=eps) from class probabilities: (1-eps)·nll + eps·mean(-log p). */
	function smoothed(probs: Float32Array, labels: Int32Array, c: number, eps: number): number {
		let sum = 0;
		for (let i = 0; i < labels.length; i++) {
			let uniform = 0;
			for (let k = 0; k < c; k++) uniform -= Math.log(probs[i * c + k]) / c;
			sum += (1 - eps) * -Math.log(probs[i * c + labels[i]]) + eps * uniform;
		}
		return sum / labels.length;
	}

	it('the training loss of both sessions is the smoothed cross-entropy', async () => {
		const data = rows(8);
		const all = [...Array(8).keys()];
		const cfg = classifierConfig({ batchSize: 8, labelSmoothing: 0.2 });
		const hfConfig = { ...fixtureJson('gpt2', 'config.json'), attn_pdrop: 0, embd_pdrop: 0, resid_pdrop: 0, summary_first_dropout: 0 };
		const pre = defaultRunConfig(3);
		pre.train = { ...pre.train, batchSize: 8, labelSmoothing: 0.2 };
		pre.pretrained = { repo: 'whetstone-test/tiny-gpt2', revision: 'f'.repeat(40), modelType: 'gpt2', hfConfig, objective: 'classification', contextLength: 16, numClasses: 3 };
		const sessions = [ClassifierSession.create(cfg, { padId: 0 }), await PretrainedSession.fromPretrained(pre, fixtureTensors('gpt2'), { padId: 0 }, ['a', 'b', 'c'])];
		for (const s of sessions) {
			const hb = s.batch(data, all);
			const expected = smoothed(await s.probs(hb), data.labels, 3, 0.2);
			s.trainStep(hb, 1e-3, 1);
			expect((await s.takeStats())!.loss).toBeCloseTo(expected, 5);
			s.dispose();
		}
	});
});
