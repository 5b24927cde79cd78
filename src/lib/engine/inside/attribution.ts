/**
 * Why a classifier chose a label, token by token.
 *
 * Integrated gradients (Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks", ICML
 * 2017, eq. 1 and §3 "Computing integrated gradients") on the input word embeddings: for token j
 * with embedding e_j and baseline b_j,
 *
 *   IG_j = Σ_d (e_j − b_j)_d · ∫₀¹ ∂F(b + α(e − b)) / ∂x_{j,d} dα
 *
 * where F is the chosen class's logit; the integral is a Riemann sum (right endpoints α = k/m,
 * k = 1..m) or the trapezoid rule (α = k/m, k = 0..m). Completeness (their Proposition 1): Σ_j IG_j
 * equals F(e) − F(b); the relative gap is the check that enough steps were taken. Only the word
 * embeddings move; position (and token-type) embeddings stay as the model adds them.
 *
 * Occlusion (Zeiler & Fergus 2014, applied to tokens as in Li, Monroe & Jurafsky 2016, "leave one
 * out"): drop one token at a time and recompute the class probability.
 *
 * Both go through the models' own forward, with no second implementation: the word-embedding
 * table in the params is swapped for a table whose rows ARE the interpolated embeddings (one row per
 * position and step) and the ids point at those rows, so `embedding(table, ids)` in the model
 * returns exactly the inputs IG needs and tf.grad w.r.t. that table gives their gradients.
 *
 * Batch shapes come from a few fixed sizes, as training's do (tfjs-webgpu keeps a buffer per exact
 * size): the sequence is right-padded under the attention mask to its length bucket
 * (batching.ts), and the steps run in chunks of a power of two (unused slots weigh 0).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/spec';
import { robertaPositions } from '../models/roberta';
import { forward as scratchForward } from '../models/transformer';
import { ClassifierSession } from '../classifier';
import { PretrainedSession } from '../pretrained';
import { UserError } from '../../shared/errors';
import { bucketFor, lengthBuckets } from '../batching';

export type IgRule = 'riemann' | 'trapezoid';
export type IgBaseline = 'zero' | 'pad';

/** A classifier as attribution sees it: its params, its forward, where its word embeddings are. */
export interface ClassifierModel {
	params: Params;
	/** (B, C) logits for (B, T) ids with an attention mask (and positions where the model needs them). */
	forward(params: Params, batch: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; positionIds?: tf.Tensor2D }): tf.Tensor;
	/** The name of the (vocab, d) word-embedding table in `params`. */
	embeddingName: string;
	/** Position ids the model derives from the ids themselves (RoBERTa); undefined when it numbers 0..T−1. */
	positionsFor?(ids: number[]): number[];
	padId: number;
	/** The model's context: sequences are padded to its length buckets. Absent: no padding. */
	contextLength?: number;
	/** A multi-label head: probabilities are a sigmoid per label, not a softmax over classes. */
	multiLabel?: boolean;
}

/** Probabilities from (B, C) logits as the head defines them. */
export function headProbs(model: Pick<ClassifierModel, 'multiLabel'>, logits: tf.Tensor): tf.Tensor {
	return model.multiLabel ? tf.sigmoid(logits) : tf.softmax(logits, -1);
}

