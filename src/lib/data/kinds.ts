/**
 * The three kinds of dataset and how a table becomes rows of each:
 *
 * - classification: a text column and a label column (`columns.ts`);
 * - text: one text column, domain text for causal language modelling;
 * - pairs: a prompt and a response, for instruction tuning, laid out as two columns
 *   (prompt/response, question/answer, …), Alpaca fields (instruction, optional input, output),
 *   or a chat column of `{role, content}` messages (see `messages.ts`).
 *
 * `guessKind` proposes a kind from column names and contents; the user confirms or changes it.
 * Column-level mistakes are named `UserError`s; unusable rows are dropped with a reason and
 * their line, as for classification.
 */
import type { ChatMessage, DatasetVersion } from '../shared/types';
import { UserError } from '../shared/errors';
import { MAX_CLASSES, MIN_ROWS, buildDue as due, columnStats, dedupeWork, guessColumns, type BuildTick, type DedupeCounts, type DedupeOptions } from './columns';
import { looksLikeMessages, parseMessages, promptText, splitConversation } from './messages';
import type { ParsedTable, TableProblem } from './parse';
import { runToEnd, type Work } from './sliced';

export type DatasetKind = NonNullable<DatasetVersion['kind']>;
/** How a pairs dataset lays out its prompt and response. */
export type PairsFormat = 'columns' | 'alpaca' | 'chat';

export interface KindGuess {
	kind: DatasetKind;
	/** Pairs only. */
	format?: PairsFormat;
	/** The text (classification, text), the prompt (two columns), the instruction (Alpaca) or the messages (chat). */
	textColumn?: string;
	/** Classification: the label; pairs from two columns or Alpaca: the response. */
	labelColumn?: string;
	responseColumn?: string;
	/** Alpaca's optional `input` column. */
	inputColumn?: string;
	/** Why this kind was guessed, in words for the importer. */
	why: string;
	/** Chat: the first 50 conversations that cannot be read, and how many there are. */
	problems?: TableProblem[];
	problemCount?: number;
}

/** Column-name pairs that mean prompt → response, most specific first. */
export const PAIR_NAMES: [string, string][] = [
	['prompt', 'response'],
	['prompt', 'completion'],
	['instruction', 'response'],
	['question', 'answer'],
	['query', 'response'],
	['input', 'output'],
	['source', 'target']
];

/** Column names that usually hold a conversation, most likely first. */
const CHAT_NAMES = ['messages', 'conversations', 'conversation', 'chat', 'dialog', 'dialogue'];

const norm = (s: string) => s.trim().toLowerCase();

/** The table's column called `name`, ignoring case and surrounding spaces. */
export function findColumn(table: ParsedTable, name: string): string | undefined {
	return table.columns.find((c) => norm(c) === name);
}

/** A column whose sampled non-empty values are (nearly) all conversations, preferring usual names. */
function chatColumn(table: ParsedTable): string | undefined {
	const sample = table.records.slice(0, 50);
	const isChat = (c: string) => {
		const cells = sample.map((r) => r.values[c] ?? '').filter((v) => v.trim());
		return cells.length > 0 && cells.filter(looksLikeMessages).length >= 0.8 * cells.length;
	};
	const rank = (c: string) => {
		const i = CHAT_NAMES.indexOf(norm(c));
		return i < 0 ? CHAT_NAMES.length : i;
	};
	return table.columns
		.filter(isChat)
		.sort((a, b) => rank(a) - rank(b))[0];
}

/** Few repeated values: a category, so a file with it is more likely classification than pairs. */
function looksLikeLabel(table: ParsedTable, column: string): boolean {
	const s = columnStats(table, column);
	return s.distinct >= 2 && s.distinct <= 50 && s.distinct <= Math.max(2, 0.5 * s.nonEmpty);
}

