/**
 * Chat templates: the text a model is trained on and prompted with, rendered from its
 * tokenizer_config.json `chat_template` with @huggingface/jinja, with the variables transformers'
 * `apply_chat_template` passes: `messages`, `add_generation_prompt`, `tools`/`documents` (none),
 * every special token by name (`bos_token`, `eos_token`, …, `additional_special_tokens`) and
 * `raise_exception`. See https://huggingface.co/docs/transformers/main/en/chat_templating.
 *
 * A model without a template (a base model) is trained and prompted in the Alpaca format
 * (Taori et al. 2023, Stanford Alpaca), without its preamble:
 *
 *     ### Instruction:
 *     {prompt}
 *
 *     ### Response:
 *     {response}{eos_token}
 *
 * where a multi-turn prompt is written `Role: content` per turn (`promptText`). The ids the model
 * sees are the model's leading special tokens (Llama's BOS) + the prompt text, then the response
 * and EOS (see `hub-tokens.ts`); `encodePrompt` gives exactly the prompt part, for generation.
 */
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../shared/types';
import { UserError } from '../shared/errors';
import { promptText } from './messages';
import { SPECIAL_TOKEN_NAMES, tokenString, type HubTokenizerConfig, type TextTokenizer } from './tokenizer';

/** The fallback prompt for models without a chat template (Alpaca, without its preamble). */
export function fallbackPrompt(prompt: string): string {
	return `### Instruction:\n${prompt}\n\n### Response:\n`;
}

/** The template transformers would use: the string, or the one named 'default' of a list. */
export function chatTemplateOf(config: HubTokenizerConfig): string | undefined {
	const t = config.chat_template;
	if (typeof t === 'string') return t.trim() ? t : undefined;
	if (Array.isArray(t)) return t.find((x) => x && x.name === 'default')?.template || undefined;
	return undefined;
}

/** The special tokens as template variables: `bos_token`, `eos_token`, …, `additional_special_tokens`. */
export function templateSpecialTokens(config: HubTokenizerConfig): Record<string, string | string[]> {
	const out: Record<string, string | string[]> = {};
	for (const name of SPECIAL_TOKEN_NAMES) {
		const t = tokenString(config[`${name}_token`]);
		if (t !== undefined) out[`${name}_token`] = t;
	}
	if (Array.isArray(config.additional_special_tokens))
		out.additional_special_tokens = config.additional_special_tokens.map(tokenString).filter((t): t is string => t !== undefined);
	return out;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
	let t = compiled.get(source);
	if (!t) {
		try {
			t = new Template(source);
		} catch (e) {
			throw new UserError('invalid-config', `The model's chat template could not be read (${(e as Error).message}). Pick another model, or one without a chat template.`);
		}
		compiled.set(source, t);
	}
	return t;
}

/**
 * Renders `messages` with the model's chat template, or the Alpaca fallback when it has none.
 * The fallback: messages ending with an assistant turn render as prompt + reply + EOS; otherwise
 * as the prompt alone, which already ends with "### Response:\n" (the generation prompt).
 */
export function applyChatTemplate(
	config: HubTokenizerConfig,
	messages: ChatMessage[],
	{ addGenerationPrompt = false }: { addGenerationPrompt?: boolean } = {}
): string {
	const source = chatTemplateOf(config);
	if (source === undefined) {
		const last = messages[messages.length - 1];
		if (last?.role === 'assistant')
			return fallbackPrompt(promptText(messages.slice(0, -1))) + last.content + (tokenString(config.eos_token) ?? '');
		return fallbackPrompt(promptText(messages));
	}
	try {
		// raise_exception is one of @huggingface/jinja's globals (it throws with the message), as
		// it is in transformers' Jinja environment; declaring it again is an error there.
		return compile(source).render({
			messages: messages.map((m) => ({ role: m.role, content: m.content })),
			add_generation_prompt: addGenerationPrompt,
			tools: null,
			documents: null,
			...templateSpecialTokens(config)
		});
	} catch (e) {
		throw new UserError('invalid-config', `The model's chat template could not render this conversation: ${(e as Error).message}`);
	}
}

/** A prompt as messages: a string is one user turn. */
function asMessages(prompt: string | ChatMessage[]): ChatMessage[] {
	return typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt;
}

/**
 * Exactly the prompt text the model saw in training, up to where its response starts: the
 * template with the generation prompt, or the Alpaca fallback prompt.
 */
export function formatPrompt(config: HubTokenizerConfig, prompt: string | ChatMessage[]): string {
	const messages = asMessages(prompt);
	if (chatTemplateOf(config) === undefined) return fallbackPrompt(typeof prompt === 'string' ? prompt : promptText(messages));
	return applyChatTemplate(config, messages, { addGenerationPrompt: true });
}

/**
 * The prompt's ids as in training (for the playground): a rendered template is tokenized without
 * adding special tokens (the template writes them, as transformers does); the fallback prompt
 * gets the tokens the model's post-processor puts first (Llama's BOS), not those it puts last.
 */
export function encodePrompt(tokenizer: TextTokenizer, config: HubTokenizerConfig, prompt: string | ChatMessage[]): number[] {
	const text = formatPrompt(config, prompt);
	if (chatTemplateOf(config) !== undefined) return tokenizer.encode(text);
	return [...tokenizer.prefixIds, ...tokenizer.encode(text)];
}
