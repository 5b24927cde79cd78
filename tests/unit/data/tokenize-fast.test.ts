// The fast encoder (tokenize-fast.ts) against tokenizers.js (`@huggingface/tokenizers`, which
// `TextTokenizer.encode` ran before it; the reference): the same ids on fixtures and random text,
// cased and lowercased, short words (scanned) and long ones (the heap), special tokens written in
// the text, truncation; the rows encoder (tokenize-rows.ts) in slices and in shards joined; other
// tokenizers refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { bpeTokenizerConfig, trainBpe as train } from '../../../src/lib/data/bpe';
import { TextTokenizer } from '../../../src/lib/data/tokenizer';
import { FastBpe } from '../../../src/lib/data/tokenize-fast';
import { concatEncoded, encodeRows } from '../../../src/lib/data/tokenize-rows';
import type { TokenizerConfig } from '../../../src/lib/shared/config';
import { Prng } from '../../../src/lib/shared/prng';
import { ticketsCsv } from './fixtures';

const TRICKY = [
	'Hello, World!',
	'Ça va? Crème brûlée, naïve façade, Øresund, straße, ΣΊΣΥΦΟΣ Σ.',
	'emoji 😀👍🏽 and 👨‍👩‍👧 family, 日本語のテキスト, 𝐀𝐁𝐂 𝟙𝟚',
	'line one\nline two\r\n\nafter blank\ttab',
	'multiple   spaces    and trailing   ',
	'   leading spaces',
	"it's don't we'll I'M 'twas ''s",
	'numbers 3.14159 and 1,000,000 and ١٢٣',
	'\u0000\u0007 control \u00ad soft hyphen \u00a0nbsp \u2028 \ufeff',
	'lone \ud800 surrogate \udc00 x',
	'specials <pad><cls> in <eos>text<unk> and <pad <eos',
	'a',
	'',
	'x'.repeat(70) + ' ' + 'ab'.repeat(90) + ' ' + 'refund'.repeat(30) + '!'.repeat(80)
];

/** Texts from the ticket fixture and a seeded mix of words, so the BPE has real merges. */
function corpus(n: number, seed = 5): string[] {
	const rows = ticketsCsv(n, seed).trim().split('\n').slice(1).map((l) => l.split('"')[1]);
	const rng = new Prng(seed);
	const syl = ['ka', 'ro', 'mi', 'ten', 'sh', 'ou', 'ly', 'ing', 'er', 'pre', 'Con', 'ab', 'é', 'ü', 'ß', ' ', '  ', '.', ',', "'s", '42'];
	for (let i = 0; i < n; i++) rows.push(Array.from({ length: 5 + rng.int(40) }, () => syl[rng.int(syl.length)]).join(''));
	return rows;
}

/** Random strings over ASCII, Latin-1, other scripts, digits, whitespace, emoji, specials and lone surrogates. */
function randomTexts(n: number, seed: number): string[] {
	const rng = new Prng(seed);
	const pieces = ['a', 'b', 'e', 'r', 'n', 'A', 'Z', ' ', ' ', '  ', '\n', '\t', '\r\n', '\u3000', "'", "'s", "'ll", '.', ',', '!', '?', '-', '0', '7', '½', '٣', 'é', 'ß', 'Σ', 'ς', 'İ', 'ж', '中', '😀', '🏽', '\u200d', '\ud800', '\udfff', '<pad>', '<eos>', '<', '>', '\u0000'];
	return Array.from({ length: n }, () => {
		let s = '';
		const len = rng.int(rng.next() < 0.05 ? 400 : 40);
		for (let i = 0; i < len; i++) s += rng.next() < 0.3 ? 'ing'.slice(0, 1 + rng.int(3)) : pieces[rng.int(pieces.length)];
		return s;
	});
}

/** tokenizers.js itself, as TextTokenizer ran it: `encode(text)` without special tokens. */
class Reference {
	private tok: Tokenizer;
	constructor(json: string) {
		this.tok = new Tokenizer(JSON.parse(json), bpeTokenizerConfig());
	}
	encode(text: string): number[] {
		return text.length === 0 ? [] : this.tok.encode(text, { add_special_tokens: false }).ids;
	}
}

const cased: TokenizerConfig = { kind: 'bpe-bytelevel', vocabSize: 700, lowercase: false };
const lower: TokenizerConfig = { ...cased, lowercase: true };