/** Conversations in `column` that cannot be read, with their lines. */
function chatProblems(table: ParsedTable, column: string): TableProblem[] {
	const problems: TableProblem[] = [];
	for (const r of table.records) {
		const cell = r.values[column] ?? '';
		if (!cell.trim()) continue; // an empty cell is a dropped row, not an unreadable one
		const { reason } = parseMessages(cell);
		if (reason) problems.push({ line: r.line, message: `line ${r.line}: ${reason}` });
	}
	return problems;
}

/**
 * A best guess of the dataset's kind and columns, by these rules, first match wins:
 * 1. columns `instruction` and `output` (and maybe `input`): pairs, Alpaca;
 * 2. a column whose values are arrays of `{role, content}` (or ShareGPT `{from, value}`): pairs, chat;
 * 3. a prompt/response pair of column names (`PAIR_NAMES`) whose response is not a category: pairs;
 * 4. a text column, no column that looks like a label, and other columns only numbers (ids),
 *    empty, or a different value in (almost) every row (ids, free text): text;
 * 5. otherwise classification.
 */
export function guessKind(table: ParsedTable): KindGuess {
	const instruction = findColumn(table, 'instruction');
	const output = findColumn(table, 'output');
	if (instruction && output) {
		const input = findColumn(table, 'input');
		return {
			kind: 'pairs',
			format: 'alpaca',
			textColumn: instruction,
			responseColumn: output,
			inputColumn: input,
			why: `Alpaca format: "${instruction}"${input ? ` and "${input}"` : ''} make the prompt, "${output}" is the response`
		};
	}

	const chat = chatColumn(table);
	if (chat) {
		const problems = chatProblems(table, chat);
		return {
			kind: 'pairs',
			format: 'chat',
			textColumn: chat,
			why: `chat format: "${chat}" holds conversations; the final assistant turn is the response`,
			problems: problems.slice(0, 50),
			problemCount: problems.length
		};
	}

	for (const [p, r] of PAIR_NAMES) {
		const prompt = findColumn(table, p);
		const response = findColumn(table, r);
		if (prompt && response && !looksLikeLabel(table, response))
			return { kind: 'pairs', format: 'columns', textColumn: prompt, responseColumn: response, why: `columns "${prompt}" → "${response}" look like prompt → response` };
	}

	const { text, label } = guessColumns(table);
	// Any other column with words in it might be a label the user means (a one-class label, a
	// label with a typo or two), so text is guessed only when the others hold numbers or nothing,
	// or a different value in (almost) every row: an id or free text, which the import would refuse
	// as a label (columns.ts), so a guess of classification could only stop there.
	const wordedStats = table.columns
		.filter((c) => c !== text)
		.map((c) => ({ c, st: columnStats(table, c) }))
		.filter(({ st }) => st.nonEmpty > 0 && st.numericShare < 0.9);
	const notLabel = ({ st }: { st: { distinct: number; nonEmpty: number } }) => st.distinct > MAX_CLASSES || (st.distinct === st.nonEmpty && st.nonEmpty >= MIN_ROWS);
	const worded = wordedStats.filter((w) => !notLabel(w)).map((w) => w.c);
	const unique = wordedStats.filter(notLabel).map((w) => w.c);
	if (text && !label && worded.length === 0) {
		if (!unique.length) return { kind: 'text', textColumn: text, why: `"${text}" is the only column with text in it` };
		const names = unique.slice(0, 3).map((c) => `"${c}"`).join(', ') + (unique.length > 3 ? ` and ${unique.length - 3} more` : '');
		return {
			kind: 'text',
			textColumn: text,
			why: `no column looks like a label or a response: ${names} ${unique.length === 1 ? 'holds' : 'hold'} a different value in almost every row (an id or free text, not a label), so "${text}" is read as text alone`
		};
	}
	const maybe = worded.slice(0, 3).map((c) => `"${c}"`).join(', ') + (worded.length > 3 ? ` and ${worded.length - 3} more` : '');
	return {
		kind: 'classification',
		textColumn: text,
		labelColumn: label,
		why: label
			? `"${label}" looks like a label for the text in "${text}"`
			: worded.length
				? `no column looks like a label or a response, but ${maybe} ${worded.length === 1 ? 'has' : 'have'} words in ${worded.length === 1 ? 'it' : 'them'} and may be the label you mean; for the text alone, choose Language modelling`
				: 'no column looks like a label or a response'
	};
}

