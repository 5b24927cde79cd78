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
 *
 * Which weights train is the run's `method` (shared/method.ts): all of them; a LoRA adapter
 * (train/lora.ts), whose checkpoints then hold only the adapter and a classifier's head; or all
 * but the first layers, or only the head. What does not train is kept as plain tensors that the
 * forward reads and the optimizer never sees.
 */
import * as tf from '@tensorflow/tfjs';
import { isMultiLabelRun, type Objective, type PretrainedConfig, type RunConfig } from '../shared/config';
import type { LmExamples } from '../shared/types';
import { withDropout } from '../shared/dropout';
import { UserError } from '../shared/errors';
import { makeBatch, bucketFor, lengthBuckets, type HostBatch, type TokenDropout, type TokenRows } from './batching';
import type { SafetensorsTensor } from './io/safetensors';
import { hostParamsFromCheckpoint, initMissing } from './models/load';
import { resolveConfig } from './models/registry';
import type { ArchSpec, Batch, HfConfigBase, Params } from './models/spec';
import { causalLmLossAndCorrect, singleLabelLossAndCorrect } from './models/heads';
import { readTensors, toTensors, toVariables, type HostTensor } from './tensors';
import { FULL, planMethod, type FineTuneMethod } from '../shared/method';
import { adapterNames, initAdapters, loraSetup, mergeAdapters, withLora, type LoraSetup } from './train/lora';
import { sigmoidCrossEntropy } from './ops';
import { createOptimizer, readWithOptimizerState, type Optimizer } from './train/optimizer';
import { StepAccumulator, WHOLE_STEP, type MicroStep, type StepInputs } from './train/step';
import type { CompiledSummary } from './compiled/compiled-steps';
import { gatherSets, MULTILABEL_THRESHOLD, setsExactlyRight, summarizeProbs, summarizeSigmoid, type EvalOutput, type WindowStats } from './classifier';

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

const CLASS_PREFIX: Record<string, string> = {
	gpt2: 'GPT2',
	llama: 'Llama',
	qwen2: 'Qwen2',
	bert: 'Bert',
	distilbert: 'DistilBert',
	roberta: 'Roberta',
	gpt_neox: 'GPTNeoX',
	mistral: 'Mistral',
	gemma: 'Gemma',
	phi3: 'Phi3'
};
const ENCODER_NAMES: Record<string, string> = { bert: 'BERT', distilbert: 'DistilBERT', roberta: 'RoBERTa' };

/**
 * config.json as the head class for `objective` would save it: `architectures`, and for
 * classification `num_labels`, `id2label`/`label2id` and `problem_type`.
 */
