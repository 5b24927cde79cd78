/**
 * Chat-format examples: reading a `messages` cell (OpenAI / TRL "conversational" format, a JSON
 * array of `{role, content}`; ShareGPT's `{from, value}` is read too) and splitting a conversation
 * into the prompt the model is given and the reply it learns to write.
 *
 * The reply is the last turn, which must be the assistant's; everything before it is the prompt
 * (as TRL's `prompt`/`completion` split does). Only that last reply carries loss.
 */
import type { ChatMessage } from '../shared/types';

export type MessagesResult = { messages: ChatMessage[]; reason?: undefined } | { messages?: undefined; reason: string };

/** ShareGPT speaker names, as LLaMA-Factory and Axolotl map them. */
const SHAREGPT_ROLES: Record<string, string> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system' };

function describe(v: unknown): string {
	if (Array.isArray(v)) return 'an array';
	if (v === null) return 'null';
	return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Text content: a string, or a list of `{type: 'text', text}` parts (OpenAI's multi-part form). */
function contentText(v: unknown): string | undefined {
	if (typeof v === 'string') return v;
	if (Array.isArray(v) && v.every((p) => p && typeof p === 'object' && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string'))
		return v.map((p) => (p as { text: string }).text).join('');
	return undefined;
}

/** Reads one cell (the JSON text of the array) as a conversation, or says what is wrong with it. */
export function parseMessages(cell: string): MessagesResult {
	const raw = cell.trim();
	if (!raw) return { reason: 'the messages are empty' };
	let v: unknown;
	try {
		v = JSON.parse(raw);
	} catch {
		return { reason: 'the messages are not valid JSON (expected an array like [{"role": "user", "content": "…"}, …])' };
	}
	if (!Array.isArray(v)) return { reason: `the messages are ${describe(v)}, not an array of {"role", "content"} objects` };
	if (v.length === 0) return { reason: 'the messages are an empty array' };
	const messages: ChatMessage[] = [];
	for (let i = 0; i < v.length; i++) {
		const m = v[i] as Record<string, unknown>;
		const n = `message ${i + 1}`;
		if (m === null || typeof m !== 'object' || Array.isArray(m)) return { reason: `${n} is ${describe(m)}, not a {"role", "content"} object` };
		if ('role' in m || 'content' in m) {
			if (typeof m.role !== 'string' || !m.role.trim()) return { reason: `${n} has no "role" (expected "system", "user" or "assistant")` };
			const content = contentText(m.content);
			if (content === undefined)
				return { reason: m.content === undefined ? `${n} has no "content"` : `${n}'s "content" is ${describe(m.content)}, not text` };
			messages.push({ role: m.role.trim(), content });
		} else if ('from' in m || 'value' in m) {
			const role = SHAREGPT_ROLES[String(m.from ?? '').trim().toLowerCase()];
			if (!role) return { reason: `${n} has "from": ${JSON.stringify(m.from)}, expected "human", "gpt" or "system"` };
			if (typeof m.value !== 'string') return { reason: `${n}'s "value" is ${describe(m.value)}, not text` };
			messages.push({ role, content: m.value });
		} else return { reason: `${n} has no "role" and "content"` };
	}
	return { messages };
}

/** True when the cell looks like a conversation (used by the kind guess; cheaper than reading it). */
export function looksLikeMessages(cell: string): boolean {
	const s = cell.trimStart();
	return s.startsWith('[') && /"(role|from)"\s*:/.test(s) && parseMessages(cell).messages !== undefined;
}

/**
 * The prompt as one text, for display, the fallback template and deduplication: a single turn is
 * its content; several turns are written `Role: content`, separated by blank lines.
 */
export function promptText(messages: ChatMessage[]): string {
	if (messages.length === 1) return messages[0].content;
	return messages.map((m) => `${m.role[0].toUpperCase()}${m.role.slice(1)}: ${m.content}`).join('\n\n');
}

export type SplitConversation =
	| { prompt: ChatMessage[]; response: string; reason?: undefined }
	| { prompt?: undefined; response?: undefined; reason: string };

/** Splits a conversation into the turns before the final assistant reply, and that reply. */
export function splitConversation(messages: ChatMessage[]): SplitConversation {
	const last = messages[messages.length - 1];
	if (!last || last.role !== 'assistant')
		return { reason: `the conversation ends with a "${last?.role ?? 'nothing'}" turn, not an assistant reply to learn from` };
	if (!last.content.trim()) return { reason: 'the final assistant reply is empty' };
	const prompt = messages.slice(0, -1);
	if (!prompt.some((m) => m.content.trim())) return { reason: 'the conversation has no prompt before the assistant reply' };
	return { prompt, response: last.content };
}
