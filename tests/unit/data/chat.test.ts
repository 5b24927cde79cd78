import { describe, expect, it } from 'vitest';
import { applyChatTemplate, chatTemplateOf, encodePrompt, fallbackPrompt, formatPrompt } from '../../../src/lib/data/chat';
import { loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import { UserError } from '../../../src/lib/shared/errors';
import type { ChatMessage } from '../../../src/lib/shared/types';
import { hubFiles, llamaStyle } from './fixtures';

/**
 * SmolLM2-Instruct's chat template (HuggingFaceTB/SmolLM2-135M-Instruct tokenizer_config.json),
 * ChatML with a default system turn. The expected strings below were checked against Python
 * jinja2 3.1 with transformers' settings (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks).
 */
const SMOLLM2 =
	"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const smol = { chat_template: SMOLLM2, bos_token: '<|im_start|>', eos_token: '<|im_end|>', pad_token: '<|im_end|>' };
const SYSTEM = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n';

/** Mistral-Instruct v0.1's template: uses bos_token and eos_token, and raise_exception. */
const MISTRAL =
	"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% endif %}{% endfor %}";

const qa: ChatMessage[] = [
	{ role: 'user', content: 'What is 2+2?' },
	{ role: 'assistant', content: '4' }
];

describe('applyChatTemplate', () => {
	it("renders SmolLM2's ChatML template exactly", () => {
		expect(applyChatTemplate(smol, qa.slice(0, 1), { addGenerationPrompt: true })).toBe(
			SYSTEM + '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n'
		);
		expect(applyChatTemplate(smol, qa)).toBe(SYSTEM + '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n');
		expect(applyChatTemplate(smol, [{ role: 'system', content: 'Be brief.' }, ...qa])).toBe(
			'<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n'
		);
	});

	it('passes the special tokens by name and raise_exception, as transformers does', () => {
		const cfg = { chat_template: MISTRAL, bos_token: { content: '<s>' }, eos_token: '</s>' };
		expect(applyChatTemplate(cfg, qa)).toBe('<s>[INST] What is 2+2? [/INST]4</s> ');
		const e = (() => {
			try {
				applyChatTemplate(cfg, [qa[1], qa[0]]);
			} catch (err) {
				return err as UserError;
			}
		})();
		expect(e).toBeInstanceOf(UserError);
		expect(e!.code).toBe('invalid-config');
		expect(e!.message).toMatch(/could not render this conversation: Conversation roles must alternate/);
	});

	it("uses the 'default' of a list of named templates", () => {
		const cfg = { chat_template: [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: SMOLLM2 }] };
		expect(chatTemplateOf(cfg)).toBe(SMOLLM2);
		expect(chatTemplateOf({ chat_template: [{ name: 'rag', template: 'R' }] })).toBeUndefined();
	});

	it('falls back to the Alpaca format without a template', () => {
		const cfg = { eos_token: '</s>' };
		expect(applyChatTemplate(cfg, qa)).toBe('### Instruction:\nWhat is 2+2?\n\n### Response:\n4</s>');
		expect(applyChatTemplate(cfg, qa.slice(0, 1), { addGenerationPrompt: true })).toBe('### Instruction:\nWhat is 2+2?\n\n### Response:\n');
		const multi: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, ...qa];
		expect(applyChatTemplate(cfg, multi)).toBe('### Instruction:\nSystem: Be brief.\n\nUser: What is 2+2?\n\n### Response:\n4</s>');
	});
});

describe('formatPrompt and encodePrompt', () => {
	it('give the prompt the model saw in training', async () => {
		expect(formatPrompt(smol, 'What is 2+2?')).toBe(SYSTEM + '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n');
		expect(formatPrompt({}, 'What is 2+2?')).toBe(fallbackPrompt('What is 2+2?'));
		expect(formatPrompt({}, 'What is 2+2?')).toBe('### Instruction:\nWhat is 2+2?\n\n### Response:\n');

		// A template writes its own special tokens; the fallback gets the post-processor's BOS.
		const chatml = await loadHubTokenizer(hubFiles('llama'));
		const ids = encodePrompt(chatml.tokenizer, chatml.config, 'hi');
		expect(ids).toEqual(chatml.tokenizer.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'));
		expect(ids[0]).toBe(1);

		const llama = await loadHubTokenizer(hubFiles('gpt2', llamaStyle()));
		expect(encodePrompt(llama.tokenizer, llama.config, 'hi')).toEqual([99, ...llama.tokenizer.encode(fallbackPrompt('hi'))]);
	});
});
