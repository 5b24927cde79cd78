/**
 * Issue 14, defects 4 and 5: files that crashed the importer or were refused with the wrong
 * reason. Rows are maps with no prototype; UTF-16, Windows-1252 and mixed line ends are read
 * (and the encoding is said); a JSON object wrapping the rows offers the array inside.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/lib/data/parse';
import { inspectFile, PREVIEW_CHARS } from '../../../src/lib/data/pipeline';
import { rowCell, unpackRow } from '../../../src/lib/data/preview-rows';
import { buildRows } from '../../../src/lib/data/columns';
import { buildTextRows } from '../../../src/lib/data/kinds';
import { UserError } from '../../../src/lib/shared/errors';

const enc = (s: string) => new TextEncoder().encode(s);

function utf16(s: string, order: 'le' | 'be', bom: boolean): Uint8Array {
	const out = new Uint8Array((s.length + (bom ? 1 : 0)) * 2);
	let o = 0;
	const put = (c: number) => {
		out[o++] = order === 'le' ? c & 0xff : c >> 8;
		out[o++] = order === 'le' ? c >> 8 : c & 0xff;
	};
	if (bom) put(0xfeff);
	for (let i = 0; i < s.length; i++) put(s.charCodeAt(i));
	return out;
}

function latin1(s: string): Uint8Array {
	return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function thrown(f: () => unknown): UserError {
	try {
		f();
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

const CSV = 'text,label\nCafé déjà vu,a\nÜber naïve,b\n';

describe('defect 4: keys are data', () => {
	it('reads a CSV column named __proto__ as an ordinary column', () => {
		const rows = Array.from({ length: 12 }, (_, i) => `text ${i},${i % 2 ? 'x' : 'z'},c${i % 3}`);
		const t = parseTable('p.csv', enc(['text,__proto__,constructor', ...rows].join('\n')));
		expect(t.columns).toEqual(['text', '__proto__', 'constructor']);
		expect(Object.getPrototypeOf(t.records[0].values)).toBeNull();
		expect(t.records[0].values['__proto__']).toBe('z');
		const built = buildRows(t, 'text', '__proto__');
		expect(built.labels.sort()).toEqual(['x', 'z']);
		expect(buildRows(t, 'text', '__proto__').rows).toHaveLength(12);
	});

	it('reads JSONL keys such as constructor/toString present in only some rows', () => {
		const t = parseTable('k.jsonl', enc('{"text":"a","label":"x"}\n{"text":"b","constructor":"c","toString":"t"}\n{"text":"c","label":"y"}\n'));
		expect(t.columns).toEqual(['text', 'label', 'constructor', 'toString']);
		expect(t.records[0].values['constructor']).toBeUndefined();
		expect(t.records[0].values['toString']).toBeUndefined();
		// Choosing a prototype-named column that most rows lack is the user's named mistake, not a TypeError.
		expect(thrown(() => buildTextRows(t, 'toString')).message).toBe('Column "toString" is empty in 2 of 3 rows. Pick the column that holds the text.');
		expect(thrown(() => buildRows(t, 'text', 'constructor')).code).toBeTruthy();
	});

	it('gives the preview every column in order, __proto__ and constructor as data', async () => {
		const bytes = enc('{"text":"a","__proto__":"p"}\n{"text":"b","constructor":"c"}\n');
		const info = await inspectFile('k.jsonl', bytes.buffer as ArrayBuffer);
		expect(info.columns).toEqual(['text', '__proto__', 'constructor']);
		expect(info.preview.map(unpackRow)).toEqual([
			['a', 'p', ''],
			['b', '', 'c']
		]);
		expect(structuredClone(info.preview).map(unpackRow)).toEqual(info.preview.map(unpackRow));
	});

	it('previews a file of 10,002 columns as packed rows of values, cut at PREVIEW_CHARS', async () => {
		const header = ['text', 'label', ...Array.from({ length: 10_000 }, (_, i) => `c${i}`)];
		const rows = Array.from({ length: 25 }, (_, r) => [r === 0 ? 'x'.repeat(PREVIEW_CHARS + 5) : `row ${r}`, 'a', ...header.slice(2).map((_, i) => String((i + r) % 10))].join(','));
		const info = await inspectFile('wide.csv', enc([header.join(','), ...rows].join('\n')).buffer as ArrayBuffer);
		expect(info.preview).toHaveLength(20);
		for (const row of info.preview) expect(row.ends).toHaveLength(10_002);
		expect(rowCell(info.preview[0], 0)).toBe('x'.repeat(PREVIEW_CHARS) + '…');
		expect(rowCell(info.preview[3], header.indexOf('c9999'))).toBe(String((9999 + 3) % 10));
		expect(rowCell(info.preview[3], 0)).toBe('row 3');
		expect(rowCell(info.preview[3], 10_002)).toBe('');
		expect(unpackRow(info.preview[5])).toEqual(rows[5].split(','));
	});

	it('names the problem with JSON array items that are not objects, each with its place', () => {
		const e = thrown(() => parseTable('n.json', enc('[1, 2, 3, true, null]')));
		expect(e.code).toBe('parse-error');
		expect(e.message).toMatch(/line 1, item 1: expected a JSON object .*found a number/);
		const mixed = parseTable('m.json', enc('[{"text":"a"}, 7, [1], {"text":"b"}]'));
		expect(mixed.records).toHaveLength(2);
		expect(mixed.problems.map((p) => p.message)).toEqual([
			'line 1, item 2: expected a JSON object ({"text": …, "label": …}), found a number',
			'line 1, item 3: expected a JSON object ({"text": …, "label": …}), found an array'
		]);
	});

	it('reads a JSON array (or JSONL) of bare strings as one text column', () => {
		const t = parseTable('s.json', enc('["first text", "second", "third"]'));
		expect(t.columns).toEqual(['text']);
		expect(t.records.map((r) => r.values.text)).toEqual(['first text', 'second', 'third']);
		expect(parseTable('s.jsonl', enc('"a"\n"b"\n')).records).toHaveLength(2);
	});

	it('makes very deep nesting a problem, not a crash', () => {
		const deep = '['.repeat(20000) + ']'.repeat(20000);
		const t = parseTable('d.jsonl', enc(`{"text":"ok"}\n{"text":${deep}}\n`));
		expect(t.records).toHaveLength(1);
		expect(t.problems[0].message).toMatch(/line 2: nested too deeply/);
	});
});

describe('defect 5: encodings, line ends, wrapped arrays', () => {
	for (const order of ['le', 'be'] as const)
		for (const bom of [true, false])
			it(`reads UTF-16 ${order.toUpperCase()} ${bom ? 'with' : 'without'} a byte order mark`, () => {
				const t = parseTable('u.csv', utf16(CSV, order, bom));
				expect(t.encoding).toBe(`UTF-16 ${order.toUpperCase()}`);
				expect(t.encodingNote).toMatch(bom ? /byte order mark/ : /zero bytes/);
				expect(t.columns).toEqual(['text', 'label']);
				expect(t.records.map((r) => r.values.text)).toEqual(['Café déjà vu', 'Über naïve']);
			});

	it('reads Latin-1 / Windows-1252 and says so', () => {
		const t = parseTable('l.csv', latin1(CSV));
		expect(t.encoding).toBe('Windows-1252 (Latin-1)');
		expect(t.encodingNote).toMatch(/not valid UTF-8/);
		expect(t.records.map((r) => r.values.text)).toEqual(['Café déjà vu', 'Über naïve']);
		// 0x92 is a right single quote in Windows-1252 (a C1 control in ISO-8859-1).
		expect(parseTable('q.csv', latin1('text,label\nit\x92s,a\n')).records[0].values.text).toBe('it\u2019s');
	});

	it('says UTF-8 (and with a byte order mark)', () => {
		expect(parseTable('a.csv', enc(CSV)).encoding).toBe('UTF-8');
		expect(parseTable('a.csv', enc('\uFEFF' + CSV)).encoding).toBe('UTF-8 with byte order mark');
	});

	it('reports rows with invalid UTF-8 in a UTF-8 file instead of importing them silently', () => {
		const good = enc('text,label\nCafé,a\nnaïve,b\n');
		const bad = new Uint8Array([...good, ...enc('bro'), 0xff, ...enc('ken,c\nfine,d\n')]);
		const t = parseTable('x.csv', bad);
		expect(t.encoding).toBe('UTF-8');
		expect(t.encodingNote).toMatch(/1 invalid byte/);
		expect(t.records.map((r) => r.values.text)).toEqual(['Café', 'naïve', 'fine']);
		expect(t.problems).toEqual([{ line: 4, message: 'line 4: contains bytes that are not valid UTF-8 (shown as �); fix the file, or skip this row' }]);
	});

	it('reports NUL bytes past the first 8 KB (and refuses them within it)', () => {
		const head = 'text,label\n' + Array.from({ length: 600 }, (_, i) => `row number ${i},a`).join('\n') + '\n';
		expect(head.length).toBeGreaterThan(8192);
		const t = parseTable('n.csv', enc(head + 'bad\u0000row,b\nlast,b\n'));
		expect(t.records).toHaveLength(601);
		expect(t.problems).toHaveLength(1);
		expect(t.problems[0].message).toMatch(/^line 602: contains a NUL byte/);
		expect(thrown(() => parseTable('n.csv', enc('text,label\nx\u0000,a\n'))).code).toBe('binary-file');
	});

	it('accepts mixed CRLF / LF / CR line ends', () => {
		const t = parseTable('m.csv', enc('text,label\r\na,x\nb,y\r\nc,x\rd,y\n"multi\r\nline",x\n'));
		expect(t.problems).toEqual([]);
		expect(t.records.map((r) => [r.line, r.values.text, r.values.label])).toEqual([
			[2, 'a', 'x'],
			[3, 'b', 'y'],
			[4, 'c', 'x'],
			[5, 'd', 'y'],
			[6, 'multi\nline', 'x']
		]);
	});

	it('offers the array inside {"data": [...]} and says which property it used', () => {
		const json = JSON.stringify({ meta: { count: 3 }, data: [{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }, { text: 'c', label: 'x' }] }, null, 2);
		const t = parseTable('w.json', enc(json));
		expect(t.records.map((r) => r.values.text)).toEqual(['a', 'b', 'c']);
		expect(t.columns).toEqual(['text', 'label']);
		expect(t.records[0].line).toBe(6);
		expect(t.source).toBe('The file is one JSON object; its "data" property holds an array of 3 items, read as 3 rows (1 other property left out).');
		// On one line, and with a key that also appears nested.
		const one = parseTable('w.json', enc('{"x":{"rows":[1]},"rows":[{"text":"q"},{"text":"r"}]}'));
		expect(one.records.map((r) => r.values.text)).toEqual(['q', 'r']);
		// A .jsonl file with one chat row stays one row.
		expect(parseTable('c.jsonl', enc('{"messages":[{"role":"user","content":"hi"}]}')).records).toHaveLength(1);
	});
});

describe('the reviews-* fixtures (tests/fixtures/data)', () => {
	const read = (name: string) => new Uint8Array(readFileSync(new URL(`../../fixtures/data/${name}`, import.meta.url)));
	it('reads the same 12 rows from UTF-16, Windows-1252 and a wrapped JSON array', () => {
		const tables = ['reviews-utf16le.csv', 'reviews-latin1.csv', 'reviews-wrapped.json'].map((n) => parseTable(n, read(n)));
		expect(tables.map((t) => t.encoding)).toEqual(['UTF-16 LE', 'Windows-1252 (Latin-1)', 'UTF-8']);
		for (const t of tables) {
			expect(t.problems).toEqual([]);
			expect(t.records).toHaveLength(12);
			expect(t.records[4].values.text).toBe('Müller’s order is missing');
			expect(buildRows(t, 'text', 'label').labels.sort()).toEqual(['complaint', 'praise']);
		}
		expect(tables[2].source).toMatch(/"data" property holds an array of 12 items/);
	});
});