/** The padded length of a `t`-token sequence: its length bucket (never shorter than t). */
function paddedLength(model: ClassifierModel, t: number): number {
	return model.contextLength ? Math.max(t, bucketFor(t, lengthBuckets(model.contextLength))) : t;
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** (rows, tb) mask: the first t positions of every row are tokens. */
function maskFor(rows: number, t: number, tb: number): tf.Tensor2D {
	return tf.tensor2d(Array.from({ length: rows * tb }, (_, i) => (i % tb < t ? 1 : 0)), [rows, tb]);
}

export interface IgOptions {
	/** Interpolation steps m (the number of gradient evaluations is m, or m + 1 for the trapezoid). */
	steps: number;
	rule: IgRule;
	/** The reference input: all-zero word embeddings, or the pad token's embedding at every position. */
	baseline: IgBaseline;
	/** Steps evaluated in one forward/backward batch (memory vs speed). */
	chunk?: number;
}

export interface IgResult {
	/** One attribution per input position, in logit units. */
	attributions: number[];
	/** Σ attributions. */
	sum: number;
	/** The target logit at the input and at the baseline. */
	logit: number;
	baselineLogit: number;
	/** |Σ IG − (F(x) − F(b))| / max(|F(x) − F(b)|, 1e-6). */
	relativeError: number;
}

/** Relative completeness error accepted by the studio; above it the page asks for more steps. */
export const COMPLETENESS_TOLERANCE = 0.05;

/** The α values and weights of the rule, so that Σ w_k g(α_k) ≈ ∫₀¹ g. */
export function igGrid(steps: number, rule: IgRule): { alphas: number[]; weights: number[] } {
	if (!Number.isInteger(steps) || steps < 1) throw new Error(`Integrated gradients needs a whole number of steps ≥ 1 (got ${steps}).`);
	if (rule === 'riemann') return { alphas: Array.from({ length: steps }, (_, k) => (k + 1) / steps), weights: Array(steps).fill(1 / steps) };
	return {
		alphas: Array.from({ length: steps + 1 }, (_, k) => k / steps),
		weights: Array.from({ length: steps + 1 }, (_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps)
	};
}

/**
 * Run the model on `rows` sequences of embeddings: (rows·tb, d) `table` becomes the word-embedding
 * table and row r, position j reads its row r·tb + j; the real tokens are the
 * first `t` positions (the rest are padding under the mask). Returns (rows, C) logits.
 */
function forwardEmbeds(model: ClassifierModel, table: tf.Tensor2D, rows: number, padded: number[], t: number): tf.Tensor2D {
	const tb = padded.length;
	const inputIds = tf.range(0, rows * tb, 1, 'int32').reshape([rows, tb]) as tf.Tensor2D; // (rows, tb)
	const pos = model.positionsFor?.(padded);
	const positionIds = pos ? (tf.tensor2d(pos, [1, tb], 'int32').tile([rows, 1]) as tf.Tensor2D) : undefined;
	return model.forward({ ...model.params, [model.embeddingName]: table }, { inputIds, attentionMask: maskFor(rows, t, tb), ...(positionIds ? { positionIds } : {}) }) as tf.Tensor2D;
}

/**
 * (seqs, C) logits of token id sequences of `t` or fewer tokens, through the model's forward with
 * its own table: right-padded to the bucket of `t`, rows filled up to a power of two with dummy
 * rows (one unmasked pad token, as batching.ts fills a batch).
 */
function forwardIds(model: ClassifierModel, seqs: number[][], t: number): tf.Tensor2D {
	const tb = paddedLength(model, t);
	const rows = model.contextLength ? pow2(seqs.length) : seqs.length;
	const ids = new Int32Array(rows * tb).fill(model.padId);
	const mask = new Float32Array(rows * tb);
	for (let r = 0; r < rows; r++) {
		const s = seqs[r] ?? [];
		ids.set(s, r * tb);
		mask.fill(1, r * tb, r * tb + Math.max(1, s.length));
	}
	const positionIds = model.positionsFor ? tf.tensor2d(Array.from({ length: rows }, (_, r) => model.positionsFor!(Array.from(ids.subarray(r * tb, (r + 1) * tb)))).flat(), [rows, tb], 'int32') : undefined;
	const inputIds = tf.tensor2d(ids, [rows, tb], 'int32');
	const attentionMask = tf.tensor2d(mask, [rows, tb]);
	return (model.forward(model.params, { inputIds, attentionMask, ...(positionIds ? { positionIds } : {}) }) as tf.Tensor2D).slice([0, 0], [seqs.length, -1]);
}

/** Integrated gradients of class `target`'s logit w.r.t. each token's word embedding. */
export async function integratedGradients(model: ClassifierModel, ids: number[], target: number, opts: IgOptions): Promise<IgResult> {
	if (!ids.length) throw new Error('Integrated gradients needs at least one token.');
	const { alphas, weights } = igGrid(opts.steps, opts.rule);
	const t = ids.length;
	const tb = paddedLength(model, t);
	const padded = [...ids, ...Array(tb - t).fill(model.padId)];
	const chunk = Math.min(pow2(Math.max(1, opts.chunk ?? 16)), pow2(alphas.length));
	// Fill the last chunk with weight-0 steps, so every chunk has the same shape.
	while (alphas.length % chunk) (alphas.push(0), weights.push(0));
	const table = model.params[model.embeddingName] as tf.Tensor2D;
	const d = table.shape[1];
	const [input, base] = tf.tidy(() => {
		const e = tf.gather(table, tf.tensor1d(padded, 'int32')) as tf.Tensor2D; // (tb, d)
		const real = tf.tensor2d(Array.from({ length: tb }, (_, j) => (j < t ? 1 : 0)), [tb, 1]); // (tb, 1)
		const ref = opts.baseline === 'zero' ? tf.zerosLike(e) : (tf.gather(table, tf.fill([tb], model.padId, 'int32')) as tf.Tensor2D); // (tb, d)
		// Padding positions keep their embedding at every α: they neither move nor get attributed.
		const b = ref.mul(real).add(e.mul(tf.scalar(1).sub(real))) as tf.Tensor2D; // (tb, d)
		return [e, b];
	});
	let total: tf.Tensor2D = tf.zeros([tb, d]);
	try {
		for (let s = 0; s < alphas.length; s += chunk) {
			const a = alphas.slice(s, s + chunk);
			const w = weights.slice(s, s + chunk);
			const next = tf.tidy(() => {
				const alpha = tf.tensor(a, [chunk, 1, 1]); // (k, 1, 1)
				const points = base.expandDims(0).add(alpha.mul(input.sub(base).expandDims(0))).reshape([chunk * tb, d]) as tf.Tensor2D; // (k·tb, d)
				const weight = tf.tensor2d(w, [chunk, 1]); // (k, 1)
				const f = (x: tf.Tensor) => forwardEmbeds(model, x as tf.Tensor2D, chunk, padded, t).slice([0, target], [chunk, 1]).mul(weight).sum();
				const g = tf.grad(f)(points).reshape([chunk, tb, d]).sum(0); // Σ_k w_k ∂F/∂x at each point: (tb, d)
				return total.add(g) as tf.Tensor2D;
			});
			total.dispose();
			total = next;
		}
		const out = tf.tidy(() => {
			const attr = input.sub(base).mul(total).sum(1).slice([0], [t]); // (T)
			const both = tf.concat([input, base], 0) as tf.Tensor2D; // (2·tb, d)
			const logits = forwardEmbeds(model, both, 2, padded, t).slice([0, target], [2, 1]).reshape([2]); // F(x), F(b)
			return tf.concat([attr, logits]);
		});
		const v = Array.from(await out.data());
		out.dispose();
		const attributions = v.slice(0, t);
		const [logit, baselineLogit] = v.slice(t);
		const sum = attributions.reduce((x, y) => x + y, 0);
		const delta = logit - baselineLogit;
		return { attributions, sum, logit, baselineLogit, relativeError: Math.abs(sum - delta) / Math.max(Math.abs(delta), 1e-6) };
	} finally {
		tf.dispose([input, base, total]);
	}
}

export interface OcclusionResult {
	/** Class probabilities of the whole input, (C). */
	probs: number[];
	/** Per position: p(target | input) − p(target | input without that token); NaN where not dropped. */
	drop: number[];
	/** Per position: the predicted class without that token (−1 where not dropped). */
	predWithout: number[];
}

/**
 * Leave-one-out occlusion: each position in `positions` dropped in turn (the sequence one shorter),
 * all in one batch through the model's forward.
 */
export async function occlusion(model: ClassifierModel, ids: number[], target: number, positions: number[]): Promise<OcclusionResult> {
	const without = ids.length > 1 ? positions.map((j) => ids.filter((_, i) => i !== j)) : [];
	const out = tf.tidy(() => headProbs(model, forwardIds(model, [ids, ...without], ids.length)).reshape([-1])); // (C + P·C)
	const v = Array.from(await out.data());
	out.dispose();
	const c = v.length / (1 + without.length);
	const probs = v.slice(0, c);
	const drop = Array(ids.length).fill(NaN);
	const predWithout = Array(ids.length).fill(-1);
	without.forEach((_, k) => {
		const row = v.slice(c * (k + 1), c * (k + 2));
		drop[positions[k]] = probs[target] - row[target];
		predWithout[positions[k]] = row.indexOf(Math.max(...row));
	});
	return { probs, drop, predWithout };
}

/** The word-embedding table's name among a Hugging Face model's params. */
export function wordEmbeddingName(params: Params): string {
	const name = Object.keys(params).find((n) => /(word_embeddings|\.wte|embed_tokens|embed_in)\.weight$/.test(n));
	if (!name) throw new Error('This model has no word-embedding table the studio recognises.');
	return name;
}

/** RoBERTa numbers positions from its pad id (roberta.ts `robertaPositions`): the same rule, on host ids. */
export function robertaPositionsFor(padId: number): (ids: number[]) => number[] {
	return (ids) => {
		const t = tf.tidy(() => robertaPositions(tf.tensor2d(ids, [1, ids.length], 'int32'), padId));
		const out = Array.from(t.dataSync());
		t.dispose();
		return out;
	};
}

/**
 * A trained session as attribution sees it: the from-scratch classifier (GPT-2 names, its table
 * `transformer.wte.weight`) or a pretrained sequence classifier (its architecture's table).
 */
export function classifierModel(session: ClassifierSession | PretrainedSession): ClassifierModel {
	if (session instanceof ClassifierSession) {
		const cfg = session.config.model;
		if (cfg.head !== 'classification') throw new UserError('invalid-config', 'This model is a language model; token attributions explain a classifier.');
		return {
			params: Object.fromEntries(session.params) as Params,
			forward: (p, b) => scratchForward(p, cfg, b),
			embeddingName: 'transformer.wte.weight',
			padId: session.special.padId,
			contextLength: cfg.contextLength,
			multiLabel: session.multiLabel
		};
	}
	if (session.objective !== 'classification') throw new UserError('invalid-config', 'This run trains a language model; token attributions explain a classifier.');
	const params = session.modelParams;
	return {
		params,
		forward: (p, b) => session.spec.forward(p, session.hf, b),
		embeddingName: wordEmbeddingName(params),
		positionsFor: session.hf.modelType === 'roberta' ? robertaPositionsFor(session.hf.padTokenId ?? session.special.padId) : undefined,
		padId: session.special.padId,
		contextLength: session.config.pretrained!.contextLength,
		multiLabel: session.multiLabel
	};
}