describe('FastBpe gives the ids tokenizers.js gives', () => {
	const texts = corpus(600);
	for (const [name, cfg] of [['cased', cased], ['lowercase', lower], ['cased, 300 tokens', { ...cased, vocabSize: 300 }]] as const) {
		it(`on fixtures and random text (${name})`, () => {
			const json = train(texts, cfg);
			const reference = new Reference(json);
			const fast = FastBpe.fromSpec(JSON.parse(json))!;
			expect(fast).toBeDefined();
			const all = [...TRICKY, ...texts, ...randomTexts(1500, 11), ...randomTexts(300, 12).map((t) => t.repeat(8))];
			for (const t of all) expect(fast.encode(t), JSON.stringify(t)).toEqual(reference.encode(t));
			// Again from the warm word cache.
			for (const t of all.slice(0, 200)) expect(fast.encode(t)).toEqual(reference.encode(t));
		});
	}

	it('is what TextTokenizer encodes our BPE with', () => {
		const json = train(texts, lower);
		const tok = new TextTokenizer(json);
		const reference = new Reference(json);
		for (const t of [...TRICKY, ...randomTexts(300, 8)]) {
			expect(tok.encode(t)).toEqual(reference.encode(t));
			expect(tok.encode(t, { maxLength: 5 })).toEqual(reference.encode(t).slice(0, 5));
		}
	});

	it('cuts a row at the maximum length, as slicing the whole encoding does', () => {
		const json = train(texts, cased);
		const reference = new Reference(json);
		const fast = FastBpe.fromSpec(JSON.parse(json))!;
		const long = [...TRICKY, ...randomTexts(200, 3)].join(' <pad> ').repeat(3);
		for (const max of [0, 1, 2, 7, 64, 500, 5000]) expect(fast.encode(long, max)).toEqual(reference.encode(long).slice(0, max));
	});

	it('keeps the last rank of a merge listed twice, and refuses tokenizers it cannot reproduce', () => {
		const spec = JSON.parse(train(texts, cased));
		const reference = new Reference(JSON.stringify(spec));
		expect(FastBpe.fromSpec(spec)).toBeDefined();
		// A merge repeated at the end ranks last in tokenizers.js' map, so the order of merges changes.
		const twice = { ...spec, model: { ...spec.model, merges: [...spec.model.merges, spec.model.merges[0]] } };
		const changed = new Reference(JSON.stringify(twice));
		const fast = FastBpe.fromSpec(twice)!;
		const sample = [...TRICKY, ...texts.slice(0, 100)];
		expect(sample.some((t) => changed.encode(t).join() !== reference.encode(t).join())).toBe(true);
		for (const t of sample) expect(fast.encode(t)).toEqual(changed.encode(t));

		expect(FastBpe.fromSpec({ ...spec, normalizer: { type: 'NFC' } })).toBeUndefined();
		expect(FastBpe.fromSpec({ ...spec, pre_tokenizer: { ...spec.pre_tokenizer, add_prefix_space: true } })).toBeUndefined();
		expect(FastBpe.fromSpec({ ...spec, model: { ...spec.model, byte_fallback: true } })).toBeUndefined();
		expect(FastBpe.fromSpec({ ...spec, added_tokens: [{ ...spec.added_tokens[0], lstrip: true }] })).toBeUndefined();
		for (const model of ['bert', 'gpt2', 'gpt_neox', 'llama', 'qwen2', 'roberta', 'gemma']) {
			const hub = JSON.parse(readFileSync(new URL(`../../fixtures/hub/${model}/tokenizer.json`, import.meta.url), 'utf8'));
			expect(FastBpe.fromSpec(hub), model).toBeUndefined();
		}
	});
});

describe('encodeRows', () => {
	const texts = [...corpus(400, 9), ...TRICKY, ...randomTexts(400, 4)];
	const json = train(texts.slice(0, 400), lower);
	const reference = new Reference(json);

	it('lays out every row, cut to the maximum length, and counts the rows done', async () => {
		const counts: number[] = [];
		const { ids, offsets } = await encodeRows(json, texts, 16, (done) => counts.push(done));
		expect(offsets).toHaveLength(texts.length + 1);
		texts.forEach((t, i) => expect(Array.from(ids.subarray(offsets[i], offsets[i + 1]))).toEqual(reference.encode(t).slice(0, 16)));
		expect(counts.at(-1)).toBe(texts.length);
	});

	it('gives the same arrays from shards joined in order (the sub-workers) as from one pass', async () => {
		const whole = await encodeRows(json, texts, 40);
		const parts = await Promise.all([texts.slice(0, 333), texts.slice(333, 334), texts.slice(334)].map((s) => encodeRows(json, s, 40)));
		const joined = concatEncoded(parts);
		expect(joined.offsets).toEqual(whole.offsets);
		expect(joined.ids).toEqual(whole.ids);
	});

	it('encodes with tokenizers.js when the tokenizer is not one FastBpe reproduces', async () => {
		const spec = JSON.parse(json);
		const other = JSON.stringify({ ...spec, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] } });
		const ref = new Reference(other);
		expect(new TextTokenizer(other).encode('Ｆｕｌｌ ｗｉｄｔｈ ﬁ')).toEqual(ref.encode('Ｆｕｌｌ ｗｉｄｔｈ ﬁ'));
		const { ids, offsets } = await encodeRows(other, ['Ｆｕｌｌ ｗｉｄｔｈ ﬁ', ...texts.slice(0, 50)], 1000);
		expect(Array.from(ids.subarray(offsets[0], offsets[1]))).toEqual(ref.encode('Ｆｕｌｌ ｗｉｄｔｈ ﬁ'));
		expect(Array.from(ids.subarray(offsets[0], offsets[1]))).not.toEqual(reference.encode('Ｆｕｌｌ ｗｉｄｔｈ ﬁ'));
	});
});
