/**
 * How well, and how fast, the default settings learn the built-in example: trains the from-scratch
 * classifier on support-tickets.csv exactly as the studio does (same split, tokenizer, config and
 * loop) on tfjs's CPU backend in Node, and prints validation/test accuracy and time per step.
 *
 *   npx tsx bench/example-accuracy.ts [--preset tiny] [--epochs 12] [--batch 32] [--lr 0.003]
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { parseTable } from '../src/lib/data/parse';
import { buildRows } from '../src/lib/data/columns';
import { stratifiedSplit } from '../src/lib/data/split';
import { trainBpe } from '../src/lib/data/bpe';
import { TextTokenizer } from '../src/lib/data/tokenizer';
import { defaultRunConfig, defaultSplitConfig, modelPresets, type ModelPreset } from '../src/lib/shared/config';
import { ClassifierSession } from '../src/lib/engine/classifier';
import { initialLoopState, trainLoop } from '../src/lib/engine/train/loop';
import { classificationReport } from '../src/lib/engine/eval/report';

const arg = (name: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : undefined;
};

await tf.setBackend('cpu');
const bytes = readFileSync(new URL('../static/examples/support-tickets.csv', import.meta.url));
const table = parseTable('support-tickets.csv', bytes);
const built = buildRows(table, 'text', 'team');
const labelIndex = new Map(built.labels.map((l, i) => [l, i]));
const labels = built.rows.map((r) => labelIndex.get(r.label)!);
const splits = stratifiedSplit(labels, defaultSplitConfig);

const cfg = defaultRunConfig(built.labels.length);
if (arg('preset')) Object.assign(cfg.model, modelPresets[arg('preset') as ModelPreset]);
if (arg('epochs')) cfg.train.epochs = Number(arg('epochs'));
if (arg('batch')) cfg.train.batchSize = Number(arg('batch'));
if (arg('lr')) cfg.train.learningRate = Number(arg('lr'));
if (arg('vocab')) cfg.tokenizer.vocabSize = Number(arg('vocab'));
if (arg('dropout')) cfg.model.dropout = Number(arg('dropout'));
if (arg('wd')) cfg.train.weightDecay = Number(arg('wd'));
if (arg('tokdrop')) cfg.train.tokenDropout = Number(arg('tokdrop'));
if (arg('eval')) cfg.train.evalEvery = Number(arg('eval'));
if (arg('width')) cfg.model.dModel = Number(arg('width'));
if (arg('layers')) cfg.model.nLayer = Number(arg('layers'));
if (arg('heads')) cfg.model.nHead = Number(arg('heads'));
if (arg('context')) cfg.model.contextLength = Number(arg('context'));

const trainTexts = built.rows.filter((_, i) => splits[i] === 0).map((r) => r.text);
const tokenizer = await TextTokenizer.fromJson(trainBpe(trainTexts, cfg.tokenizer));
cfg.model.vocabSize = tokenizer.vocabSize;
const ids: number[] = [];
const offsets = [0];
for (const r of built.rows) {
	ids.push(...tokenizer.encode(r.text).slice(0, cfg.model.contextLength));
	offsets.push(ids.length);
}
const tokens = { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels) };
const rowsOf = (code: number) => [...splits.keys()].filter((i) => splits[i] === code);
const [train, validation, test] = [rowsOf(0), rowsOf(1), rowsOf(2)];

console.log(`model ${JSON.stringify(cfg.model)}`);
console.log(`train ${JSON.stringify(cfg.train)}`);
console.log(`rows train/val/test ${train.length}/${validation.length}/${test.length}, vocab ${tokenizer.vocabSize}`);
const session = ClassifierSession.create(cfg, { padId: tokenizer.padId ?? 0, clsId: tokenizer.clsId });
const t0 = performance.now();
let steps = 0;
let best: { step: number; val: number; tensors: Map<string, { shape: number[]; data: Float32Array }> } | null = null;
await trainLoop(session, { tokens, train, validation }, cfg, initialLoopState(cfg, train), {
	control: () => 'run',
	onMetrics: (p) => {
		steps = p.step;
		if (p.valAccuracy !== undefined)
			console.log(`step ${p.step} train loss ${p.trainLoss?.toFixed(3)} acc ${p.trainAccuracy?.toFixed(3)} | val loss ${p.valLoss?.toFixed(3)} acc ${p.valAccuracy.toFixed(3)}`);
	},
	onCheckpoint: async (snap) => {
		if (snap.best) best = { step: snap.step, val: snap.valAccuracy!, tensors: new Map(snap.tensors.map((t) => [t.name, t])) };
	}
});
const seconds = (performance.now() - t0) / 1000;
for (const [which, s] of [['last', session], ['best', best ? ClassifierSession.fromTensors(cfg, best.tensors, { padId: tokenizer.padId ?? 0, clsId: tokenizer.clsId }, 0) : null]] as const) {
	if (!s) continue;
	const ev = await s.evaluate(tokens, test);
	const rep = classificationReport(ev.labels, ev.preds, built.labels);
	const at = which === 'best' ? ` (step ${best!.step}, val ${best!.val.toFixed(3)})` : '';
	console.log(`${which} checkpoint${at}: test accuracy ${rep.accuracy.toFixed(3)} macro-F1 ${rep.macroF1.toFixed(3)} loss ${ev.loss.toFixed(3)}`);
}
console.log(`${steps} steps in ${seconds.toFixed(1)} s on tfjs-cpu (${(seconds / steps).toFixed(3)} s/step, includes validation)`);
