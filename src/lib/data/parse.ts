/**
 * Reads a user's file (CSV/TSV, JSONL, or a JSON array of objects) into a table of string values,
 * keeping every unreadable record as a `problem` with the 1-based line where it starts, so the UI
 * can point at the exact place in the file. Runs in a Web Worker and in Node: no DOM.
 *
 * CSV follows RFC 4180 through papaparse; JSONL follows https://jsonlines.org.
 *
 * Bytes become text by the first rule that fits (`decodeText`): a byte order mark (UTF-8, UTF-16
 * LE/BE); UTF-16 without one, told by its zero bytes; valid UTF-8; mostly-valid UTF-8 (the rows
 * with invalid bytes become problems); otherwise Windows-1252 (Latin-1). The table says which.
 *
 * A row's values are a map with no prototype: column names are data (`__proto__`, `constructor`
 * and `toString` are ordinary names), never properties of Object.
 */
import Papa from 'papaparse';
import { UserError } from '../shared/errors';

export type TableFormat = 'csv' | 'jsonl' | 'parquet' | 'txt';

export interface TableRecord {
	/** 1-based physical line in the file where the record starts. */
	line: number;
	/** Created by `emptyValues` (no prototype): a missing column reads as undefined, whatever its name. */
	values: Record<string, string>;
}

/** A row's map of column → value, with no prototype, so any column name is just a key. */
export function emptyValues(): Record<string, string> {
	return Object.create(null) as Record<string, string>;
}

export interface TableProblem {
	line: number;
	message: string;
}

export interface ParsedTable {
	format: TableFormat;
	columns: string[];
	records: TableRecord[];
	problems: TableProblem[];
	bytes: number;
	/** How the bytes were read as text, e.g. 'UTF-8', 'UTF-16 LE', 'Windows-1252 (Latin-1)'. */
	encoding: string;
	/** Why that encoding, when it was not plain UTF-8 (shown beside it in the preview). */
	encodingNote?: string;
	/** How the rows were read when it is not the usual way (a TSV without quoting); shown with the encoding. */
	readNote?: string;
	/** Where the rows came from when that is not the obvious place (the array inside a JSON object). */
	source?: string;
}

export const EXPORT_HINT =
	'Export your data as CSV (comma-separated, with a header row) or JSONL (one JSON object per line).';

export function parseTable(fileName: string, bytes: ArrayBuffer | Uint8Array): ParsedTable {
	const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	if (data.length === 0)
		throw new UserError('empty-file', `${fileName} is empty (0 bytes). ${EXPORT_HINT}`);

	const binaryReason = binarySignature(data);
	if (binaryReason) throw binaryError(binaryReason);

	const decoded = decodeText(data);
	const decodedReason = looksBinary(decoded.text, decoded.encoding === WINDOWS_1252 ? 0.03 : 0.1);
	if (decodedReason) throw binaryError(decodedReason);
	// Mixed CRLF / LF / CR line ends (files edited on two systems) are one kind of line end here; a
	// quoted CSV field's CRLF would become LF anyway, and a raw CR is not valid inside JSON strings.
	const text = decoded.text.includes('\r') ? decoded.text.replace(/\r\n?/g, '\n') : decoded.text;
	if (text.trim() === '')
		throw new UserError('empty-file', `${fileName} contains only whitespace. ${EXPORT_HINT}`);

	const table = tableFromText(fileName, text, detectKind(fileName, text));
	return finishTable(fileName, table, data.length, decoded, text.includes('\0'));
}

/** Whether a file of this kind, starting with this text, may be one JSON object wrapping the rows (then it is read whole). */
export function mayBeWrapped(fileName: string, kind: Kind, text: string): boolean {
	// A .jsonl file is rows by name, even when its one row holds an array (a chat's messages).
	return kind === 'jsonl' && text.trimStart()[0] === '{' && !/\.(jsonl|ndjson)$/i.test(fileName);
}

