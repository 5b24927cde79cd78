/**
 * Parquet import: files written with hyparquet-writer (uncompressed, snappy, gzip and brotli, the
 * last two through Node's zlib) read back as the importer's table, every value as the CSV path
 * would give it; a list column becomes JSON the chat reader understands; a truncated file and a
 * file that is not Parquet are named; the importer and the data report take Parquet like CSV.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { cellText, isParquet, readTable } from '../../../src/lib/data/parquet';
import { importDataset } from '../../../src/lib/data/pipeline';
import { dataReport } from '../../../src/lib/data/report';
import { useDatabase } from '../../../src/lib/storage';

const teams = ['billing', 'shipping', 'technical'];
const texts = Array.from({ length: 30 }, (_, i) => `ticket ${i}: something about ${teams[i % 3]} — café ☕`);

function file(codec: 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI'): Uint8Array {
	const buf = parquetWriteBuffer({
		codec,
		compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)), BROTLI: (b: Uint8Array) => new Uint8Array(brotliCompressSync(b)) },
		columnData: [
			{ name: 'text', data: texts, type: 'STRING' },
			{ name: 'team', data: texts.map((_, i) => teams[i % 3]), type: 'STRING' },
			{ name: 'id', data: BigInt64Array.from(texts.map((_, i) => BigInt(1000 + i))), type: 'INT64' },
			{ name: 'score', data: Float64Array.from(texts.map((_, i) => i / 4)), type: 'DOUBLE' },
			{ name: 'urgent', data: texts.map((_, i) => i % 2 === 0), type: 'BOOLEAN' },
			{ name: 'note', data: texts.map((_, i) => (i % 5 ? `n${i}` : null)), type: 'STRING', nullable: true }
		]
	});
	return new Uint8Array(buf);
}

describe('Parquet import', () => {
	for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI'] as const)
		it(`reads a ${codec} file as the importer's table`, async () => {
			const bytes = file(codec);
			expect(isParquet(bytes)).toBe(true);
			const t = await readTable('t.parquet', bytes);
			expect(t.format).toBe('parquet');
			expect(t.columns).toEqual(['text', 'team', 'id', 'score', 'urgent', 'note']);
			expect(t.records).toHaveLength(30);
			expect({ ...t.records[5].values }).toEqual({ text: texts[5], team: 'technical', id: '1005', score: '1.25', urgent: 'false', note: '' });
			expect(t.records[6].values.note).toBe('n6');
			expect(t.problems).toEqual([]);
		});

	it('writes lists and structs as JSON, dates as ISO 8601', () => {
		expect(cellText([{ role: 'user', content: 'hi' }])).toBe('[{"role":"user","content":"hi"}]');
		expect(cellText(['a', 'b'])).toBe('["a","b"]');
		expect(cellText(new Date(Date.UTC(2024, 0, 15)))).toBe('2024-01-15T00:00:00.000Z');
		expect(cellText(12n)).toBe('12');
		expect(cellText(null)).toBe('');
	});

	it('names a truncated Parquet file, and keeps CSV on its own path', async () => {
		const bytes = file('SNAPPY');
		await expect(readTable('cut.parquet', bytes.slice(0, bytes.length - 20))).rejects.toThrow(/Parquet file that is cut short/);
		const broken = bytes.slice();
		broken.fill(7, 8, bytes.length - 16); // the magic at both ends, garbage inside
		await expect(readTable('bad.parquet', broken)).rejects.toThrow(/could not be read as Parquet/);
		const csv = await readTable('t.csv', new TextEncoder().encode('text,label\na,b\n'));
		expect(csv.format).toBe('csv');
	});

	it('imports and reports a Parquet file like a CSV', async () => {
		useDatabase('parquet-' + Math.random());
		const bytes = file('SNAPPY');
		const v = await importDataset({ projectId: 'p', fileName: 'tickets.parquet', bytes: bytes.buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'team', split: { seed: 1, validation: 0.1, test: 0.2 }, skipBadRows: false });
		expect(v.source.format).toBe('parquet');
		expect(v.rowCount).toBe(30);
		expect(v.labels).toEqual(teams);
		const r = await dataReport('tickets.parquet', bytes);
		expect([r.format, r.rowsRead, r.kind, r.textColumn, r.labelColumn]).toEqual(['parquet', 30, 'classification', 'text', 'team']);
	});
});

describe('plain text import', () => {
	it('reads one example per non-blank line of a .txt file into a text column, guessed as text', async () => {
		const t = await readTable('notes.txt', new TextEncoder().encode('first line of domain text\n\n  second, with a comma\r\nthird "quoted"\n'));
		expect(t.format).toBe('txt');
		expect(t.columns).toEqual(['text']);
		expect(t.records.map((r) => [r.line, r.values.text])).toEqual([
			[1, 'first line of domain text'],
			[3, '  second, with a comma'],
			[4, 'third "quoted"']
		]);
		const { guessKind } = await import('../../../src/lib/data/kinds');
		expect(guessKind(t).kind).toBe('text');
	});
});