export function configForObjective(json: Record<string, unknown>, objective: Objective, labels: string[], dropout?: PretrainedConfig['dropout'], multiLabel = false): Record<string, unknown> {
	json = withDropout(json, dropout);
	const type = String(json.model_type);
	const prefix = CLASS_PREFIX[type];
	if (!prefix) throw new UserError('invalid-config', `Model type ${JSON.stringify(type)} is not supported for fine-tuning. Supported: ${Object.keys(CLASS_PREFIX).join(', ')}.`);
	if (objective === 'classification') {
		const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
		const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
		return { ...json, architectures: [`${prefix}ForSequenceClassification`], num_labels: labels.length, id2label, label2id, problem_type: multiLabel ? 'multi_label_classification' : 'single_label_classification' };
	}
	if (ENCODER_NAMES[type])
		throw new UserError('invalid-config', `${ENCODER_NAMES[type]} is an encoder: it classifies text but does not generate it. For language modelling or instruction tuning pick a causal model (GPT-2, SmolLM2, Qwen2.5, Pythia).`);
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

/**
 * The base checkpoint's tensors by parameter name, as host arrays; what does not fit (a fresh
 * head, a head sized for other labels) is left for the run's checkpoint to supply.
 */
export interface SpecialIds {
	padId: number;
}

export class PretrainedSession {
	/**
	 * The variables the optimizer trains: every parameter (full fine-tuning), those above the
	 * frozen layers, only the head (linear probe), or a LoRA adapter and a classifier's head.
	 */
	readonly params: Map<string, tf.Variable>;
	/** The parameters kept as loaded: plain tensors the forward reads and the optimizer never sees. */
	readonly frozen: Map<string, tf.Tensor>;
	readonly method: FineTuneMethod;
	/** A LoRA run's adapter (settings and adapted layers); null for the other methods. */
	readonly lora: LoraSetup | null;
	readonly optimizer: Optimizer;
	readonly spec: ArchSpec;
	readonly hf: HfConfigBase;
	readonly objective: Objective;
	private readonly byVarName = new Map<string, string>();
	private readonly steps: StepAccumulator;

	constructor(
		readonly config: RunConfig,
		weights: Record<string, { shape: number[]; data: Float32Array }>,
		readonly special: SpecialIds,
		labels: string[]
	) {
		const p = config.pretrained;
		if (!p) throw new Error('PretrainedSession needs a run config with `pretrained` set.');
		this.objective = p.objective;
		const { spec, config: hf } = resolveConfig(configForObjective(p.hfConfig, p.objective, labels, p.dropout, p.multiLabel));
		this.method = p.method ?? FULL;
		this.lora = this.method.kind === 'lora' ? loraSetup(spec, hf, this.method) : null;
		// A LoRA run's forward applies the adapters its params hold (peft's PeftModel around the model).
		this.spec = this.lora ? withLora(spec, this.lora) : spec;
		this.hf = hf;
		const trained = new Set([...planMethod(spec.paramShapes(hf), this.method).trained, ...adapterNames(this.lora?.modules ?? [])]);
		const lacking = [...Object.keys(spec.paramShapes(hf)), ...trained].filter((n) => !weights[n]);
		if (lacking.length) throw new Error(`The weights lack '${lacking[0]}'${lacking.length > 1 ? ` and ${lacking.length - 1} more` : ''}.`);
		const pick = (keep: boolean) => Object.fromEntries(Object.entries(weights).filter(([n]) => trained.has(n) === keep));
		this.params = toVariables(pick(true));
		this.frozen = toTensors(pick(false));
		for (const [name, v] of this.params) this.byVarName.set(v.name, name);
		this.optimizer = createOptimizer(this.params, config.train);
		this.steps = new StepAccumulator(this.optimizer, config.train.gradClip);
	}

	/**
	 * From the downloaded checkpoint: the stored tensors where the model has them, a freshly
	 * initialised head where it does not (seeded from the run's seed, as transformers' `_init_weights`).
	 */
	static async fromPretrained(config: RunConfig, tensors: Map<string, SafetensorsTensor>, special: SpecialIds, labels: string[]): Promise<PretrainedSession> {
		const p = config.pretrained!;
		const { spec, config: hf } = resolveConfig(configForObjective(p.hfConfig, p.objective, labels, p.dropout, p.multiLabel));
		// Host arrays straight from the checkpoint: the session uploads each weight once, as a variable.
		const { weights, missing } = hostParamsFromCheckpoint(spec, hf, tensors);
		if (missing.length) {
			const fresh = initMissing(spec, hf, missing, (config.train.seed ^ 0x85ebca6b) >>> 0); // only a small head
			try {
				for (const [name, t] of Object.entries(fresh)) weights[name] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
			} finally {
				Object.values(fresh).forEach((t) => t.dispose());
			}
		}
		if (p.method?.kind === 'lora') Object.assign(weights, initAdapters(spec, hf, loraSetup(spec, hf, p.method).modules, p.method.rank, (config.train.seed ^ 0x4c6f5241) >>> 0));
		return new PretrainedSession(config, weights, special, labels);
	}

	/**
	 * From one of this run's checkpoints (weights and, to resume, optimizer moments). A LoRA run's
	 * checkpoint holds only the adapter and a classifier's head: `base` is then the cached
	 * pretrained model's tensors (`loadHubModel(config.pretrained).tensors`), the rest of the model.
	 */
	static fromTensors(
		config: RunConfig,
		tensors: Map<string, { shape: number[]; data: Float32Array }>,
		special: SpecialIds,
		labels: string[],
		optimizerStep: number,
		base?: Map<string, SafetensorsTensor>
	): PretrainedSession {
		const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
		if (config.pretrained?.method?.kind === 'lora') {
			if (!base) throw new Error("A LoRA checkpoint holds only the adapter: pass the base model's tensors as `base`.");
			const p = config.pretrained;
			const { spec, config: hf } = resolveConfig(configForObjective(p.hfConfig, p.objective, labels, p.dropout, p.multiLabel));
			Object.assign(weights, hostParamsFromCheckpoint(spec, hf, base).weights);
		}
		for (const [name, t] of tensors) if (!name.startsWith('optimizer.')) weights[name] = t;
		const s = new PretrainedSession(config, weights, special, labels);
		if (tensors.has(`optimizer.m.${[...s.params.keys()][0]}`)) s.optimizer.loadState(tensors, optimizerStep);
		return s;
	}

	/** Every parameter, a LoRA adapter's included (as peft's `print_trainable_parameters` counts). */
	get totalParams(): number {
		let n = this.trainableParams;
		for (const t of this.frozen.values()) n += t.size;
		return n;
	}

	get trainableParams(): number {
		let n = 0;
		for (const v of this.params.values()) n += v.size;
		return n;
	}

	get numParams(): number {
		return this.totalParams;
	}

	/** What the forward reads: the frozen tensors and the trained variables (a LoRA adapter unmerged; `spec` applies it). */
	get modelParams(): Params {
		return this.p;
	}

	private get p(): Params {
		return { ...Object.fromEntries(this.frozen), ...Object.fromEntries(this.params) } as Params;
	}

	/** The model's parameters (no adapter), in `paramShapes` order. */
	private modelEntries(p: Params = this.p): [string, tf.Tensor][] {
		return Object.keys(this.spec.paramShapes(this.hf)).map((n) => [n, p[n]]);
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

	/**
	 * Loss plus the number of correct predictions (classes, or next tokens where labels count).
	 * Training a single-label classifier may smooth the labels (the loss is then torch's
	 * cross_entropy with label_smoothing; evaluation always reports the plain one).
	 */
	private lossAndCorrect(logits: tf.Tensor, hb: HostBatch, labelSmoothing = 0): { loss: tf.Scalar; correct: tf.Tensor } {
		if (this.classifies && hb.multiHot) {
			// Multi-label: a sigmoid per label, binary cross-entropy over the real rows only.
			const c = logits.shape[1]!;
			const targets = tf.tensor2d(hb.multiHot, [hb.rows, c]);
			const real = tf.tensor1d(hb.labels, 'int32').greaterEqual(0).toFloat() as tf.Tensor1D;
			return { loss: sigmoidCrossEntropy(logits as tf.Tensor2D, targets, real), correct: setsExactlyRight(logits as tf.Tensor2D, targets, real) };
		}
		if (this.classifies) {
			const labels = tf.tensor1d(hb.labels, 'int32');
			const c = logits.shape[1]!;
			// The loss `spec.loss` picks for integer labels, with its hits (on the fast path from the loss kernels).
			if ((this.hf.problemType ?? (c === 1 ? 'regression' : 'single_label_classification')) === 'single_label_classification')
				return singleLabelLossAndCorrect(logits as tf.Tensor2D, labels, c > 1 ? labelSmoothing : 0);
			const loss = this.spec.loss(logits, labels, this.hf); // regression: no label smoothing
			const correct = logits.argMax(-1).toInt().equal(labels).toFloat().sum();
			return { loss, correct };
		}
		const lm = hb as LmHostBatch;
		// A causal LM (encoders are refused for language modelling at load): its loss is every decoder
		// spec's (taskLoss → causalLmLoss), with the next-token hits, on the fast path from the loss kernels.
		return causalLmLossAndCorrect(logits, tf.tensor2d(lm.tokenLabels, [hb.rows, hb.length], 'int32'));
	}

	/**
	 * Language modelling: each row's summed NLL, correct next-token predictions and predicted
	 * tokens, (3, B): log-softmax at position t gathered at the label of t + 1, labels < 0 ignored.
	 */
	private rowSums(logits: tf.Tensor, hb: HostBatch): tf.Tensor2D {
		const lm = hb as LmHostBatch;
		const [b, t] = [hb.rows, hb.length];
		const v = logits.shape[2]!;
		const next = tf.tensor2d(lm.tokenLabels, [b, t], 'int32').slice([0, 1], [b, t - 1]); // (B, T-1)
		const valid = next.greaterEqual(0); // (B, T-1)
		const scores = logits.slice([0, 0, 0], [b, t - 1, v]).reshape([b * (t - 1), v]); // (N, V), N = B*(T-1)
		const lse = scores.logSumExp(-1); // (N)
		const safe = tf.where(valid, next, tf.zerosLike(next)).reshape([b * (t - 1), 1]); // (N, 1)
		const picked = tf.gather(scores, safe, 1, 1).reshape([b * (t - 1)]); // (N)
		const validF = valid.toFloat(); // (B, T-1)
		const nll = lse.sub(picked).reshape([b, t - 1]).mul(validF).sum(1); // (B)
		const right = scores.argMax(-1).toInt().reshape([b, t - 1]).equal(next).logicalAnd(valid).toFloat().sum(1); // (B)
		return tf.stack([nll, right, validF.sum(1)]) as tf.Tensor2D; // (3, B)
	}

	/** How many examples (classification) or predicted tokens (LM) a batch's mean loss is over. */
	private weight(hb: HostBatch): number {
		return this.classifies ? hb.real : (hb as LmHostBatch).targets;
	}

	/** One micro-batch of an optimizer step (the whole step unless `micro` says otherwise). */
	trainStep(hb: HostBatch, lr: number, seed: number, micro: MicroStep = WHOLE_STEP): void {
		// Dummy rows that fill the fixed batch shape have label -1, which the loss ignores.
		const labelSmoothing = this.config.train.labelSmoothing ?? 0;
		this.steps.run(
			() => this.lossAndCorrect(this.spec.forward(this.p, this.hf, this.inputs(hb), { training: true, dropoutSeed: seed, checkpoint: !!this.config.train.activationCheckpointing }), hb, labelSmoothing),
			this.weight(hb),
			lr,
			micro,
			this.stepInputs(hb, seed)
		);
	}

	/** A training batch's kind and host arrays, for a compiled step (train/step.ts `StepInputs`). */
	private stepInputs(hb: HostBatch, seed: number): StepInputs {
		const lm = hb as Partial<LmHostBatch>;
		const arrays: Record<string, ArrayBufferView> = { ids: hb.ids, mask: hb.mask, labels: hb.labels };
		if (hb.multiHot) arrays.multiHot = hb.multiHot;
		if (lm.tokenLabels) arrays.tokenLabels = lm.tokenLabels;
		return { kind: `${this.classifies ? (hb.multiHot ? 'multi' : 'cls') : 'lm'}:${hb.rows}x${hb.length}:${hb.real}`, arrays, seed };
	}

	/** Compile whole training steps (issue 10; WebGPU's fast path only): see StepAccumulator.setCompiled. */
	setCompiledSteps(on: boolean): void {
		this.steps.setCompiled(on);
	}

	compiledSummary(): CompiledSummary | null {
		return this.steps.compiledSummary();
	}

	takeStats(): Promise<WindowStats | null> {
		return this.steps.take();
	}

	/** Class probabilities of the real rows of a classification batch, row-major (n, C). */
	async probs(hb: HostBatch): Promise<Float32Array> {
		const multi = this.multiLabel;
		const out = tf.tidy(() => {
			const logits = this.spec.forward(this.p, this.hf, this.inputs(hb)) as tf.Tensor2D;
			return multi ? tf.sigmoid(logits) : tf.softmax(logits, -1);
		});
		const data = (await out.data()) as Float32Array;
		out.dispose();
		return data.slice(0, hb.real * out.shape[1]!);
	}

	get numClasses(): number {
		return this.config.pretrained!.numClasses;
	}

	/** A multi-label classifier: sigmoid probabilities per label (`probs`), label sets in `evaluate`. */
	get multiLabel(): boolean {
		return isMultiLabelRun(this.config);
	}

	/**
	 * Classification: probabilities, predictions, mean loss per example. Language modelling:
	 * token-weighted mean loss and next-token accuracy over the rows (perplexity = exp(loss)).
	 */
	async evaluate(
		data: LmTokenRows,
		rows: number[],
		onProgress?: (done: number) => void,
		shouldStop?: () => boolean,
		threshold = MULTILABEL_THRESHOLD
	): Promise<EvalOutput & { score: number; perRow?: LmExamples }> {
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
			const out = this.multiLabel && data.labelSets ? summarizeSigmoid(probs, labels, gatherSets(data.labelSets, rows), threshold) : summarizeProbs(probs, labels, c);
			return { ...out, score: out.accuracy };
		}
		let lossSum = 0;
		let correct = 0;
		let count = 0;
		// Per-sequence sums (NLL, predicted and correct tokens) so two runs can be compared paired on the same sequences.
		const perRow = { row: Int32Array.from(rows), nll: new Float32Array(rows.length), tokens: new Int32Array(rows.length), correct: new Int32Array(rows.length) };
		for (let i = 0; i < rows.length; i += bs) {
			if (shouldStop?.()) throw new UserError('cancelled', 'Evaluation was cancelled.');
			const chunk = rows.slice(i, i + bs);
			const hb = this.batch(data, chunk) as LmHostBatch;
			if (hb.targets > 0) {
				const out = tf.tidy(() => {
					const logits = this.spec.forward(this.p, this.hf, this.inputs(hb));
					const r = this.lossAndCorrect(logits, hb);
					return tf.concat([tf.stack([r.loss.mul(hb.targets), r.correct]), this.rowSums(logits, hb).flatten()]);
				});
				const v = await out.data();
				out.dispose();
				lossSum += v[0];
				correct += v[1];
				count += hb.targets;
				const b = hb.rows;
				for (let j = 0; j < chunk.length; j++) {
					perRow.nll[i + j] = v[2 + j];
					perRow.correct[i + j] = v[2 + b + j];
					perRow.tokens[i + j] = v[2 + 2 * b + j];
				}
			}
			onProgress?.(Math.min(rows.length, i + bs));
		}
		const loss = lossSum / Math.max(1, count);
		const empty = new Int32Array(0);
		// Lower loss is better: the best checkpoint is chosen by -loss.
		return { loss, accuracy: correct / Math.max(1, count), preds: empty, probs: new Float32Array(0), labels: empty, score: -loss, perRow };
	}

	/**
	 * A checkpoint: the weights and the optimizer's state. A LoRA run's holds only what trains
	 * (adapter, a classifier's head); its base is the cached pretrained model (see `fromTensors`).
	 */
	async snapshot(): Promise<HostTensor[]> {
		const weights = this.lora ? [...this.params.entries()] : this.modelEntries();
		return readWithOptimizerState(this.optimizer, weights);
	}

	/** Every parameter of the model by its transformers name, for export: a LoRA adapter merged into its layers. */
	async weights(): Promise<HostTensor[]> {
		if (!this.lora) return readTensors(this.modelEntries());
		const merged = mergeAdapters(this.p, this.p, this.lora, this.lora.fanInFanOut);
		try {
			return await readTensors(this.modelEntries({ ...this.p, ...merged }));
		} finally {
			tf.dispose(Object.values(merged));
		}
	}

	/** A LoRA run's adapter and a classifier's head, for `exportPeftAdapter` (train/lora.ts). */
	async adapterTensors(): Promise<HostTensor[]> {
		if (!this.lora) throw new Error('Only a LoRA run has an adapter to export.');
		return readTensors([...this.params.entries()]);
	}

	dispose(): void {
		this.steps.dispose();
		for (const v of this.params.values()) v.dispose();
		for (const t of this.frozen.values()) t.dispose();
		this.optimizer.dispose();
	}
}
