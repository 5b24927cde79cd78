/**
 * Text generation for the playground, as transformers' `generate()` (v4.40, `GenerationMixin`
 * `_greedy_search` / `_sample`) does it for one sequence: each step takes the last position's
 * logits, applies the logits processor (`RepetitionPenaltyLogitsProcessor`), and then either takes
 * the argmax (greedy) or applies the warpers in transformers' order (`TemperatureLogitsWarper` →
 * `TopKLogitsWarper` → `TopPLogitsWarper`), a softmax, and draws one token. The draw comes from the
 * repo's seeded PRNG (not torch's), so a seed replays exactly here but not in PyTorch.
 *
 * No KV cache (the architecture files do not expose one): every step recomputes the whole prefix,
 * so producing N tokens after a P-token prompt costs O(N·(P+N)) token positions and O((P+N)²)
 * attention per step. Tiny models and playground lengths afford it; the tokens are the same as
 * transformers' cached decoding.
 *
 * `generateBatch` answers many prompts per forward pass (right-padded rows, each keeping its own
 * positions, read at its own last token), with the tokens one-at-a-time generation gives.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../shared/errors';
import { Prng } from '../shared/prng';
import { bucketFor, lengthBuckets } from './batching';
import type { ArchSpec, HfConfigBase, Params } from './models/spec';

/** The logits processing that decides one token. Defaults are transformers' `GenerationConfig` defaults. */
export interface SamplingOptions {
	/** false: greedy (argmax, the warpers are ignored); true: sample from the warped distribution. */
	doSample: boolean;
	/** Divides the logits before sampling; must be > 0. 1 is off. */
	temperature: number;
	/** Keep the k highest logits (and ties with the k-th); 0 is off. transformers defaults to 50. */
	topK: number;
	/** Nucleus sampling: keep the smallest set of top tokens whose probability reaches topP; 1 is off. */
	topP: number;
	/** CTRL's penalty (Keskar et al. 2019) on every token already in the sequence; 1 is off. Also applies to greedy. */
	repetitionPenalty: number;
}

export interface GenerateOptions extends SamplingOptions {
	maxNewTokens: number;
	/** Seed of the sampling PRNG; the same seed and options replay the same tokens. */
	seed: number;
	/** Stop after emitting one of these (it is included in the output); undefined: the config's, [] never. */
	eosTokenIds?: number[];
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
	maxNewTokens: 20,
	doSample: false,
	temperature: 1,
	topK: 50,
	topP: 1,
	repetitionPenalty: 1,
	seed: 0
};

export interface GenerateCallbacks {
	/**
	 * Called with each step's raw logits (V, the last position's) and the ids so far, before the token
	 * is chosen from them (the Inside view shows the alternatives); copy `previous` to keep it.
	 */
	onLogits?(logits: Float32Array, previous: readonly number[]): void;
	/** Called after each new token (index 0 is the first new one); awaited, so a comlink proxy works. */
	onToken?(id: number, index: number): void | Promise<void>;
	/** Checked before each step; true ends generation with the tokens so far (the Stop button). */
	shouldStop?(): boolean | Promise<boolean>;
}

/** Reject options transformers would reject, with what to change. */
export function validateGenerateOptions(o: GenerateOptions): void {
	const bad = (msg: string) => {
		throw new UserError('invalid-config', msg);
	};
	if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) bad(`Max new tokens must be a whole number ≥ 0 (got ${o.maxNewTokens}).`);
	if (!(o.repetitionPenalty > 0)) bad(`Repetition penalty must be > 0 (got ${o.repetitionPenalty}); use 1 to turn it off.`);
	if (!o.doSample) return;
	if (!(o.temperature > 0)) bad(`Temperature must be > 0 when sampling (got ${o.temperature}); for deterministic output turn sampling off.`);
	if (!Number.isInteger(o.topK) || o.topK < 0) bad(`Top-k must be a whole number ≥ 0 (got ${o.topK}); use 0 to turn it off.`);
	if (!(o.topP >= 0 && o.topP <= 1)) bad(`Top-p must be between 0 and 1 (got ${o.topP}); use 1 to turn it off.`);
}

// ---- the pure part: one token from one row of logits ----

/**
 * RepetitionPenaltyLogitsProcessor: for every distinct token already seen, a negative logit is
 * multiplied by the penalty and any other divided by it (so penalty > 1 always lowers it).
 */
export function applyRepetitionPenalty(scores: Float64Array, previous: readonly number[], penalty: number): void {
	if (penalty === 1) return;
	for (const id of new Set(previous)) {
		if (id < 0 || id >= scores.length) continue;
		const s = scores[id];
		scores[id] = s < 0 ? s * penalty : s / penalty;
	}
}

