/**
 * The fake Hub's tokenizers for the new tiny models (tests/fixtures/hub/<arch>, made by
 * make-tokenizers.ts) load through @huggingface/tokenizers with each family's special tokens and
 * template: DistilBERT's lowercase WordPiece with [CLS] … [SEP]; RoBERTa's byte-level BPE with
 * <s> … </s> and pad 1; GPT-NeoX's byte-level BPE with nothing added; Mistral's and Phi-3's
 * SentencePiece-style BPE with <s> in front, Gemma's with <bos>; every id fits the 128-id models.
 */
import { describe, expect, it } from 'vitest';
import { applyChatTemplate } from '../../../src/lib/data/chat';
import { loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import { hubFiles } from '../data/fixtures';
import { fixtureJson } from './fixtures';

const load = async (arch: string) => (await loadHubTokenizer(hubFiles(arch))).tokenizer;

describe('tokenizers of the new tiny models', () => {
	it('distilbert: lowercase WordPiece, [CLS] text [SEP], pad 0 = the config pad_token_id', async () => {
		const t = await load('distilbert');
		expect([t.clsId, t.sepId, t.padId, t.unkId]).toEqual([2, 3, 0, 1]);
		expect(t.padId).toBe(fixtureJson('distilbert', 'config.json').pad_token_id);
		const ids = t.encode('Hi there', { addSpecialTokens: true });
		expect(ids[0]).toBe(2);
		expect(ids.at(-1)).toBe(3);
		expect(t.tokens('Hi there')).toEqual(['h', '##i', 't', '##h', '##e', '##r', '##e']);
		expect(t.decode(ids)).toBe('hi there');
	});

	it('roberta: byte-level BPE, <s> text </s>, pad <pad> = 1 as the config says', async () => {
		const t = await load('roberta');
		expect(t.special).toMatchObject({ bos: '<s>', eos: '</s>', pad: '<pad>', cls: '<s>', sep: '</s>' });
		expect([t.bosId, t.padId, t.eosId, t.clsId]).toEqual([0, 1, 2, 0]);
		expect(t.padId).toBe(fixtureJson('roberta', 'config.json').pad_token_id);
		expect(t.tokens('the cat')).toEqual(['t', 'he', 'Ġ', 'c', 'a', 't']);
		const ids = t.encode('the cat', { addSpecialTokens: true });
		expect(ids[0]).toBe(0);
		expect(ids.at(-1)).toBe(2);
		expect(t.decode(ids)).toBe('the cat');
	});

	it('gpt_neox: byte-level BPE with merges, nothing added, <|endoftext|> as eos and pad', async () => {
		const t = await load('gpt_neox');
		expect([t.eosId, t.bosId, t.padId]).toEqual([0, 0, 0]);
		expect(t.tokens('the tea')).toEqual(['t', 'he', 'Ġt', 'e', 'a']);
		const ids = t.encode('Hello, world! 42', { addSpecialTokens: true });
		expect(t.decode(ids)).toBe('Hello, world! 42');
		expect(ids).toEqual(t.encode('Hello, world! 42'));
	});

	for (const [arch, bos, eos, pad] of [
		['mistral', 1, 2, 2],
		['phi3', 1, 3, 3],
		['gemma', 2, 1, 0]
	] as const)
		it(`${arch}: SentencePiece-style BPE, bos ${bos} in front, eos ${eos}, pad ${pad}, text round-trips`, async () => {
			const t = await load(arch);
			expect([t.bosId, t.eosId, t.padId]).toEqual([bos, eos, pad]);
			const ids = t.encode('Hello there, world! 42', { addSpecialTokens: true });
			expect(ids[0]).toBe(bos);
			expect(ids.slice(1)).toEqual(t.encode('Hello there, world! 42'));
			expect(t.decode(ids)).toBe('Hello there, world! 42');
			expect(t.tokens('the')).toEqual(arch === 'gemma' ? ['t', 'he'] : ['▁t', 'he']);
		});

	it('every id of every new tokenizer fits the tiny models', async () => {
		for (const arch of ['distilbert', 'roberta', 'gpt_neox', 'mistral', 'gemma', 'phi3']) {
			const t = await load(arch);
			expect(t.vocabSize, arch).toBeLessThanOrEqual(fixtureJson(arch, 'config.json').vocab_size as number);
		}
	});

	it("mistral, gemma and phi3: their chat templates render as the families' own, special tokens as single ids", async () => {
		const chat = [
			{ role: 'user' as const, content: 'Hi' },
			{ role: 'assistant' as const, content: 'Yo' }
		];
		const want: Record<string, string> = {
			mistral: '<s>[INST] Hi [/INST]Yo</s>',
			gemma: '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n',
			phi3: '<|user|>\nHi<|end|>\n<|assistant|>\nYo<|end|>\n<|endoftext|>'
		};
		for (const arch of ['mistral', 'gemma', 'phi3']) {
			const { tokenizer, config } = await loadHubTokenizer(hubFiles(arch));
			const text = applyChatTemplate(config, chat);
			expect(text, arch).toBe(want[arch]);
			const ids = tokenizer.encode(text);
			for (const special of text.match(/<[^<>]+>/g)!) expect(ids, `${arch} ${special}`).toContain(tokenizer.tokenId(special));
		}
	});
});
