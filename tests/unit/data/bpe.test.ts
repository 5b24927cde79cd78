import { describe, expect, it } from 'vitest';
import { BYTE_TO_UNICODE, learnBpe, learnBpeAsync, preTokenize, sampleForBpe, SPECIAL_TOKENS, trainBpe } from '../../../src/lib/data/bpe';
import { TextTokenizer } from '../../../src/lib/data/tokenizer';
import type { TokenizerConfig } from '../../../src/lib/shared/config';
import { Prng } from '../../../src/lib/shared/prng';

/** A corpus of ~50k words over a ~3k-word lexicon with a skewed (Zipf-like) frequency. */
function corpus(seed = 3, words = 50_000): string[] {
	const rng = new Prng(seed);
	const syl = ['ka', 'ro', 'mi', 'ten', 'sh', 'ou', 'ly', 'ing', 'er', 'pre', 'con', 'ab', 'qu', 'ex', 'z', 'th', 'ar', 'ion'];
	const lex = Array.from({ length: 3000 }, () => {
		let w = '';
		for (let j = 0, n = 1 + rng.int(4); j < n; j++) w += syl[rng.int(syl.length)];
		return rng.next() < 0.1 ? w[0].toUpperCase() + w.slice(1) : w;
	});
	lex.unshift('refund', 'invoice', 'password');
	const texts: string[] = [];
	for (let count = 0; count < words; ) {
		const n = 5 + rng.int(20);
		const ws = Array.from({ length: n }, () => lex[Math.floor(rng.next() ** 3 * lex.length)]);
		count += n;
		texts.push(`${ws.join(' ')}, ${rng.int(1000)}.`);
	}
	return texts;
}

const cased: TokenizerConfig = { kind: 'bpe-bytelevel', vocabSize: 1024, lowercase: false };
const lower: TokenizerConfig = { ...cased, lowercase: true };

const TRICKY = [
	'Hello, World!',
	'Ça va? Crème brûlée, naïve façade, Øresund, straße',
	'emoji 😀👍🏽 and 👨‍👩‍👧 family, 日本語のテキスト',
	'line one\nline two\r\n\nafter blank\ttab',
	'multiple   spaces    and trailing   ',
	'   leading spaces',
	"it's don't we'll I'M",
	'numbers 3.14159 and 1,000,000 and ١٢٣',
	'\u0000\u0007 control \u00ad soft hyphen',
	'a'
];

