/**
 * Generation evaluation, shared by instruction runs' `evaluate` and the generation baseline: the
 * first N rows of a split of a prompt/response dataset, each prompt formatted exactly as in
 * training (`encodePrompt`: the chat template, or the Alpaca fallback), a greedy answer of at
 * most `maxNewTokens` that stops at EOS, decoded and scored against the reference response
 * (`engine/eval/generation-eval.ts`). Both callers take the same rows in stored order, so their
 * results pair example by example on Compare.
 */
import { generateBatch } from '../src/lib/engine/generate';
import { scoreGenerations } from '../src/lib/engine/eval/generation-eval';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import { encodePrompt } from '../src/lib/data/chat';
import { rowMessages } from '../src/lib/data/hub-tokens';
import { promptText } from '../src/lib/data/messages';
import type { HubTokenizerConfig, TextTokenizer } from '../src/lib/data/tokenizer';
import { UserError } from '../src/lib/shared/errors';
import { SPLIT_CODE, type ChatMessage, type GenerationEvaluation, type SplitName, type StoredRow } from '../src/lib/shared/types';

export const DEFAULT_GENERATION_ROWS = 20;
export const DEFAULT_MAX_NEW_TOKENS = 48;
/** Prompts answered per forward pass: enough to amortize the per-pass cost, few enough to keep the logits small. */
export const GENERATION_BATCH = 8;

/** A causal LM that can generate: a run's weights or a cached base model. */
export interface GeneratingModel {
	spec: ArchSpec;
	config: HfConfigBase;
	params: Params;
	tokenizer: TextTokenizer;
	tokenizerConfig: Record<string, unknown>;
}

/** One row to answer: the turns before the reply, and the reply as the reference. */
export interface GenerationItem {
	row: number;
	prompt: ChatMessage[];
	reference: string;
}

/** The first `limit` rows of a split that have a prompt and a reference, in stored order. */
export function generationItems(rows: StoredRow[], split: SplitName, limit: number): GenerationItem[] {
	if (!Number.isInteger(limit) || limit < 1) throw new UserError('invalid-config', `Rows to generate for must be a whole number ≥ 1 (got ${limit}).`);
	const out: GenerationItem[] = [];
	for (let i = 0; i < rows.length && out.length < limit; i++) {
		if (rows[i].split !== SPLIT_CODE[split]) continue;
		const messages = rowMessages(rows[i]);
		const last = messages[messages.length - 1];
		if (last?.role !== 'assistant' || messages.length < 2) continue;
		out.push({ row: i, prompt: messages.slice(0, -1), reference: last.content });
	}
	if (!out.length) throw new UserError('not-found', `The ${split} split has no prompt/response rows to generate for.`);
	return out;
}

/** Few-shot: the training pairs as earlier turns, after any system turn of the prompt. */
export function withShots(prompt: ChatMessage[], shots: ChatMessage[][]): ChatMessage[] {
	if (!shots.length) return prompt;
	const system = prompt.filter((m) => m.role === 'system');
	const rest = prompt.filter((m) => m.role !== 'system');
	return [...system, ...shots.flatMap((s) => s.filter((m) => m.role !== 'system')), ...rest];
}

export interface GenerateAndScoreOptions {
	split: SplitName;
	maxNewTokens: number;
	/** Conversations (prompt turns + reply) shown before each prompt. */
	shots?: ChatMessage[][];
	resamples?: number;
	seed?: number;
	/** Answers finished so far (they finish out of order in a batch; the count is what is told). */
	onProgress?: (done: number, total: number) => void;
	/** Tokens decided of the most there can be, after every batched step (finer than answers finished). */
	onTokens?: (done: number, max: number) => void;
	/** Checked before every batched step; true cancels (throws 'cancelled'). */
	shouldStop?: () => boolean;
	/** Prompts per forward pass (default GENERATION_BATCH); the answers are the same for any value. */
	batchSize?: number;
}

export async function generateAndScore(model: GeneratingModel, items: GenerationItem[], o: GenerateAndScoreOptions): Promise<GenerationEvaluation> {
	if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new UserError('invalid-config', `Max new tokens must be a whole number ≥ 1 (got ${o.maxNewTokens}).`);
	if (model.config.task !== 'causal-lm') throw new UserError('invalid-config', 'Generation needs a causal language model; this one is an encoder.');
	// Stop at the model's EOS and at the tokenizer's (ChatML's <|im_end|>), which training appended.
	const eos = [...new Set([...model.config.eosTokenIds, ...(model.tokenizer.eosId !== undefined ? [model.tokenizer.eosId] : [])])];
	const cancelled = () => new UserError('cancelled', 'Evaluation was cancelled; the stored results are as they were.');
	if (o.shouldStop?.()) throw cancelled();
	const prompts = items.map((item) => encodePrompt(model.tokenizer, model.tokenizerConfig as HubTokenizerConfig, withShots(item.prompt, o.shots ?? [])));
	// Greedy answers, several prompts per forward pass: the same tokens as one prompt at a time.
	let finished = 0;
	const answers = await generateBatch(
		model.spec,
		model.params,
		model.config,
		prompts,
		{ maxNewTokens: o.maxNewTokens, doSample: false, eosTokenIds: eos },
		{ shouldStop: o.shouldStop, onDone: () => o.onProgress?.(++finished, items.length), onStep: o.onTokens },
		o.batchSize ?? GENERATION_BATCH
	);
	if (o.shouldStop?.() || finished < items.length) throw cancelled();
	const outputs = answers.map((ids) => model.tokenizer.decode(ids));
	const references = items.map((it) => it.reference);
	const s = scoreGenerations(references, outputs, { resamples: o.resamples, seed: o.seed });
	return {
		split: o.split,
		rows: items.length,
		maxNewTokens: o.maxNewTokens,
		bleu: s.bleu,
		rouge1: s.rouge1,
		rouge2: s.rouge2,
		rougeL: s.rougeL,
		exactMatch: s.exactMatch,
		intervals: s.intervals,
		bootstrap: s.bootstrap,
		signature: s.signature,
		examples: items.map((it, i) => ({
			row: it.row,
			prompt: promptText(it.prompt),
			reference: it.reference,
			output: outputs[i],
			bleu: s.perExample.bleu[i],
			rougeL: s.perExample.rougeL[i],
			exact: s.perExample.exact[i]
		}))
	};
}
