import { describe, expect, it } from 'vitest';
import { buildPairRows, buildTextRows, guessKind, requireRows, resolvePairs } from '../../../src/lib/data/kinds';
import { parseMessages, promptText, splitConversation } from '../../../src/lib/data/messages';
import { parseTable } from '../../../src/lib/data/parse';
import { UserError } from '../../../src/lib/shared/errors';
import { enc, sampleFile, ticketsCsv } from './fixtures';

const table = (name: string, text: string) => parseTable(name, enc(text));
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const msg = (role: string, content: string) => ({ role, content });

function thrown(fn: () => unknown): UserError {
	try {
		fn();
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

describe('guessKind', () => {
	it('recognizes Alpaca fields', () => {
		const g = guessKind(parseTable('alpaca.jsonl', sampleFile('alpaca-sample.jsonl')));
		expect(g).toMatchObject({ kind: 'pairs', format: 'alpaca', textColumn: 'instruction', inputColumn: 'input', responseColumn: 'output' });
	});

	it('recognizes a messages column, in JSONL and as JSON text in CSV', () => {
		expect(guessKind(parseTable('chat.jsonl', sampleFile('chat-sample.jsonl')))).toMatchObject({ kind: 'pairs', format: 'chat', textColumn: 'messages', problemCount: 0 });
		const conv = JSON.stringify([msg('user', 'hi'), msg('assistant', 'hello')]).replaceAll('"', '""');
		const csv = 'id,dialog\n' + Array.from({ length: 12 }, (_, i) => `${i},"${conv}"`).join('\n');
		expect(guessKind(table('chat.csv', csv))).toMatchObject({ kind: 'pairs', format: 'chat', textColumn: 'dialog' });
	});

	it('counts unreadable conversations with their lines', () => {
		const good = (i: number) => ({ messages: [msg('user', `q${i}`), msg('assistant', `a${i}`)] });
		const rows = [good(0), { messages: { role: 'user' } }, ...Array.from({ length: 8 }, (_, i) => good(i + 1))];
		const g = guessKind(table('chat.jsonl', jsonl(rows)));
		expect(g).toMatchObject({ kind: 'pairs', format: 'chat', problemCount: 1 });
		expect(g.problems![0]).toEqual({ line: 2, message: 'line 2: the messages are an object, not an array of {"role", "content"} objects' });
	});

	it('recognizes prompt/response column names, unless the "response" is a category', () => {
		for (const [p, r] of [['prompt', 'response'], ['Question', 'Answer'], ['input', 'output'], ['source', 'target']]) {
			const rows = Array.from({ length: 20 }, (_, i) => ({ [p]: `question number ${i}?`, [r]: `a different answer, number ${i}` }));
			expect(guessKind(table('pairs.jsonl', jsonl(rows)))).toMatchObject({ kind: 'pairs', format: 'columns', textColumn: p, responseColumn: r });
		}
		// "target" with four repeated values is a label.
		const rows = Array.from({ length: 40 }, (_, i) => ({ source: `ticket text ${i}`, target: ['a', 'b', 'c', 'd'][i % 4] }));
		expect(guessKind(table('t.jsonl', jsonl(rows)))).toMatchObject({ kind: 'classification', textColumn: 'source', labelColumn: 'target' });
	});

	it('guesses text when no column looks like a label, classification otherwise', () => {
		expect(guessKind(parseTable('d.jsonl', sampleFile('domain-text.jsonl')))).toMatchObject({ kind: 'text', textColumn: 'text' });
		const withIds = 'id,body\n' + Array.from({ length: 30 }, (_, i) => `${i},paragraph number ${i} of the handbook`).join('\n');
		expect(guessKind(table('d.csv', withIds))).toMatchObject({ kind: 'text', textColumn: 'body' });
		expect(guessKind(table('tickets.csv', ticketsCsv(60)))).toMatchObject({ kind: 'classification', textColumn: 'text', labelColumn: 'team' });
		// Another column of words might be what the user means as a label (a few repeated values) ...
		const few = 'text,tag\n' + Array.from({ length: 30 }, (_, i) => `some text number ${i},tag ${i % 20}`).join('\n');
		expect(guessKind(table('few.csv', few))).toMatchObject({ kind: 'classification', textColumn: 'text' });
		// ... and the reason names it, with the way to text alone.
		expect(guessKind(table('few.csv', few)).why).toBe('no column looks like a label or a response, but "tag" has words in it and may be the label you mean; for the text alone, choose Language modelling');
		// A column with a different value in every row is an id, which the import would refuse as a label: text.
		const ids = 'text,id\n' + Array.from({ length: 30 }, (_, i) => `some text number ${i},row-${i}`).join('\n');
		expect(guessKind(table('ids.csv', ids))).toMatchObject({ kind: 'text', textColumn: 'text' });
		expect(guessKind(table('ids.csv', ids)).why).toBe('no column looks like a label or a response: "id" holds a different value in almost every row (an id or free text, not a label), so "text" is read as text alone');
		const oneClass = 'text,label\n' + Array.from({ length: 30 }, (_, i) => `ticket ${i} about billing,billing`).join('\n');
		expect(guessKind(table('one.csv', oneClass))).toMatchObject({ kind: 'classification', textColumn: 'text' });
	});
});

describe('messages', () => {
	it('reads role/content and ShareGPT from/value, and names what is wrong', () => {
		expect(parseMessages(JSON.stringify([msg('user', 'q'), msg('assistant', 'a')])).messages).toEqual([msg('user', 'q'), msg('assistant', 'a')]);
		expect(parseMessages(JSON.stringify([{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }])).messages).toEqual([msg('user', 'q'), msg('assistant', 'a')]);
		expect(parseMessages(JSON.stringify([{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }])).messages).toEqual([msg('user', 'ab')]);
		expect(parseMessages('{"role": "user"}').reason).toMatch(/an object, not an array/);
		expect(parseMessages('[{"content": "x"}]').reason).toBe('message 1 has no "role" (expected "system", "user" or "assistant")');
		expect(parseMessages('[{"role": "user"}]').reason).toBe('message 1 has no "content"');
		expect(parseMessages('[{"role": "user", "content": 3}]').reason).toBe('message 1\'s "content" is a number, not text');
		expect(parseMessages('[1]').reason).toMatch(/message 1 is a number/);
		expect(parseMessages('[').reason).toMatch(/not valid JSON/);
		expect(parseMessages('[]').reason).toMatch(/empty array/);
	});

	it('splits a conversation at the final assistant turn', () => {
		const conv = [msg('system', 'Be brief.'), msg('user', 'q1'), msg('assistant', 'a1'), msg('user', 'q2'), msg('assistant', 'a2')];
		const s = splitConversation(conv);
		expect(s.response).toBe('a2');
		expect(s.prompt).toEqual(conv.slice(0, 4));
		expect(promptText(s.prompt!)).toBe('System: Be brief.\n\nUser: q1\n\nAssistant: a1\n\nUser: q2');
		expect(promptText([msg('user', 'q')])).toBe('q');
		expect(splitConversation([msg('user', 'q')]).reason).toMatch(/ends with a "user" turn/);
		expect(splitConversation([msg('user', 'q'), msg('assistant', ' ')]).reason).toMatch(/reply is empty/);
		expect(splitConversation([msg('assistant', 'a')]).reason).toMatch(/no prompt/);
	});
});

describe('building rows', () => {
	it('builds Alpaca prompts from the instruction and the input', () => {
		const t = parseTable('a.jsonl', sampleFile('alpaca-sample.jsonl'));
		const spec = resolvePairs(t, 'instruction', 'output');
		expect(spec).toEqual({ format: 'alpaca', promptColumn: 'instruction', responseColumn: 'output', inputColumn: 'input' });
		const built = buildPairRows(t, spec);
		expect(built.rows).toHaveLength(20);
		expect(built.rows[0].text).toBe("Summarize the customer's problem in one sentence.\n\nI bought the yearly plan on Monday, but the app still shows the free plan and won't let me add more than three notebooks.");
		expect(built.rows[2].text).toBe('Write a short, friendly reply asking for the order number.'); // empty input
		expect(built.rows[0].meta).toBeUndefined();
	});

	it('builds chat rows, dropping conversations without a final assistant turn', () => {
		const rows = [
			...Array.from({ length: 10 }, (_, i) => ({ messages: [msg('user', `q${i}`), msg('assistant', `a${i}`)], id: i })),
			{ messages: [msg('user', 'q'), msg('assistant', 'a'), msg('user', 'and?')], id: 10 },
			{ messages: [msg('user', 'q0'), msg('assistant', 'a0')], id: 11 },
			{ messages: [{ role: 'user' }], id: 12 }
		];
		const t = table('c.jsonl', jsonl(rows));
		const built = buildPairRows(t, resolvePairs(t, 'messages'));
		expect(built.rows).toHaveLength(10);
		expect(built.rows[3]).toEqual({ text: 'q3', response: 'a3', messages: [msg('user', 'q3'), msg('assistant', 'a3')], line: 4, meta: { id: '3' } });
		expect(built.dropped).toEqual([
			{ line: 11, reason: 'the conversation ends with a "user" turn, not an assistant reply to learn from' },
			{ line: 12, reason: 'duplicate of line 1' }
		]);
		expect(built.problems).toEqual([{ line: 13, message: 'line 13: message 1 has no "content"' }]);
	});

	it('refuses a column that holds no conversations', () => {
		const t = table('c.jsonl', jsonl(Array.from({ length: 12 }, (_, i) => ({ messages: `plain text ${i}` }))));
		const e = thrown(() => buildPairRows(t, resolvePairs(t, 'messages')));
		expect(e.code).toBe('parse-error');
		expect(e.message).toMatch(/Column "messages" does not hold chat messages/);
		expect(e.lines).toEqual([1, 2, 3, 4, 5]);
	});

	it('names the wrong column choices for two-column pairs', () => {
		const rows = Array.from({ length: 12 }, (_, i) => ({ prompt: `p${i}`, response: i < 9 ? '' : `r${i}`, other: `o${i}` }));
		const t = table('p.jsonl', jsonl(rows));
		const empty = thrown(() => buildPairRows(t, resolvePairs(t, 'prompt', 'response')));
		expect([empty.code, empty.message]).toEqual(['no-label-column', 'Column "response" is empty in 9 of 12 rows. Pick the column that holds the response.']);
		expect(thrown(() => buildPairRows(t, resolvePairs(t, 'prompt', 'prompt'))).message).toMatch(/both the prompt and the response/);
		expect(thrown(() => buildPairRows(t, resolvePairs(t, 'prompt', 'nope'))).message).toMatch(/no column named "nope"/);

		const some = table('p.jsonl', jsonl(Array.from({ length: 10 }, (_, i) => ({ prompt: `p${i}`, response: i === 4 ? ' ' : `r${i}` }))));
		const built = buildPairRows(some, resolvePairs(some, 'prompt', 'response'));
		expect(built.dropped).toEqual([{ line: 5, reason: 'empty response ("response")' }]);
		const few = thrown(() => requireRows(built, 'columns'));
		expect(few.code).toBe('too-few-rows');
		expect(few.message).toBe('Only 9 usable prompt/response pairs (1 dropped; see the reasons by line). At least 10 are needed: add more rows with both a prompt and a response.');
		expect(few.lines).toEqual([5]);
	});

	it('builds text rows, dropping empty and duplicate texts', () => {
		const t = table('t.csv', 'text,n\nfirst paragraph,1\n,2\nfirst paragraph,3\nsecond one,4\n');
		const built = buildTextRows(t, 'text');
		expect(built.rows.map((r) => r.text)).toEqual(['first paragraph', 'second one']);
		expect(built.dropped).toEqual([
			{ line: 3, reason: 'empty text ("text")' },
			{ line: 4, reason: 'duplicate of line 2' }
		]);
		expect(thrown(() => requireRows(built, 'text')).message).toMatch(/Only 2 usable rows .*split long documents into paragraphs/);
		expect(thrown(() => buildTextRows(t, 'n')).message).toMatch(/holds numbers/);
	});

	it('keeps duplicate texts, prompts and conversations when asked, counting them either way', () => {
		const t = table('t.csv', 'text,n\nfirst paragraph,1\n,2\nfirst paragraph,3\nsecond one,4\nfirst paragraph,5\n');
		const kept = buildTextRows(t, 'text', { duplicates: 'keep' });
		expect(kept.rows.map((r) => r.line)).toEqual([2, 4, 5, 6]);
		expect(kept.dropped).toEqual([{ line: 3, reason: 'empty text ("text")' }]);
		expect([kept.empty, kept.dedupe.duplicates, kept.dedupe.conflictTexts]).toEqual([1, 2, 0]);
		expect(buildTextRows(t, 'text').dedupe.duplicateExamples).toEqual([
			{ line: 4, of: 2, text: 'first paragraph' },
			{ line: 6, of: 2, text: 'first paragraph' }
		]);

		const pairs = table('p.jsonl', jsonl([{ prompt: 'q', response: 'a' }, { prompt: 'q', response: 'b' }, { prompt: 'q', response: 'a' }]));
		const spec = resolvePairs(pairs, 'prompt', 'response');
		// The same prompt with another response is a second answer, not a duplicate or a conflict.
		expect(buildPairRows(pairs, spec).rows.map((r) => r.response)).toEqual(['a', 'b']);
		expect(buildPairRows(pairs, spec).dedupe).toMatchObject({ duplicates: 1, conflictTexts: 0 });
		expect(buildPairRows(pairs, spec, { duplicates: 'keep' }).rows.map((r) => r.response)).toEqual(['a', 'b', 'a']);

		const chat = table('c.jsonl', jsonl([0, 1, 0].map((i) => ({ messages: [msg('user', `q${i}`), msg('assistant', `a${i}`)] }))));
		expect(buildPairRows(chat, resolvePairs(chat, 'messages'), { duplicates: 'keep' }).rows).toHaveLength(3);
		expect(buildPairRows(chat, resolvePairs(chat, 'messages')).rows).toHaveLength(2);
	});
});