// ---------------------------------------------------------------------------------------------
// Building rows

export interface KindRow {
	/** The text (text datasets) or the prompt (pairs). */
	text: string;
	response?: string;
	/** Chat: the whole conversation, ending with the response. */
	messages?: ChatMessage[];
	line: number;
	meta?: Record<string, string>;
}

export interface BuiltKindRows {
	rows: KindRow[];
	dropped: { line: number; reason: string }[];
	/** Rows whose content cannot be read (malformed chat messages): bad rows, like unreadable records. */
	problems: TableProblem[];
	/** Rows dropped for an empty text, prompt, response or conversation. */
	empty: number;
	/** Repeated rows found, whatever was chosen for them. */
	dedupe: DedupeCounts;
}

/** Drops or keeps the repeated rows of `rows` (see `dedupe`), recording why each dropped one went. */
function* dedupeRows(built: BuiltKindRows, key: (r: KindRow) => readonly string[], opts: DedupeOptions, tick?: BuildTick): Work<BuiltKindRows> {
	const d = yield* dedupeWork(built.rows.map((r) => ({ line: r.line, key: key(r), group: r.text })), opts, tick);
	built.rows = built.rows.filter((_, i) => d.keep[i]);
	built.dropped = [...built.dropped, ...d.dropped].sort((a, b) => a.line - b.line);
	built.dedupe = d.counts;
	return built;
}

function emptyBuilt(): BuiltKindRows {
	return { rows: [], dropped: [], problems: [], empty: 0, dedupe: { duplicates: 0, duplicateExamples: [], conflictTexts: 0, conflictRows: 0, conflictExamples: [] } };
}

function quoteList(names: string[]): string {
	return names.map((c) => `"${c}"`).join(', ');
}

function requireColumn(table: ParsedTable, column: string | undefined, role: string, code: 'no-text-column' | 'no-label-column'): string {
	if (!column) throw new UserError(code, `Pick the ${role} column. The columns are ${quoteList(table.columns)}.`);
	if (!table.columns.includes(column))
		throw new UserError(code, `There is no column named "${column}" for the ${role}. The columns are ${quoteList(table.columns)}.`);
	const n = table.records.length;
	const s = columnStats(table, column);
	if (n > 0 && n - s.nonEmpty > 0.5 * n)
		throw new UserError(code, `Column "${column}" is empty in ${n - s.nonEmpty} of ${n} rows. Pick the column that holds the ${role}.`);
	return column;
}

function metaOf(values: Record<string, string>, columns: string[]): Record<string, string> | undefined {
	if (!columns.length) return undefined;
	const meta = Object.create(null) as Record<string, string>; // column names are data, not Object's properties
	for (const c of columns) meta[c] = values[c] ?? '';
	return meta;
}

const TOO_FEW: Record<'text' | PairsFormat, [string, string]> = {
	text: ['row', 'add more rows, or split long documents into paragraphs, one per row.'],
	columns: ['prompt/response pair', 'add more rows with both a prompt and a response.'],
	alpaca: ['prompt/response pair', 'add more rows with both an instruction and an output.'],
	chat: ['conversation', 'add more conversations that end with an assistant reply.']
};

/**
 * Refuses a dataset with fewer than MIN_ROWS usable rows. Separate from building, so that the
 * importer can first report unreadable rows (which the user may choose to skip).
 */