/** The table in a whole (decoded, line-end normalized) text of a known kind. */
export function tableFromText(fileName: string, text: string, kind: Kind): ParsedTable {
	const wrapped = mayBeWrapped(fileName, kind, text) ? wrappedArray(text) : null;
	const table =
		kind === 'lines'
			? parseLines(text)
			: kind === 'csv'
			? parseCsv(text, /\.tsv$/i.test(fileName) ? '\t' : '')
			: wrapped
				? parseJsonArray(text, wrapped.offset)
				: kind === 'json-array'
					? parseJsonArray(text, 0)
					: parseJsonl(text);
	if (wrapped) table.source = wrapped.describe(table.records.length);
	return table;
}

/** How the bytes were read, said on the table; damaged rows become problems; a file with no readable record is refused. */
export function finishTable(fileName: string, table: ParsedTable, bytes: number, decoded: Omit<Decoded, 'text'>, sawNul: boolean): ParsedTable {
	table.bytes = bytes;
	table.encoding = decoded.encoding;
	const note = [decoded.note, table.readNote].filter(Boolean).join('; ');
	if (note) table.encodingNote = note;
	if (decoded.invalid || sawNul) reportDamagedRows(table, !!decoded.invalid);

	if (table.records.length === 0 && table.problems.length > 0) {
		const lines = table.problems.slice(0, 5).map((p) => p.line);
		const shown = table.problems
			.slice(0, 3)
			.map((p) => p.message)
			.join('; ');
		throw new UserError(
			'parse-error',
			`None of the ${table.problems.length} records in ${fileName} could be read (${shown}). ${EXPORT_HINT}`,
			lines
		);
	}
	return table;
}

// ---------------------------------------------------------------------------------------------
// Binary detection: a classifier over a PNG or an .xlsx gives nonsense, so refuse early and say
// what the file seems to be.

export function binaryError(reason: string): UserError {
	return new UserError(
		'binary-file',
		`This looks like a binary file (${reason}), not CSV or JSONL text. ${EXPORT_HINT}`
	);
}

