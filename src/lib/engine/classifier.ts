/**
 * A text classifier on the GPU: the model's parameters as tfjs variables, its optimizer, and the
 * three things done with them (a training step, an evaluation pass, a prediction). One tf.tidy per
 * step; running sums stay on the GPU and are read back only when the loop logs.
 */
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from '../shared/config';
import { forward, initParams, type Params } from './models/transformer';
import { createOptimizer, hasOptimizerState, type Optimizer } from './train/optimizer';
import { StepAccumulator, WHOLE_STEP, type MicroStep, type WindowStats } from './train/step';
import { crossEntropy } from './ops';
import { makeBatch, type HostBatch, type TokenDropout, type TokenRows } from './batching';
import { readTensors, toVariables, type HostTensor } from './tensors';

export interface SpecialIds {
	padId: number;
	clsId?: number;
}

export type { WindowStats } from './train/step';

export interface EvalOutput {
	loss: number;
	accuracy: number;
	preds: Int32Array;
	/** Row-major (n, C) probabilities. */
	probs: Float32Array;
	labels: Int32Array;
}

/** Predictions (argmax, first index on ties), mean negative log-likelihood and accuracy of row-major (n, C) probabilities. */
export function summarizeProbs(probs: Float32Array, labels: Int32Array, c: number): EvalOutput {
	const n = labels.length;
	const preds = new Int32Array(n);
	let nll = 0;
	let correct = 0;
	for (let i = 0; i < n; i++) {
		let best = 0;
		for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
		preds[i] = best;
		if (best === labels[i]) correct++;
		nll -= Math.log(Math.max(probs[i * c + labels[i]], 1e-12));
	}
	const d = Math.max(1, n);
	return { loss: nll / d, accuracy: correct / d, preds, probs, labels };
}

export class ClassifierSession {
	readonly params: Map<string, tf.Variable>;
	readonly optimizer: Optimizer;
	private readonly steps: StepAccumulator;

	constructor(
		readonly config: RunConfig,
		weights: Record<string, { shape: number[]; data: Float32Array }>,
		readonly special: SpecialIds
	) {
		this.params = toVariables(weights);
		this.optimizer = createOptimizer(this.params, config.train);
		this.steps = new StepAccumulator(this.optimizer, config.train.gradClip);
	}

	static create(config: RunConfig, special: SpecialIds): ClassifierSession {
		// Initialisation draws from its own stream, so changing the model never changes data order.
		return new ClassifierSession(config, initParams(config.model, (config.train.seed ^ 0x9e3779b9) >>> 0), special);
	}

	static fromTensors(config: RunConfig, tensors: Map<string, { shape: number[]; data: Float32Array }>, special: SpecialIds, optimizerStep: number): ClassifierSession {
		const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
		for (const [name, t] of tensors) if (!name.startsWith('optimizer.')) weights[name] = t;
		const s = new ClassifierSession(config, weights, special);
		if (hasOptimizerState(tensors)) s.optimizer.loadState(tensors, optimizerStep);
		return s;
	}

	private get p(): Params {
		return Object.fromEntries(this.params) as Params;
	}

	/** A fixed-shape batch; pass `drop` for training batches to apply word dropout. */
	batch(data: TokenRows, rows: number[], drop?: TokenDropout): HostBatch {
		const m = this.config.model;
		const prefix = m.pooling === 'cls' ? this.special.clsId : undefined;
		return makeBatch(data, rows, this.config.train.batchSize, m.contextLength, this.special.padId, prefix, drop);
	}

	private inputs(hb: HostBatch) {
		return {
			inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'),
			attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length], 'float32')
		};
	}

	/**
	 * One micro-batch of an optimizer step (the whole step unless `micro` says otherwise). Loss,
	 * correct predictions and grad norm are summed on the GPU.
	 */
	trainStep(hb: HostBatch, lr: number, seed: number, micro: MicroStep = WHOLE_STEP): void {
		const model = this.config.model;
		const labelSmoothing = this.config.train.labelSmoothing ?? 0;
		this.steps.run(
			() => {
				const logits = forward(this.p, model, this.inputs(hb), { training: true, seed }) as tf.Tensor2D; // (B, C)
				const labels = tf.tensor1d(hb.labels, 'int32');
				const correct = logits.argMax(-1).toInt().equal(labels).toFloat().sum();
				return { loss: crossEntropy(logits, labels, { labelSmoothing }), correct };
			},
			hb.real,
			lr,
			micro
		);
	}

	/** Mean loss, accuracy and grad norm since the last call (reads three scalars back). */
	takeStats(): Promise<WindowStats | null> {
		return this.steps.take();
	}

	/** Class probabilities for a fixed-shape batch; only the real rows are returned. */
	async probs(hb: HostBatch): Promise<Float32Array> {
		const out = tf.tidy(() => tf.softmax(forward(this.p, this.config.model, this.inputs(hb)) as tf.Tensor2D, -1));
		const data = (await out.data()) as Float32Array;
		out.dispose();
		return data.slice(0, hb.real * this.config.model.numClasses);
	}

	async evaluate(data: TokenRows, rows: number[], onProgress?: (done: number) => void): Promise<EvalOutput> {
		const c = this.config.model.numClasses;
		const bs = this.config.train.batchSize;
		const probs = new Float32Array(rows.length * c);
		for (let i = 0; i < rows.length; i += bs) {
			const chunk = rows.slice(i, i + bs);
			probs.set(await this.probs(this.batch(data, chunk)), i * c);
			onProgress?.(Math.min(rows.length, i + bs));
		}
		return summarizeProbs(probs, Int32Array.from(rows, (r) => data.labels[r]), c);
	}

	/** Parameters and optimizer moments, read back for a checkpoint. */
	async snapshot(): Promise<HostTensor[]> {
		return readTensors([...this.params.entries(), ...this.optimizer.stateTensors()]);
	}

	/** Parameters only (for export). */
	async weights(): Promise<HostTensor[]> {
		return readTensors([...this.params.entries()]);
	}

	dispose(): void {
		this.steps.dispose();
		for (const v of this.params.values()) v.dispose();
		this.optimizer.dispose();
	}
}