/** TemperatureLogitsWarper. */
export function applyTemperature(scores: Float64Array, temperature: number): void {
	if (temperature === 1) return;
	for (let i = 0; i < scores.length; i++) scores[i] /= temperature;
}

/**
 * TopKLogitsWarper: scores below the k-th largest become -inf. As with torch's
 * `scores < topk(scores, k).values[-1]`, a tie with the k-th value survives, so more than k can.
 */
export function applyTopK(scores: Float64Array, k: number, minTokensToKeep = 1): void {
	if (k <= 0) return;
	const keep = Math.min(Math.max(k, minTokensToKeep), scores.length);
	const kth = Array.from(scores).sort((a, b) => b - a)[keep - 1];
	for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
}

/**
 * TopPLogitsWarper: sort ascending, remove every token whose cumulative probability is ≤ 1 - topP
 * (a token exactly at the threshold goes), and always keep the last `minTokensToKeep`. Ties sort by
 * index (a stable sort). Probabilities are float64 here, float32 in torch, so a cumulative sum
 * within an ulp of the threshold can land on the other side.
 */
export function applyTopP(scores: Float64Array, topP: number, minTokensToKeep = 1): void {
	if (topP >= 1) return;
	const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b] || a - b);
	const probs = softmax(Float64Array.from(order, (i) => scores[i]));
	const threshold = 1 - topP;
	let cumulative = 0;
	for (let j = 0; j < order.length - minTokensToKeep; j++) {
		cumulative += probs[j];
		if (cumulative <= threshold) scores[order[j]] = -Infinity;
	}
}

/** Numerically stable softmax (subtract the max); -inf scores get probability 0. */
export function softmax(scores: ArrayLike<number>): Float64Array {
	let max = -Infinity;
	for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]);
	const out = new Float64Array(scores.length);
	let sum = 0;
	for (let i = 0; i < scores.length; i++) sum += out[i] = Math.exp(scores[i] - max);
	for (let i = 0; i < out.length; i++) out[i] /= sum;
	return out;
}

/** First index of the largest value, as torch.argmax breaks ties; NaN never wins. */
export function argmax(scores: ArrayLike<number>): number {
	let best = 0;
	for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best] || Number.isNaN(scores[best])) best = i;
	return best;
}

/** One multinomial draw: the first index whose cumulative probability exceeds u ∈ [0, 1). */
export function sampleIndex(probs: ArrayLike<number>, u: number): number {
	let cumulative = 0;
	let last = -1;
	for (let i = 0; i < probs.length; i++) {
		if (!(probs[i] > 0)) continue;
		cumulative += probs[i];
		last = i;
		if (u < cumulative) return i;
	}
	return last; // u beyond a total that rounding left just under 1
}

/**
 * The processed scores transformers would hand to softmax (sampling) or argmax (greedy):
 * repetition penalty, then (sampling only) temperature → top-k → top-p.
 */
export function processLogits(logits: ArrayLike<number>, previous: readonly number[], opts: SamplingOptions): Float64Array {
	const scores = Float64Array.from(logits as ArrayLike<number>);
	applyRepetitionPenalty(scores, previous, opts.repetitionPenalty);
	if (!opts.doSample) return scores;
	applyTemperature(scores, opts.temperature);
	applyTopK(scores, opts.topK);
	applyTopP(scores, opts.topP);
	return scores;
}

/**
 * The next token for one row of logits (V) given every token so far (`previous`, for the
 * repetition penalty). Greedy draws nothing from `prng`; sampling draws exactly one number.
 */
export function nextToken(logits: Float32Array, previous: readonly number[], opts: Partial<SamplingOptions>, prng: Prng): number {
	const o = { ...DEFAULT_GENERATE_OPTIONS, ...opts };
	const scores = processLogits(logits, previous, o);
	if (!o.doSample) return argmax(scores);
	return sampleIndex(softmax(scores), prng.next());
}

// ---- the model loop ----

/**
 * (V) logits of the last position for `ids`, read back; every tensor of the step is disposed. The
 * row is right-padded to a length bucket (batching.ts) under an attention mask, so a generation
 * reuses a few tensor shapes instead of one per length (tfjs-webgpu's buffer pool keeps every
 * shape's buffers); the causal mask keeps the pads invisible to the position that is read.
 */