const SIGNATURES: [number[], string][] = [
	[[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive; Excel .xlsx files are ZIP archives'],
	[[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
	[[0xff, 0xd8, 0xff], 'a JPEG image'],
	[[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
	[[0x1f, 0x8b], 'gzip-compressed data'],
	[[0xd0, 0xcf, 0x11, 0xe0], 'an old Excel .xls / Office document'],
	[[0x50, 0x41, 0x52, 0x31], 'a Parquet file that is cut short (its footer is missing)']
];

/** The bytes looked at to tell an encoding or a binary file. */
export const SNIFF = 8192;

export function binarySignature(data: Uint8Array): string | null {
	for (const [magic, what] of SIGNATURES)
		if (magic.length <= data.length && magic.every((b, i) => data[i] === b)) return what;
	return null;
}

/** C1 bytes that Windows-1252 leaves undefined; a text file does not hold them. */
const UNDEFINED_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

export function looksBinary(text: string, share: number): string | null {
	const n = Math.min(text.length, 32768);
	if (n === 0) return null;
	let bad = 0;
	for (let i = 0; i < n; i++) {
		const c = text.charCodeAt(i);
		// Tab, LF, VT, FF and CR are ordinary in text files; other C0 controls, DEL, undefined
		// Windows-1252 bytes and U+FFFD are not.
		if ((c < 32 && (c < 9 || c > 13)) || c === 0xfffd || c === 0x7f || UNDEFINED_1252.has(c)) bad++;
	}
	return bad / n > share
		? `${Math.round((100 * bad) / n)}% of its first characters are control codes or invalid text`
		: null;
}

// ---------------------------------------------------------------------------------------------
// Encodings

export const WINDOWS_1252 = 'Windows-1252 (Latin-1)';

export interface Decoded {
	text: string;
	encoding: string;
	note?: string;
	/** UTF-8 with some invalid bytes: the rows holding them (as U+FFFD) are reported. */
	invalid?: boolean;
}

/** Bytes 0x80–0x9F in Windows-1252 (Node's TextDecoder reads them as C1 controls; browsers do not). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

export function decode1252(data: Uint8Array): string {
	return fix1252(new TextDecoder('windows-1252').decode(data));
}

/** Windows-1252 text as browsers read it, from a TextDecoder's output. */
export function fix1252(text: string): string {
	return /[\u0080-\u009f]/.test(text) ? text.replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]) : text;
}

/** UTF-16 without a byte order mark: ASCII-range text has a zero in every other byte. */
export function utf16WithoutBom(data: Uint8Array): 'le' | 'be' | null {
	const n = Math.min(data.length, SNIFF) & ~1;
	if (n < 4) return null;
	let evenZeros = 0;
	let oddZeros = 0;
	for (let i = 0; i < n; i += 2) {
		if (data[i] === 0) evenZeros++;
		if (data[i + 1] === 0) oddZeros++;
	}
	const pairs = n / 2;
	if (oddZeros >= 0.4 * pairs && evenZeros <= 0.05 * pairs) return 'le';
	if (evenZeros >= 0.4 * pairs && oddZeros <= 0.05 * pairs) return 'be';
	return null;
}

function decodeUtf16(data: Uint8Array, order: 'le' | 'be', note: string): Decoded {
	// ignoreBOM:false (the default) drops the byte order mark.
	return { text: new TextDecoder(order === 'le' ? 'utf-16le' : 'utf-16be').decode(data), encoding: `UTF-16 ${order.toUpperCase()}`, note };
}

/** Counts well-formed multi-byte UTF-8 sequences and invalid bytes. */
export function utf8Evidence(data: Uint8Array): { multi: number; invalid: number } {
	let multi = 0;
	let invalid = 0;
	for (let i = 0; i < data.length; ) {
		const b = data[i];
		if (b < 0x80) {
			i++;
			continue;
		}
		const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
		let ok = len > 0 && i + len <= data.length;
		for (let k = 1; ok && k < len; k++) ok = (data[i + k] & 0xc0) === 0x80;
		if (ok) {
			multi++;
			i += len;
		} else {
			invalid++;
			i++;
		}
	}
	return { multi, invalid };
}

export function decodeText(data: Uint8Array): Decoded {
	if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
		const d = decodeUtf8(data.subarray(3));
		return { ...d, encoding: d.encoding === 'UTF-8' ? 'UTF-8 with byte order mark' : d.encoding };
	}
	if (data[0] === 0xff && data[1] === 0xfe) return decodeUtf16(data, 'le', 'from its byte order mark');
	if (data[0] === 0xfe && data[1] === 0xff) return decodeUtf16(data, 'be', 'from its byte order mark');
	const order = utf16WithoutBom(data);
	if (order) return decodeUtf16(data, order, 'no byte order mark; told by its zero bytes');
	return decodeUtf8(data);
}

function decodeUtf8(data: Uint8Array): Decoded {
	// NUL bytes near the start mean binary; later ones are reported row by row (reportDamagedRows).
	const n = Math.min(data.length, SNIFF);
	for (let i = 0; i < n; i++) if (data[i] === 0) throw binaryError('it contains NUL bytes');
	try {
		return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data), encoding: 'UTF-8' };
	} catch {
		// Not valid UTF-8: mostly-UTF-8 with a few damaged bytes, or a legacy single-byte file.
	}
	const { multi, invalid } = utf8Evidence(data);
	if (multi > invalid)
		return {
			text: new TextDecoder('utf-8', { ignoreBOM: true }).decode(data),
			encoding: 'UTF-8',
			note: `${invalid} invalid byte${invalid === 1 ? '' : 's'}; the rows holding them are listed as unreadable`,
			invalid: true
		};
	return { text: decode1252(data), encoding: WINDOWS_1252, note: 'the file is not valid UTF-8' };
}

/**
 * Rows that hold NUL characters or (in damaged UTF-8) invalid bytes are not imported silently:
 * they become problems, which the user sees and may choose to skip.
 */
export function reportDamagedRows(table: ParsedTable, invalidUtf8: boolean) {
	const bad = (v: string) => v.includes('\0') || (invalidUtf8 && v.includes('\uFFFD'));
	const kept: TableRecord[] = [];
	for (const r of table.records) {
		const values = Object.values(r.values);
		if (!values.some(bad)) {
			kept.push(r);
			continue;
		}
		const what = values.some((v) => v.includes('\0')) ? 'a NUL byte (binary data)' : 'bytes that are not valid UTF-8 (shown as �)';
		table.problems.push({ line: r.line, message: `line ${r.line}: contains ${what}; fix the file, or skip this row` });
	}
	table.records = kept;
	table.problems.sort((a, b) => a.line - b.line);
}

export type Kind = 'csv' | 'jsonl' | 'json-array' | 'lines';

export function detectKind(fileName: string, text: string): Kind {
	const ext = /\.([^.]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
	const first = text.trimStart()[0];
	if (ext === 'csv' || ext === 'tsv') return 'csv';
	if (ext === 'txt' || ext === 'text' || ext === 'md') return looksTabular(text) ? 'csv' : 'lines';
	// JSON-ish files may be JSON Lines or one array of objects; other extensions are sniffed.
	if (first === '[') return 'json-array';
	if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
	if (first === '{') return 'jsonl';
	return 'csv';
}

/** Turns a parsed JSON value into the string a column holds (JSON.stringify throws a RangeError on very deep nesting). */
function cellString(v: unknown): string {
	if (v === null || v === undefined) return '';
	if (typeof v === 'object') return JSON.stringify(v);
	return String(v);
}

/** The column a file of bare JSON strings, or a plain text file, is read into. */
export const TEXT_COLUMN = 'text';

/**
 * A .txt file that is really a table (an export named .txt): its first lines all hold the same
 * number (one or more) of commas, tabs or semicolons. Prose has commas, but not the same count on
 * every line.
 */
function looksTabular(text: string): boolean {
	const lines = text.split('\n', 40).filter((l) => l.trim()).slice(0, 20);
	if (lines.length < 2) return false;
	return [',', '\t', ';'].some((d) => {
		const n = lines[0].split(d).length - 1;
		return n > 0 && lines.every((l) => l.split(d).length - 1 === n);
	});
}

/** A plain text file: one example per non-blank line, in the column `text`. */
function parseLines(text: string): ParsedTable {
	const records: TableRecord[] = [];
	text.split('\n').forEach((l, i) => {
		if (!l.trim()) return;
		const values = emptyValues();
		values[TEXT_COLUMN] = l;
		records.push({ line: i + 1, values });
	});
	return { format: 'txt', columns: [TEXT_COLUMN], records, problems: [], bytes: 0, encoding: '' };
}

// ---------------------------------------------------------------------------------------------
// CSV

/**
 * Counts line breaks incrementally: record start offsets only increase, so each character of the
 * file is scanned once.
 */
function lineCounter(text: string) {
	const br = text.includes('\n') ? '\n' : '\r';
	let pos = 0;
	let line = 1;
	return (offset: number): number => {
		for (; pos < offset; pos++) if (text[pos] === br) line++;
		return line;
	};
}

/** Header names made non-empty and unique, deterministically, so every value has a key. */
export function uniqueHeader(raw: string[]): string[] {
	const out: string[] = [];
	const seen = new Set<string>();
	raw.forEach((h, i) => {
		let name = h.trim() || `column_${i + 1}`;
		if (seen.has(name)) {
			let k = i + 1;
			while (seen.has(`${name}_${k}`)) k++;
			name = `${name}_${k}`;
		}
		seen.add(name);
		out.push(name);
	});
	return out;
}

/**
 * Turns papaparse's records into the table's records and problems, one `step` at a time; the
 * whole-text parser and the streaming one (stream.ts) share it, so both read a file the same way.
 * `lineAt` maps a record's start offset in the text to its 1-based line.
 */
export class CsvRows {
	records: TableRecord[] = [];
	problems: TableProblem[] = [];
	columns: string[] | null = null;
	// papaparse numbers rows per record, not per physical line (a quoted field can hold line
	// breaks), so each record's line comes from the cursor where the previous record ended.
	private start = 0;
	constructor(private lineAt: (offset: number) => number) {}

	step = (result: Papa.ParseStepResult<string[]>): void => {
		const fields = result.data;
		const line = this.lineAt(this.start);
		this.start = result.meta.cursor;
		// "Unable to auto-detect delimiter" is only a warning (a one-column file is valid).
		const errors = result.errors.filter((e) => e.type !== 'Delimiter');
		if (fields.every((f) => f.trim() === '') && errors.length === 0) return; // blank line

		const { columns, problems } = this;
		if (columns === null) {
			this.columns = uniqueHeader(fields);
			for (const e of errors) problems.push({ line, message: `line ${line}: ${e.message} (in the header row)` });
			return;
		}
		if (errors.length > 0) {
			// A quote left open swallows the lines after it into this record: say how many.
			const last = this.lineAt(Math.max(this.start - 1, 0));
			const where = last > line ? `lines ${line}–${last} (read as one row)` : `line ${line}`;
			problems.push({ line, message: `${where}: ${[...new Set(errors.map((e) => e.message))].join('; ')}` });
			return;
		}
		if (fields.length !== columns.length) {
			problems.push({
				line,
				message: `line ${line}: ${fields.length} field${fields.length === 1 ? '' : 's'}, expected ${columns.length} (${columns.join(', ')})`
			});
			return;
		}
		const values = emptyValues();
		// A quoted field keeps its line breaks; Excel on Windows writes them as CRLF, which
		// would otherwise reach the tokenizer as stray \r characters.
		for (let i = 0; i < columns.length; i++) values[columns[i]] = fields[i].includes('\r') ? fields[i].replace(/\r\n?/g, '\n') : fields[i];
		this.records.push({ line, values });
	};

	table(): ParsedTable {
		return { format: 'csv', columns: this.columns ?? [], records: this.records, problems: this.problems, bytes: 0, encoding: '' };
	}
}

function parseCsvWith(text: string, delimiter: string, quotes: boolean): { table: ParsedTable; delimiter: string } {
	const rows = new CsvRows(lineCounter(text));
	let used = delimiter;
	// Without quotes a NUL (never in text that got this far) stands in for the quote character.
	Papa.parse<string[]>(text, {
		header: false,
		delimiter,
		skipEmptyLines: false,
		quoteChar: quotes ? '"' : '\0',
		step: (r) => {
			used ||= r.meta.delimiter;
			rows.step(r);
		}
	});
	return { table: rows.table(), delimiter: used };
}

function parseCsv(text: string, delimiter: string): ParsedTable {
	const quoted = parseCsvWith(text, delimiter, true);
	if (quoted.delimiter !== '\t' || !quoted.table.problems.some(isQuoteProblem)) return quoted.table;
	return betterUnquoted(quoted.table, parseCsvWith(text, '\t', false).table);
}

/** A problem papaparse reported about quotes (an unclosed or malformed quoted field). */
export const isQuoteProblem = (p: { message: string }) => /quote/i.test(p.message);

/**
 * Tab-separated files are often written without CSV quoting (database dumps, `cut`, many tools),
 * so a quote that opens a field is part of its text: read with quoting, `"AGENT" K is …` is a
 * malformed quoted field, and an opening quote with no closing one swallows the lines after it
 * into one bad row. Of a tab-separated file's quoted reading and its reading without quotes
 * (`plain`), the one with fewer problems is kept; the plain one says so in `readNote`.
 */
export function betterUnquoted(quoted: ParsedTable, plain: ParsedTable | null): ParsedTable {
	if (!plain || plain.problems.length >= quoted.problems.length) return quoted;
	const n = (x: number) => x.toLocaleString('en-US');
	plain.readNote = `tab-separated, read without quoting: its quotes are part of the text (read as quoted CSV it gave ${n(quoted.records.length)} rows and ${n(quoted.problems.length)} malformed, the lines after an unclosed quote swallowed into one)`;
	return plain;
}

// ---------------------------------------------------------------------------------------------
// JSON Lines and JSON arrays

class ColumnSet {
	names: string[] = [];
	private seen = new Set<string>();
	add(keys: string[]) {
		for (const k of keys)
			if (!this.seen.has(k)) {
				this.seen.add(k);
				this.names.push(k);
			}
	}
}

function describe(v: unknown): string {
	if (Array.isArray(v)) return 'an array';
	if (v === null) return 'null';
	return `a ${typeof v}`;
}

/** One parsed JSON value as a record, or the problem with it. `item` is its 1-based place in an array. */
function toRecord(
	v: unknown,
	line: number,
	cols: ColumnSet,
	item?: number
): { record?: TableRecord; problem?: TableProblem } {
	const where = item === undefined ? `line ${line}` : `line ${line}, item ${item}`;
	if (v === null || typeof v !== 'object' || Array.isArray(v))
		return { problem: { line, message: `${where}: expected a JSON object ({"text": …, "label": …}), found ${describe(v)}` } };
	const values = emptyValues();
	try {
		for (const [k, x] of Object.entries(v)) values[k] = cellString(x);
	} catch {
		return { problem: { line, message: `${where}: nested too deeply to read as a value` } };
	}
	cols.add(Object.keys(values));
	return { record: { line, values } };
}

/**
 * Parsed JSON items as records. A file of bare strings (`["a", "b"]`, or one string per line) is
 * read as one column, "text"; other non-object items are problems with their line and place.
 */
function toRecords(items: { line: number; v: unknown; item?: number }[], records: TableRecord[], problems: TableProblem[], cols: ColumnSet) {
	if (items.length > 0 && items.every((x) => typeof x.v === 'string')) {
		cols.add([TEXT_COLUMN]);
		for (const { line, v } of items) {
			const values = emptyValues();
			values[TEXT_COLUMN] = v as string;
			records.push({ line, values });
		}
		return;
	}
	for (const { line, v, item } of items) {
		const r = toRecord(v, line, cols, item);
		if (r.record) records.push(r.record);
		else problems.push(r.problem!);
	}
}

function jsonMessage(e: unknown): string {
	return (e as Error)?.message ?? String(e);
}

/**
 * JSON Lines read one line at a time (the whole-text parser and the streaming one share it). An
 * object becomes a record at once; bare strings are held until the end, since a file of only
 * strings is one "text" column, and a string among objects is a problem (as `toRecords` says).
 */
export class JsonlRows {
	private cols = new ColumnSet();
	records: TableRecord[] = [];
	problems: TableProblem[] = [];
	/** Lines that parsed (objects, strings or other values). */
	parsed = 0;
	private strings: { line: number; v: string }[] = [];
	private onlyStrings = true;

	line(raw: string, line: number): void {
		if (raw.trim() === '') return;
		let v: unknown;
		try {
			v = JSON.parse(raw);
		} catch (e) {
			this.problems.push({ line, message: `line ${line}: not valid JSON (${jsonMessage(e)})` });
			return;
		}
		this.parsed++;
		if (typeof v === 'string') {
			this.strings.push({ line, v });
			return;
		}
		this.onlyStrings = false;
		const r = toRecord(v, line, this.cols);
		if (r.record) this.records.push(r.record);
		else this.problems.push(r.problem!);
	}

	table(): ParsedTable {
		const { records, problems } = this;
		if (this.parsed > 0 && this.onlyStrings) {
			this.cols.add([TEXT_COLUMN]);
			for (const { line, v } of this.strings) {
				const values = emptyValues();
				values[TEXT_COLUMN] = v;
				records.push({ line, values });
			}
		} else for (const { line, v } of this.strings) problems.push(toRecord(v, line, this.cols).problem!);
		this.strings = [];
		problems.sort((a, b) => a.line - b.line);
		return { format: 'jsonl', columns: this.cols.names, records, problems, bytes: 0, encoding: '' };
	}
}

function parseJsonl(text: string): ParsedTable {
	const rows = new JsonlRows();
	text.split(/\r\n|\n|\r/).forEach((raw, i) => rows.line(raw, i + 1));
	return rows.table();
}

/**
 * Splits a top-level JSON array into its elements' source spans, so each element gets the line it
 * starts on and a broken element costs one record, not the whole file.
 */
function arrayElementSpans(text: string, from: number): { start: number; end: number }[] | null {
	const spans: { start: number; end: number }[] = [];
	let i = text.indexOf('[', from);
	let depth = 0;
	let inString = false;
	let start = -1;
	for (i = i + 1; i < text.length; i++) {
		const c = text[i];
		if (inString) {
			if (c === '\\') i++;
			else if (c === '"') inString = false;
			continue;
		}
		if (c === '"') inString = true;
		if (depth === 0 && start < 0 && !/[\s,\]]/.test(c)) start = i;
		if (c === '{' || c === '[') depth++;
		else if (c === '}' || (c === ']' && depth > 0)) depth--;
		else if (depth === 0 && (c === ',' || c === ']')) {
			if (start >= 0) spans.push({ start, end: i });
			start = -1;
			if (c === ']') return spans;
		}
	}
	return null; // no closing bracket
}

function parseJsonArray(text: string, from: number): ParsedTable {
	const cols = new ColumnSet();
	const records: TableRecord[] = [];
	const problems: TableProblem[] = [];
	const lineAt = lineCounter(text);
	const spans = arrayElementSpans(text, from);
	if (!spans) {
		let detail = 'the closing ] is missing';
		try {
			JSON.parse(text);
		} catch (e) {
			detail = jsonMessage(e);
		}
		problems.push({ line: 1, message: `line 1: not a valid JSON array (${detail})` });
		return { format: 'jsonl', columns: [], records, problems, bytes: 0, encoding: '' };
	}
	const items: { line: number; v: unknown; item: number }[] = [];
	spans.forEach(({ start, end }, i) => {
		const line = lineAt(start);
		try {
			items.push({ line, v: JSON.parse(text.slice(start, end)), item: i + 1 });
		} catch (e) {
			problems.push({ line, message: `line ${line}, item ${i + 1}: not valid JSON (${jsonMessage(e)})` });
		}
	});
	toRecords(items, records, problems, cols);
	problems.sort((a, b) => a.line - b.line);
	return { format: 'jsonl', columns: cols.names, records, problems, bytes: 0, encoding: '' };
}

// ---------------------------------------------------------------------------------------------
// One JSON object that wraps the rows: {"data": [ {...}, ... ]}, as many APIs and exports write.

const isObject = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * When the whole file is one JSON object with a property holding an array of objects (or of
 * strings), that array is the rows: the longest such property, found at the top level. Returns
 * where its value starts in the text, and how to say which property was used.
 */
function wrappedArray(text: string): { offset: number; describe: (rows: number) => string } | null {
	let whole: unknown;
	try {
		whole = JSON.parse(text);
	} catch {
		return null; // JSON Lines (or broken JSON): read line by line
	}
	if (!isObject(whole)) return null;
	let best: { key: string; n: number; objects: boolean } | null = null;
	for (const [key, x] of Object.entries(whole as object)) {
		if (!Array.isArray(x) || x.length === 0) continue;
		const objects = x.some(isObject);
		if (!objects && !x.every((y) => typeof y === 'string')) continue;
		const better = !best || (objects && !best.objects) || (objects === best.objects && x.length > best.n);
		if (better) best = { key, n: x.length, objects };
	}
	if (!best) return null;
	const offset = topLevelValueOffset(text, best.key);
	if (offset < 0) return null;
	const { key, n } = best;
	const others = Object.keys(whole as object).length - 1;
	return {
		offset,
		describe: (rows) =>
			`The file is one JSON object; its "${key}" property holds an array of ${n.toLocaleString('en-US')} item${n === 1 ? '' : 's'}, read as ${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}` +
			(others > 0 ? ` (${others} other propert${others === 1 ? 'y' : 'ies'} left out)` : '') +
			'.'
	};
}

/** Where the value of a top-level key of the JSON object in `text` starts (the last one, as JSON.parse keeps), or -1. */
function topLevelValueOffset(text: string, key: string): number {
	let depth = 0;
	let found = -1;
	let lastKey: string | null = null;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') {
			const start = i;
			for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
			lastKey = depth === 1 ? text.slice(start, i + 1) : null;
			continue;
		}
		if (c === '{' || c === '[') depth++;
		else if (c === '}' || c === ']') depth--;
		else if (c === ':' && depth === 1 && lastKey !== null) {
			if (JSON.parse(lastKey) === key) found = i + 1;
			lastKey = null;
		} else if (!/\s/.test(c)) lastKey = null;
	}
	return found;
}