describe('trainBpe', () => {
	const texts = corpus();
	const json = trainBpe(texts, cased);

	it('writes a Hugging Face byte-level BPE tokenizer.json', () => {
		const spec = JSON.parse(json);
		expect(spec.added_tokens.map((t: { id: number; content: string; special: boolean }) => [t.id, t.content, t.special])).toEqual(
			SPECIAL_TOKENS.map((t, i) => [i, t, true])
		);
		expect(spec.normalizer).toBeNull();
		expect(spec.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
		expect(spec.decoder.type).toBe('ByteLevel');
		expect(spec.post_processor).toBeNull();
		expect(spec.model).toMatchObject({ type: 'BPE', unk_token: null, byte_fallback: false, ignore_merges: false });
		// Specials, then the 256 bytes in byte order, then merged tokens.
		expect(spec.model.vocab['<pad>']).toBe(0);
		expect(spec.model.vocab[BYTE_TO_UNICODE[0]]).toBe(4);
		expect(spec.model.vocab['Ġ']).toBe(4 + 32);
		expect(spec.model.vocab[BYTE_TO_UNICODE[255]]).toBe(259);
		expect(Object.keys(spec.model.vocab)).toHaveLength(cased.vocabSize);
		expect(spec.model.merges.length).toBeGreaterThanOrEqual(cased.vocabSize - 260);
		expect(spec.model.merges[0]).toEqual([expect.any(String), expect.any(String)]);
		expect(JSON.parse(trainBpe(texts, lower)).normalizer).toEqual({ type: 'Lowercase' });
	});

	it('is deterministic, whatever the order of the texts', () => {
		expect(trainBpe(texts, cased)).toBe(json);
		const shuffled = new Prng(9).shuffle(texts);
		expect(trainBpe(shuffled, cased)).toBe(json);
		expect(trainBpe(texts.slice(0, 100), cased)).not.toBe(json);
	});

	it('fills exactly the vocabulary size asked for, when the corpus allows', async () => {
		for (const vocabSize of [300, 777, 2048]) {
			const tok = await TextTokenizer.fromJson(trainBpe(texts, { ...cased, vocabSize }));
			expect(tok.vocabSize).toBe(vocabSize);
		}
		// A tiny corpus runs out of pairs and stops early rather than inventing tokens.
		const tiny = await TextTokenizer.fromJson(trainBpe(['ab ab'], { ...cased, vocabSize: 1000 }));
		expect(tiny.vocabSize).toBeLessThan(270);
		expect(tiny.vocabSize).toBeGreaterThan(260);
	});

	it('trains ~1000 merges over ~50k words quickly', () => {
		const t0 = performance.now();
		trainBpe(texts, { ...cased, vocabSize: 1260 });
		const ms = performance.now() - t0;
		// A sanity bound, far above the expected ~0.2 s, not a benchmark.
		expect(ms).toBeLessThan(10_000);
	});
});

describe('TextTokenizer', () => {
	const texts = corpus();

	it('round-trips arbitrary text exactly (cased)', async () => {
		const tok = await TextTokenizer.fromJson(trainBpe(texts, cased));
		for (const s of [...TRICKY, ...texts.slice(0, 50)]) expect(tok.decode(tok.encode(s))).toBe(s);
		expect(tok.encode('')).toEqual([]);
		expect(tok.decode([])).toBe('');
	});

	it('round-trips to the lowercased text (lowercase)', async () => {
		const tok = await TextTokenizer.fromJson(trainBpe(texts, lower));
		for (const s of TRICKY) expect(tok.decode(tok.encode(s))).toBe(s.toLowerCase());
		expect(tok.encode('REFUND')).toEqual(tok.encode('refund'));
	});

	it('makes frequent words single tokens', async () => {
		const tok = await TextTokenizer.fromJson(trainBpe(texts, cased));
		expect(tok.tokens(' refund invoice password')).toEqual(['Ġrefund', 'Ġinvoice', 'Ġpassword']);
		expect(tok.encode(' refund')).toHaveLength(1);
		// A word never seen falls back to pieces, down to single bytes.
		expect(tok.encode(' xylophone').length).toBeGreaterThan(1);
	});

	it('exposes the special ids and skips them when decoding', async () => {
		const tok = await TextTokenizer.fromJson(trainBpe(texts, cased));
		expect([tok.padId, tok.clsId, tok.eosId]).toEqual([0, 1, 2]);
		const ids = tok.encode('hello there');
		expect(tok.decode([tok.clsId!, ...ids, tok.eosId!, tok.padId!, tok.padId!])).toBe('hello there');
		for (const id of tok.encode(TRICKY.join(' '))) expect(id).toBeLessThan(tok.vocabSize);
	});

	it('encodes as the training merges segment, checked against a plain reference BPE', async () => {
		const { vocab, merges } = learnBpe(texts, cased);
		const tok = await TextTokenizer.fromJson(trainBpe(texts, cased));
		const rank = new Map(merges.map(([a, b], i) => [`${a}\u0001${b}`, i]));
		const enc = new TextEncoder();
		// Reference (as in GPT-2's encoder.py): merge the lowest-ranked pair present, everywhere
		// in the word, until no pair has a rank.
		const reference = (piece: string): string[] => {
			let word = Array.from(enc.encode(piece), (b) => BYTE_TO_UNICODE[b]);
			for (;;) {
				let best = -1;
				for (let i = 0; i + 1 < word.length; i++) {
					const r = rank.get(`${word[i]}\u0001${word[i + 1]}`);
					if (r !== undefined && (best < 0 || r < best)) best = r;
				}
				if (best < 0) return word;
				const [a, b] = merges[best];
				const next: string[] = [];
				for (let i = 0; i < word.length; i++)
					if (i + 1 < word.length && word[i] === a && word[i + 1] === b) next.push(a + b), i++;
					else next.push(word[i]);
				word = next;
			}
		};
		const ids = new Map(vocab.map((t, i) => [t, i]));
		for (const s of [...TRICKY, ...texts.slice(0, 200), ...corpus(11, 2000)]) {
			const expected = preTokenize(s, false).flatMap(reference).map((t) => ids.get(t));
			expect(tok.encode(s)).toEqual(expected);
		}
	});
});

describe('sampleForBpe', () => {
	const texts = corpus(5, 20_000);

	it('keeps every text when they fit the budget', () => {
		const chars = texts.reduce((n, t) => n + t.length, 0);
		expect(sampleForBpe(texts, chars)).toBe(texts);
	});

	it('samples whole texts, seeded, in their order, until the budget is reached', () => {
		const budget = 20_000;
		const a = sampleForBpe(texts, budget);
		expect(a.length).toBeLessThan(texts.length);
		const chars = a.reduce((n, t) => n + t.length, 0);
		expect(chars).toBeGreaterThanOrEqual(budget);
		expect(chars).toBeLessThan(budget + Math.max(...texts.map((t) => t.length)));
		// A subsequence of the texts: every one found, in order.
		let at = 0;
		for (const t of a) at = texts.indexOf(t, at) + 1;
		expect(at).toBeGreaterThan(0);
		expect(a.every((t) => texts.includes(t))).toBe(true);
		expect(sampleForBpe(texts, budget)).toEqual(a);
		// A training split larger than the budget trains on the sample, the same tokenizer every time.
		expect(trainBpe(sampleForBpe(texts, budget), cased)).toBe(trainBpe(sampleForBpe(texts.slice(), budget), cased));
	});

	it('learnBpeAsync learns what learnBpe learns', async () => {
		expect(await learnBpeAsync(texts, cased)).toEqual(learnBpe(texts, cased));
	});
});