async function lastLogits<C extends HfConfigBase>(spec: ArchSpec<C>, params: Params, config: C, ids: number[]): Promise<Float32Array> {
	const n = ids.length;
	const t = Math.max(n, bucketFor(n, lengthBuckets(config.maxPositions)));
	const last = tf.tidy(() => {
		const inputIds = tf.tensor2d([[...ids, ...new Array(t - n).fill(0)]], [1, t], 'int32'); // (1, T)
		const attentionMask = tf.tensor2d([Array.from({ length: t }, (_, j) => (j < n ? 1 : 0))], [1, t], 'float32'); // (1, T)
		const logits = spec.forward(params, config, { inputIds, attentionMask }); // (1, T, V)
		return logits.slice([0, n - 1, 0], [1, 1, -1]).reshape([-1]); // (V)
	});
	try {
		return (await last.data()) as Float32Array;
	} finally {
		last.dispose();
	}
}

/**
 * Generate up to `maxNewTokens` after `promptIds`, calling `onToken` as each arrives. Returns the
 * new ids only (an EOS that ended generation included).
 *
 * Context window: when prompt + generated exceeds `config.maxPositions`, the model sees only the
 * last maxPositions tokens (positions renumbered from 0), so generation can run past the context
 * instead of failing as transformers would. The repetition penalty still counts every token.
 */
export async function generateStream<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	promptIds: number[],
	options: Partial<GenerateOptions> = {},
	callbacks: GenerateCallbacks = {}
): Promise<number[]> {
	if (config.task !== 'causal-lm') throw new UserError('invalid-config', `This ${spec.modelType} model has a ${config.task} head; it does not generate text. Pick a causal language model.`);
	if (!promptIds.length) throw new UserError('invalid-config', 'Generation needs a prompt of at least one token; type some text (or start with the BOS token).');
	const opts = { ...DEFAULT_GENERATE_OPTIONS, ...options };
	validateGenerateOptions(opts);
	const eos = new Set(opts.eosTokenIds ?? config.eosTokenIds);
	const prng = new Prng(opts.seed);
	const ids = [...promptIds];
	const out: number[] = [];
	while (out.length < opts.maxNewTokens && !(await callbacks.shouldStop?.())) {
		const window = ids.length > config.maxPositions ? ids.slice(-config.maxPositions) : ids;
		const logits = await lastLogits(spec, params, config, window);
		callbacks.onLogits?.(logits, ids);
		const id = nextToken(logits, ids, opts, prng);
		ids.push(id);
		out.push(id);
		await callbacks.onToken?.(id, out.length - 1);
		if (eos.has(id)) break;
	}
	return out;
}

// ---- many prompts per forward pass ----

/** Bytes of (B, T, V) float32 logits one batched step may hold; more rows run in several passes. */
const BATCH_LOGITS_BYTES = 64 * 2 ** 20;

export interface BatchCallbacks {
	/** Prompt `index` has finished (EOS, its token limit, or its window): its new ids. */
	onDone?(index: number, ids: number[]): void | Promise<void>;
	/** Checked before each step; true ends generation, every unfinished prompt keeping its tokens so far. */
	shouldStop?(): boolean | Promise<boolean>;
	/**
	 * After each step: tokens decided of the most there can be (prompts × maxNewTokens; a prompt that
	 * ended early counts as all its tokens), a progress finer than finished prompts.
	 */
	onStep?(done: number, max: number): void | Promise<void>;
}

/**
 * (B, V) logits of each row's last token. Rows are right-padded to their length bucket with an
 * attention mask and keep positions 0..n-1, so each row's last position sees exactly what it
 * would see alone (the causal mask hides the pads after it; masked keys get weight exactly 0),
 * and the tokens equal one-at-a-time `generateStream`'s.
 */
async function lastLogitsBatch<C extends HfConfigBase>(spec: ArchSpec<C>, params: Params, config: C, rows: number[][]): Promise<Float32Array[]> {
	// One pass per length bucket: a row is padded to its own bucket, as it would be alone, never to
	// a longer row's (the attention's cost grows with the square of the padded length).
	const buckets = lengthBuckets(config.maxPositions);
	const bucketOf = (r: number[]) => Math.max(r.length, bucketFor(r.length, buckets));
	const out = new Array<Float32Array>(rows.length);
	for (const t of [...new Set(rows.map(bucketOf))].sort((a, b) => a - b)) {
		const members = rows.flatMap((r, i) => (bucketOf(r) === t ? [i] : []));
		await bucketLogits(spec, params, config, members.map((i) => rows[i]), t).then((logits) => logits.forEach((l, k) => (out[members[k]] = l)));
	}
	return out;
}

