import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type Objective, type RunConfig } from '../../../src/lib/shared/config';
import { PretrainedSession, makeLmBatch, configForObjective, type LmTokenRows } from '../../../src/lib/engine/pretrained';
import { initialLoopState, trainLoop } from '../../../src/lib/engine/train/loop';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureJson, fixtureTensors } from '../models/fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function config(arch: string, objective: Objective, numClasses = 3): RunConfig {
	const c = defaultRunConfig(numClasses);
	c.train = { ...c.train, batchSize: 4, learningRate: 3e-3, weightDecay: 0, warmupSteps: 0, epochs: 4, logEvery: 2, evalEvery: 4, checkpointEvery: 100 };
	const hfConfig = fixtureJson(arch, 'config.json');
	c.pretrained = { repo: `whetstone-test/tiny-${arch}`, revision: 'f'.repeat(40), modelType: String(hfConfig.model_type), hfConfig, objective, contextLength: 16, numClasses };
	return c;
}

/** 12 rows of 3 classes; each class starts with its own marker token. */
function rows(n = 12, classes = 3, seed = 1): LmTokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const labels: number[] = [];
	const lossStart: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 5 + rng.int(8);
		const label = i % classes;
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 10 + label : j % 2 ? 20 + label : 30 + rng.int(60));
		offsets.push(ids.length);
		labels.push(label);
		lossStart.push(2);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels), lossStart: Int32Array.from(lossStart) };
}

const labels = ['a', 'b', 'c'];

describe('configForObjective', () => {
	it('names the head class transformers would save', () => {
		const json = fixtureJson('gpt2', 'config.json');
		expect(configForObjective(json, 'classification', labels)).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 3, id2label: { 0: 'a', 1: 'b', 2: 'c' } });
		expect(configForObjective(json, 'causal-lm', labels).architectures).toEqual(['GPT2LMHeadModel']);
		expect(configForObjective(fixtureJson('llama', 'config.json'), 'instruction', labels).architectures).toEqual(['LlamaForCausalLM']);
	});
	it('refuses to generate with an encoder', () => {
		expect(() => configForObjective(fixtureJson('bert', 'config.json'), 'causal-lm', labels)).toThrow(/encoder/);
	});
});

describe('makeLmBatch', () => {
	it('counts the loss from lossStart on, never on padding or position 0', () => {
		const data: LmTokenRows = { ids: Int32Array.from([5, 6, 7, 8, 9, 1, 2]), offsets: Int32Array.from([0, 5, 7]), labels: new Int32Array(2), lossStart: Int32Array.from([3, 0]) };
		const b = makeLmBatch(data, [0, 1], 3, 16, 0);
		expect(b.length).toBe(16);
		expect(Array.from(b.tokenLabels.slice(0, 6))).toEqual([-100, -100, -100, 8, 9, -100]);
		expect(Array.from(b.tokenLabels.slice(16, 19))).toEqual([-100, 2, -100]);
		expect(b.targets).toBe(3);
		expect(Array.from(b.mask.slice(32, 34))).toEqual([1, 0]); // the dummy row keeps one position
	});
});

