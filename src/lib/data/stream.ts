/**
 * A user's files read as a stream, in the data worker: the bytes of a `File` pass through a
 * streaming `TextDecoder` into the CSV/TSV, JSON Lines or plain-text reader a chunk at a time, so a
 * 1 GB file never sits in memory as bytes or as one string; only the parsed rows are kept. Parquet
 * is read a row group at a time through an `AsyncBuffer` over the file (hyparquet), never copied
 * whole. Progress (bytes read, rows) is told as it goes, and an `AbortSignal` stops it.
 *
 * The result equals `parseTable` (parse.ts) on the whole file: the same encoding rules
 * (`decodeText`: byte order marks, UTF-16 told by its zero bytes, damaged UTF-8, Windows-1252),
 * the same kind detection (on the first lines), and the same row readers (`CsvRows`, `JsonlRows`).
 * Whether the bytes are valid UTF-8 is only known at the end; when the guess made from the first
 * 8 KB proves wrong, the file is read again with the right encoding. JSON arrays, and a `.json`
 * file that may be one object wrapping the rows, are read whole (up to `WHOLE_LIMIT`), since a
 * value's place in them is only known from the whole text.
 *
 * Several files are read as one table when they have the same columns, with the file of each row
 * in a column of its own (`SOURCE_COLUMN`); plain text files are one example per line, or one
 * document per file.
 */
import Papa from 'papaparse';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UserError } from '../shared/errors';
import {
	CsvRows,
	betterUnquoted,
	isQuoteProblem,
	EXPORT_HINT,
	JsonlRows,
	SNIFF,
	TEXT_COLUMN,
	WINDOWS_1252,
	binaryError,
	binarySignature,
	detectKind,
	emptyValues,
	finishTable,
	fix1252,
	looksBinary,
	mayBeWrapped,
	tableFromText,
	utf16WithoutBom,
	utf8Evidence,
	type Decoded,
	type Kind,
	type ParsedTable,
	type TableRecord
} from './parse';
import { cellText } from './parquet';

/** Plain text files: one example per non-blank line, or each file one example. */
export type TextMode = 'lines' | 'document';

export interface ReadProgress {
	/** The file being read, its place among the files, and how many there are. */
	file: string;
	fileIndex: number;
	files: number;
	/** Bytes read of all the files, and their total. */
	bytesRead: number;
	totalBytes: number;
	/** Records read so far (of all the files). */
	rows: number;
}

export interface StreamOptions {
	textMode?: TextMode;
	onProgress?: (p: ReadProgress) => void;
	signal?: AbortSignal;
	/** Characters handed to a reader at a time (tests make it small, to put chunk edges everywhere). */
	feedChars?: number;
}

/** A file to read: its name, size and bytes, which can be read again from the start. */
export interface ByteSource {
	name: string;
	size: number;
	chunks(): AsyncIterable<Uint8Array>;
	/** Random access, for Parquet (its footer is at the end). */
	blob?: Blob;
}

/** JSON arrays and one-document-per-file texts are read whole; past this size the user is told to use JSON Lines. */
export const WHOLE_LIMIT = 256 * 1024 * 1024;

/** The column that names the file of each row when several files are read as one table. */
export const SOURCE_COLUMN = 'source_file';

/** Kind detection and CSV's delimiter guess look at this much text (and at least 40 lines). */
const PREFIX_CHARS = 64 * 1024;
const PREFIX_LINES = 40;
const FEED_CHARS = 1 << 20;
const PROGRESS_MS = 100;

export function blobSource(name: string, blob: Blob): ByteSource {
	return {
		name,
		size: blob.size,
		blob,
		async *chunks() {
			const reader = blob.stream().getReader();
			try {
				for (;;) {
					const { done, value } = await reader.read();
					if (done) return;
					yield value;
				}
			} finally {
				reader.releaseLock();
			}
		}
	};
}

function cancelled(): UserError {
	return new UserError('cancelled', 'Reading the file was cancelled; nothing was stored.');
}

function checkAbort(signal?: AbortSignal) {
	if (signal?.aborted) throw cancelled();
}

