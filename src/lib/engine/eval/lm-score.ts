/**
 * Scoring text with a causal LM: the log-likelihood of each candidate continuation after a prompt
 * (how the prompt-only baseline scores each label word, as lm-evaluation-harness's `loglikelihood`
 * does), per-token log-probabilities, and perplexity over a corpus (transformers' "Perplexity of
 * fixed-length models" guide). Log-probabilities are the logits at position t minus their
 * log-sum-exp (max subtracted first, as torch's `log_softmax`), gathered at token t + 1; sums are
 * taken in float64 on the host. Batches are right-padded with id 0 under an attention mask: under
 * the causal mask no real position ever attends to a pad, so padding does not change any score.
 * Results are plain numbers; every tensor is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../shared/errors';
import { bucketFor, lengthBuckets } from '../batching';
import type { ArchSpec, HfConfigBase, Params } from '../models/spec';
import { perplexity as perplexityFromNll } from './lm';

export interface ContinuationScore {
	/** Σ log p(token | prefix) over the continuation's tokens (natural log). */
	sum: number;
	/** sum / tokens. */
	mean: number;
	tokens: number;
}

export interface ScoreOptions {
	/** Rows per forward pass (default 8). */
	batchSize?: number;
}

export interface PerplexityOptions extends ScoreOptions {
	/** Tokens per window (default and maximum: the model's maxPositions). */
	contextLength?: number;
	/** After each batch: windows scored so far and in all. Awaited, so a comlink proxy works. */
	onProgress?(done: number, total: number): void | Promise<void>;
	/** Checked before each batch; true returns what was scored so far, with `stopped`. */
	shouldStop?(): boolean | Promise<boolean>;
}

export interface PerplexityResult {
	/** Token-weighted mean negative log-likelihood (nats per token). */
	meanNll: number;
	/** exp(meanNll). */
	perplexity: number;
	/** Tokens predicted (each sequence's first token has no context and is not). */
	tokens: number;
	stopped: boolean;
}

const PAD_ID = 0;

function requireCausal(spec: { modelType: string }, config: HfConfigBase): void {
	if (config.task !== 'causal-lm')
		throw new UserError('invalid-config', `This ${spec.modelType} model has a ${config.task} head; scoring text needs a causal language model.`);
}

function chunks<T>(items: T[], size: number): T[][] {
	const n = Math.max(1, Math.floor(size));
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
	return out;
}

/** Log-probabilities of the next token, (rows, length - 1) row-major; see `targetLogProbs`. */
interface Scored {
	logp: Float32Array;
	/** Values per row: the padded length - 1. */
	width: number;
}

/**
 * `rows` right-padded into a (nRows, T) batch, T rounded up to a length bucket (batching.ts): the
 * tfjs-webgpu buffer pool keeps one set of buffers per exact shape, so shapes must repeat. Rows
 * beyond `rows.length` are dummies with one unmasked position (no all-masked attention row).
 */
function padBatch(rows: number[][], nRows: number, maxPositions: number): { ids: number[][]; mask: number[][]; length: number } {
	const longest = Math.max(2, ...rows.map((r) => r.length));
	const length = Math.max(longest, bucketFor(longest, lengthBuckets(Math.max(2, maxPositions))));
	const padded = Array.from({ length: Math.max(nRows, rows.length) }, (_, b) => (rows[b]?.length ? rows[b] : [PAD_ID]));
	return {
		ids: padded.map((r) => [...r, ...new Array(length - r.length).fill(PAD_ID)]),
		mask: padded.map((r) => Array.from({ length }, (_, j) => (j < r.length ? 1 : 0))),
		length
	};
}

/**
 * log p(ids[t+1] | ids[..t]) for every position of every row, one forward pass. Positions whose
 * target is padding hold a meaningless value; callers read only real targets (index b*width + t).
 */
async function targetLogProbs<C extends HfConfigBase>(spec: ArchSpec<C>, params: Params, config: C, rows: number[][], nRows = rows.length): Promise<Scored> {
	const { ids, mask, length: t } = padBatch(rows, nRows, config.maxPositions);
	const b = ids.length;
	const logp = tf.tidy(() => {
		const inputIds = tf.tensor2d(ids, [b, t], 'int32');
		const attentionMask = tf.tensor2d(mask, [b, t], 'float32');
		const logits = spec.forward(params, config, { inputIds, attentionMask }); // (B, T, V)
		const v = logits.shape[2]!;
		const scores = logits.slice([0, 0, 0], [b, t - 1, v]).reshape([b * (t - 1), v]); // (N, V), N = B*(T-1)
		const shifted = scores.sub(scores.max(-1, true)); // (N, V)
		const lse = shifted.exp().sum(-1).log(); // (N)
		const targets = inputIds.slice([0, 1], [b, t - 1]).reshape([b * (t - 1), 1]); // (N, 1)
		return tf.gather(shifted, targets, 1, 1).reshape([b * (t - 1)]).sub(lse); // (N)
	});
	try {
		return { logp: (await logp.data()) as Float32Array, width: t - 1 };
	} finally {
		logp.dispose();
	}
}

/** The number of leading 1s of a right-padded mask row; anything else is refused. */
function rightPaddedLength(mask: number[]): number {
	const n = mask.indexOf(0) < 0 ? mask.length : mask.indexOf(0);
	if (mask.slice(n).some((m) => m !== 0))
		throw new Error('tokenLogProbs takes right-padded rows (mask 1…1 0…0); position ids would be wrong for any other padding.');
	return n;
}

