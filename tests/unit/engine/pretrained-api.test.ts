/**
 * Pretrained runs through the engine worker's API in Node (tfjs CPU, fake-indexeddb), with the
 * model downloaded from the local fake Hub into the model cache first, as the page does it:
 * language modelling on a text dataset, instruction tuning on chat pairs, classification with a
 * new head; then evaluation, generation, resume and export.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unzipSync, strFromU8 } from 'fflate';
import { api } from '../../../workers/engine-api';
import { hubFileReader } from '../../../workers/pretrained';
import { importDataset, prepareHubTokens, type ImportArgs } from '../../../src/lib/data/pipeline';
import { downloadModel, inspectModel } from '../../../src/lib/engine/io/hub';
import { parseSafetensors } from '../../../src/lib/engine/io';
import { getRun, listCheckpoints, loadRows, modelCache, useDatabase } from '../../../src/lib/storage';
import { SPLIT_CODE } from '../../../src/lib/shared/types';
import { multilabelExamples, pairingProblem } from '../../../src/lib/engine/eval/evaluation';
import { pairedMultiLabel } from '../../../src/lib/engine/eval/multilabel-bootstrap';
import { defaultRunConfig, isMultiLabelRun, type Objective } from '../../../src/lib/shared/config';
import { evaluationAt } from '../../../src/lib/engine/eval/multilabel';
import type { ModelRef } from '../../../src/lib/shared/hub';
import { startHubServer, type HubServer } from '../../support/hub-server';

let hub: HubServer;

beforeAll(async () => {
	await tf.setBackend('cpu');
	hub = await startHubServer();
});
afterAll(() => hub?.close());
beforeEach(() => useDatabase('pretrained-' + Math.random()));

async function download(repo: string): Promise<{ ref: ModelRef; config: Record<string, unknown> }> {
	const settings = { endpoint: hub.url };
	const insp = await inspectModel(repo, 'main', settings, { cache: modelCache });
	await downloadModel(insp, settings, modelCache);
	return { ref: { repo: insp.repo, revision: insp.revision }, config: insp.config };
}

/** `everyNth` keeps the first line (a CSV's header) and every nth after it, one record a line: fewer rows where their number is not what a test checks. */
async function importFile(file: string, kind: 'text' | 'pairs' | 'classification', columns: { text: string; label?: string }, everyNth = 1) {
	const b = readFileSync(new URL(`../../fixtures/data/${file}`, import.meta.url));
	const [header, ...lines] = b.toString('utf8').trimEnd().split('\n');
	const bytes = new TextEncoder().encode([header, ...lines.filter((_, i) => i % everyNth === 0)].join('\n'));
	return importDataset({
		projectId: 'p1',
		fileName: file,
		bytes: bytes.buffer as ArrayBuffer,
		kind,
		textColumn: columns.text,
		labelColumn: columns.label,
		split: { seed: 1, validation: 0.15, test: 0.15 },
		skipBadRows: false
	});
}

/** A classification CSV written here (a `text` column and the given label column), split 60/15/25. */
function importLines(fileName: string, lines: string[], args: Pick<ImportArgs, 'labelColumn' | 'multiLabel'>) {
	return importDataset({
		projectId: 'p1',
		fileName,
		bytes: new TextEncoder().encode(lines.join('\n')).buffer as ArrayBuffer,
		textColumn: 'text',
		...args,
		split: { seed: 1, validation: 0.15, test: 0.25 },
		skipBadRows: false
	});
}

/**
 * A run of a few steps (tfjs on the CPU takes about a second a step): by default a checkpoint
 * before the end, so a test can pause there and resume; validation at the end only.
 */
async function createRun(repo: string, versionId: string, contentHash: string, objective: Objective, numClasses = 1, steps = 4) {
	const { ref, config: hfConfig } = await download(repo);
	const config = defaultRunConfig(numClasses);
	config.train = { ...config.train, batchSize: 4, epochs: 1, maxSteps: steps, learningRate: 3e-3, weightDecay: 0.01, warmupSteps: 0, logEvery: 2, evalEvery: steps, checkpointEvery: 2 };
	config.pretrained = { ...ref, modelType: String(hfConfig.model_type), hfConfig, objective, contextLength: 48, numClasses };
	const prep = await prepareHubTokens(versionId, ref, objective, 48, hubFileReader(ref));
	return api.createRun({ projectId: 'p1', datasetVersionId: versionId, datasetHash: contentHash, tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key, config, name: objective });
}