export function requireRows(built: BuiltKindRows, layout: 'text' | PairsFormat): BuiltKindRows {
	const [what, advice] = TOO_FEW[layout];
	const n = built.rows.length;
	if (n < MIN_ROWS)
		throw new UserError(
			'too-few-rows',
			`Only ${n} usable ${what}${n === 1 ? '' : 's'}` +
				(built.dropped.length ? ` (${built.dropped.length} dropped; see the reasons by line)` : '') +
				`. At least ${MIN_ROWS} are needed: ${advice}`,
			built.dropped.slice(0, 5).map((d) => d.line)
		);
	return built;
}

/** Text for language modelling: trimmed, empty rows and (unless kept) exact duplicates dropped, other columns kept as meta. */
export function buildTextRows(table: ParsedTable, textColumn: string, opts: DedupeOptions = {}): BuiltKindRows {
	return runToEnd(buildTextRowsWork(table, textColumn, opts));
}

/** `buildTextRows` as work that pauses between rows (sliced.ts), telling `tick` how far it is. */
export function* buildTextRowsWork(table: ParsedTable, textColumn: string, opts: DedupeOptions = {}, tick?: BuildTick): Work<BuiltKindRows> {
	requireColumn(table, textColumn, 'text', 'no-text-column');
	const s = columnStats(table, textColumn);
	if (s.nonEmpty > 0 && s.numericShare > 0.8)
		throw new UserError('no-text-column', `Column "${textColumn}" holds numbers in ${Math.round(100 * s.numericShare)}% of rows, not text. Pick the column that holds the text.`);
	const metaColumns = table.columns.filter((c) => c !== textColumn);
	const built = emptyBuilt();
	for (const [i, r] of table.records.entries()) {
		if (due(i, table.records.length, tick)) yield;
		const text = (r.values[textColumn] ?? '').trim();
		if (!text) {
			built.empty++;
			built.dropped.push({ line: r.line, reason: `empty text ("${textColumn}")` });
			continue;
		}
		const meta = metaOf(r.values, metaColumns);
		built.rows.push(meta ? { text, line: r.line, meta } : { text, line: r.line });
	}
	tick?.('rows', table.records.length, table.records.length);
	return yield* dedupeRows(built, (r) => [r.text], opts, tick);
}

export interface PairsSpec {
	format: PairsFormat;
	/** Two columns: the prompt; Alpaca: the instruction; chat: the messages. */
	promptColumn: string;
	/** Two columns and Alpaca. */
	responseColumn?: string;
	/** Alpaca's optional input. */
	inputColumn?: string;
}

/**
 * Which layout the user's choice means: a response column means two columns (or Alpaca when the
 * prompt is `instruction` and the table has an `input` column); no response column means chat.
 */
export function resolvePairs(table: ParsedTable, promptColumn: string, responseColumn?: string, format?: PairsFormat): PairsSpec {
	const input = findColumn(table, 'input');
	const alpaca = norm(promptColumn) === 'instruction' && input !== undefined && input !== responseColumn;
	const f = format ?? (responseColumn ? (alpaca ? 'alpaca' : 'columns') : 'chat');
	if (f === 'chat') return { format: f, promptColumn };
	const response = responseColumn ?? (f === 'alpaca' ? findColumn(table, 'output') : undefined);
	return { format: f, promptColumn, responseColumn: response, inputColumn: f === 'alpaca' ? input : undefined };
}

/** Prompt/response rows (see `PairsSpec`): empty prompts or responses and (unless kept) duplicates dropped. */
export function buildPairRows(table: ParsedTable, spec: PairsSpec, opts: DedupeOptions = {}): BuiltKindRows {
	return runToEnd(buildPairRowsWork(table, spec, opts));
}

/** `buildPairRows` as work that pauses between rows (sliced.ts), telling `tick` how far it is. */
export function buildPairRowsWork(table: ParsedTable, spec: PairsSpec, opts: DedupeOptions = {}, tick?: BuildTick): Work<BuiltKindRows> {
	return spec.format === 'chat' ? buildChatRows(table, spec.promptColumn, opts, tick) : buildColumnPairs(table, spec, opts, tick);
}

