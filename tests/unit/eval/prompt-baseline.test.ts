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
	it('shows a multi-label example with all its labels, in the order drawn, after the template label slot', () => {
		const ml = { template: 'Text: {text}\nTags: {label}', labelWords: ['billing', 'refund', 'urgent'] };
		expect(fewShotPrefix(ml, [{ text: 'charged twice, money back please', label: 0, labels: [0, 1] }, { text: 'app crashed', label: 2, labels: [2] }])).toBe(
			'Text: charged twice, money back please\nTags: billing, refund\n\nText: app crashed\nTags: urgent'
		);
		expect(fewShotPrefix(ml, [{ text: 'x', label: 1, labels: [1, 2, 0] }])).toBe('Text: x\nTags: refund, urgent, billing');
		// No space before {label}: none before the first word either, one after each comma.
		expect(fewShotPrefix({ ...ml, template: '{text} =>{label}' }, [{ text: 'x', label: 0, labels: [0, 2] }])).toBe('x =>billing, urgent');
		// The scored prompt asks for one word in that slot: the examples' first word is any of their labels.
		expect(splitTemplate(ml, 'y').prompt).toBe('Text: y\nTags:');
	});
	it('draws a multi-label example with its whole set, in a seeded random order', () => {
		const train = Array.from({ length: 40 }, (_, i) => ({ text: `t${i}`, label: i % 2, labels: i % 2 ? [1, 2, 3] : [0] }));
		const a = drawShots(train, 6, new Prng(5));
		expect(a).toEqual(drawShots(train, 6, new Prng(5)));
		for (const s of a) expect([...s.labels].sort()).toEqual(train.find((r) => r.text === s.text)!.labels);
		// Over many draws each label of the set comes first: the examples do not teach one fixed first label.
		const firsts = new Set(Array.from({ length: 30 }, (_, seed) => drawShots(train, 4, new Prng(seed)).filter((s) => s.labels.length === 3).map((s) => s.labels[0])).flat());
		expect([...firsts].sort()).toEqual([1, 2, 3]);
		// The stored sets are left as they were.
		expect(train[1].labels).toEqual([1, 2, 3]);
	});
});
