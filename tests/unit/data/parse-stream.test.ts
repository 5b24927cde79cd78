/**
 * The streaming reader (stream.ts) against the whole-file parser (parse.ts): on random files cut
 * into random chunks (edges inside quoted fields, inside multi-byte UTF-8 characters, between CR
 * and LF) both give the same table, or the same named error. Then several files at once, one
 * document per file, Parquet by row groups, and Cancel.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseTable, type ParsedTable } from '../../../src/lib/data/parse';
import { readTable } from '../../../src/lib/data/parquet';
import { readFiles, readSource, streamTable, type ByteSource, type ReadProgress } from '../../../src/lib/data/stream';
import { UserError } from '../../../src/lib/shared/errors';

/** The bytes given out in chunks of the listed sizes (cycled), as a file's stream does. */
function chunked(name: string, bytes: Uint8Array, sizes: number[]): ByteSource {
	return {
		name,
		size: bytes.length,
		async *chunks() {
			for (let at = 0, k = 0; at < bytes.length; k++) {
				const n = Math.max(1, sizes[k % sizes.length]);
				yield bytes.slice(at, at + n);
				at += n;
			}
		}
	};
}

type Outcome = { table: ParsedTable } | { error: string };

async function outcome(run: () => ParsedTable | Promise<ParsedTable>): Promise<Outcome> {
	try {
		return { table: await run() };
	} catch (e) {
		if (!(e instanceof UserError)) throw e;
		return { error: `${e.code}: ${e.message}` };
	}
}

