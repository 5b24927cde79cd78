/**
 * Multi-label through the engine worker's API (tfjs CPU, fake-indexeddb): a version that keeps
 * label sets makes createRun set the multi-label head; the run trains, scores its test split with
 * the multi-label metrics (the same numbers multilabel.ts gives on the stored sets), predicts the
 * labels above 0.5 (or the threshold saved for the run, which the stored evaluation is re-read at
 * and later evaluations decide at), and exports config.json with problem_type multi_label_classification
 * (its demo page, a sigmoid per label at the saved threshold, is checked in the browser tier:
 * tests/e2e/data-labels.spec.ts). A single-label run on the same file is unchanged.
 */
import 'fake-indexeddb/auto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { api } from '../../../workers/engine-api';
import { importDataset, prepareTokens } from '../../../src/lib/data/pipeline';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { getRun, loadRows, useDatabase } from '../../../src/lib/storage';
import { decide, hammingLoss, multilabelPrfAverage, multilabelReport, subsetAccuracy } from '../../../src/lib/engine/eval/multilabel';
import { unzipFolder } from '../../../src/lib/engine/io/import';
import { SPLIT_CODE } from '../../../src/lib/shared/types';

beforeAll(async () => {
	await tf.setBackend('cpu');
});
beforeEach(() => useDatabase('ml-api-' + Math.random()));

const TAGS = ['billing', 'urgent', 'tech', 'billing;urgent', 'tech;urgent', 'billing;tech'];
const WORDS: Record<string, string> = { billing: 'refund invoice', urgent: 'asap now', tech: 'crash error' };

function csv(): string {
	const lines = ['text,tags'];
	for (let i = 0; i < 90; i++) {
		const tags = TAGS[i % TAGS.length];
		lines.push(`ticket ${i} ${tags.split(';').map((t) => WORDS[t]).join(' and ')},${tags}`);
	}
	return lines.join('\n');
}

async function createRun(mode: 'all' | 'first') {
	const bytes = new TextEncoder().encode(csv()).buffer as ArrayBuffer;
	const version = await importDataset({ projectId: 'p1', fileName: 'tags.csv', bytes, textColumn: 'text', labelColumn: 'tags', multiLabel: { delimiter: ';', mode }, split: { seed: 1, validation: 0.15, test: 0.2 }, skipBadRows: false });
	const config = defaultRunConfig(version.labels.length);
	config.model = { ...config.model, nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, dropout: 0 };
	config.tokenizer.vocabSize = 300;
	// One epoch: the tests compare the stored metrics with the run's own decisions, whatever it learned.
	config.train = { ...config.train, batchSize: 8, epochs: 1, logEvery: 2, evalEvery: 4, checkpointEvery: 100, warmupSteps: 0, learningRate: 1e-2 };
	const prep = await prepareTokens(version.id, config.tokenizer, config.model.contextLength);
	config.model.vocabSize = prep.vocabSize;
	const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, config, name: 'r' });
	return { run, version };
}

