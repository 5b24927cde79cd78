/**
 * Text generation for the playground, as transformers' `generate()` (v4.40, `GenerationMixin`
 * `_greedy_search` / `_sample`) does it for one sequence: each step takes the last position's
 * logits, applies the logits processor (`RepetitionPenaltyLogitsProcessor`), and then either takes
 * the argmax (greedy) or applies the warpers in transformers' order (`TemperatureLogitsWarper` →
 * `TopKLogitsWarper` → `TopPLogitsWarper`), a softmax, and draws one token. The draw comes from the
 * repo's seeded PRNG (not torch's), so a seed replays exactly here but not in PyTorch.
 *
 * A key/value cache (models/kv-cache.ts, `Decoder` below) runs the prompt once and then one token
 * per step against the keys and values of the ones before, so N tokens after a P-token prompt cost
 * P + N token positions instead of O(N·(P+N)). `kvCache: false` recomputes the whole prefix every
 * step, the reference path; the two give the same tokens, and the same logits to float32 rounding.
 *
 * `generateBatch` answers many prompts per forward pass (right-padded rows, each keeping its own
 * positions, read at its own last token), with the tokens one-at-a-time generation gives.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../shared/errors';
import { Prng } from '../shared/prng';
import { bucketFor, lengthBuckets } from './batching';
import { KvStep, type KvLayer } from './models/kv-cache';
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
	/**
	 * Decode over a key/value cache (default true): the prompt runs once, then each step runs only
	 * the new token. false recomputes the whole prefix every step, the reference the cache is checked
	 * against; both give the same tokens.
	 */
	kvCache?: boolean;
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

/** One sequence being generated: every id so far, and the key/value cache of its first `filled`. */
interface Sequence {
	ids: number[];
	/** Each layer's keys and values of ids[0..filled-1], (1, nkv, C, hs); null before the prefill or when not caching. */
	kv: KvLayer[] | null;
	filled: number;
}

const sequence = (ids: number[]): Sequence => ({ ids, kv: null, filled: 0 });

/**
 * Next-token logits for sequences, step after step. With the cache, a sequence's prompt runs once
 * (the prefill, right-padded to its length bucket as the recompute pads it) and every later step
 * runs its one new token against the keys and values of the ones before (transformers'
 * `past_key_values`); the cache grows a length bucket at a time, so a generation meets a few
 * tensor shapes, not one per token. Without it (`kvCache: false`, or an architecture whose forward
 * pass fills no cache) every step recomputes the whole prefix: the reference path.
 *
 * Past the context the cache stops: once a sequence is longer than `maxPositions`, the model sees
 * its last maxPositions tokens renumbered from 0, which moves every position, so each such step
 * recomputes its window as before.
 */
class Decoder<C extends HfConfigBase> {
	private readonly buckets: number[];
	private caching: boolean;

	constructor(
		private readonly spec: ArchSpec<C>,
		private readonly params: Params,
		private readonly config: C,
		kvCache: boolean
	) {
		this.buckets = lengthBuckets(config.maxPositions);
		this.caching = kvCache;
	}

	/** (V) logits of each sequence's last token, in order. */
	async logits(rows: Sequence[]): Promise<Float32Array[]> {
		const out = new Array<Float32Array>(rows.length);
		const recompute: number[] = [];
		const prefill: number[] = [];
		const decode: number[] = [];
		rows.forEach((r, i) => {
			if (!this.caching || r.ids.length > this.config.maxPositions) {
				this.free(r);
				recompute.push(i);
			} else if (!r.kv || r.filled !== r.ids.length - 1) {
				this.free(r);
				prefill.push(i);
			} else decode.push(i);
		});
		if (recompute.length) {
			const windows = recompute.map((i) => rows[i].ids.slice(-this.config.maxPositions));
			(await lastLogitsBatch(this.spec, this.params, this.config, windows)).forEach((l, k) => (out[recompute[k]] = l));
		}
		if (prefill.length) (await this.prefill(prefill.map((i) => rows[i]))).forEach((l, k) => (out[prefill[k]] = l));
		if (decode.length) (await this.decode(decode.map((i) => rows[i]))).forEach((l, k) => (out[decode[k]] = l));
		return out;
	}

	/** Free a sequence's cache (it finished, or generation ended or failed). */
	free(r: Sequence): void {
		if (r.kv) tf.dispose(r.kv.flatMap((l) => [l.k, l.v]));
		r.kv = null;
		r.filled = 0;
	}

