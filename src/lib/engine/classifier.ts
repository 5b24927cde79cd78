/**
 * A text classifier on the GPU: the model's parameters as tfjs variables, its optimizer, and the
 * three things done with them (a training step, an evaluation pass, a prediction). One tf.tidy per
 * step; running sums stay on the GPU and are read back only when the loop logs.
 */
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import { forward, initParams, type Params } from './models/transformer';
import { createOptimizer, hasOptimizerState, readWithOptimizerState, type Optimizer } from './train/optimizer';
import { StepAccumulator, WHOLE_STEP, type MicroStep, type WindowStats } from './train/step';
import type { CompiledSummary } from './compiled/compiled-steps';
import { crossEntropy, sigmoidCrossEntropy } from './ops';
import { makeBatch, type HostBatch, type LabelSets, type TokenDropout, type TokenRows } from './batching';
import { isMultiLabelRun } from '../shared/config';
import { readTensors, toVariables, type HostTensor } from './tensors';
import { decide, MULTILABEL_THRESHOLD } from './eval/multilabel';

export interface SpecialIds {
	padId: number;
	clsId?: number;
}

export type { WindowStats } from './train/step';

export interface EvalOutput {
	loss: number;
	accuracy: number;
	preds: Int32Array;
	/** Row-major (n, C) probabilities: a softmax over classes, or (multi-label) a sigmoid per label. */
	probs: Float32Array;
	labels: Int32Array;
	/** Multi-label: the true and the predicted label sets (probability ≥ `threshold`), (n, C) 0/1 row-major. */
	sets?: { truth: Uint8Array; predicted: Uint8Array; threshold: number };
}

export { MULTILABEL_THRESHOLD };

/** The rows' label sets, in `rows` order. */
export function gatherSets(sets: LabelSets, rows: readonly number[]): Uint8Array {
	const w = sets.width;
	const out = new Uint8Array(rows.length * w);
	rows.forEach((r, i) => out.set(sets.data.subarray(r * w, (r + 1) * w), i * w));
	return out;
}

/**
 * Multi-label results from row-major (n, L) sigmoid probabilities: the labels at or above the
 * threshold predicted, the loss the mean binary cross-entropy over the n·L entries (as
 * BCEWithLogitsLoss), the accuracy the share of rows whose whole set is right (sklearn's
 * accuracy_score on indicator matrices: subset accuracy). `preds` is each row's most probable label.
 */
export function summarizeSigmoid(probs: Float32Array, labels: Int32Array, truth: Uint8Array, threshold = MULTILABEL_THRESHOLD): EvalOutput {
	const n = labels.length;
	const l = n ? probs.length / n : 0;
	const predicted = decide(probs, threshold);
	const preds = new Int32Array(n);
	let bce = 0;
	let exact = 0;
	for (let i = 0; i < n; i++) {
		let same = true;
		for (let j = 0; j < l; j++) {
			const p = probs[i * l + j];
			const y = truth[i * l + j];
			if (predicted[i * l + j] !== y) same = false;
			bce -= Math.log(Math.max(y ? p : 1 - p, 1e-12));
			if (p > probs[i * l + preds[i]]) preds[i] = j;
		}
		if (same) exact++;
	}
	return { loss: bce / Math.max(1, n * l), accuracy: exact / Math.max(1, n), preds, probs, labels, sets: { truth, predicted, threshold } };
}

/** Rows (of the real ones, `real` 1) whose every label is decided right at logit 0 (probability 0.5): summed on the GPU. */
export function setsExactlyRight(logits: tf.Tensor2D, targets: tf.Tensor2D, real: tf.Tensor1D): tf.Tensor {
	const predicted = logits.greaterEqual(0).toFloat(); // (B, L)
	const wrong = predicted.sub(targets).abs().sum(-1); // (B)
	return wrong.equal(0).toFloat().mul(real).sum();
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
				const logits = forward(this.p, model, this.inputs(hb), { training: true, seed, checkpoint: !!this.config.train.activationCheckpointing }) as tf.Tensor2D; // (B, C)
				if (hb.multiHot) {
					// Multi-label: a sigmoid per label, binary cross-entropy over the real rows only.
					const targets = tf.tensor2d(hb.multiHot, [hb.rows, model.numClasses]);
					const real = tf.tensor1d(hb.labels, 'int32').greaterEqual(0).toFloat() as tf.Tensor1D;
					return { loss: sigmoidCrossEntropy(logits, targets, real), correct: setsExactlyRight(logits, targets, real) };
				}
				const labels = tf.tensor1d(hb.labels, 'int32');
				const correct = logits.argMax(-1).toInt().equal(labels).toFloat().sum();
				return { loss: crossEntropy(logits, labels, { labelSmoothing }), correct };
			},
			hb.real,
			lr,
			micro,
			{ kind: `${hb.multiHot ? 'multi' : 'cls'}:${hb.rows}x${hb.length}:${hb.real}`, arrays: { ids: hb.ids, mask: hb.mask, labels: hb.labels, ...(hb.multiHot ? { multiHot: hb.multiHot } : {}) }, seed }
		);
	}

	/** Compile whole training steps (issue 10; WebGPU's fast path only): see StepAccumulator.setCompiled. */
	setCompiledSteps(on: boolean): void {
		this.steps.setCompiled(on);
	}

	compiledSummary(): CompiledSummary | null {
		return this.steps.compiledSummary();
	}

	/** Mean loss, accuracy and grad norm since the last call (reads three scalars back). */
	takeStats(): Promise<WindowStats | null> {
		return this.steps.take();
	}

	/** Class probabilities (a sigmoid per label when multi-label) for a fixed-shape batch; only the real rows are returned. */
	async probs(hb: HostBatch): Promise<Float32Array> {
		const multi = this.multiLabel;
		const out = tf.tidy(() => {
			const logits = forward(this.p, this.config.model, this.inputs(hb)) as tf.Tensor2D;
			return multi ? tf.sigmoid(logits) : tf.softmax(logits, -1);
		});
		const data = (await out.data()) as Float32Array;
		out.dispose();
		return data.slice(0, hb.real * this.config.model.numClasses);
	}

	/**
	 * `shouldStop` is asked between batches, as PretrainedSession's; `threshold`: a multi-label run's
	 * decision threshold (the run's own, MULTILABEL_THRESHOLD by default).
	 */
	async evaluate(data: TokenRows, rows: number[], onProgress?: (done: number) => void, shouldStop?: () => boolean, threshold = MULTILABEL_THRESHOLD): Promise<EvalOutput> {
		const c = this.config.model.numClasses;
		const bs = this.config.train.batchSize;
		const probs = new Float32Array(rows.length * c);
		for (let i = 0; i < rows.length; i += bs) {
			if (shouldStop?.()) throw new UserError('cancelled', 'Evaluation was cancelled.');
			const chunk = rows.slice(i, i + bs);
			probs.set(await this.probs(this.batch(data, chunk)), i * c);
			onProgress?.(Math.min(rows.length, i + bs));
		}
		const labels = Int32Array.from(rows, (r) => data.labels[r]);
		return this.multiLabel && data.labelSets ? summarizeSigmoid(probs, labels, gatherSets(data.labelSets, rows), threshold) : summarizeProbs(probs, labels, c);
	}

	/** A multi-label classifier: sigmoid probabilities per label (`probs`), label sets in `evaluate`. */
	get multiLabel(): boolean {
		return isMultiLabelRun(this.config);
	}

	/** Parameters and optimizer moments, read back for a checkpoint. */
	async snapshot(): Promise<HostTensor[]> {
		return readWithOptimizerState(this.optimizer, [...this.params.entries()]);
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