describe('pretrained runs through the engine API', () => {
	it('language modelling: trains from the cached model, resumes, scores perplexity, generates, exports a tied model', async () => {
		// Half the lines: every evaluation reads all of its split's sequences.
		const version = await importFile('domain-text.jsonl', 'text', { text: 'text' }, 2);
		const run = await createRun('whetstone-test/tiny-gpt2', version.id, version.contentHash, 'causal-lm');
		expect(await api.train(run.id, (e) => e.type === 'checkpoint' && api.pause())).toBe('paused');
		expect(await api.train(run.id, () => {})).toBe('completed');
		const done = (await getRun(run.id))!;
		expect(done.step).toBe(4);
		expect(done.evaluation?.lm?.perplexity).toBeGreaterThan(1);
		expect(done.evaluation?.lm?.perplexity).toBeCloseTo(Math.exp(done.evaluation!.loss), 6);
		// Per-sequence sums (for paired comparisons on Compare) add up to the totals.
		const ex = done.evaluation!.lm!.examples!;
		expect(ex.row.length).toBe(done.evaluation!.count);
		const tokens = ex.tokens.reduce((a, b) => a + b, 0);
		expect(ex.nll.reduce((a, b) => a + b, 0) / tokens).toBeCloseTo(done.evaluation!.loss, 4);
		expect(ex.correct.reduce((a, b) => a + b, 0) / tokens).toBeCloseTo(done.evaluation!.lm!.tokenAccuracy, 6);
		expect((await listCheckpoints(run.id)).length).toBeGreaterThan(0);

		const streamed: string[] = [];
		const out = await api.generate({ runId: run.id }, 'The order', { maxNewTokens: 5 }, (t) => streamed.push(t));
		expect(out.newTokens).toBe(5);
		expect(streamed).toHaveLength(5);
		expect(out.text).toBe(streamed[4]);

		const { blob, fileName, warnings } = await api.exportModel(run.id);
		expect(fileName).toMatch(/\.zip$/);
		expect(warnings).toEqual([]);
		const files = unzipSync(new Uint8Array(await blob.arrayBuffer()));
		expect(Object.keys(files)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'README.md']));
		expect(JSON.parse(strFromU8(files['config.json'])).architectures).toEqual(['GPT2LMHeadModel']);
		const tensors = parseSafetensors(files['model.safetensors'].slice().buffer as ArrayBuffer).tensors;
		expect(tensors.has('lm_head.weight')).toBe(false); // tied stays tied
		expect(tensors.has('transformer.wte.weight')).toBe(true);
	});

	it('instruction tuning on chat pairs: loss only on responses, generation formatted with the chat template', async () => {
		// Half the chats: the test split's answers are generated 48 tokens each, past this model's 64 positions.
		const version = await importFile('chat-sample.jsonl', 'pairs', { text: 'messages' }, 2);
		const run = await createRun('whetstone-test/tiny-llama', version.id, version.contentHash, 'instruction', 1, 2);
		expect(await api.train(run.id, () => {})).toBe('completed');
		const done = (await getRun(run.id))!;
		expect(done.evaluation?.lm?.tokenAccuracy).toBeGreaterThanOrEqual(0);
		const out = await api.generate({ runId: run.id }, 'How do I reset my password?', { maxNewTokens: 4 });
		expect(out.promptTokens).toBeGreaterThan('How do I reset my password?'.length); // the template added role markers
	});

	it('a zero-shot baseline scores label words with the unmodified model and is stored as a run on the test rows', async () => {
		const lines = ['text,team', ...Array.from({ length: 40 }, (_, i) => `ticket ${i} about my ${i % 2 ? 'refund' : 'parcel'},${i % 2 ? 'billing' : 'shipping_desk'}`)];
		const version = await importLines('small.csv', lines, { labelColumn: 'team' });
		const { ref } = await download('whetstone-test/tiny-gpt2');
		const words = version.labels.map((l) => l.replace('_', ' '));
		let last = 0;
		const run = await api.runBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, template: 'Ticket: {text}\nTeam: {label}', labelWords: words, shots: 2, seed: 1 }, (done) => (last = done));
		const stored = (await getRun(run.id))!;
		expect(stored.baseline).toMatchObject({ kind: 'few-shot', shots: 2, labelWords: words });
		expect(stored.evaluation!.count).toBe(version.split.sizes.test);
		expect(last).toBe(version.split.sizes.test);
		expect(stored.evaluation!.examples!.probs.length).toBe(version.split.sizes.test * version.labels.length);
		await expect(api.runBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, template: 'no label slot {text}', labelWords: words, shots: 0, seed: 1 })).rejects.toThrow(/\{label\}/);
	});

	it('a multi-label dataset\'s baseline: each label word\'s probability scored against the label sets, stored as a multi-label run', async () => {
		const tags = ['refund', 'parcel', 'refund;parcel'];
		const lines = ['text,tags', ...Array.from({ length: 40 }, (_, i) => `ticket ${i} about my ${['refund', 'parcel', 'refund and parcel'][i % 3]},${tags[i % 3]}`)];
		const version = await importLines('tags.csv', lines, { labelColumn: 'tags', multiLabel: { delimiter: ';', mode: 'all' } });
		const { ref } = await download('whetstone-test/tiny-gpt2');
		const run = await api.runBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, template: 'Ticket: {text}\nAbout: {label}', labelWords: version.labels, shots: 0, seed: 1 });
		const stored = (await getRun(run.id))!;
		expect(isMultiLabelRun(stored.config)).toBe(true);
		expect(stored.baseline!.description).toContain('multi-label: a label is chosen when its share of one softmax over the label words is at least 1/2');
		const ev = stored.evaluation!;
		const n = version.split.sizes.test;
		expect(ev.count).toBe(n);
		expect(ev.multiLabel!.threshold).toBe(1 / version.labels.length); // an even split's share
		// The stored scores: one softmax over the label words per row, and the true label sets.
		const { truth, probs } = ev.multiLabel!.scores!;
		expect(probs.length).toBe(n * version.labels.length);
		for (let i = 0; i < n; i++) expect(probs[2 * i] + probs[2 * i + 1]).toBeCloseTo(1, 5);
		expect([...truth].filter((x) => x).length).toBeGreaterThan(n); // some rows hold both labels
		expect(ev.accuracy).toBe(ev.multiLabel!.subsetAccuracy);
		expect(ev.loss).toBeGreaterThan(0);
		// Every test row's dataset index kept, and each headline figure's bootstrap interval.
		const testRows = (await loadRows(version.id)).flatMap((r, i) => (r.split === SPLIT_CODE.test ? [i] : []));
		expect(Array.from(ev.multiLabel!.scores!.rows!)).toEqual(testRows);
		expect(ev.bootstrap).toEqual({ resamples: 1000, seed: 0, alpha: 0.05 });
		expect(ev.multiLabel!.intervals!.subsetAccuracy.estimate).toBe(ev.accuracy);
		expect(ev.multiLabel!.intervals!.hammingLoss.estimate).toBeCloseTo(ev.multiLabel!.hammingLoss, 15);
		// And read again at another threshold, as Evaluate does: the intervals follow it, the rows stay.
		const at = evaluationAt(ev, 0.3)!;
		expect(at.multiLabel!.threshold).toBe(0.3);
		expect(at.multiLabel!.intervals!.subsetAccuracy.estimate).toBe(at.accuracy);
		expect(at.multiLabel!.scores!.rows).toBe(ev.multiLabel!.scores!.rows);
		// A few-shot baseline on the same rows (its examples show their whole label sets) pairs with the zero-shot one row by row.
		const few = (await getRun((await api.runBaseline({ projectId: 'p1', datasetVersionId: version.id, model: ref, template: 'Ticket: {text}\nAbout: {label}', labelWords: version.labels, shots: 3, seed: 2 })).id))!;
		expect(few.baseline).toMatchObject({ kind: 'few-shot', shots: 3 });
		expect(pairingProblem(few.evaluation!, ev)).toBeNull();
		const cmp = pairedMultiLabel(multilabelExamples(few.evaluation!)!, multilabelExamples(ev)!, { resamples: 200 });
		expect(cmp.n).toBe(n);
		expect(cmp.metrics.find((m) => m.metric === 'subsetAccuracy')!.diff).toBeCloseTo(few.evaluation!.accuracy - ev.accuracy, 15);
		expect(cmp.metrics.find((m) => m.metric === 'macroF1')!.b).toBeCloseTo(ev.macroF1, 15);
	});

	it('the forgetting check compares the base and the fine-tuned perplexity on general text', async () => {
		// Half the lines: every evaluation reads all of its split's sequences.
		const version = await importFile('domain-text.jsonl', 'text', { text: 'text' }, 2);
		const run = await createRun('whetstone-test/tiny-gpt2', version.id, version.contentHash, 'causal-lm', 1, 2);
		await api.train(run.id, () => {});
		const r = await api.forgettingCheck(run.id, 'The weather was mild for the season.\n\nMost people walked to work and back.');
		expect(r.base).toBeGreaterThan(1);
		expect(r.tuned).toBeGreaterThan(1);
		expect(r.base).not.toBe(r.tuned);
		expect((await getRun(run.id))!.forgetting?.tuned).toBe(r.tuned);
	});

	it('classification with a new head on a pretrained encoder', async () => {
		// A fifth of the example's rows (all five teams): evaluation reads every validation and test row.
		const version = await importFile('../../../static/examples/support-tickets.csv', 'classification', { text: 'text', label: 'team' }, 5);
		expect(version.labels).toHaveLength(5);
		const run = await createRun('whetstone-test/tiny-bert', version.id, version.contentHash, 'classification', version.labels.length, 2);
		expect(await api.train(run.id, () => {})).toBe('completed');
		const done = (await getRun(run.id))!;
		expect(done.evaluation?.confusion.flat().reduce((a, b) => a + b, 0)).toBe(done.evaluation?.count);
		const p = await api.predict(run.id, 'I was charged twice for my order');
		expect(p.probabilities).toHaveLength(version.labels.length);
		const { blob } = await api.exportModel(run.id);
		const config = JSON.parse(strFromU8(unzipSync(new Uint8Array(await blob.arrayBuffer()))['config.json']));
		expect(config.architectures).toEqual(['BertForSequenceClassification']);
		expect(Object.values(config.id2label)).toEqual(version.labels);
	});
});