	/** Run the prompts (one pass per length bucket, as the recompute does) and keep their caches. */
	private async prefill(rows: Sequence[]): Promise<Float32Array[]> {
		const out = new Array<Float32Array>(rows.length);
		const bucketOf = (r: Sequence) => Math.max(r.ids.length, bucketFor(r.ids.length, this.buckets));
		for (const t of [...new Set(rows.map(bucketOf))].sort((a, b) => a - b)) {
			const members = rows.flatMap((r, i) => (bucketOf(r) === t ? [i] : []));
			const logits = await bucketLogits(this.spec, this.params, this.config, members.map((i) => rows[i].ids), t, (chunk, layers) => {
				if (layers.filter(Boolean).length !== this.config.nLayer) {
					// this architecture's forward pass keeps no cache: recompute from here on
					this.caching = false;
					tf.dispose(layers.flatMap((l) => (l ? [l.k, l.v] : [])));
					return;
				}
				chunk.forEach((k) => {
					const r = rows[members[k]];
					r.kv = chunk.length === 1 ? layers : layers.map((l) => ({ k: rowOf(l.k, k), v: rowOf(l.v, k) }));
					r.filled = r.ids.length;
				});
				if (chunk.length > 1) tf.dispose(layers.flatMap((l) => [l.k, l.v]));
			});
			logits.forEach((l, k) => (out[members[k]] = l));
		}
		return out;
	}

	/** One new token per sequence (its last id) at its position, over its cache; rows of one capacity share a pass. */
	private async decode(rows: Sequence[]): Promise<Float32Array[]> {
		for (const r of rows) {
			const capacity = r.kv![0].k.shape[2];
			const p = r.ids.length - 1;
			if (p < capacity) continue;
			// the next bucket up; p < maxPositions here, so the last bucket always has room
			const grown = bucketFor(p + 1, this.buckets);
			const old = r.kv!;
			r.kv = old.map((l) => tf.tidy(() => ({ k: padSlots(l.k, grown), v: padSlots(l.v, grown) })));
			tf.dispose(old.flatMap((l) => [l.k, l.v]));
		}
		const out = new Array<Float32Array>(rows.length);
		const capacityOf = (r: Sequence) => r.kv![0].k.shape[2];
		for (const c of [...new Set(rows.map(capacityOf))]) {
			const members = rows.flatMap((r, i) => (capacityOf(r) === c ? [i] : []));
			const group = members.map((i) => rows[i]);
			const b = group.length;
			const positions = group.map((r) => r.ids.length - 1);
			const { last, layers } = tidyPass(() => {
				const past = b === 1 ? group[0].kv! : group[0].kv!.map((_, l) => ({ k: tf.concat(group.map((r) => r.kv![l].k)) as tf.Tensor4D, v: tf.concat(group.map((r) => r.kv![l].v)) as tf.Tensor4D }));
				const step = KvStep.decode(past, positions);
				const inputIds = tf.tensor2d(group.map((r) => [r.ids[r.ids.length - 1]]), [b, 1], 'int32'); // (B, 1)
				const positionIds = tf.tensor2d(positions.map((p) => [p]), [b, 1], 'int32'); // (B, 1)
				const attentionMask = tf.ones([b, 1]) as tf.Tensor2D; // (B, 1)
				const logits = this.spec.forward(this.params, this.config, { inputIds, attentionMask, positionIds }, { kv: step }); // (B, 1, V)
				if (step.out.length !== this.config.nLayer) throw new Error(`${this.spec.modelType}: a decode step filled ${step.out.length} of ${this.config.nLayer} layers of the cache.`);
				return { last: logits.reshape([b, -1]) as tf.Tensor2D, layers: step.out }; // (B, V)
			});
			group.forEach((r, k) => {
				this.free(r);
				r.kv = b === 1 ? layers : layers.map((l) => ({ k: rowOf(l.k, k), v: rowOf(l.v, k) }));
				r.filled = r.ids.length;
			});
			if (b > 1) tf.dispose(layers.flatMap((l) => [l.k, l.v]));
			try {
				const flat = (await last.data()) as Float32Array;
				const v = flat.length / b;
				members.forEach((i, k) => (out[i] = flat.subarray(k * v, (k + 1) * v)));
			} finally {
				last.dispose();
			}
		}
		return out;
	}
}

/**
 * tf.tidy over a pass that hands back logits and the cache: everything else the pass made is freed.
 * (tf.tidy's own result type has no room for `KvLayer`, an interface.)
 */
