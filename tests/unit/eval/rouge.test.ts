// ROUGE (rouge-score 0.1.2) and the nltk Porter stemmer by hand and against published outputs.
import { describe, expect, it } from 'vitest';
import { porterStem, rougeL, rougeN, rougeScores, rougeTokenize } from '../../../src/lib/engine/eval';

describe('Porter stemmer (nltk 3.8, NLTK_EXTENSIONS)', () => {
	it('matches the nltk documentation example', () => {
		const plurals = ['caresses', 'flies', 'dies', 'mules', 'denied', 'died', 'agreed', 'owned', 'humbled', 'sized', 'meeting', 'stating', 'siezing', 'itemization', 'sensational', 'traditional', 'reference', 'colonizer', 'plotted'];
		expect(plurals.map(porterStem).join(' ')).toBe('caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot');
	});

	it.each([
		['skies', 'sky'],
		['dying', 'die'],
		['happy', 'happi'],
		['enjoy', 'enjoy'],
		['relational', 'relat'],
		['hopping', 'hop'],
		['falling', 'fall'],
		['filing', 'file'],
		['controll', 'control'],
		['is', 'is'],
		['constructor', 'constructor']
	])('%s → %s', (word, stem) => expect(porterStem(word)).toBe(stem));
});

describe('tokenizer', () => {
	it('lower-cases, keeps only [a-z0-9] runs, drops non-ASCII letters', () => {
		expect(rougeTokenize('Hello, World! Le café 3.5%')).toEqual(['hello', 'world', 'le', 'caf', '3', '5']);
	});

	it('stems only tokens longer than 3 characters', () => {
		expect(rougeTokenize('was running dogs', true)).toEqual(['was', 'run', 'dog']);
	});
});

describe('scores', () => {
	it('ROUGE-N clips counts; precision is relative to the prediction', () => {
		expect(rougeN(['the', 'cat', 'sat'], ['the', 'cat'], 1)).toEqual({ precision: 1, recall: 2 / 3, fmeasure: 0.8 });
		expect(rougeN(['the', 'cat', 'sat'], ['the', 'cat'], 2)).toMatchObject({ precision: 1, recall: 0.5 });
		expect(rougeN(['a'], ['a', 'a', 'a'], 1)).toMatchObject({ precision: 1 / 3, recall: 1 });
	});

	it('ROUGE-L is the LCS ratio; empty sides score 0', () => {
		expect(rougeL(['a', 'b', 'c', 'd'], ['a', 'c', 'b', 'd'])).toEqual({ precision: 0.75, recall: 0.75, fmeasure: 0.75 });
		expect(rougeL([], ['a'])).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
	});

	it('ROUGE-Lsum: the union-LCS example of the ROUGE paper (section 3.2)', () => {
		const s = rougeScores('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5', { rougeTypes: ['rougeLsum'] });
		expect(s.rougeLsum).toMatchObject({ precision: 0.4, recall: 0.8 });
	});

	it('rejects unknown ROUGE types', () => {
		expect(() => rougeScores('a', 'a', { rougeTypes: ['rougeW'] })).toThrow(RangeError);
	});
});
