/**
 * Issue 10's check of the compiled step: each kind of model trains twice on the fast path from the
 * same weights with the same batches, seeds and learning rates, once step by step as tfjs runs it
 * and once compiled (traced twice, then replayed from the plan). The replay runs the very kernels
 * the traced step ran, in the same order on the same data, so the two must agree bit for bit:
 * every window's loss, accuracy and gradient norm, and every weight at the end.
 *
 * The batches vary what a replay must rewrite each step: rows of different lengths (so the padding
 * mask, the ids and, for a language model, the number of target tokens change), a learning rate
 * that warms up and decays (the optimizer's uniforms), dropout (its keys), and stats taken every
 * third step (so steps run with and without running sums, two kinds of plan), the step before it
 * recording the layers' internals; and each model once more with two micro-batches a step, their
 * gradients accumulated, as the loop runs a batch split to fit.
 */
import * as tf from '@tensorflow/tfjs';
import { fastPathEnabled, setFastPath } from '../fast-path';
import { GpuCounter, totalDispatches } from '../dispatch-count';
import { Prng } from '../../shared/prng';
import { BATCH, SEQ, session, type CurveModel, type Session } from '../train/curve-check';
import type { LmTokenRows } from '../pretrained';
import type { HostBatch } from '../batching';
import { lossWeight } from '../train/loop';
import type { CompiledSummary } from './compiled-steps';

export interface CompiledCase {
	model: CurveModel;
	label: string;
	/** Micro-batches per optimizer step (2: gradients accumulated, as the loop does when a batch is split). */
	accum: number;
	steps: number;
	/** Windows whose loss, accuracy and grad norm differ at all between the two runs. */
	windowsDiffering: number;
	windows: number;
	/** Largest |plain − compiled| over every weight at the end (0 when bit-equal). */
	maxWeightDiff: number;
	weightsCompared: number;
	/** Dispatches and submits of the compiled run's last step (a replay), and the plain run's. */
	compiledDispatches: number;
	compiledSubmits: number;
	plainDispatches: number;
	plainSubmits: number;
	summary: CompiledSummary | null;
	/** The two runs' window losses. */
	plain: number[];
	compiled: number[];
	tensorsLeaked: number;
}

const ROWS = 24;
const VOCAB = 61;
const WINDOW = 3;

/** Rows of varying length (SEQ − 0…6 tokens), so padding, masks and target counts change by batch. */
function rows(seed: number): LmTokenRows {
	const rng = new Prng(seed);
	const lens = Array.from({ length: ROWS }, (_, i) => SEQ - ((i * 5) % 7));
	const offsets = new Int32Array(ROWS + 1);
	lens.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
	return {
		ids: Int32Array.from({ length: offsets[ROWS] }, () => 3 + rng.int(VOCAB - 3)),
		offsets,
		labels: Int32Array.from({ length: ROWS }, (_, i) => (i * 7) % 2)
	} as LmTokenRows;
}

/** Warm up over 4 steps, then decay linearly to a third. */
function lr(k: number, steps: number): number {
	return 3e-3 * (k < 4 ? (k + 1) / 4 : 1 - (2 / 3) * ((k - 4) / Math.max(1, steps - 4)));
}

interface Compilable extends Session {
	params: Map<string, tf.Variable>;
	trainStep(hb: unknown, lr: number, seed: number, micro?: { scale: number; apply: boolean; record?: boolean }): void;
	setCompiledSteps(on: boolean): void;
	compiledSummary(): CompiledSummary | null;
	batch(d: LmTokenRows, r: number[]): unknown;
}

async function train(model: CurveModel, compiled: boolean, steps: number, accum: number, counter: GpuCounter) {
	const { s, label } = await session(model);
	const c = s as unknown as Compilable;
	c.setCompiledSteps(compiled);
	const data = rows(13);
	const windows: { loss: number; accuracy: number; gradNorm: number }[] = [];
	let last = { dispatches: 0, submits: 0 };
	try {
		for (let k = 0; k < steps; k++) {
			// As the loop: the micro-batches of a step weighted by their share, the last updating,
			// and the step before each log point recording the layers' internals.
			const take = (k + 1) % WINDOW === 0 || k === steps - 1;
			const hbs = Array.from({ length: accum }, (_, j) => c.batch(data, Array.from({ length: BATCH }, (_, i) => ((k * accum + j) * BATCH + i) % ROWS)));
			const weights = hbs.map((hb) => lossWeight(hb as HostBatch));
			const sum = weights.reduce((x, y) => x + y, 0);
			const { counts } = await counter.measure(() =>
				hbs.forEach((hb, j) => c.trainStep(hb, lr(k, steps), 500 + k * accum + j, { scale: accum === 1 ? 1 : weights[j] / sum, apply: j === accum - 1, record: take && j === accum - 1 }))
			);
			last = { dispatches: totalDispatches(counts), submits: counts.submits };
			if (take) {
				const w = await c.takeStats();
				if (w) windows.push({ loss: w.loss, accuracy: (w as { accuracy?: number }).accuracy ?? NaN, gradNorm: (w as { gradNorm?: number }).gradNorm ?? NaN });
			}
		}
		const weights = new Map<string, Float32Array>();
		for (const [name, v] of c.params) weights.set(name, (await v.data()) as Float32Array);
		return { label, windows, weights, last, summary: c.compiledSummary() };
	} finally {
		c.dispose();
	}
}

const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** The check for `models`; returns figures, the caller decides what passes. */
export async function compiledCheck(steps = 12, models: CurveModel[] = ['scratch', 'gpt2', 'bert', 'llama-lora'], accums: number[] = [1, 2]): Promise<CompiledCase[]> {
	const was = fastPathEnabled();
	setFastPath(true);
	const counter = new GpuCounter();
	const out: CompiledCase[] = [];
	try {
		for (const model of models) for (const accum of accums) {
			const before = tf.memory().numTensors;
			const plain = await train(model, false, steps, accum, counter);
			const comp = await train(model, true, steps, accum, counter);
			let windowsDiffering = 0;
			plain.windows.forEach((w, i) => {
				const x = comp.windows[i];
				if (!x || !same(w.loss, x.loss) || !same(w.accuracy, x.accuracy) || !same(w.gradNorm, x.gradNorm)) windowsDiffering++;
			});
			let maxWeightDiff = 0;
			let weightsCompared = 0;
			for (const [name, a] of plain.weights) {
				const b = comp.weights.get(name);
				if (!b || b.length !== a.length) {
					maxWeightDiff = Infinity;
					continue;
				}
				for (let i = 0; i < a.length; i++) maxWeightDiff = Math.max(maxWeightDiff, Math.abs(a[i] - b[i]));
				weightsCompared += a.length;
			}
			out.push({
				model,
				label: plain.label,
				accum,
				steps,
				windowsDiffering,
				windows: plain.windows.length,
				maxWeightDiff,
				weightsCompared,
				compiledDispatches: comp.last.dispatches,
				compiledSubmits: comp.last.submits,
				plainDispatches: plain.last.dispatches,
				plainSubmits: plain.last.submits,
				summary: comp.summary,
				plain: plain.windows.map((w) => w.loss),
				compiled: comp.windows.map((w) => w.loss),
				tensorsLeaked: tf.memory().numTensors - before
			});
		}
	} finally {
		setFastPath(was);
		counter.dispose();
	}
	return out;
}