/** (B, V) last-token logits of rows padded to length `t`, in passes that keep the logits under BATCH_LOGITS_BYTES. */
async function bucketLogits<C extends HfConfigBase>(spec: ArchSpec<C>, params: Params, config: C, rows: number[][], t: number): Promise<Float32Array[]> {
	const per = Math.max(1, Math.floor(BATCH_LOGITS_BYTES / (t * config.vocabSize * 4)));
	const out: Float32Array[] = [];
	for (let from = 0; from < rows.length; from += per) {
		const chunk = rows.slice(from, from + per);
		const b = chunk.length;
		const last = tf.tidy(() => {
			const ids = new Int32Array(b * t);
			const mask = new Float32Array(b * t);
			chunk.forEach((r, i) => {
				ids.set(r, i * t);
				mask.fill(1, i * t, i * t + r.length);
			});
			const inputIds = tf.tensor2d(ids, [b, t], 'int32'); // (B, T)
			const attentionMask = tf.tensor2d(mask, [b, t], 'float32'); // (B, T)
			const logits = spec.forward(params, config, { inputIds, attentionMask }); // (B, T, V)
			const at = tf.tensor1d(chunk.map((r, i) => i * t + r.length - 1), 'int32'); // (B)
			return tf.gather(logits.reshape([b * t, -1]), at); // (B, V)
		});
		try {
			const flat = (await last.data()) as Float32Array;
			const v = flat.length / b;
			for (let i = 0; i < b; i++) out.push(flat.subarray(i * v, (i + 1) * v));
		} finally {
			last.dispose();
		}
	}
	return out;
}

/**
 * Generate for many prompts, up to `batchSize` of them per forward pass (continuous batching: a
 * prompt that finishes frees its row for the next one; prompts enter shortest first). Each prompt's tokens equal what
 * `generateStream` returns for it alone with the same options (greedy, or sampled: every prompt
 * draws from its own PRNG seeded with `seed`, as a call of its own would). Returns each prompt's
 * new ids in input order; after a stop, the tokens so far.
 */
export async function generateBatch<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	prompts: number[][],
	options: Partial<GenerateOptions> = {},
	callbacks: BatchCallbacks = {},
	batchSize = 8
): Promise<number[][]> {
	if (config.task !== 'causal-lm') throw new UserError('invalid-config', `This ${spec.modelType} model has a ${config.task} head; it does not generate text. Pick a causal language model.`);
	if (prompts.some((p) => !p.length)) throw new UserError('invalid-config', 'Generation needs a prompt of at least one token; type some text (or start with the BOS token).');
	if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError('invalid-config', `Prompts per batch must be a whole number ≥ 1 (got ${batchSize}).`);
	const opts = { ...DEFAULT_GENERATE_OPTIONS, ...options };
	validateGenerateOptions(opts);
	const eos = new Set(opts.eosTokenIds ?? config.eosTokenIds);
	const results: number[][] = prompts.map(() => []);
	interface Row {
		index: number;
		ids: number[];
		prng: Prng;
	}
	// Shortest prompts first: the rows of a pass then have similar lengths, so fewer positions are padding.
	const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length || a - b);
	let next = 0;
	const active: Row[] = [];
	const finish = async (row: Row) => callbacks.onDone?.(row.index, results[row.index]);
	const refill = async () => {
		while (active.length < batchSize && next < prompts.length) {
			const index = order[next++];
			if (opts.maxNewTokens === 0) await callbacks.onDone?.(index, results[index]);
			else active.push({ index, ids: [...prompts[index]], prng: new Prng(opts.seed) });
		}
	};
	const max = prompts.length * opts.maxNewTokens;
	let decided = 0;
	await refill();
	while (active.length && !(await callbacks.shouldStop?.())) {
		const windows = active.map((r) => (r.ids.length > config.maxPositions ? r.ids.slice(-config.maxPositions) : r.ids));
		const logits = await lastLogitsBatch(spec, params, config, windows);
		const done: Row[] = [];
		active.forEach((row, i) => {
			const id = nextToken(logits[i], row.ids, opts, row.prng);
			row.ids.push(id);
			results[row.index].push(id);
			decided++;
			if (eos.has(id) || results[row.index].length >= opts.maxNewTokens) {
				done.push(row);
				decided += opts.maxNewTokens - results[row.index].length;
			}
		});
		for (const row of done) {
			active.splice(active.indexOf(row), 1);
			await finish(row);
		}
		await callbacks.onStep?.(decided, max);
		await refill();
	}
	return results;
}