describe('multi-label runs through the engine API', () => {
	it('train, score with the multi-label metrics, predict above 0.5 and export problem_type', async () => {
		const { run, version } = await createRun('all');
		expect(run.config.model.multiLabel).toBe(true);
		expect(await api.train(run.id, () => {})).toBe('completed');
		const done = (await getRun(run.id))!;
		const ev = done.evaluation!;
		expect(ev.multiLabel).toBeDefined();
		expect(ev.labels).toEqual(['billing', 'tech', 'urgent']);
		expect(ev.perClass.map((c) => c.label)).toEqual(ev.labels);
		expect(ev.confusion).toEqual([]);
		// the stored numbers are multilabel.ts's on the test rows' true sets and the stored decisions
		const rows = (await loadRows(version.id)).filter((r) => r.split === SPLIT_CODE.test);
		expect(ev.count).toBe(rows.length);
		const truth = rows.map((r) => ev.labels.map((_, j) => (r.labels!.includes(j) ? 1 : 0)));
		expect(ev.multiLabel!.examples.map((e) => e.truth)).toEqual(rows.map((r) => r.labels));
		const pred = ev.multiLabel!.examples.map((e) => ev.labels.map((_, j) => (e.predicted.includes(j) ? 1 : 0)));
		expect(ev.multiLabel!.hammingLoss).toBeCloseTo(hammingLoss(truth, pred), 10);
		expect(ev.accuracy).toBeCloseTo(subsetAccuracy(truth, pred), 10);
		expect(ev.multiLabel!.micro.f1).toBeCloseTo(multilabelPrfAverage(truth, pred, 'micro').f1, 10);
		expect(ev.macroF1).toBeCloseTo(multilabelPrfAverage(truth, pred, 'macro').f1, 10);
		expect(ev.perClass.map((c) => c.support)).toEqual(ev.labels.map((_, j) => truth.filter((t) => t[j]).length));
		// every test row's dataset index kept beside its scores, and each headline figure's interval
		const testRows = (await loadRows(version.id)).flatMap((r, i) => (r.split === SPLIT_CODE.test ? [i] : []));
		expect(Array.from(ev.multiLabel!.scores!.rows!)).toEqual(testRows);
		const iv = ev.multiLabel!.intervals!;
		expect(iv.subsetAccuracy.estimate).toBe(ev.accuracy);
		expect(iv.microF1.estimate).toBeCloseTo(ev.multiLabel!.micro.f1, 15);
		for (const m of [iv.subsetAccuracy, iv.microF1, iv.macroF1, iv.hammingLoss]) expect(m.low <= m.estimate && m.estimate <= m.high).toBe(true);
		expect(ev.bootstrap).toEqual({ resamples: 1000, seed: 0, alpha: 0.05 });
		// a sigmoid per label: the predicted labels are exactly those at or above 0.5
		const p = await api.predict(run.id, 'refund invoice and asap now');
		expect(p.multiLabel!.threshold).toBe(0.5);
		expect(p.multiLabel!.labels).toEqual(p.probabilities.filter((x) => x.p >= 0.5).map((x) => x.label));
		// The run's own threshold, chosen on the Evaluate screen: saved, the stored evaluation re-read
		// at it from its scores (as multilabel.ts gives at it), and Predict and a new evaluation decide at it.
		const t = 0.3;
		const saved = await api.setMultiLabelThreshold(run.id, t);
		expect(saved.multiLabelThreshold).toBe(t);
		const scores = ev.multiLabel!.scores!;
		const at = multilabelReport(scores.truth, decide(scores.probs, t), ev.labels, ev.multiLabel!.examples.map((e) => e.row), t);
		expect(saved.evaluation!.multiLabel!.threshold).toBe(t);
		expect(saved.evaluation!.multiLabel!.micro).toEqual(at.multiLabel.micro);
		expect(saved.evaluation!.accuracy).toBe(at.multiLabel.subsetAccuracy);
		expect(saved.evaluation!.perClass).toEqual(at.perClass);
		expect(saved.evaluation!.multiLabel!.intervals).toEqual(at.multiLabel.intervals);
		expect(saved.evaluation!.multiLabel!.scores!.rows).toEqual(scores.rows);
		expect(Array.from(saved.evaluation!.multiLabel!.scores!.probs)).toEqual(Array.from(scores.probs));
		const p2 = await api.predict(run.id, 'refund invoice and asap now');
		expect(p2.multiLabel!.threshold).toBe(t);
		expect(p2.multiLabel!.labels).toEqual(p2.probabilities.filter((x) => x.p >= t).map((x) => x.label));
		const again = await api.evaluate(run.id);
		expect(again.multiLabel!.threshold).toBe(t);
		const s2 = again.multiLabel!.scores!;
		expect(again.multiLabel!.micro).toEqual(multilabelReport(s2.truth, decide(s2.probs, t), ev.labels, again.multiLabel!.examples.map((e) => e.row), t).multiLabel.micro);
		await expect(api.setMultiLabelThreshold(run.id, 1)).rejects.toThrow(/above 0 and below 1/);
		expect((await getRun(run.id))!.multiLabelThreshold).toBe(t);
		const zip = await api.exportModel(run.id);
		const files = unzipFolder(new Uint8Array(await zip.blob.arrayBuffer()));
		const config = JSON.parse(new TextDecoder().decode(files['config.json']));
		expect(config.problem_type).toBe('multi_label_classification');
		expect(config.id2label).toEqual({ 0: 'billing', 1: 'tech', 2: 'urgent' });
	}, 120_000);

	it('a single-label run on the same file keeps the softmax head and its metrics', async () => {
		const { run } = await createRun('first');
		expect(run.config.model.multiLabel).toBeUndefined();
		expect(await api.train(run.id, () => {})).toBe('completed');
		const ev = (await getRun(run.id))!.evaluation!;
		expect(ev.multiLabel).toBeUndefined();
		expect(ev.confusion.length).toBe(ev.labels.length);
		expect((await api.predict(run.id, 'crash error')).multiLabel).toBeUndefined();
		await expect(api.setMultiLabelThreshold(run.id, 0.3)).rejects.toThrow(/not a multi-label run/);
	}, 120_000);
});
