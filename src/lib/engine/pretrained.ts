/**
 * A pretrained Hugging Face model on the GPU, being fine-tuned: its parameters as tfjs variables
 * keyed by the Hugging Face names, its optimizer, and what the training loop asks of a session (a
 * step, the window's statistics, an evaluation pass, a snapshot). Three objectives, as the
 * transformers head classes define them:
 *
 *   classification  `*ForSequenceClassification`: a new head for the user's labels
 *   causal-lm       `*ForCausalLM` on packed blocks of domain text
 *   instruction     `*ForCausalLM` with the loss only on response tokens (labels -100 on the prompt)
 *
 * The objective becomes the `architectures` entry of config.json, so the registry builds the same
 * head transformers would for that config, and an exported model loads there as the same class.
 */
import * as tf from '@tensorflow/tfjs';
import type { Objective, RunConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import { makeBatch, bucketFor, lengthBuckets, type HostBatch, type TokenDropout, type TokenRows } from './batching';
import type { SafetensorsTensor } from './io/safetensors';
import { initMissing, paramsFromCheckpoint } from './models/load';
import { resolveConfig } from './models/registry';
import type { ArchSpec, Batch, HfConfigBase, Params } from './models/spec';
import { readTensors, toVariables, type HostTensor } from './tensors';
import { AdamW } from './train/adamw';
import { clipByGlobalNorm } from './train/clip';
import type { EvalOutput, WindowStats } from './classifier';

/** Rows of a tokenized cache, plus where each row's loss starts (instruction tuning). */
export interface LmTokenRows extends TokenRows {
	lossStart?: Int32Array;
}

/** A batch for language modelling: per-token labels, -100 where nothing is predicted. */
export interface LmHostBatch extends HostBatch {
	tokenLabels: Int32Array; // (B * T)
	/** Positions whose next token counts (the loss's denominator). */
	targets: number;
}

const CLASS_PREFIX: Record<string, string> = { gpt2: 'GPT2', llama: 'Llama', qwen2: 'Qwen2', bert: 'Bert' };

/**
 * config.json as the head class for `objective` would save it: `architectures`, and for
 * classification `num_labels`, `id2label`/`label2id` and `problem_type`.
 */
export function configForObjective(json: Record<string, unknown>, objective: Objective, labels: string[]): Record<string, unknown> {
	const type = String(json.model_type);
	const prefix = CLASS_PREFIX[type];
	if (!prefix) throw new UserError('invalid-config', `Model type ${JSON.stringify(type)} is not supported for fine-tuning. Supported: ${Object.keys(CLASS_PREFIX).join(', ')}.`);
	if (objective === 'classification') {
		const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
		const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
		return { ...json, architectures: [`${prefix}ForSequenceClassification`], num_labels: labels.length, id2label, label2id, problem_type: 'single_label_classification' };
	}
	if (type === 'bert')
		throw new UserError('invalid-config', 'BERT is an encoder: it classifies text but does not generate it. For language modelling or instruction tuning pick a causal model (GPT-2, SmolLM2, Qwen2.5).');
	return { ...json, architectures: [type === 'gpt2' ? 'GPT2LMHeadModel' : `${prefix}ForCausalLM`] };
}

/** Per-row labels for the causal-LM loss: the row's own ids from `lossStart` on, -100 elsewhere. */
export function makeLmBatch(data: LmTokenRows, rowIdx: number[], batchSize: number, contextLength: number, padId: number): LmHostBatch {
	let longest = 2;
	for (const r of rowIdx) longest = Math.max(longest, Math.min(contextLength, data.offsets[r + 1] - data.offsets[r]));
	const t = bucketFor(longest, lengthBuckets(contextLength));
	const ids = new Int32Array(batchSize * t).fill(padId);
	const mask = new Float32Array(batchSize * t);
	const tokenLabels = new Int32Array(batchSize * t).fill(-100);
	let targets = 0;
	rowIdx.forEach((r, b) => {
		const start = data.offsets[r];
		const n = Math.min(t, data.offsets[r + 1] - start);
		ids.set(data.ids.subarray(start, start + n), b * t);
		mask.fill(1, b * t, b * t + n);
		// Position 0 is never predicted (nothing precedes it), so counting starts at 1.
		const from = Math.max(1, data.lossStart?.[r] ?? 0);
		for (let j = from; j < n; j++) tokenLabels[b * t + j] = ids[b * t + j];
		targets += Math.max(0, n - from);
	});
	for (let b = rowIdx.length; b < batchSize; b++) mask[b * t] = 1;
	return { ids, mask, labels: new Int32Array(batchSize).fill(-1), tokenLabels, targets, rows: batchSize, length: t, real: rowIdx.length };
}

export interface SpecialIds {
	padId: number;
}

export class PretrainedSession {
	readonly params: Map<string, tf.Variable>;
	readonly optimizer: AdamW;
	readonly spec: ArchSpec;
	readonly hf: HfConfigBase;
	readonly objective: Objective;
	private readonly byVarName = new Map<string, string>();
	private sums: { loss: tf.Tensor; correct: tf.Tensor; gradNorm: tf.Tensor; steps: number; count: number } | null = null;

	constructor(
		readonly config: RunConfig,
		weights: Record<string, { shape: number[]; data: Float32Array }>,
		readonly special: SpecialIds,
		labels: string[]
	) {
		const p = config.pretrained;
		if (!p) throw new Error('PretrainedSession needs a run config with `pretrained` set.');
		this.objective = p.objective;
		const { spec, config: hf } = resolveConfig(configForObjective(p.hfConfig, p.objective, labels));
		this.spec = spec;
		this.hf = hf;
		this.params = toVariables(weights);
		for (const [name, v] of this.params) this.byVarName.set(v.name, name);
		this.optimizer = new AdamW(this.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: config.train.weightDecay });
	}

	/**
	 * From the downloaded checkpoint: the stored tensors where the model has them, a freshly
	 * initialised head where it does not (seeded from the run's seed, as transformers' `_init_weights`).
	 */
	static async fromPretrained(config: RunConfig, tensors: Map<string, SafetensorsTensor>, special: SpecialIds, labels: string[]): Promise<PretrainedSession> {
		const p = config.pretrained!;
		const { spec, config: hf } = resolveConfig(configForObjective(p.hfConfig, p.objective, labels));
		const loaded = paramsFromCheckpoint(spec, hf, tensors);
		let params: Params = loaded.params;
		try {
			if (loaded.missing.length) params = { ...params, ...initMissing(spec, hf, loaded.missing, (config.train.seed ^ 0x85ebca6b) >>> 0) };
			const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
			for (const [name, t] of Object.entries(params)) weights[name] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
			return new PretrainedSession(config, weights, special, labels);
		} finally {
			Object.values(params).forEach((t) => t.dispose());
		}
	}

	/** From one of this run's checkpoints (weights and, to resume, optimizer moments). */
	static fromTensors(config: RunConfig, tensors: Map<string, { shape: number[]; data: Float32Array }>, special: SpecialIds, labels: string[], optimizerStep: number): PretrainedSession {
		const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
		for (const [name, t] of tensors) if (!name.startsWith('optimizer.')) weights[name] = t;
		const s = new PretrainedSession(config, weights, special, labels);
		if (tensors.has(`optimizer.m.${[...s.params.keys()][0]}`)) s.optimizer.loadState(tensors, optimizerStep);
		return s;
	}

	get numParams(): number {
		let n = 0;
		for (const v of this.params.values()) n += v.size;
		return n;
	}

	private get p(): Params {
		return Object.fromEntries(this.params) as Params;
	}

	private get classifies(): boolean {
		return this.objective === 'classification';
	}

	batch(data: LmTokenRows, rows: number[], _drop?: TokenDropout): HostBatch | LmHostBatch {
		const ctx = this.config.pretrained!.contextLength;
		const bs = this.config.train.batchSize;
		// Tokens already carry the model's special tokens ([CLS] … [SEP], BOS); nothing is prepended.
		return this.classifies ? makeBatch(data, rows, bs, ctx, this.special.padId) : makeLmBatch(data, rows, bs, ctx, this.special.padId);
	}

	private inputs(hb: HostBatch): Batch {
		return {
			inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'),
			attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length], 'float32')
		};
	}

	/** Loss plus the number of correct predictions (classes, or next tokens where labels count). */
	private lossAndCorrect(logits: tf.Tensor, hb: HostBatch): { loss: tf.Scalar; correct: tf.Tensor } {
		if (this.classifies) {
			const labels = tf.tensor1d(hb.labels, 'int32');
			const loss = this.spec.loss(logits, labels, this.hf);
			const correct = logits.argMax(-1).toInt().equal(labels).toFloat().sum();
			return { loss, correct };
		}
		const lm = hb as LmHostBatch;
		const [b, t] = [hb.rows, hb.length];
		const labels = tf.tensor2d(lm.tokenLabels, [b, t], 'int32');
		const loss = this.spec.loss(logits, labels, this.hf);
		const next = labels.slice([0, 1], [b, t - 1]); // (B, T-1): what position t predicts
		const pred = logits.slice([0, 0, 0], [b, t - 1, -1]).argMax(-1).toInt(); // (B, T-1)
		const correct = pred.equal(next).logicalAnd(next.greaterEqual(0)).toFloat().sum();
		return { loss, correct };
	}

	/** How many examples (classification) or predicted tokens (LM) a batch's mean loss is over. */
	private weight(hb: HostBatch): number {
		return this.classifies ? hb.real : (hb as LmHostBatch).targets;
	}

	trainStep(hb: HostBatch, lr: number, seed: number): void {
		// Dummy rows that fill the fixed batch shape have label -1, which the loss ignores.
		const w = this.weight(hb);
		const next = tf.tidy(() => {
			const batch = this.inputs(hb);
			let correct: tf.Tensor | null = null;
			const { value, grads } = tf.variableGrads(() => {
				const logits = this.spec.forward(this.p, this.hf, batch, { training: true, dropoutSeed: seed });
				const out = this.lossAndCorrect(logits, hb);
				correct = tf.keep(out.correct);
				return out.loss;
			}, [...this.params.values()]);
			const named: Record<string, tf.Tensor> = {};
			for (const [vn, g] of Object.entries(grads)) named[this.byVarName.get(vn)!] = g;
			const { grads: clipped, norm } = clipByGlobalNorm(named, this.config.train.gradClip);
			this.optimizer.apply(clipped, lr);
			const c = correct as unknown as tf.Tensor;
			const weighted = value.mul(w);
			const out = this.sums
				? { loss: this.sums.loss.add(weighted), correct: this.sums.correct.add(c), gradNorm: this.sums.gradNorm.add(norm) }
				: { loss: weighted, correct: c.clone(), gradNorm: norm };
			c.dispose();
			return out;
		});
		const prev = this.sums;
		this.sums = { ...next, steps: (prev?.steps ?? 0) + 1, count: (prev?.count ?? 0) + w };
		if (prev) tf.dispose([prev.loss, prev.correct, prev.gradNorm]);
	}

	async takeStats(): Promise<WindowStats | null> {
		const s = this.sums;
		if (!s) return null;
		this.sums = null;
		const [loss, correct, gn] = await Promise.all([s.loss.data(), s.correct.data(), s.gradNorm.data()]);
		tf.dispose([s.loss, s.correct, s.gradNorm]);
		const n = Math.max(1, s.count);
		return { loss: loss[0] / n, accuracy: correct[0] / n, gradNorm: gn[0] / s.steps, steps: s.steps };
	}

	/** Class probabilities of the real rows of a classification batch, row-major (n, C). */
	async probs(hb: HostBatch): Promise<Float32Array> {
		const out = tf.tidy(() => tf.softmax(this.spec.forward(this.p, this.hf, this.inputs(hb)) as tf.Tensor2D, -1));
		const data = (await out.data()) as Float32Array;
		out.dispose();
		return data.slice(0, hb.real * out.shape[1]!);
	}

	get numClasses(): number {
		return this.config.pretrained!.numClasses;
	}

	/**
	 * Classification: probabilities, predictions, mean loss per example. Language modelling:
	 * token-weighted mean loss and next-token accuracy over the rows (perplexity = exp(loss)).
	 */
	async evaluate(data: LmTokenRows, rows: number[], onProgress?: (done: number) => void, shouldStop?: () => boolean): Promise<EvalOutput & { score: number }> {
		const bs = this.config.train.batchSize;
		if (this.classifies) {
			const c = this.numClasses;
			const probs = new Float32Array(rows.length * c);
			for (let i = 0; i < rows.length; i += bs) {
				if (shouldStop?.()) throw new UserError('cancelled', 'Evaluation was cancelled.');
				probs.set(await this.probs(this.batch(data, rows.slice(i, i + bs))), i * c);
				onProgress?.(Math.min(rows.length, i + bs));
			}
			const labels = Int32Array.from(rows, (r) => data.labels[r]);
			const preds = new Int32Array(rows.length);
			let nll = 0;
			let correct = 0;
			for (let i = 0; i < rows.length; i++) {
				let best = 0;
				for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
				preds[i] = best;
				if (best === labels[i]) correct++;
				nll -= Math.log(Math.max(probs[i * c + labels[i]], 1e-12));
			}
			const n = Math.max(1, rows.length);
			return { loss: nll / n, accuracy: correct / n, preds, probs, labels, score: correct / n };
		}
		let lossSum = 0;
		let correct = 0;
		let count = 0;
		for (let i = 0; i < rows.length; i += bs) {
			if (shouldStop?.()) throw new UserError('cancelled', 'Evaluation was cancelled.');
			const hb = this.batch(data, rows.slice(i, i + bs)) as LmHostBatch;
			if (hb.targets > 0) {
				const out = tf.tidy(() => {
					const r = this.lossAndCorrect(this.spec.forward(this.p, this.hf, this.inputs(hb)), hb);
					return tf.stack([r.loss.mul(hb.targets), r.correct]);
				});
				const [l, c] = await out.data();
				out.dispose();
				lossSum += l;
				correct += c;
				count += hb.targets;
			}
			onProgress?.(Math.min(rows.length, i + bs));
		}
		const loss = lossSum / Math.max(1, count);
		const empty = new Int32Array(0);
		// Lower loss is better: the best checkpoint is chosen by -loss.
		return { loss, accuracy: correct / Math.max(1, count), preds: empty, probs: new Float32Array(0), labels: empty, score: -loss };
	}

	async snapshot(): Promise<HostTensor[]> {
		return readTensors([...this.params.entries(), ...this.optimizer.stateTensors()]);
	}

	async weights(): Promise<HostTensor[]> {
		return readTensors([...this.params.entries()]);
	}

	dispose(): void {
		if (this.sums) tf.dispose([this.sums.loss, this.sums.correct, this.sums.gradNorm]);
		this.sums = null;
		for (const v of this.params.values()) v.dispose();
		this.optimizer.dispose();
	}
}
