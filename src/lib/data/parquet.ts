/**
 * Parquet files as the importer's table (parse.ts's `ParsedTable`), read with hyparquet and its
 * compressors (snappy, gzip, zstd, brotli, lz4): the columns are the schema's top-level fields, and
 * every value becomes the string the CSV path would give. Strings stay as they are; numbers,
 * bigints and booleans are written out; dates as ISO 8601; lists and structs (a `messages` column,
 * a multi-label list) as JSON, which the chat and label readers understand; nulls as ''.
 *
 * `readTable` is the one entry point for a user's file: Parquet by its magic bytes (PAR1 at both
 * ends), every other format through `parseTable`.
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UserError } from '../shared/errors';
import { emptyValues, parseTable, type ParsedTable, type TableRecord } from './parse';

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

export function isParquet(data: Uint8Array): boolean {
	return data.length >= 12 && MAGIC.every((b, i) => data[i] === b) && MAGIC.every((b, i) => data[data.length - 4 + i] === b);
}

/** A Parquet value as the text the importer works with. */
export function cellText(v: unknown): string {
	if (v === null || v === undefined) return '';
	if (typeof v === 'string') return v;
	if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
	if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
	if (v instanceof Uint8Array) return new TextDecoder().decode(v);
	return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? new TextDecoder().decode(x) : x));
}

export async function parseParquet(fileName: string, data: Uint8Array): Promise<ParsedTable> {
	const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
	let columns: string[];
	let rows: Record<string, unknown>[];
	try {
		const metadata = parquetMetadata(buffer);
		columns = parquetSchema(metadata).children.map((c) => c.element.name);
		rows = await parquetReadObjects({ file: buffer, metadata, compressors });
	} catch (e) {
		throw new UserError(
			'parse-error',
			`${fileName} could not be read as Parquet (${(e as Error).message}). It may be truncated or use an encoding this reader does not support; export it again, or as CSV or JSONL.`
		);
	}
	const records: TableRecord[] = rows.map((row, i) => {
		const values = emptyValues();
		for (const c of columns) values[c] = cellText(row[c]);
		// a Parquet file has no lines: the record number stands where a text file's line would
		return { line: i + 1, values };
	});
	return { format: 'parquet', columns, records, problems: [], bytes: data.length, encoding: 'Parquet (UTF-8 strings)' };
}

/** The user's file as a table: Parquet by its magic bytes, CSV/TSV/JSON/JSONL otherwise. */
export async function readTable(fileName: string, bytes: ArrayBuffer | Uint8Array): Promise<ParsedTable> {
	const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	return isParquet(data) ? parseParquet(fileName, data) : parseTable(fileName, data);
}