describe('PretrainedSession', () => {
	for (const arch of ['bert', 'gpt2', 'llama', 'qwen2']) {
		it(`${arch}: a new classification head learns the labels and leaks nothing`, async () => {
			const cfg = config(arch, 'classification');
			const before = tf.memory().numTensors;
			const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors(arch), { padId: 0 }, labels);
			const data = rows();
			const all = [...Array(12).keys()];
			const first = await s.evaluate(data, all);
			// 18 steps, 6 passes over the 3 batches: BERT's loss is 0.26 of the first here (0.51 at 12), the decoders' lower
			for (let i = 0; i < 18; i++) s.trainStep(s.batch(data, all.slice((i % 3) * 4, (i % 3) * 4 + 4)), 3e-3, i);
			await s.takeStats();
			const last = await s.evaluate(data, all);
			expect(last.loss).toBeLessThan(first.loss * 0.5);
			expect(last.accuracy).toBe(1);
			s.dispose();
			expect(tf.memory().numTensors).toBe(before);
		});
	}

	it('instruction tuning lowers the loss on response tokens; the score is minus the loss', async () => {
		const cfg = config('llama', 'instruction');
		const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors('llama'), { padId: 0 }, labels);
		const data = rows();
		const all = [...Array(12).keys()];
		const first = await s.evaluate(data, all);
		expect(first.score).toBeCloseTo(-first.loss, 10);
		expect(first.loss).toBeGreaterThan(Math.log(128) * 0.8); // random tiny model: about ln(vocab)
		// Per-sequence sums (paired comparisons on Compare) add up to the totals, and a row scored alone gives the same sums.
		const sum = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0);
		const per = first.perRow!;
		expect(Array.from(per.row)).toEqual(all);
		expect(sum(per.nll) / sum(per.tokens)).toBeCloseTo(first.loss, 4);
		expect(sum(per.correct) / sum(per.tokens)).toBeCloseTo(first.accuracy, 6);
		const alone = (await s.evaluate(data, [5])).perRow!;
		expect([alone.tokens[0], alone.correct[0]]).toEqual([per.tokens[5], per.correct[5]]);
		expect(alone.nll[0]).toBeCloseTo(per.nll[5], 3);
		// 8 steps lower the loss by 1.97 here (2.72 at 20)
		for (let i = 0; i < 8; i++) s.trainStep(s.batch(data, all.slice((i % 3) * 4, (i % 3) * 4 + 4)), 1e-2, i);
		const stats = await s.takeStats();
		expect(stats!.steps).toBe(8);
		const last = await s.evaluate(data, all);
		expect(last.loss).toBeLessThan(first.loss - 0.5);
		s.dispose();
	});

	it('a tied model stays tied: no lm_head parameter is created or trained', async () => {
		const cfg = config('gpt2', 'causal-lm');
		const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), { padId: 0 }, labels);
		expect([...s.params.keys()]).not.toContain('lm_head.weight');
		s.trainStep(s.batch(rows(), [0, 1, 2, 3]), 1e-2, 1);
		expect([...s.params.keys()]).not.toContain('lm_head.weight');
		s.dispose();
	});

	it('resumes from a snapshot exactly: same weights and moments give the same next step', async () => {
		const cfg = config('qwen2', 'causal-lm');
		const data = rows();
		const a = await PretrainedSession.fromPretrained(cfg, fixtureTensors('qwen2'), { padId: 0 }, labels);
		for (let i = 0; i < 3; i++) a.trainStep(a.batch(data, [i, i + 1, i + 2, i + 3]), 1e-2, i);
		await a.takeStats();
		const snap = await a.snapshot();
		const b = PretrainedSession.fromTensors(cfg, new Map(snap.map((t) => [t.name, t])), { padId: 0 }, labels, a.optimizer.step);
		a.trainStep(a.batch(data, [4, 5, 6, 7]), 1e-2, 9);
		b.trainStep(b.batch(data, [4, 5, 6, 7]), 1e-2, 9);
		const [wa, wb] = [await a.weights(), await b.weights()];
		for (let i = 0; i < wa.length; i++) expect(Array.from(wb[i].data)).toEqual(Array.from(wa[i].data));
		a.dispose();
		b.dispose();
	});

	it('runs under the training loop and saves the best checkpoint by validation loss', async () => {
		const cfg = config('gpt2', 'causal-lm');
		const data = rows();
		const train = [...Array(8).keys()];
		const validation = [8, 9, 10, 11];
		const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), { padId: 0 }, labels);
		const saved: { step: number; best: boolean }[] = [];
		const losses: number[] = [];
		const outcome = await trainLoop(s, { tokens: data, train, validation }, cfg, initialLoopState(cfg, train), {
			control: () => 'run',
			onMetrics: (p) => {
				if (p.valLoss !== undefined) losses.push(p.valLoss);
			},
			onCheckpoint: async (snap) => {
				saved.push({ step: snap.step, best: snap.best });
			}
		});
		expect(outcome.outcome).toBe('completed');
		expect(losses.length).toBeGreaterThan(1);
		expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
		expect(saved.some((c) => c.best)).toBe(true);
		s.dispose();
	});
});

describe('dropout overrides', () => {
	it('write the run rates into the fields each architecture reads, and only those given', async () => {
		const { withDropout, dropoutKinds, modelDropout } = await import('../../../src/lib/shared/dropout');
		const bert = fixtureJson('bert', 'config.json');
		expect(withDropout(bert, { attention: 0.2, classifier: 0.3 })).toMatchObject({ attention_probs_dropout_prob: 0.2, classifier_dropout: 0.3, hidden_dropout_prob: bert.hidden_dropout_prob });
		expect(withDropout(fixtureJson('gpt2', 'config.json'), { residual: 0.05 })).toMatchObject({ resid_pdrop: 0.05, embd_pdrop: 0.05 });
		expect(dropoutKinds('llama')).toEqual(['attention']);
		expect(modelDropout({ model_type: 'bert', hidden_dropout_prob: 0.15, classifier_dropout: null }, 'classifier')).toBe(0.15);
		const cfg = config('gpt2', 'classification');
		cfg.pretrained!.dropout = { attention: 0.5 };
		const s = await PretrainedSession.fromPretrained(cfg, fixtureTensors('gpt2'), { padId: 0 }, labels);
		expect((s.hf as unknown as { attnPdrop: number }).attnPdrop).toBe(0.5);
		s.dispose();
	});
});
