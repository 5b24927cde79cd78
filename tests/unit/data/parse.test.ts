import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/lib/data/parse';
import { UserError } from '../../../src/lib/shared/errors';

const enc = (s: string) => new TextEncoder().encode(s);

function thrown(f: () => unknown): UserError {
	try {
		f();
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

describe('parseTable: CSV', () => {
	it('reads quoted commas, quotes and newlines, and numbers lines physically', () => {
		const csv = [
			'text,label', // line 1
			'"Hello, world",greet', // line 2
			'"She said ""hi""",greet', // line 3
			'"multi', // line 4: a record spanning lines 4-6
			'line',
			'text",other',
			'plain,other' // line 7
		].join('\n');
		const t = parseTable('data.csv', enc(csv));
		expect(t.format).toBe('csv');
		expect(t.columns).toEqual(['text', 'label']);
		expect(t.problems).toEqual([]);
		expect(t.records.map((r) => r.line)).toEqual([2, 3, 4, 7]);
		expect(t.records[0].values).toEqual({ text: 'Hello, world', label: 'greet' });
		expect(t.records[1].values.text).toBe('She said "hi"');
		expect(t.records[2].values.text).toBe('multi\nline\ntext');
	});

	it('turns ragged rows into problems at the line where the record starts', () => {
		const csv = [
			'text,team,channel,region', // 1
			'a,b,c,d', // 2
			'"two\nlines",b,c,d', // 3-4
			'', // 5 (blank, skipped)
			'too,few,fields', // 6
			'e,f,g,h', // 7
			'"quoted\nnewline",x,y,z,extra', // 8-9
			'i,j,k,l' // 10
		].join('\r\n');
		const t = parseTable('tickets.csv', enc(csv));
		expect(t.records.map((r) => r.line)).toEqual([2, 3, 7, 10]);
		expect(t.problems.map((p) => p.line)).toEqual([6, 8]);
		expect(t.problems[0].message).toBe('line 6: 3 fields, expected 4 (text, team, channel, region)');
		expect(t.problems[1].message).toBe('line 8: 5 fields, expected 4 (text, team, channel, region)');
	});

	it('reports an unterminated quote with its line, and the lines it swallowed', () => {
		const t = parseTable('x.csv', enc('text,label\nok,a\n"never closed,b\nmore,c\n'));
		expect(t.records.map((r) => r.line)).toEqual([2]);
		expect(t.problems).toHaveLength(1);
		expect(t.problems[0].line).toBe(3);
		expect(t.problems[0].message).toBe('lines 3–4 (read as one row): Quoted field unterminated');
	});

	it('a TSV whose quotes are text is read without quoting, and says so; a quoted TSV stays quoted', () => {
		const tsv = ['name\tsummary', 'agentk\t"AGENT" K is a kubectl "doner"-wrap', 'open\t"an unclosed quote', 'next\tswallowed before', 'last\tplain'].join('\n') + '\n';
		const t = parseTable('pkgs.tsv', enc(tsv));
		expect(t.problems).toEqual([]);
		expect(t.records.map((r) => r.values.summary)).toEqual(['"AGENT" K is a kubectl "doner"-wrap', '"an unclosed quote', 'swallowed before', 'plain']);
		expect(t.encodingNote).toMatch(/^tab-separated, read without quoting: its quotes are part of the text \(read as quoted CSV it gave \d+ rows and \d+ malformed/);
		// Excel's quoted TSV (a tab and a doubled quote inside quotes) reads as quoted CSV, with no note.
		const excel = parseTable('x.tsv', enc('text\tlabel\n"a\tb ""c"""\tx\n'));
		expect(excel.problems).toEqual([]);
		expect(excel.records[0].values.text).toBe('a\tb "c"');
		expect(excel.encodingNote).toBeUndefined();
	});

	it('strips a BOM, renames empty and duplicate headers, and reads TSV', () => {
		const t = parseTable('x.csv', enc('\uFEFFtext,,text\n1,2,3\n'));
		expect(t.columns).toEqual(['text', 'column_2', 'text_3']);
		const tsv = parseTable('x.tsv', enc('text\tlabel\nhello, there\tgreet\n'));
		expect(tsv.columns).toEqual(['text', 'label']);
		expect(tsv.records[0].values.text).toBe('hello, there');
	});

	it('throws parse-error with line numbers when no record can be read', () => {
		const e = thrown(() => parseTable('x.csv', enc('a,b,c\n1\n2\n3,4\n')));
		expect(e.code).toBe('parse-error');
		expect(e.lines).toEqual([2, 3, 4]);
	});
});

describe('parseTable: JSONL and JSON', () => {
	it('reports a broken line with its number and keeps the rest', () => {
		const lines = [
			'{"text": "one", "label": "a"}',
			'{"text": "two", "label": "b", "meta": {"n": 1}, "score": null}',
			'',
			'{"text": "three", "label": ', // line 4, broken
			'[1, 2]', // line 5, not an object
			'{"text": "four", "label": "a", "n": 3}'
		];
		const t = parseTable('data.jsonl', enc(lines.join('\n')));
		expect(t.format).toBe('jsonl');
		expect(t.columns).toEqual(['text', 'label', 'meta', 'score', 'n']);
		expect(t.records.map((r) => r.line)).toEqual([1, 2, 6]);
		expect(t.records[1].values).toEqual({ text: 'two', label: 'b', meta: '{"n":1}', score: '' });
		expect(t.records[2].values.n).toBe('3');
		expect(t.problems.map((p) => p.line)).toEqual([4, 5]);
		expect(t.problems[0].message).toMatch(/^line 4: not valid JSON \(/);
		expect(t.problems[1].message).toMatch(/^line 5: expected a JSON object.*array/);
	});

	it('accepts a .json array of objects, with the line each element starts on', () => {
		const json = '[\n  {"text": "a", "label": "x"},\n  {"text": "b",\n   "label": "y"},\n  3\n]';
		const t = parseTable('data.json', enc(json));
		expect(t.records.map((r) => [r.line, r.values.text])).toEqual([[2, 'a'], [3, 'b']]);
		expect(t.problems.map((p) => p.line)).toEqual([5]);
	});

	it('sniffs the format when the extension says nothing', () => {
		expect(parseTable('export', enc('{"a": "1"}\n{"a": "2"}')).format).toBe('jsonl');
		expect(parseTable('export.txt', enc('a,b\n1,2')).format).toBe('csv');
	});
});

describe('parseTable: refusals', () => {
	it('refuses an empty or whitespace-only file', () => {
		expect(thrown(() => parseTable('e.csv', new Uint8Array(0))).code).toBe('empty-file');
		expect(thrown(() => parseTable('e.csv', new ArrayBuffer(0))).code).toBe('empty-file');
		expect(thrown(() => parseTable('e.jsonl', enc(' \n\t\r\n  '))).code).toBe('empty-file');
		expect(thrown(() => parseTable('e.csv', enc('\uFEFF'))).code).toBe('empty-file');
	});

	it('refuses a binary file and says what to export instead', () => {
		const png = new Uint8Array(2048);
		png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
		let s = 12345;
		for (let i = 8; i < png.length; i++) png[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
		const e = thrown(() => parseTable('photo.csv', png));
		expect(e.code).toBe('binary-file');
		expect(e.message).toMatch(/^This looks like a binary file \(.*PNG.*\), not CSV or JSONL text\. Export your data as CSV/);

		// No known signature: caught by NUL bytes, or by the share of control characters.
		const noisy = png.slice(8).map((b) => (b === 0 ? 1 : b));
		expect(thrown(() => parseTable('blob.csv', noisy)).code).toBe('binary-file');
		expect(thrown(() => parseTable('blob.csv', enc('text,label\n\u0000hi,a'))).code).toBe('binary-file');
	});

	it('accepts UTF-8 text with accents and emoji', () => {
		const t = parseTable('x.csv', enc('text,label\nCafé crème 😀,a\n'));
		expect(t.records[0].values.text).toBe('Café crème 😀');
	});
});