const mb = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.max(0.1, n / 1e6).toFixed(1)} MB`);

// ---------------------------------------------------------------------------------------------
// Counting UTF-8 evidence (as parse.ts's `utf8Evidence`) across chunk edges.

class Utf8Evidence {
	multi = 0;
	invalid = 0;
	private carry: Uint8Array | null = null;

	push(bytes: Uint8Array, final = false): void {
		let data = bytes;
		if (this.carry) {
			data = new Uint8Array(this.carry.length + bytes.length);
			data.set(this.carry);
			data.set(bytes, this.carry.length);
			this.carry = null;
		}
		const n = data.length;
		for (let i = 0; i < n; ) {
			const b = data[i];
			if (b < 0x80) {
				i++;
				continue;
			}
			const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
			if (len > 0 && i + len > n && !final) {
				// A sequence cut by the chunk's end: decided with the next chunk's bytes.
				this.carry = data.slice(i);
				return;
			}
			let ok = len > 0 && i + len <= n;
			for (let k = 1; ok && k < len; k++) ok = (data[i + k] & 0xc0) === 0x80;
			if (ok) {
				this.multi++;
				i += len;
			} else {
				this.invalid++;
				i++;
			}
		}
	}

	end(): void {
		if (this.carry) this.push(new Uint8Array(0), true);
	}
}

// ---------------------------------------------------------------------------------------------
// Readers of normalized text (LF line ends), fed in pieces.

interface TextReader {
	push(text: string): void;
	/** The table, or null when the file must be read again whole (a .json file that may be one wrapping object). */
	end(): ParsedTable | null;
	rows(): number;
}

/** Calls `line` for every '\n'-separated line of the text, as `text.split('\n')` gives them. */
class LineSplitter {
	private carry = '';
	private n = 0;
	constructor(private line: (raw: string, line: number) => void) {}
	push(text: string) {
		const s = this.carry + text;
		let start = 0;
		for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', start)) {
			this.line(s.slice(start, i), ++this.n);
			start = i + 1;
		}
		this.carry = s.slice(start);
	}
	end() {
		this.line(this.carry, ++this.n);
		this.carry = '';
	}
}

class LinesReader implements TextReader {
	private records: TableRecord[] = [];
	private split = new LineSplitter((l, line) => {
		if (!l.trim()) return;
		const values = emptyValues();
		values[TEXT_COLUMN] = l;
		this.records.push({ line, values });
	});
	push(text: string) {
		this.split.push(text);
	}
	end(): ParsedTable {
		this.split.end();
		return { format: 'txt', columns: [TEXT_COLUMN], records: this.records, problems: [], bytes: 0, encoding: '' };
	}
	rows() {
		return this.records.length;
	}
}

class JsonlReader implements TextReader {
	private reader = new JsonlRows();
	private split = new LineSplitter((raw, line) => this.reader.line(raw, line));
	/** `mayWrap`: a .json file starting with '{' is one wrapping object unless its lines parse one by one. */
	constructor(private mayWrap: boolean) {}
	push(text: string) {
		this.split.push(text);
	}
	end(): ParsedTable | null {
		this.split.end();
		// Two values that parse on lines of their own cannot be one JSON text, and a file whose
		// every line parses is JSON Lines; anything else may be one object: read it whole.
		if (this.mayWrap && (this.reader.parsed < 2 || this.reader.problems.length > 0)) return null;
		return this.reader.table();
	}
	rows() {
		return this.reader.records.length;
	}
}

/** Maps a record's start offset in the streamed text to its 1-based line, keeping only the text not yet passed. */
class StreamLines {
	private pieces: string[] = [];
	private head = 0;
	private base = 0;
	private pos = 0;
	private line = 1;
	add(text: string) {
		if (text) this.pieces.push(text);
	}
	at = (offset: number): number => {
		while (this.head < this.pieces.length) {
			const p = this.pieces[this.head];
			const stop = Math.min(p.length, offset - this.base);
			for (let i = p.indexOf('\n', this.pos); i >= 0 && i < stop; i = p.indexOf('\n', i + 1)) this.line++;
			this.pos = Math.max(this.pos, stop);
			if (stop < p.length) break;
			this.base += p.length;
			this.pos = 0;
			this.pieces[this.head++] = '';
			if (this.head > 1024) {
				this.pieces = this.pieces.slice(this.head);
				this.head = 0;
			}
		}
		return this.line;
	};
}

/**
 * CSV through papaparse's own chunk streamer (it joins a record cut by a chunk's edge, quoted
 * line breaks included), fed through the duck-typed stream it accepts (`readable`, `read`, `on`).
 */
class CsvReader implements TextReader {
	private lines = new StreamLines();
	private reader = new CsvRows(this.lines.at);
	private handlers: Record<string, (chunk?: string) => void> = {};
	constructor(
		readonly delimiter: string,
		private feed: number,
		quotes = true
	) {
		const stream = {
			readable: true,
			read() {},
			on: (event: string, fn: (chunk?: string) => void) => void (this.handlers[event] = fn),
			removeListener() {},
			pause() {},
			resume() {}
		};
		// Without quotes a NUL (never in text that got this far) stands in for the quote character.
		Papa.parse(stream as unknown as File, { header: false, delimiter, newline: '\n', skipEmptyLines: false, quoteChar: quotes ? '"' : '\0', step: this.reader.step });
	}
	push(text: string) {
		for (let i = 0; i < text.length; i += this.feed) {
			const piece = text.slice(i, i + this.feed);
			this.lines.add(piece);
			this.handlers.data(piece);
		}
	}
	end(): ParsedTable {
		this.handlers.end();
		return this.reader.table();
	}
	rows() {
		return this.reader.records.length;
	}
}

/** Text read whole: JSON arrays, possibly-wrapping JSON objects, and one document per file. */
class WholeReader implements TextReader {
	private parts: string[] = [];
	constructor(private make: (text: string) => ParsedTable) {}
	push(text: string) {
		this.parts.push(text);
	}
	end(): ParsedTable {
		const text = this.parts.join('');
		this.parts = [];
		return this.make(text);
	}
	rows() {
		return 0;
	}
}

/** The guess papaparse makes on a whole text (it looks at the first 10 records), made on its start. */
function guessDelimiter(prefix: string): string {
	return Papa.parse<string[]>(prefix, { delimiter: '', newline: '\n', preview: 1 }).meta.delimiter || ',';
}

function documentTable(text: string): ParsedTable {
	const values = emptyValues();
	values[TEXT_COLUMN] = text.trimEnd();
	return { format: 'txt', columns: [TEXT_COLUMN], records: [{ line: 1, values }], problems: [], bytes: 0, encoding: '' };
}

/**
 * Buffers the first text until the kind can be told as `parseTable` tells it (the first
 * non-blank character, the first 40 lines), then hands everything to that kind's reader.
 */
class KindSink {
	private prefix: string[] = [];
	private prefixChars = 0;
	private prefixLines = 0;
	private seen = false;
	reader: TextReader | null = null;
	sawNul = false;

	constructor(
		private name: string,
		private size: number,
		private opts: StreamOptions,
		private whole: boolean,
		private quotes = true
	) {}

	/** The CSV reader's delimiter, once it has chosen one; null for other kinds. */
	get delimiter(): string | null {
		return this.reader instanceof CsvReader ? this.reader.delimiter : null;
	}

	push(text: string) {
		if (!text) return;
		if (!this.sawNul && text.includes('\0')) this.sawNul = true;
		if (this.reader) return this.reader.push(text);
		this.prefix.push(text);
		this.prefixChars += text.length;
		for (let i = text.indexOf('\n'); i >= 0 && this.prefixLines < PREFIX_LINES; i = text.indexOf('\n', i + 1)) this.prefixLines++;
		if (!this.seen) this.seen = /\S/.test(text);
		if (this.seen && this.prefixChars >= PREFIX_CHARS && this.prefixLines >= PREFIX_LINES) this.start();
	}

	private start() {
		const prefix = this.prefix.join('');
		this.prefix = [];
		this.reader = this.readerFor(detectKind(this.name, prefix), prefix);
		this.reader.push(prefix);
	}

	private readerFor(kind: Kind, prefix: string): TextReader {
		const { name } = this;
		if (kind === 'lines' && this.opts.textMode === 'document') {
			this.requireWhole('one document per file reads each file whole');
			return new WholeReader(documentTable);
		}
		if (kind === 'lines') return new LinesReader();
		if (kind === 'csv') return new CsvReader(/\.tsv$/i.test(name) ? '\t' : guessDelimiter(prefix), this.opts.feedChars ?? FEED_CHARS, this.quotes);
		if (kind === 'json-array' || this.whole) {
			this.requireWhole('a JSON array is read whole');
			return new WholeReader((text) => tableFromText(name, text, kind));
		}
		// Past the limit a .json file is read as JSON Lines: a wrapping object that large could not be read whole anyway.
		return new JsonlReader(mayBeWrapped(name, kind, prefix) && this.size <= WHOLE_LIMIT);
	}

	private requireWhole(why: string) {
		if (this.size > WHOLE_LIMIT)
			throw new UserError(
				'parse-error',
				`${this.name} is ${mb(this.size)}, and ${why}, up to ${mb(WHOLE_LIMIT)}. Save it as JSON Lines (one object per line, .jsonl) or CSV, which are read as a stream at any size.`
			);
	}

	end(): ParsedTable | null {
		if (!this.reader) {
			if (!this.seen) throw new UserError('empty-file', `${this.name} contains only whitespace. ${EXPORT_HINT}`);
			this.start();
		}
		return this.reader!.end();
	}

	rows() {
		return this.reader?.rows() ?? 0;
	}
}

// ---------------------------------------------------------------------------------------------
// One text file.

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

async function head(src: ByteSource, n: number): Promise<Uint8Array> {
	if (src.blob) return new Uint8Array(await src.blob.slice(0, n).arrayBuffer());
	const out = new Uint8Array(Math.min(n, src.size));
	let at = 0;
	for await (const chunk of src.chunks()) {
		const take = Math.min(chunk.length, out.length - at);
		out.set(chunk.subarray(0, take), at);
		at += take;
		if (at >= out.length) break;
	}
	return out.subarray(0, at);
}

interface PassResult {
	table: ParsedTable | null;
	binary: string | null;
	evidence: Utf8Evidence | null;
	sawNul: boolean;
	/** The CSV delimiter it read with (null for other kinds). */
	delimiter: string | null;
}

/** Reads the file once with one encoding. `evidence` counts UTF-8 sequences to check the choice. */
async function pass(
	src: ByteSource,
	encoding: Encoding,
	skip: number,
	countEvidence: boolean,
	whole: boolean,
	opts: StreamOptions,
	report: (bytes: number, rows: number) => void,
	quotes = true
): Promise<PassResult> {
	const utf8 = encoding === 'utf-8';
	const decoder = new TextDecoder(encoding, utf8 ? { ignoreBOM: true } : {});
	const evidence = countEvidence ? new Utf8Evidence() : null;
	const sink = new KindSink(src.name, src.size, opts, whole, quotes);
	let sniff = '';
	let binary: string | null = null;
	let heldCR = false;
	let toSkip = skip;
	let read = 0;

	const feed = (raw: string, final: boolean) => {
		let t = encoding === 'windows-1252' ? fix1252(raw) : raw;
		if (sniff.length < 32768) {
			sniff += t.slice(0, 32768 - sniff.length);
			if (sniff.length >= 32768 || final) binary = looksBinary(sniff, encoding === 'windows-1252' ? 0.03 : 0.1);
		}
		if (binary) return;
		// CRLF, and lone CR, become LF; a CR at a chunk's end waits to see if an LF follows.
		if (heldCR) {
			t = '\r' + t;
			heldCR = false;
		}
		if (!final && t.endsWith('\r')) {
			heldCR = true;
			t = t.slice(0, -1);
		}
		if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
		sink.push(t);
	};

	for await (const chunk of src.chunks()) {
		checkAbort(opts.signal);
		read += chunk.length;
		let bytes = chunk;
		if (toSkip > 0) {
			const k = Math.min(toSkip, bytes.length);
			bytes = bytes.subarray(k);
			toSkip -= k;
		}
		evidence?.push(bytes);
		// Past a binary verdict only the evidence is still counted (it may send us back with another encoding).
		if (!binary) feed(decoder.decode(bytes, { stream: true }), false);
		else if (!evidence) break;
		report(read, sink.rows());
	}
	evidence?.end();
	if (!binary) feed(decoder.decode(), true);
	checkAbort(opts.signal);
	return { table: binary ? null : sink.end(), binary, evidence, sawNul: sink.sawNul, delimiter: sink.delimiter };
}

/** A tab-separated read with quote problems is read again without quotes; see `betterUnquoted`. */
async function unquotedIfBetter(r: PassResult, again: () => Promise<PassResult>): Promise<ParsedTable> {
	const table = r.table!;
	if (r.delimiter !== '\t' || !table.problems.some(isQuoteProblem)) return table;
	return betterUnquoted(table, (await again()).table);
}

async function readText(src: ByteSource, opts: StreamOptions, report: (bytes: number, rows: number) => void): Promise<ParsedTable> {
	if (src.size === 0) throw new UserError('empty-file', `${src.name} is empty (0 bytes). ${EXPORT_HINT}`);
	const first = await head(src, SNIFF + 3);
	const signature = binarySignature(first);
	if (signature) throw binaryError(signature);

	let decoded: Omit<Decoded, 'text'>;
	let encoding: Encoding;
	let skip = 0;
	let utf8Path = false;
	if (first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf) {
		skip = 3;
		utf8Path = true;
	} else if (first[0] === 0xff && first[1] === 0xfe) {
		encoding = 'utf-16le';
		decoded = { encoding: 'UTF-16 LE', note: 'from its byte order mark' };
	} else if (first[0] === 0xfe && first[1] === 0xff) {
		encoding = 'utf-16be';
		decoded = { encoding: 'UTF-16 BE', note: 'from its byte order mark' };
	} else {
		const order = utf16WithoutBom(first);
		if (order) {
			encoding = order === 'le' ? 'utf-16le' : 'utf-16be';
			decoded = { encoding: `UTF-16 ${order.toUpperCase()}`, note: 'no byte order mark; told by its zero bytes' };
		} else utf8Path = true;
	}

	let whole = false;
	if (!utf8Path) {
		for (;;) {
			const r = await pass(src, encoding!, 0, false, whole, opts, report);
			if (r.binary) throw binaryError(r.binary);
			if (r.table) {
				const table = await unquotedIfBetter(r, () => pass(src, encoding!, 0, false, whole, opts, report, false));
				return finishTable(src.name, table, src.size, decoded!, r.sawNul);
			}
			whole = true;
		}
	}

	const sniffed = first.subarray(skip, skip + SNIFF);
	for (let i = 0; i < sniffed.length; i++) if (sniffed[i] === 0) throw binaryError('it contains NUL bytes');
	// The first bytes guess the encoding; the whole file's evidence decides it (as `decodeText` does).
	const guess = utf8Evidence(sniffed);
	encoding = guess.invalid > 0 && guess.multi <= guess.invalid ? 'windows-1252' : 'utf-8';
	let evidence: Utf8Evidence | null = null;
	for (;;) {
		const r = await pass(src, encoding, skip, !evidence, whole, opts, report);
		evidence ??= r.evidence!;
		const { multi, invalid } = evidence;
		const right: Encoding = invalid === 0 || multi > invalid ? 'utf-8' : 'windows-1252';
		if (right !== encoding) {
			encoding = right;
			continue;
		}
		if (r.binary) throw binaryError(r.binary);
		if (!r.table) {
			whole = true;
			continue;
		}
		const bom = skip > 0;
		decoded =
			right === 'windows-1252'
				? { encoding: WINDOWS_1252, note: 'the file is not valid UTF-8' }
				: invalid === 0
					? { encoding: bom ? 'UTF-8 with byte order mark' : 'UTF-8' }
					: {
							encoding: bom ? 'UTF-8 with byte order mark' : 'UTF-8',
							note: `${invalid} invalid byte${invalid === 1 ? '' : 's'}; the rows holding them are listed as unreadable`,
							invalid: true
						};
		const table = await unquotedIfBetter(r, () => pass(src, right, skip, false, whole, opts, report, false));
		return finishTable(src.name, table, src.size, decoded, r.sawNul);
	}
}

// ---------------------------------------------------------------------------------------------
// Parquet, a row group at a time.

const PARQUET_MAGIC = [0x50, 0x41, 0x52, 0x31];

async function isParquetBlob(blob: Blob): Promise<boolean> {
	if (blob.size < 12) return false;
	const [a, b] = await Promise.all([blob.slice(0, 4).arrayBuffer(), blob.slice(blob.size - 4).arrayBuffer()]);
	const ha = new Uint8Array(a);
	const hb = new Uint8Array(b);
	return PARQUET_MAGIC.every((x, i) => ha[i] === x && hb[i] === x);
}

async function readParquet(name: string, blob: Blob, opts: StreamOptions, report: (bytes: number, rows: number) => void): Promise<ParsedTable> {
	const file: AsyncBuffer = { byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() };
	const records: TableRecord[] = [];
	let columns: string[] = [];
	try {
		const metadata = await parquetMetadataAsync(file);
		columns = parquetSchema(metadata).children.map((c) => c.element.name);
		const total = Number(metadata.num_rows) || 1;
		let start = 0;
		for (const group of metadata.row_groups) {
			checkAbort(opts.signal);
			const n = Number(group.num_rows);
			const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: start + n, compressors });
			for (const row of rows) {
				const values = emptyValues();
				for (const c of columns) values[c] = cellText(row[c]);
				// a Parquet file has no lines: the record number stands where a text file's line would
				records.push({ line: records.length + 1, values });
			}
			start += n;
			report(Math.round((blob.size * start) / total), records.length);
		}
	} catch (e) {
		if (e instanceof UserError) throw e;
		throw new UserError(
			'parse-error',
			`${name} could not be read as Parquet (${(e as Error).message}). It may be truncated or use an encoding this reader does not support; export it again, or as CSV or JSONL.`
		);
	}
	return { format: 'parquet', columns, records, problems: [], bytes: blob.size, encoding: 'Parquet (UTF-8 strings)' };
}

/** One file as a table, read as a stream; equal to `readTable` (parquet.ts) on its bytes. */
export async function streamTable(src: ByteSource, opts: StreamOptions = {}, report: (bytes: number, rows: number) => void = () => {}): Promise<ParsedTable> {
	checkAbort(opts.signal);
	if (src.blob && (await isParquetBlob(src.blob))) return readParquet(src.name, src.blob, opts, report);
	return readText(src, opts, report);
}

// ---------------------------------------------------------------------------------------------
// Several files as one table.

/** A column name not among `columns`: `source_file`, else `source_file_2`, … */
function sourceColumn(columns: string[]): string {
	let name = SOURCE_COLUMN;
	for (let k = 2; columns.includes(name); k++) name = `${SOURCE_COLUMN}_${k}`;
	return name;
}

const sameColumns = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === a.length;

/**
 * Several tables with the same columns as one: their records one after another, each with its
 * file in the source column; problems say their file. Different columns are refused, named.
 */
export function concatTables(names: string[], tables: ParsedTable[]): ParsedTable {
	if (tables.length === 1) return tables[0];
	const first = tables[0];
	const odd = tables.findIndex((t) => !sameColumns(t.columns, first.columns));
	if (odd >= 0) {
		const cols = (t: ParsedTable) => (t.columns.length > 8 ? `${t.columns.slice(0, 8).join(', ')}, …` : t.columns.join(', '));
		throw new UserError(
			'parse-error',
			`These files do not have the same columns: ${names[0]} has (${cols(first)}), ${names[odd]} has (${cols(tables[odd])}). Files imported together are joined row by row, so they need the same header; import them one at a time, or give them the same columns.`
		);
	}
	const source = sourceColumn(first.columns);
	const counts = tables.map((t) => t.records.length);
	const records: TableRecord[] = [];
	const problems: ParsedTable['problems'] = [];
	tables.forEach((t, i) => {
		for (const r of t.records) {
			r.values[source] = names[i];
			records.push(r);
		}
		for (const p of t.problems) problems.push({ line: p.line, message: `${names[i]}: ${p.message}` });
		t.records = [];
	});
	const encodings = [...new Set(tables.map((t) => t.encoding))];
	const notes = tables.flatMap((t, i) => (t.encodingNote ? [`${names[i]}: ${t.encodingNote}`] : []));
	return {
		format: first.format,
		columns: [...first.columns, source],
		records,
		problems,
		bytes: tables.reduce((n, t) => n + t.bytes, 0),
		encoding: encodings.length === 1 ? encodings[0] : tables.map((t, i) => `${names[i]}: ${t.encoding}`).join('; '),
		...(notes.length ? { encodingNote: notes.join('; ') } : {}),
		source:
			`${tables.length} files read as one table, ${records.length.toLocaleString('en-US')} rows (` +
			counts.map((n, i) => `${names[i]}: ${n.toLocaleString('en-US')}`).join(', ') +
			`); each row's file is in the column "${source}".`
	};
}