function tidyPass(fn: () => { last: tf.Tensor2D; layers: KvLayer[] }): { last: tf.Tensor2D; layers: KvLayer[] } {
	let out!: { last: tf.Tensor2D; layers: KvLayer[] };
	tf.tidy(() => {
		out = fn();
		return [out.last, ...out.layers.flatMap((l) => (l ? [l.k, l.v] : []))];
	});
	return out;
}

/** Row `i` of a (B, ...) cache tensor, as (1, ...). */
function rowOf(x: tf.Tensor4D, i: number): tf.Tensor4D {
	return x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
}

/** (B, nkv, C, hs) -> (B, nkv, capacity, hs), the new slots zero (masked until written). */
function padSlots(x: tf.Tensor4D, capacity: number): tf.Tensor4D {
	return x.pad([
		[0, 0],
		[0, 0],
		[0, capacity - x.shape[2]],
		[0, 0]
	]);
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
	const decoder = new Decoder(spec, params, config, opts.kvCache !== false);
	const seq = sequence([...promptIds]);
	const ids = seq.ids;
	const out: number[] = [];
	try {
		while (out.length < opts.maxNewTokens && !(await callbacks.shouldStop?.())) {
			const [logits] = await decoder.logits([seq]);
			callbacks.onLogits?.(logits, ids);
			const id = nextToken(logits, ids, opts, prng);
			ids.push(id);
			out.push(id);
			await callbacks.onToken?.(id, out.length - 1);
			if (eos.has(id)) break;
		}
	} finally {
		decoder.free(seq);
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

/**
 * (B, V) last-token logits of rows padded to length `t`, in passes that keep the logits under
 * BATCH_LOGITS_BYTES. With `onCache`, each pass is a prefill: it is handed the rows of the pass (indices
 * into `rows`) and every layer's keys and values, (rows, nkv, t, hs), which it then owns.
 */
async function bucketLogits<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	rows: number[][],
	t: number,
	onCache?: (chunk: number[], layers: KvLayer[]) => void
): Promise<Float32Array[]> {
	const per = Math.max(1, Math.floor(BATCH_LOGITS_BYTES / (t * config.vocabSize * 4)));
	const out: Float32Array[] = [];
	for (let from = 0; from < rows.length; from += per) {
		const chunk = rows.slice(from, from + per);
		const b = chunk.length;
		const { last, layers } = tidyPass(() => {
			const ids = new Int32Array(b * t);
			const mask = new Float32Array(b * t);
			chunk.forEach((r, i) => {
				ids.set(r, i * t);
				mask.fill(1, i * t, i * t + r.length);
			});
			const inputIds = tf.tensor2d(ids, [b, t], 'int32'); // (B, T)
			const attentionMask = tf.tensor2d(mask, [b, t], 'float32'); // (B, T)
			const kv = onCache ? KvStep.prefill() : undefined;
			const logits = spec.forward(params, config, { inputIds, attentionMask }, kv && { kv }); // (B, T, V)
			const at = tf.tensor1d(chunk.map((r, i) => i * t + r.length - 1), 'int32'); // (B)
			return { last: tf.gather(logits.reshape([b * t, -1]), at) as tf.Tensor2D, layers: kv?.out ?? [] }; // (B, V)
		});
		if (onCache) onCache(Array.from({ length: b }, (_, i) => from + i), layers);
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
	interface Row extends Sequence {
		index: number;
		prng: Prng;
	}
	const decoder = new Decoder(spec, params, config, opts.kvCache !== false);
	// Shortest prompts first: the rows of a pass then have similar lengths, so fewer positions are padding.
	const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length || a - b);
	let next = 0;
	const active: Row[] = [];
	const finish = async (row: Row) => callbacks.onDone?.(row.index, results[row.index]);
	const refill = async () => {
		while (active.length < batchSize && next < prompts.length) {
			const index = order[next++];
			if (opts.maxNewTokens === 0) await callbacks.onDone?.(index, results[index]);
			else active.push({ index, ...sequence([...prompts[index]]), prng: new Prng(opts.seed) });
		}
	};
	const max = prompts.length * opts.maxNewTokens;
	let decided = 0;
	try {
		await refill();
		while (active.length && !(await callbacks.shouldStop?.())) {
			const logits = await decoder.logits(active);
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
				decoder.free(row);
				await finish(row);
			}
			await callbacks.onStep?.(decided, max);
			await refill();
		}
	} finally {
		for (const row of active) decoder.free(row);
	}
	return results;
}
