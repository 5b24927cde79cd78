import { describe, expect, it } from 'vitest';
import { TextTokenizer, loadHubTokenizer, tokenString } from '../../../src/lib/data/tokenizer';
import { trainBpe } from '../../../src/lib/data/bpe';
import { defaultTokenizerConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import { hubFiles, llamaStyle } from './fixtures';

const HELLO = 'Hello, world! 42'; // 16 characters, one id each in the tiny BPE tokenizers

describe('TextTokenizer from a Hub model', () => {
	it('resolves special tokens given as strings or AddedToken objects', async () => {
		const gpt2 = (await loadHubTokenizer(hubFiles('gpt2'))).tokenizer;
		expect([gpt2.bosId, gpt2.eosId, gpt2.padId, gpt2.unkId]).toEqual([0, 0, 0, 1]);

		const chatml = (await loadHubTokenizer(hubFiles('llama'))).tokenizer;
		expect(chatml.special).toEqual({ bos: '<|im_start|>', eos: '<|im_end|>', pad: '<|endoftext|>', unk: '<unk>' });
		expect([chatml.bosId, chatml.eosId, chatml.padId]).toEqual([1, 2, 0]);

		const llama = (await loadHubTokenizer(hubFiles('gpt2', llamaStyle()))).tokenizer;
		expect([llama.bosId, llama.eosId, llama.unkId]).toEqual([99, 100, 1]);
		// No pad token: pad with EOS.
		expect(llama.padId).toBe(100);
		expect(llama.config.bos_token).toBe('<s>');

		const bert = (await loadHubTokenizer(hubFiles('bert'))).tokenizer;
		expect([bert.clsId, bert.sepId, bert.padId, bert.unkId, bert.eosId]).toEqual([2, 3, 0, 1, undefined]);
		expect(tokenString({ content: '[CLS]' })).toBe('[CLS]');
	});

	it("falls back to GPT-2's <|endoftext|> when the config names no special tokens", async () => {
		const t = (await loadHubTokenizer(hubFiles('gpt2', { 'tokenizer_config.json': '{"model_max_length": 1024}' }))).tokenizer;
		expect([t.eosId, t.bosId, t.padId]).toEqual([0, 0, 0]);
		expect(t.unkId).toBe(0);
	});

	it("lets special_tokens_map.json override tokenizer_config.json, as transformers' from_pretrained does", async () => {
		const t = (await loadHubTokenizer(hubFiles('qwen2', { 'special_tokens_map.json': '{"eos_token": {"content": "<|im_end|>"}}' }))).tokenizer;
		expect(t.eosId).toBe(2);
	});

	it("adds the post-processor's special tokens and truncates the content, keeping them", async () => {
		const bert = (await loadHubTokenizer(hubFiles('bert'))).tokenizer;
		const plain = bert.encode('hello world');
		expect(plain).not.toContain(2);
		expect(bert.encode('hello world', { addSpecialTokens: true })).toEqual([2, ...plain, 3]);
		// truncation=True, max_length=4: two content ids between [CLS] and [SEP].
		expect(bert.encode('hello world', { addSpecialTokens: true, maxLength: 4 })).toEqual([2, plain[0], plain[1], 3]);
		expect(bert.encode('hello world', { maxLength: 4 })).toEqual(plain.slice(0, 4));
		expect(bert.encode('', { addSpecialTokens: true })).toEqual([2, 3]);

		const llama = (await loadHubTokenizer(hubFiles('gpt2', llamaStyle()))).tokenizer;
		const ids = llama.encode(HELLO);
		expect(ids).toHaveLength(16);
		expect(llama.prefixIds).toEqual([99]);
		expect(llama.suffixIds).toEqual([]);
		expect(llama.encode(HELLO, { addSpecialTokens: true })).toEqual([99, ...ids]);
		expect(llama.encode(HELLO, { addSpecialTokens: true, maxLength: 5 })).toEqual([99, ...ids.slice(0, 4)]);
		expect(llama.decode([99, ...ids, 100])).toBe(HELLO);

		// GPT-2's post-processor adds nothing.
		const gpt2 = (await loadHubTokenizer(hubFiles('gpt2'))).tokenizer;
		expect(gpt2.encode(HELLO, { addSpecialTokens: true })).toEqual(gpt2.encode(HELLO));
	});

	it('reads added tokens in the text as one id each (chat markers)', async () => {
		const t = (await loadHubTokenizer(hubFiles('llama'))).tokenizer;
		const ids = t.encode('<|im_start|>user\nhi<|im_end|>');
		expect(ids[0]).toBe(1);
		expect(ids[ids.length - 1]).toBe(2);
		expect(ids).toHaveLength(2 + 'user\nhi'.length);
		expect(t.decode(ids, { skipSpecialTokens: false })).toBe('<|im_start|>user\nhi<|im_end|>');
	});

	it('names a missing or damaged tokenizer', async () => {
		const missing = await loadHubTokenizer(hubFiles('gpt2', { 'tokenizer.json': undefined }), 'org/model').catch((e) => e);
		expect(missing).toBeInstanceOf(UserError);
		expect(missing.code).toBe('not-found');
		expect(missing.message).toMatch(/org\/model.*tokenizer\.json/);
		const damaged = await loadHubTokenizer(hubFiles('gpt2', { 'tokenizer_config.json': '{oops' })).catch((e) => e);
		expect(damaged.code).toBe('parse-error');
	});

	it("keeps the from-scratch tokenizer's special tokens", async () => {
		const tok = await TextTokenizer.fromJson(trainBpe(['hello there', 'general kenobi'], defaultTokenizerConfig));
		expect([tok.padId, tok.clsId, tok.eosId, tok.unkId, tok.bosId]).toEqual([0, 1, 2, 3, undefined]);
		expect(tok.prefixIds).toEqual([]);
		expect(tok.encode('hello', { addSpecialTokens: true })).toEqual(tok.encode('hello'));
	});
});
