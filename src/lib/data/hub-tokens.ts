/**
 * Token ids for a pretrained model, one function per objective. Pure: rows in, ids out; the
 * pipeline loads the rows and stores the result.
 *
 * - classification: each row with the model's special tokens, truncated keeping them.
 * - causal LM: each row with special tokens and EOS, concatenated per split and cut into blocks
 *   of `maxLength` (transformers' examples/pytorch/language-modeling/run_clm.py `group_texts`,
 *   except that the last, partial block is kept rather than dropped: small datasets are the
 *   point here).
 * - instruction: prompt then response, with `lossStart` where the response begins (TRL's
 *   SFTTrainer `completion_only_loss`); see `instructionIds`.
 */
import type { ChatMessage, StoredRow } from '../shared/types';
import { SPLITS } from '../shared/types';
import { applyChatTemplate, chatTemplateOf, encodePrompt } from './chat';
import type { HubTokenizerConfig, TextTokenizer } from './tokenizer';

export interface EncodedRows {
	ids: number[][];
	labels: number[];
	splits: number[];
	/** Instruction: where each row's response begins. */
	lossStart?: number[];
	/** Rows whose ids were cut to fit `maxLength`. */
	truncated: number;
	/** Rows left out because nothing of their response fit. */
	dropped: number;
}

/** Each row with special tokens, content truncated to fit `maxLength` with them. */
export function encodeClassification(tok: TextTokenizer, rows: StoredRow[], maxLength: number): EncodedRows {
	const budget = maxLength - tok.prefixIds.length - tok.suffixIds.length;
	let truncated = 0;
	const ids = rows.map((r) => {
		const content = tok.encode(r.text);
		if (content.length > budget) truncated++;
		return tok.encode(r.text, { addSpecialTokens: true, maxLength });
	});
	return { ids, labels: rows.map((r) => r.label), splits: rows.map((r) => r.split), truncated, dropped: 0 };
}

/** A row's ids for language modelling: special tokens, then EOS unless the post-processor put it last. */
function documentIds(tok: TextTokenizer, text: string): number[] {
	const ids = tok.encode(text, { addSpecialTokens: true });
	if (tok.eosId !== undefined && ids[ids.length - 1] !== tok.eosId) ids.push(tok.eosId);
	return ids;
}

/** Rows packed into blocks of `maxLength`, per split, in stored order; the last block may be shorter. */
export function packCausalLm(tok: TextTokenizer, rows: StoredRow[], maxLength: number): EncodedRows {
	const out: EncodedRows = { ids: [], labels: [], splits: [], truncated: 0, dropped: 0 };
	SPLITS.forEach((_, split) => {
		const stream: number[] = [];
		for (const r of rows) if (r.split === split) for (const id of documentIds(tok, r.text)) stream.push(id);
		for (let start = 0; start < stream.length; start += maxLength) {
			out.ids.push(stream.slice(start, start + maxLength));
			out.labels.push(0);
			out.splits.push(split);
		}
	});
	return out;
}

/** The conversation a stored row stands for: its messages, or the prompt and response as two turns. */
export function rowMessages(row: StoredRow): ChatMessage[] {
	return row.messages ?? [
		{ role: 'user', content: row.text },
		{ role: 'assistant', content: row.response ?? '' }
	];
}

/**
 * One row's ids and where its response starts, before truncation.
 *
 * With a chat template: the prompt is the conversation before the final reply rendered with the
 * generation prompt; the full text is the whole conversation rendered. When the full text starts
 * with the prompt text, the rest of it (reply, end-of-turn marker) is the response part; when it
 * does not (a template that rewrites earlier turns), the response part is the reply text alone.
 * The two parts are tokenized separately so the prompt ids are exactly what `encodePrompt`
 * gives at generation time. EOS is appended unless the response part already holds it (ChatML
 * models whose EOS is `<|im_end|>`).
 *
 * Without a template: the Alpaca fallback prompt (see `chat.ts`), then the reply and EOS.
 */
export function instructionIds(tok: TextTokenizer, config: HubTokenizerConfig, row: StoredRow): { prompt: number[]; response: number[] } {
	const messages = rowMessages(row);
	const reply = messages[messages.length - 1].content;
	const before = messages.slice(0, -1);
	let response: number[];
	if (chatTemplateOf(config) !== undefined) {
		const promptText = applyChatTemplate(config, before, { addGenerationPrompt: true });
		const full = applyChatTemplate(config, messages);
		response = tok.encode(full.startsWith(promptText) ? full.slice(promptText.length) : reply);
	} else response = tok.encode(reply);
	if (tok.eosId !== undefined && !response.includes(tok.eosId)) response.push(tok.eosId);
	// A prompt/response row's prompt is its text, which is what the playground will send.
	return { prompt: encodePrompt(tok, config, row.messages ? before : row.text), response };
}

/**
 * Fits prompt + response into `maxLength`: the prompt is cut from the left (keeping a leading
 * BOS) so that at least half of `maxLength` stays for the response, then the end is cut.
 */
export function fitInstruction(tok: TextTokenizer, prompt: number[], response: number[], maxLength: number): { ids: number[]; lossStart: number; truncated: boolean } {
	const p = prompt.length;
	const r = response.length;
	if (p + r <= maxLength) return { ids: [...prompt, ...response], lossStart: p, truncated: false };
	const keep = Math.min(p, Math.max(maxLength - r, maxLength - Math.ceil(maxLength / 2)));
	let kept = prompt;
	if (keep < p) {
		const head = keep > 0 && tok.bosId !== undefined && prompt[0] === tok.bosId ? 1 : 0;
		kept = [...prompt.slice(0, head), ...prompt.slice(p - (keep - head))];
	}
	return { ids: [...kept, ...response].slice(0, maxLength), lossStart: kept.length, truncated: true };
}

/** Prompt + response ids with `lossStart`; rows with no response token left are dropped and counted. */
export function encodeInstruction(tok: TextTokenizer, config: HubTokenizerConfig, rows: StoredRow[], maxLength: number): EncodedRows {
	const out: EncodedRows = { ids: [], labels: [], splits: [], lossStart: [], truncated: 0, dropped: 0 };
	for (const row of rows) {
		const { prompt, response } = instructionIds(tok, config, row);
		const fit = fitInstruction(tok, prompt, response, maxLength);
		if (fit.truncated) out.truncated++;
		if (fit.ids.length <= fit.lossStart) {
			out.dropped++;
			continue;
		}
		out.ids.push(fit.ids);
		out.labels.push(row.label);
		out.splits.push(row.split);
		out.lossStart!.push(fit.lossStart);
	}
	return out;
}
