// BLEU (sacrebleu 2.6.0 defaults) and the 13a tokenizer by hand and against published numbers.
import { describe, expect, it } from 'vitest';
import { bleuFromStats, corpusBleu, nltkCorpusBleu, sentenceBleu, tokenize13a } from '../../../src/lib/engine/eval';

describe('13a tokenizer', () => {
	it.each([
		['Hello, world!', 'Hello , world !'],
		['It costs $3.50 (or 1,250 yen).', 'It costs $ 3.50 ( or 1,250 yen ) .'],
		['On 2024-01-15 we met', 'On 2024 - 01 - 15 we met'],
		["don't stop", "don't stop"],
		['a &amp;lt; b &quot;c&quot;', 'a < b " c "'],
		['line-\nbreak\nhere', 'linebreak here'],
		['Zürich — «vraiment»!', 'Zürich — «vraiment» !']
	])('%j → %j', (input, tokens) => expect(tokenize13a(input)).toBe(tokens));

	it("splits on Python's whitespace, not JavaScript's", () => {
		expect(tokenize13a('a\u0085b')).toBe('a b');
		expect(tokenize13a('a\ufeffb')).toBe('a\ufeffb');
	});
});

describe('corpus BLEU', () => {
	it('reproduces the sacrebleu README example: 48.53 82.4/50.0/45.5/37.5 (BP = 0.943, 17/18)', () => {
		const hyps = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
		const streams = [
			['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
			['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.']
		];
		const b = corpusBleu(hyps, hyps.map((_, i) => streams.map((s) => s[i])));
		expect(b.score).toBeCloseTo(48.53, 2);
		expect(b.precisions.map((p) => p.toFixed(1))).toEqual(['82.4', '50.0', '45.5', '37.5']);
		expect(b.bp).toBeCloseTo(0.943, 3);
		expect([b.sysLen, b.refLen]).toEqual([17, 18]);
	});

	it("'exp' smoothing halves the stand-in count at each zero order", () => {
		const b = corpusBleu(['a b c d'], [['a b c e']]);
		expect(b.counts).toEqual([3, 2, 1, 0]);
		expect(b.precisions).toEqual([75, 200 / 3, 50, 50]);
		expect(b.score).toBeCloseTo(Math.exp((Math.log(75) + Math.log(200 / 3) + 2 * Math.log(50)) / 4), 12);
	});

	it('clips counts by the max over references and takes the closest, shorter-on-tie length', () => {
		const b = corpusBleu(['the the the x y'], [['the cat', 'the the mat z w u']]);
		expect(b.counts[0]).toBe(2);
		// hypothesis 5 tokens, references 2 and 6: 6 is closer
		expect(b.refLen).toBe(6);
		expect(corpusBleu(['a b c d e'], [['a b c d', 'a b c d e f']]).refLen).toBe(4);
	});

	it('without effective order, one-word hypotheses score 0', () => {
		expect(corpusBleu(['Hello'], [['Hello']]).score).toBe(0);
		expect(sentenceBleu('Hello', ['Hello']).score).toBeCloseTo(100, 12);
	});

	it('empty hypotheses and empty references', () => {
		expect(sentenceBleu('', ['the cat'])).toMatchObject({ score: 0, bp: 0, sysLen: 0, refLen: 2 });
		expect(sentenceBleu('the cat', [''])).toMatchObject({ score: 0, bp: 1, sysLen: 2, refLen: 0 });
		expect(sentenceBleu('', [''])).toMatchObject({ score: 0, bp: 1 });
		expect(() => corpusBleu(['a'], [[]])).toThrow(RangeError);
	});

	it('no matches at all: score 0 and every precision 0 (sacrebleu #141)', () => {
		expect(bleuFromStats([3, 3, 0, 0, 0, 0, 3, 2, 1, 0]).precisions).toEqual([0, 0, 0, 0]);
	});
});

describe('nltk corpus_bleu (cross-check)', () => {
	it('counts an empty hypothesis as one n-gram in each denominator', () => {
		const withEmpty = nltkCorpusBleu([[['a', 'b', 'c', 'd']], [['a', 'b', 'c', 'd']]], [[], ['a', 'b', 'c', 'd']]);
		const p = [4 / 5, 3 / 4, 2 / 3, 1 / 2];
		const bp = Math.exp(1 - 8 / 4);
		expect(withEmpty).toBeCloseTo(bp * Math.exp(p.reduce((s, x) => s + 0.25 * Math.log(x), 0)), 14);
	});

	it('is exactly 0 without a unigram match', () => {
		expect(nltkCorpusBleu([[['a']]], [['b']])).toBe(0);
	});
});