/** Reads files (one, or several with the same columns) as one table, telling the progress as it goes. */
export async function readFiles(files: File[], opts: StreamOptions = {}): Promise<ParsedTable> {
	if (files.length === 0) throw new UserError('empty-file', 'No file was chosen.');
	const sources = files.map((f) => blobSource(f.name, f));
	const names = sources.map((s) => s.name);
	if (new Set(names).size !== names.length)
		throw new UserError('parse-error', `Two of the chosen files are both named "${names.find((n, i) => names.indexOf(n) !== i)}". Rename one, so each row can say its file.`);
	const totalBytes = sources.reduce((n, s) => n + s.size, 0);
	let before = 0;
	let rowsBefore = 0;
	let last = 0;
	const tables: ParsedTable[] = [];
	for (const [i, src] of sources.entries()) {
		const tell = (bytes: number, rows: number, force = false) => {
			const now = Date.now();
			if (!opts.onProgress || (!force && now - last < PROGRESS_MS)) return;
			last = now;
			opts.onProgress({ file: src.name, fileIndex: i, files: sources.length, bytesRead: before + bytes, totalBytes, rows: rowsBefore + rows });
		};
		tell(0, 0, true);
		const table = await streamTable(src, opts, tell);
		tell(src.size, table.records.length, true);
		before += src.size;
		rowsBefore += table.records.length;
		tables.push(table);
	}
	return concatTables(names, tables);
}

// ---------------------------------------------------------------------------------------------
// The table the importer is working on, kept between inspecting, counting and importing.

/** Files chosen together, with a key the page makes per choice, and how plain text is read. */
export interface FileSource {
	files: File[];
	key: string;
	textMode?: TextMode;
}

let staged: { key: string; textMode: TextMode; table: Promise<ParsedTable> } | null = null;

/**
 * The table of the chosen files: read once, then kept (one choice at a time) so the counts and
 * the import that follow do not read a 1 GB file again. A worker that restarted reads it anew.
 */
export function readSource(source: FileSource, opts: StreamOptions = {}): Promise<ParsedTable> {
	const textMode = source.textMode ?? 'lines';
	if (staged && staged.key === source.key && staged.textMode === textMode) return staged.table;
	const table = readFiles(source.files, { ...opts, textMode });
	const entry = { key: source.key, textMode, table };
	staged = entry;
	table.catch(() => {
		if (staged === entry) staged = null;
	});
	return table;
}

/** Forgets the kept table (after its import, or when the page is done with it). */
export function dropSource(): void {
	staged = null;
}
