import { describe, expect, it } from 'vitest';
import { checkTemplate, drawShots, fewShotPrefix, splitTemplate } from '../../../src/lib/engine/eval/prompt-baseline';
import { Prng } from '../../../src/lib/shared/prng';

const t = { template: 'Ticket: {text}\nTeam: {label}', labelWords: ['billing', 'shipping'] };

describe('prompt templates', () => {
	it('puts the space before {label} on the label word, as BPE tokenizers expect', () => {
		expect(splitTemplate(t, 'card charged twice')).toEqual({ prompt: 'Ticket: card charged twice\nTeam:', continuations: [' billing', ' shipping'] });
		expect(splitTemplate({ ...t, template: '{text} =>{label}' }, 'x').continuations).toEqual(['billing', 'shipping']);
	});
	it('refuses templates without {text}, with {label} not at the end, and duplicate words', () => {
		expect(() => checkTemplate({ ...t, template: 'Team: {label}' }, ['a', 'b'])).toThrow(/\{text\}/);
		expect(() => checkTemplate({ ...t, template: '{label} {text}' }, ['a', 'b'])).toThrow(/very end/);
		expect(() => checkTemplate({ ...t, labelWords: ['x', 'x'] }, ['a', 'b'])).toThrow(/same label word/);
		expect(() => checkTemplate({ ...t, labelWords: ['x'] }, ['a', 'b'])).toThrow(/one non-empty label word/);
		expect(() => checkTemplate(t, ['a', 'b'])).not.toThrow();
	});
	it('draws shots seeded and spread over the labels', () => {
		const train = Array.from({ length: 30 }, (_, i) => ({ text: `t${i}`, label: i < 25 ? 0 : 1 }));
		const a = drawShots(train, 4, new Prng(3));
		expect(a).toEqual(drawShots(train, 4, new Prng(3)));
		expect(a.filter((s) => s.label === 1).length).toBe(2);
		expect(drawShots(train, 0, new Prng(3))).toEqual([]);
		expect(fewShotPrefix(t, [{ text: 'a', label: 1 }, { text: 'b', label: 0 }])).toBe('Ticket: a\nTeam: shipping\n\nTicket: b\nTeam: billing');
	});
});