/**
 * Per-position log-probabilities of the next token: out[b][t] = log p(ids[b][t+1] | ids[b][..t]),
 * T-1 values per row; NaN where that next token is padding (mask 0). Rows are right-padded
 * (mask 1…1 0…0) and at most `config.maxPositions` long.
 */
export async function tokenLogProbs<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	ids: number[][],
	mask?: number[][]
): Promise<number[][]> {
	requireCausal(spec, config);
	const lengths = ids.map((row, b) => (mask ? rightPaddedLength(mask[b]) : row.length));
	const t = ids[0]?.length ?? 0;
	if (t < 2) return ids.map(() => []);
	const { logp, width } = await targetLogProbs(spec, params, config, ids.map((row, b) => row.slice(0, lengths[b])));
	return ids.map((_, b) => Array.from({ length: t - 1 }, (_, j) => (j + 1 < lengths[b] ? logp[b * width + j] : NaN)));
}

/**
 * Log-likelihood of each continuation after `prompt`, one forward pass per `batchSize`
 * candidates (rows prompt ++ continuation, right-padded). The prompt is cut from the left when
 * prompt + continuation would exceed `maxPositions`, as lm-evaluation-harness truncates context.
 */
export async function continuationLogLikelihoods<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	prompt: number[],
	continuations: number[][],
	opts: ScoreOptions = {}
): Promise<ContinuationScore[]> {
	return pairLogLikelihoods(spec, params, config, continuations.map((continuation) => ({ prompt, continuation })), opts);
}

/**
 * Log-likelihood of each continuation after its own prompt, `batchSize` (prompt, continuation)
 * pairs per forward pass: scoring many rows' label words at once costs one set of GPU kernels
 * per batch instead of per row.
 */
export async function pairLogLikelihoods<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	pairs: { prompt: number[]; continuation: number[] }[],
	opts: ScoreOptions = {}
): Promise<ContinuationScore[]> {
	requireCausal(spec, config);
	const max = config.maxPositions;
	for (const { prompt, continuation: c } of pairs) {
		if (!prompt.length) throw new UserError('invalid-config', 'Scoring a continuation needs a prompt of at least one token (start it with the BOS token).');
		if (c.length >= max) throw new UserError('invalid-config', `A ${c.length}-token continuation does not fit the model's ${max}-token context with any prompt; shorten it.`);
	}
	const indexed = pairs.map((p, i) => ({ p, c: p.continuation, i }));
	const out: ContinuationScore[] = new Array(pairs.length);
	const batchSize = Math.min(opts.batchSize ?? 8, pairs.length);
	for (const batch of chunks(indexed, batchSize)) {
		const rows = batch.map(({ p }) => [...p.prompt, ...p.continuation].slice(-max));
		const { logp, width } = await targetLogProbs(spec, params, config, rows, batchSize);
		batch.forEach(({ c, i }, b) => {
			let sum = 0;
			// the continuation's tokens are the last c.length of the row, predicted from one position earlier
			for (let j = rows[b].length - c.length; j < rows[b].length; j++) sum += logp[b * width + j - 1];
			out[i] = { sum, mean: c.length ? sum / c.length : NaN, tokens: c.length };
		});
	}
	return out;
}

/**
 * Windows of at most `context` tokens that share one token with the previous window: the last
 * input of one is the first (context-only) input of the next, so the predicted tokens partition
 * each sequence and every token after the first is scored exactly once, with only its own
 * window's tokens as context (a pessimistic estimate next to a sliding window with stride 1).
 */
export function contextWindows(sequence: number[], context: number): number[][] {
	const out: number[][] = [];
	if (context < 2) throw new UserError('invalid-config', `A perplexity window needs at least 2 tokens (got ${context}).`);
	for (let start = 0; start + 1 < sequence.length; start += context - 1) out.push(sequence.slice(start, start + context));
	return out;
}

/**
 * Perplexity of a corpus: token-weighted mean NLL over every predicted token of every sequence,
 * and exp of it. Sequences longer than `contextLength` are scored in `contextWindows`.
 */
export async function perplexity<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	sequences: number[][],
	opts: PerplexityOptions = {}
): Promise<PerplexityResult> {
	requireCausal(spec, config);
	const context = Math.min(opts.contextLength ?? config.maxPositions, config.maxPositions);
	const windows = sequences.flatMap((s) => contextWindows(s, context));
	let nll = 0;
	let tokens = 0;
	let done = 0;
	const batchSize = Math.min(opts.batchSize ?? 8, windows.length);
	for (const batch of chunks(windows, batchSize)) {
		if (await opts.shouldStop?.()) return { meanNll: nll / tokens, perplexity: perplexityFromNll(nll, tokens), tokens, stopped: true };
		const { logp, width } = await targetLogProbs(spec, params, config, batch, batchSize);
		batch.forEach((w, b) => {
			for (let j = 0; j < w.length - 1; j++) nll -= logp[b * width + j];
			tokens += w.length - 1;
		});
		done += batch.length;
		await opts.onProgress?.(done, windows.length);
	}
	return { meanNll: nll / tokens, perplexity: perplexityFromNll(nll, tokens), tokens, stopped: false };
}