async function same(name: string, bytes: Uint8Array, sizes: number[], feedChars: number) {
	const whole = await outcome(() => parseTable(name, bytes));
	const streamed = await outcome(() => streamTable(chunked(name, bytes, sizes), { feedChars }));
	expect(streamed).toEqual(whole);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const sizes = fc.array(fc.integer({ min: 1, max: 19 }), { minLength: 1, maxLength: 6 });
const feed = fc.integer({ min: 1, max: 23 });

/** Field text with the characters that break naive chunking: quotes, separators, CR/LF, multi-byte. */
const field = fc.array(fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r\n', '\r', 'é', '€', '😀', '\t', ';', 'x'), { maxLength: 8 }).map((p) => p.join(''));
const quoted = (f: string) => (/[",\n\r]/.test(f) || Math.random() < 0.3 ? `"${f.replace(/"/g, '""')}"` : f);
const csvText = fc
	.tuple(fc.integer({ min: 1, max: 4 }), fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'))
	.map(([cols, rows, eol]) => [Array.from({ length: cols }, (_, i) => `c${i}`).join(','), ...rows.map((r) => r.map(quoted).join(','))].join(eol));

describe('streaming equals whole-file parsing', () => {
	it('CSV with quoted fields, line breaks and multi-byte characters, cut anywhere', async () => {
		await fc.assert(fc.asyncProperty(csvText, sizes, feed, (text, s, f) => same('data.csv', utf8(text), s, f)), { numRuns: 300, seed: 11 });
	});

	it('CSV of random pieces, malformed quotes included, and TSV', async () => {
		const text = fc.array(fc.constantFrom('a', '"', ',', '\t', '\n', '\r', '\r\n', 'é', ' ', '""', 'x,y'), { maxLength: 60 }).map((p) => p.join(''));
		await fc.assert(fc.asyncProperty(text, sizes, feed, fc.constantFrom('data.csv', 'data.tsv', 'data.txt', 'data'), (t, s, f, name) => same(name, utf8(t), s, f)), { numRuns: 300, seed: 12 });
	});

	it('JSON Lines, strings, broken lines and CRLF, as .jsonl and as .json', async () => {
		const line = fc.oneof(
			fc.record({ text: field, label: fc.constantFrom('a', 'b') }).map((o) => JSON.stringify(o)),
			field.map((s) => JSON.stringify(s)),
			fc.constantFrom('{"broken": ', '', '  ', '[1,2]', '42', '{"data": [{"text": "x"}]}')
		);
		const text = fc.tuple(fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n')).map(([l, eol]) => l.join(eol));
		await fc.assert(fc.asyncProperty(text, sizes, feed, fc.constantFrom('data.jsonl', 'data.json', 'data'), (t, s, f, name) => same(name, utf8(t), s, f)), { numRuns: 300, seed: 13 });
	});

	it('plain text lines, JSON arrays and wrapping objects', async () => {
		const text = fc.oneof(
			fc.array(field, { maxLength: 10 }).map((l) => l.join('\n')),
			fc.array(fc.record({ text: field }), { maxLength: 6 }).map((a) => JSON.stringify(a, null, Math.random() < 0.5 ? 2 : undefined)),
			fc.array(fc.record({ text: field }), { maxLength: 6 }).map((a) => JSON.stringify({ meta: 1, rows: a }, null, 2))
		);
		await fc.assert(fc.asyncProperty(text, sizes, feed, fc.constantFrom('notes.txt', 'data.json', 'data'), (t, s, f, name) => same(name, utf8(t), s, f)), { numRuns: 200, seed: 14 });
	});

	it('random and truncated bytes: the same table or the same named error', async () => {
		const bytes = fc.uint8Array({ maxLength: 200 });
		await fc.assert(fc.asyncProperty(bytes, sizes, feed, fc.constantFrom('data.csv', 'data.jsonl', 'data.json', 'data.txt'), (b, s, f, name) => same(name, b, s, f)), { numRuns: 300, seed: 15 });
		const text = csvText.map((t) => utf8(t));
		await fc.assert(fc.asyncProperty(text, fc.nat(), sizes, feed, (b, cut, s, f) => same('data.csv', b.slice(0, cut % (b.length + 1)), s, f)), { numRuns: 200, seed: 16 });
	});

	it('encodings: UTF-8 with BOM, UTF-16 LE/BE, Windows-1252, damaged UTF-8, with the evidence late in the file', async () => {
		const body = 'text,label\n' + Array.from({ length: 3000 }, (_, i) => `row ${i} café naïve €,${i % 2 ? 'a' : 'b'}`).join('\r\n');
		const le = new Uint8Array(2 + body.length * 2);
		le.set([0xff, 0xfe]);
		for (let i = 0; i < body.length; i++) le[2 + 2 * i] = body.charCodeAt(i) & 0xff, (le[3 + 2 * i] = body.charCodeAt(i) >> 8);
		const be = new Uint8Array(body.length * 2);
		for (let i = 0; i < body.length; i++) be[2 * i] = body.charCodeAt(i) >> 8, (be[2 * i + 1] = body.charCodeAt(i) & 0xff);
		const latin = Uint8Array.from(body.replace(/€/g, 'E'), (c) => c.charCodeAt(0));
		// Plain ASCII for 20 KB, then Latin-1: the first 8 KB guess UTF-8, the end says Windows-1252.
		const late = Uint8Array.from('text\n' + 'plain ascii line\n'.repeat(1300) + 'caf\xe9\n'.repeat(50), (c) => c.charCodeAt(0));
		const damaged = utf8('text\n' + 'ünïcödé\n'.repeat(2000));
		damaged[damaged.length - 3] = 0xff;
		const cases: [string, Uint8Array][] = [
			['bom.csv', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(body)])],
			['le.csv', le],
			['be.csv', be],
			['latin.csv', latin],
			['late.txt', late],
			['damaged.txt', damaged]
		];
		for (const [name, bytes] of cases) for (const s of [[3, 7], [4096]]) await same(name, bytes, s, 977);
		const late1252 = await streamTable(chunked('late.txt', late, [4096]));
		expect(late1252.encoding).toBe('Windows-1252 (Latin-1)');
		expect(late1252.records.at(-1)!.values.text).toBe('café');
	});

	it('a large CSV: the kind and delimiter are told from its start, the rest streams', async () => {
		const text = 'id;text;label\n' + Array.from({ length: 20000 }, (_, i) => `${i};"line ${i}\nwith a break; and ""quotes""";${i % 3}`).join('\n');
		await same('big.csv', utf8(text), [65536, 1000], 1 << 16);
		const t = await streamTable(chunked('big.csv', utf8(text), [65536]));
		expect(t.records).toHaveLength(20000);
		expect(t.records[19999].line).toBe(2 * 19999 + 2);
	});
});

describe('several files, documents, Parquet, progress and Cancel', () => {
	const file = (name: string, text: string | Uint8Array) => new File([text as BlobPart], name);

	it('concatenates files with the same columns and keeps each row\'s file', async () => {
		const t = await readFiles([file('a.csv', 'text,label\nhello,x\nworld,y\n'), file('b.csv', 'label,text\nz,third\n')]);
		expect(t.columns).toEqual(['text', 'label', 'source_file']);
		expect(t.records.map((r) => [r.values.text, r.values.label, r.values.source_file])).toEqual([
			['hello', 'x', 'a.csv'],
			['world', 'y', 'a.csv'],
			['third', 'z', 'b.csv']
		]);
		expect(t.source).toMatch(/2 files read as one table, 3 rows \(a\.csv: 2, b\.csv: 1\); each row's file is in the column "source_file"/);
	});

	it('refuses files with different columns, naming both', async () => {
		await expect(readFiles([file('a.csv', 'text,label\nx,y\n'), file('b.jsonl', '{"body": "x"}\n')])).rejects.toThrow(/a\.csv has \(text, label\), b\.jsonl has \(body\)/);
	});

	it('problems say their file; a source column that exists gets another name', async () => {
		const t = await readFiles([file('a.csv', 'text,source_file\nx,y\n"bad\n'), file('b.csv', 'text,source_file\nz,w\n')]);
		expect(t.columns.at(-1)).toBe('source_file_2');
		expect(t.problems[0].message).toMatch(/^a\.csv: line 3:/);
	});

	it('plain text: one example per line, or one document per file', async () => {
		const files = [file('one.txt', 'First line.\nSecond line.\n'), file('two.txt', 'Another document.\n\nWith a paragraph.\n')];
		const lines = await readFiles(files, { textMode: 'lines' });
		expect(lines.records.map((r) => r.values.text)).toEqual(['First line.', 'Second line.', 'Another document.', 'With a paragraph.']);
		const docs = await readFiles(files, { textMode: 'document' });
		expect(docs.records.map((r) => [r.values.text, r.values.source_file])).toEqual([
			['First line.\nSecond line.', 'one.txt'],
			['Another document.\n\nWith a paragraph.', 'two.txt']
		]);
	});

	it('reads Parquet a row group at a time, equal to the whole-file reader', async () => {
		const n = 2500;
		const buf = parquetWriteBuffer({
			columnData: [
				{ name: 'text', data: Array.from({ length: n }, (_, i) => `row ${i}`), type: 'STRING' },
				{ name: 'label', data: Array.from({ length: n }, (_, i) => i % 4), type: 'INT32' }
			],
			rowGroupSize: 1000
		});
		const progress: ReadProgress[] = [];
		const streamed = await readFiles([file('data.parquet', new Uint8Array(buf))], { onProgress: (p) => progress.push(p) });
		expect(streamed).toEqual(await readTable('data.parquet', new Uint8Array(buf)));
		expect(progress.at(-1)).toMatchObject({ rows: n, bytesRead: buf.byteLength, totalBytes: buf.byteLength });
	});

	it('tells progress, and a cancelled read stops with a named error', async () => {
		const text = 'text,label\n' + 'some words here,a\n'.repeat(200_000);
		const progress: ReadProgress[] = [];
		const t = await readFiles([file('big.csv', text)], { onProgress: (p) => progress.push(p) });
		expect(t.records).toHaveLength(200_000);
		expect(progress[0]).toMatchObject({ bytesRead: 0, rows: 0, files: 1 });
		expect(progress.at(-1)).toMatchObject({ bytesRead: text.length, totalBytes: text.length, rows: 200_000 });

		const controller = new AbortController();
		const seen: ReadProgress[] = [];
		const read = readFiles([file('big.csv', text)], {
			signal: controller.signal,
			onProgress: (p) => {
				seen.push(p);
				controller.abort();
			}
		});
		await expect(read).rejects.toMatchObject({ code: 'cancelled' });
		expect(seen.at(-1)!.bytesRead).toBeLessThan(text.length);
	});

	it('keeps the table of the chosen files for the calls that follow, and reads again for another choice', async () => {
		const files = [file('a.txt', 'one\ntwo\n')];
		const a = await readSource({ files, key: 'k1' });
		expect(await readSource({ files, key: 'k1' })).toBe(a);
		const b = await readSource({ files, key: 'k1', textMode: 'document' });
		expect(b).not.toBe(a);
		expect(b.records).toHaveLength(1);
	});
});
