/**
 * Issue 10's curve check: a 100-step loss curve on the fast path against the reference path, for
 * each kind of model the studio trains, with dropout on as their configs have it (the from-scratch
 * model's default 0.2; GPT-2's and BERT's 0.1 on the residual stream, the embeddings and the
 * attention weights; LoRA's dropout on a Llama's adapters with attention dropout too). Both paths
 * draw the same hashed masks from the same seeds (ops/dropout.ts), start from the same weights and
 * see the same batches (4 rows of 24, cycled), so the curves differ only by float32 rounding in
 * the kernels' order of operations, which the optimizer then carries forward.
 *
 * Per model: both curves, their largest difference over the curve's scale, the relative
 * difference at the first step (where the weights are still equal, so it is one step's rounding)
 * and at the last, the fast path's dispatches in its last step, and the tensors left behind. Returns figures; the caller decides what passes.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { fastPathEnabled, setFastPath } from '../fast-path';
import { randomCheckpoint } from '../bench-hf';
import { hfConfigFor } from '../bench-step';
import { ClassifierSession } from '../classifier';
import { GpuCounter, totalDispatches } from '../dispatch-count';
import { resolveConfig } from '../models/registry';
import { configForObjective, PretrainedSession, type LmTokenRows } from '../pretrained';

export type CurveModel = 'scratch' | 'gpt2' | 'bert' | 'llama-lora';

export interface CurveCase {
	model: CurveModel;
	/** What trained, in words. */
	label: string;
	steps: number;
	fast: number[];
	reference: number[];
	/**
	 * max over steps of |fast − reference|, over the curve's scale (max |reference|): a classifier
	 * that learns its rows ends near 0.002, where a step's own relative difference says little.
	 */
	maxRel: number;
	/** |fast − reference| / |reference| at step 1 (equal weights: one step's rounding). */
	firstRel: number;
	/** The last step's |fast − reference| / |reference|. */
	lastRel: number;
	/** Dispatches of the fast path's last step. */
	fastDispatches: number;
	tensorsLeaked: number;
}

export const SEQ = 16;
export const ROWS = 24;
export const BATCH = 4;
const VOCAB = 61;
const LR = 3e-3;

export interface Session {
	trainStep(hb: unknown, lr: number, seed: number): void;
	takeStats(): Promise<{ loss: number } | null>;
	dispose(): void;
}

/** The check's rows: ROWS of SEQ random tokens, labels alternating in a fixed pattern. */
export function data(seed: number): LmTokenRows {
	const rng = new Prng(seed);
	return {
		ids: Int32Array.from({ length: ROWS * SEQ }, () => 3 + rng.int(VOCAB - 3)),
		offsets: Int32Array.from({ length: ROWS + 1 }, (_, i) => i * SEQ),
		labels: Int32Array.from({ length: ROWS }, (_, i) => (i * 7) % 2)
	} as LmTokenRows;
}

function hfConfig(model: Exclude<CurveModel, 'scratch'>): Record<string, unknown> {
	const shape = { layers: 2, width: 32, heads: 4, vocab: VOCAB, seq: SEQ, dropout: 0.1 };
	if (model === 'gpt2') return hfConfigFor({ ...shape, model: 'gpt2' });
	if (model === 'bert') return hfConfigFor({ ...shape, model: 'bert' });
	return { ...hfConfigFor({ ...shape, model: 'llama' }), num_key_value_heads: 2, intermediate_size: 72, max_position_embeddings: 32 };
}

/** A fresh session of `model` as the check trains it (the compiled-step check trains the same ones). */
export async function session(model: CurveModel): Promise<{ s: Session; label: string }> {
	if (model === 'scratch') {
		const cfg = defaultRunConfig(2);
		Object.assign(cfg.model, { vocabSize: VOCAB, nLayer: 2, nHead: 4, dModel: 32, contextLength: SEQ });
		Object.assign(cfg.train, { batchSize: BATCH, gradClip: 1, optimizer: 'adamw', weightDecay: 0.01 });
		return { s: ClassifierSession.create(cfg, { padId: 0 }) as unknown as Session, label: `from-scratch classifier, dropout ${cfg.model.dropout}` };
	}
	const hf = hfConfig(model);
	const objective = model === 'bert' ? 'classification' : 'causal-lm';
	const labels = objective === 'classification' ? ['0', '1'] : [];
	const cfg: RunConfig = defaultRunConfig(2);
	cfg.train = { ...cfg.train, batchSize: BATCH, gradClip: 1, weightDecay: 0.01, seed: 5 };
	cfg.pretrained = {
		repo: 'check',
		revision: 'check',
		modelType: String(hf.model_type),
		hfConfig: hf,
		objective,
		contextLength: SEQ,
		numClasses: 2,
		method: model === 'llama-lora' ? { kind: 'lora', rank: 4, alpha: 8, dropout: 0.05, targetModules: 'all-linear' } : { kind: 'full' }
	};
	const { spec, config } = resolveConfig(configForObjective(hf, objective, labels));
	const s = await PretrainedSession.fromPretrained(cfg, randomCheckpoint(spec.paramShapes(config), 3), { padId: 0 }, labels);
	const label = model === 'gpt2' ? 'GPT-2 causal LM, full, dropout 0.1' : model === 'bert' ? 'BERT classifier, full, dropout 0.1' : 'Llama causal LM, LoRA on every linear layer (dropout 0.05), attention dropout 0.1';
	return { s: s as unknown as Session, label };
}

async function curve(model: CurveModel, fast: boolean, steps: number, counter: GpuCounter): Promise<{ losses: number[]; label: string; dispatches: number }> {
	const { s, label } = await session(model);
	const rows = data(11);
	const losses: number[] = [];
	let dispatches = 0;
	try {
		for (let k = 0; k < steps; k++) {
			const batch = Array.from({ length: BATCH }, (_, i) => (k * BATCH + i) % ROWS);
			const hb = (s as unknown as { batch(d: LmTokenRows, r: number[]): unknown }).batch(rows, batch);
			setFastPath(fast);
			const { counts } = await counter.measure(() => s.trainStep(hb, LR, 1000 + k));
			dispatches = totalDispatches(counts);
			losses.push((await s.takeStats())?.loss ?? NaN);
		}
	} finally {
		s.dispose();
	}
	return { losses, label, dispatches };
}

/** The check for `models`; see the file's comment. */
export async function curveCheck(steps = 100, models: CurveModel[] = ['scratch', 'gpt2', 'bert', 'llama-lora']): Promise<CurveCase[]> {
	const was = fastPathEnabled();
	const counter = new GpuCounter();
	const out: CurveCase[] = [];
	try {
		for (const model of models) {
			const before = tf.memory().numTensors;
			const fast = await curve(model, true, steps, counter);
			const reference = await curve(model, false, steps, counter);
			const diff = fast.losses.map((v, i) => Math.abs(v - reference.losses[i]));
			const scale = Math.max(...reference.losses.map(Math.abs), 1e-30);
			const relAt = (i: number) => diff[i] / Math.max(Math.abs(reference.losses[i]), 1e-30);
			out.push({
				model,
				label: fast.label,
				steps,
				fast: fast.losses,
				reference: reference.losses,
				maxRel: diff.some((d) => !Number.isFinite(d)) ? Infinity : Math.max(...diff) / scale,
				firstRel: relAt(0),
				lastRel: relAt(steps - 1),
				fastDispatches: fast.dispatches,
				tensorsLeaked: tf.memory().numTensors - before
			});
		}
	} finally {
		setFastPath(was);
		counter.dispose();
	}
	return out;
}
