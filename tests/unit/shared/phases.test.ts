import { describe, expect, it } from 'vitest';
import { PhaseReporter, etaText, phaseText, type PhaseProgress } from '../../../src/lib/shared/phases';

describe('phase words', () => {
	it('says the phase, its count and the time left', () => {
		expect(phaseText({ phase: 'generating', done: 7, total: 20, unit: 'prompts', etaSec: 40.4 })).toBe('Generating test answers · 7 / 20 prompts · about 40 s left');
		expect(phaseText({ phase: 'tokenizing', done: 789, total: 789, unit: 'rows', etaSec: 0, note: 'reused the cached tokens' })).toBe('Tokenizing · 789 / 789 rows · reused the cached tokens');
		expect(phaseText({ phase: 'loading-model', done: 0, total: 0, unit: '' })).toBe('Loading the model');
	});

	it('rounds the time left to seconds or minutes, and says nothing without an estimate', () => {
		expect(etaText(undefined)).toBe('');
		expect(etaText(0.4)).toBe('less than a second left');
		expect(etaText(89)).toBe('about 89 s left');
		expect(etaText(600)).toBe('about 10 min left');
	});
});

describe('PhaseReporter', () => {
	it('starts at 0, sends at most every interval (always the last count), with an ETA from the pace so far', () => {
		let t = 0;
		const sent: (PhaseProgress | null)[] = [];
		const r = new PhaseReporter((p) => sent.push(p), { phase: 'scoring', total: 10, unit: 'rows' }, 250, () => t);
		t = 100;
		r.tick(1); // 100 ms after the last send: held back
		t = 500;
		r.tick(2); // 0.5 s for 2 rows: 2 s for the 8 left
		t = 600;
		r.tick(10); // the last count always goes
		r.end();
		expect(sent).toEqual([
			{ phase: 'scoring', total: 10, unit: 'rows', done: 0 },
			{ phase: 'scoring', total: 10, unit: 'rows', done: 2, etaSec: 2 },
			{ phase: 'scoring', total: 10, unit: 'rows', done: 10, etaSec: 0 },
			null
		]);
	});

	it('a finer share of the work drives the ETA while the count has not moved', () => {
		let t = 0;
		const sent: (PhaseProgress | null)[] = [];
		const r = new PhaseReporter((p) => sent.push(p), { phase: 'generating', total: 20, unit: 'prompts' }, 250, () => t);
		t = 4000;
		r.tick(0, undefined, 0.25); // a quarter of the tokens in 4 s: 12 s left, no answer finished yet
		expect(sent.at(-1)).toEqual({ phase: 'generating', total: 20, unit: 'prompts', done: 0, fraction: 0.25, etaSec: 12 });
	});

	it('finish() sends the latest count even right after another', () => {
		let t = 0;
		const sent: (PhaseProgress | null)[] = [];
		const r = new PhaseReporter((p) => sent.push(p), { phase: 'training-tokenizer', total: 100, unit: 'merges' }, 250, () => t);
		t = 10;
		r.tick(40);
		r.finish();
		expect(sent.map((p) => p?.done)).toEqual([0, 40]);
	});
});
