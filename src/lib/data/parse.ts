/**
 * Reads a user's file (CSV/TSV, JSONL, or a JSON array of objects) into a table of string values,
 * keeping every unreadable record as a `problem` with the 1-based line where it starts, so the UI
 * can point at the exact place in the file. Runs in a Web Worker and in Node: no DOM.
 *
 * CSV follows RFC 4180 through papaparse; JSONL follows https://jsonlines.org.
 */
import Papa from 'papaparse';
import { UserError } from '../shared/errors';

export type TableFormat = 'csv' | 'jsonl';

export interface TableRecord {
	/** 1-based physical line in the file where the record starts. */
	line: number;
	values: Record<string, string>;
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
}

const EXPORT_HINT =
	'Export your data as CSV (comma-separated, with a header row) or JSONL (one JSON object per line).';

export function parseTable(fileName: string, bytes: ArrayBuffer | Uint8Array): ParsedTable {
	const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	if (data.length === 0)
		throw new UserError('empty-file', `${fileName} is empty (0 bytes). ${EXPORT_HINT}`);

	const binaryReason = binarySignature(data);
	if (binaryReason) throw binaryError(binaryReason);

	// fatal:false so a stray invalid byte becomes U+FFFD (counted below) instead of failing the
	// whole file; the default ignoreBOM:false strips a UTF-8 BOM, which Excel writes.
	const text = new TextDecoder('utf-8').decode(data);
	const decodedReason = looksBinary(text);
	if (decodedReason) throw binaryError(decodedReason);
	if (text.trim() === '')
		throw new UserError('empty-file', `${fileName} contains only whitespace. ${EXPORT_HINT}`);

	const kind = detectKind(fileName, text);
	const table =
		kind === 'csv'
			? parseCsv(text, /\.tsv$/i.test(fileName) ? '\t' : '')
			: kind === 'json-array'
				? parseJsonArray(text)
				: parseJsonl(text);
	table.bytes = data.length;

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

function binaryError(reason: string): UserError {
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
	[[0x50, 0x41, 0x52, 0x31], 'a Parquet file']
];

function binarySignature(data: Uint8Array): string | null {
	for (const [magic, what] of SIGNATURES)
		if (magic.length <= data.length && magic.every((b, i) => data[i] === b)) return what;
	const n = Math.min(data.length, 8192);
	for (let i = 0; i < n; i++) if (data[i] === 0) return 'it contains NUL bytes';
	return null;
}

function looksBinary(text: string): string | null {
	const n = Math.min(text.length, 32768);
	if (n === 0) return null;
	let bad = 0;
	for (let i = 0; i < n; i++) {
		const c = text.charCodeAt(i);
		// Tab, LF, VT, FF and CR are ordinary in text files; other C0 controls and U+FFFD are not.
		if ((c < 32 && (c < 9 || c > 13)) || c === 0xfffd) bad++;
	}
	return bad / n > 0.1
		? `${Math.round((100 * bad) / n)}% of its first characters are control codes or invalid UTF-8`
		: null;
}

type Kind = 'csv' | 'jsonl' | 'json-array';

function detectKind(fileName: string, text: string): Kind {
	const ext = /\.([^.]+)$/.exec(fileName)?.[1]?.toLowerCase() ?? '';
	const first = text.trimStart()[0];
	if (ext === 'csv' || ext === 'tsv') return 'csv';
	// JSON-ish files may be JSON Lines or one array of objects; other extensions are sniffed.
	if (first === '[') return 'json-array';
	if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
	if (first === '{') return 'jsonl';
	return 'csv';
}

/** Turns a parsed JSON value into the string a column holds. */
function cellString(v: unknown): string {
	if (v === null || v === undefined) return '';
	if (typeof v === 'object') return JSON.stringify(v);
	return String(v);
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
function uniqueHeader(raw: string[]): string[] {
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

function parseCsv(text: string, delimiter: string): ParsedTable {
	const lineAt = lineCounter(text);
	const records: TableRecord[] = [];
	const problems: TableProblem[] = [];
	let columns: string[] | null = null;
	// papaparse numbers rows per record, not per physical line (a quoted field can hold line
	// breaks), so each record's line comes from the cursor where the previous record ended.
	let start = 0;

	Papa.parse<string[]>(text, {
		header: false,
		delimiter,
		skipEmptyLines: false,
		step(result) {
			const fields = result.data;
			const line = lineAt(start);
			start = result.meta.cursor;
			// "Unable to auto-detect delimiter" is only a warning (a one-column file is valid).
			const errors = result.errors.filter((e) => e.type !== 'Delimiter');
			if (fields.every((f) => f.trim() === '') && errors.length === 0) return; // blank line

			if (columns === null) {
				columns = uniqueHeader(fields);
				for (const e of errors) problems.push({ line, message: `line ${line}: ${e.message} (in the header row)` });
				return;
			}
			if (errors.length > 0) {
				problems.push({ line, message: `line ${line}: ${errors.map((e) => e.message).join('; ')}` });
				return;
			}
			if (fields.length !== columns.length) {
				problems.push({
					line,
					message: `line ${line}: ${fields.length} field${fields.length === 1 ? '' : 's'}, expected ${columns.length} (${columns.join(', ')})`
				});
				return;
			}
			const values: Record<string, string> = {};
			// A quoted field keeps its line breaks; Excel on Windows writes them as CRLF, which
			// would otherwise reach the tokenizer as stray \r characters.
			columns.forEach((c, i) => (values[c] = fields[i].includes('\r') ? fields[i].replace(/\r\n?/g, '\n') : fields[i]));
			records.push({ line, values });
		}
	});
	return { format: 'csv', columns: columns ?? [], records, problems, bytes: 0 };
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

/** One parsed JSON value as a record, or the problem with it. */
function toRecord(
	v: unknown,
	line: number,
	cols: ColumnSet
): { record?: TableRecord; problem?: TableProblem } {
	if (v === null || typeof v !== 'object' || Array.isArray(v))
		return { problem: { line, message: `line ${line}: expected a JSON object ({"text": …, "label": …}), found ${describe(v)}` } };
	const values: Record<string, string> = {};
	for (const [k, x] of Object.entries(v)) values[k] = cellString(x);
	cols.add(Object.keys(values));
	return { record: { line, values } };
}

function jsonMessage(e: unknown): string {
	return (e as Error)?.message ?? String(e);
}

function parseJsonl(text: string): ParsedTable {
	const cols = new ColumnSet();
	const records: TableRecord[] = [];
	const problems: TableProblem[] = [];
	text.split(/\r\n|\n|\r/).forEach((raw, i) => {
		const line = i + 1;
		if (raw.trim() === '') return;
		let v: unknown;
		try {
			v = JSON.parse(raw);
		} catch (e) {
			problems.push({ line, message: `line ${line}: not valid JSON (${jsonMessage(e)})` });
			return;
		}
		const r = toRecord(v, line, cols);
		if (r.record) records.push(r.record);
		else problems.push(r.problem!);
	});
	return { format: 'jsonl', columns: cols.names, records, problems, bytes: 0 };
}

/**
 * Splits a top-level JSON array into its elements' source spans, so each element gets the line it
 * starts on and a broken element costs one record, not the whole file.
 */
function arrayElementSpans(text: string): { start: number; end: number }[] | null {
	const spans: { start: number; end: number }[] = [];
	let i = text.indexOf('[');
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

function parseJsonArray(text: string): ParsedTable {
	const cols = new ColumnSet();
	const records: TableRecord[] = [];
	const problems: TableProblem[] = [];
	const lineAt = lineCounter(text);
	const spans = arrayElementSpans(text);
	if (!spans) {
		let detail = 'the closing ] is missing';
		try {
			JSON.parse(text);
		} catch (e) {
			detail = jsonMessage(e);
		}
		problems.push({ line: 1, message: `line 1: not a valid JSON array (${detail})` });
		return { format: 'jsonl', columns: [], records, problems, bytes: 0 };
	}
	for (const { start, end } of spans) {
		const line = lineAt(start);
		let v: unknown;
		try {
			v = JSON.parse(text.slice(start, end));
		} catch (e) {
			problems.push({ line, message: `line ${line}: not valid JSON (${jsonMessage(e)})` });
			continue;
		}
		const r = toRecord(v, line, cols);
		if (r.record) records.push(r.record);
		else problems.push(r.problem!);
	}
	return { format: 'jsonl', columns: cols.names, records, problems, bytes: 0 };
}