function* buildColumnPairs(table: ParsedTable, spec: PairsSpec, opts: DedupeOptions, tick?: BuildTick): Work<BuiltKindRows> {
	const promptColumn = requireColumn(table, spec.promptColumn, spec.format === 'alpaca' ? 'instruction' : 'prompt', 'no-text-column');
	const responseColumn = requireColumn(table, spec.responseColumn, 'response', 'no-label-column');
	if (promptColumn === responseColumn)
		throw new UserError('no-label-column', `"${promptColumn}" is chosen as both the prompt and the response. Pick a different column for the response.`);
	const input = spec.inputColumn;
	const used = new Set([promptColumn, responseColumn, ...(input ? [input] : [])]);
	const metaColumns = table.columns.filter((c) => !used.has(c));

	const built = emptyBuilt();
	for (const [i, r] of table.records.entries()) {
		if (due(i, table.records.length, tick)) yield;
		const parts = [(r.values[promptColumn] ?? '').trim(), input ? (r.values[input] ?? '').trim() : ''];
		// Alpaca: the instruction, then the input when there is one (Taori et al. 2023, Stanford Alpaca).
		const text = parts.filter(Boolean).join('\n\n');
		const response = (r.values[responseColumn] ?? '').trim();
		if (!text || !response) {
			built.empty++;
			built.dropped.push({ line: r.line, reason: !text ? `empty prompt ("${promptColumn}")` : `empty response ("${responseColumn}")` });
			continue;
		}
		const row: KindRow = { text, response, line: r.line };
		const meta = metaOf(r.values, metaColumns);
		if (meta) row.meta = meta;
		built.rows.push(row);
	}
	tick?.('rows', table.records.length, table.records.length);
	return yield* dedupeRows(built, (r) => [r.text, r.response ?? ''], opts, tick);
}

function* buildChatRows(table: ParsedTable, column: string, opts: DedupeOptions, tick?: BuildTick): Work<BuiltKindRows> {
	if (!table.columns.includes(column))
		throw new UserError('no-text-column', `There is no column named "${column}" for the messages. The columns are ${quoteList(table.columns)}.`);
	const metaColumns = table.columns.filter((c) => c !== column);
	const built = emptyBuilt();
	let nonEmpty = 0;
	for (const [i, r] of table.records.entries()) {
		if (due(i, table.records.length, tick)) yield;
		const cell = r.values[column] ?? '';
		if (!cell.trim()) {
			built.empty++;
			built.dropped.push({ line: r.line, reason: `empty messages ("${column}")` });
			continue;
		}
		nonEmpty++;
		const parsed = parseMessages(cell);
		if (!parsed.messages) {
			built.problems.push({ line: r.line, message: `line ${r.line}: ${parsed.reason}` });
			continue;
		}
		const split = splitConversation(parsed.messages);
		if (split.reason !== undefined) {
			built.dropped.push({ line: r.line, reason: split.reason });
			continue;
		}
		const row: KindRow = { text: promptText(split.prompt), response: split.response, messages: parsed.messages, line: r.line };
		const meta = metaOf(r.values, metaColumns);
		if (meta) row.meta = meta;
		built.rows.push(row);
	}
	if (nonEmpty > 0 && built.problems.length === nonEmpty) {
		const shown = built.problems.slice(0, 3).map((p) => p.message).join('; ');
		throw new UserError(
			'parse-error',
			`Column "${column}" does not hold chat messages (${shown}). Each row needs a JSON array like [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}], or pick another kind of dataset.`,
			built.problems.slice(0, 5).map((p) => p.line)
		);
	}
	tick?.('rows', table.records.length, table.records.length);
	return yield* dedupeRows(built, (r) => [r.text, ...r.messages!.flatMap((m) => [m.role, m.content])], opts, tick);
}
