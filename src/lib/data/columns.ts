/**
 * From a parsed table to labelled rows: guess which column holds the text and which the label,
 * then validate the user's choice and build `ParsedRow`s, dropping unusable rows with a reason.
 * Every refusal is a named `UserError` that says what was found and what to pick instead.
 */
import type { ParsedRow } from '../shared/types';
import { UserError } from '../shared/errors';
import type { ParsedTable } from './parse';
import { runToEnd, type Work } from './sliced';

/** Names that usually mean "the class to predict", most likely first. */
const LABEL_NAMES = [
	'label', 'labels', 'class', 'category', 'team', 'intent', 'target', 'y',
	'sentiment', 'topic', 'tag', 'department', 'queue'
];

export const MIN_ROWS = 10;
export const MAX_CLASSES = 100;

const NUMERIC = /^[-+]?(\d[\d,_]*\.?\d*|\.\d+)(e[-+]?\d+)?%?$/i;
export function isNumeric(s: string): boolean {
	return NUMERIC.test(s.trim());
}

export interface ColumnStats {
	name: string;
	nonEmpty: number;
	meanLength: number;
	numericShare: number;
	distinct: number;
}

export function columnStats(table: ParsedTable, name: string): ColumnStats {
	let nonEmpty = 0;
	let length = 0;
	let numeric = 0;
	const distinct = new Set<string>();
	for (const r of table.records) {
		const v = (r.values[name] ?? '').trim();
		if (!v) continue;
		nonEmpty++;
		length += v.length;
		if (isNumeric(v)) numeric++;
		distinct.add(v);
	}
	return {
		name,
		nonEmpty,
		meanLength: nonEmpty ? length / nonEmpty : 0,
		numericShare: nonEmpty ? numeric / nonEmpty : 0,
		distinct: distinct.size
	};
}

function nameRank(name: string): number {
	const i = LABEL_NAMES.indexOf(name.trim().toLowerCase().replace(/[\s-]+/g, '_'));
	return i < 0 ? LABEL_NAMES.length : i;
}

/**
 * A best guess for the column pickers. Text: the longest values that are mostly not numbers.
 * Label: a column with 2..50 repeated values covering most rows, preferring usual label names.
 */
export function guessColumns(table: ParsedTable): { text?: string; label?: string } {
	const n = table.records.length;
	if (n === 0 || table.columns.length === 0) return {};
	const stats = table.columns.map((c) => columnStats(table, c));

	const textCandidates = stats.filter((s) => s.nonEmpty >= 0.5 * n && s.numericShare < 0.5);
	// Strictly longer wins, so ties go to the leftmost column.
	const text = textCandidates.reduce<ColumnStats | undefined>(
		(best, s) => (!best || s.meanLength > best.meanLength ? s : best),
		undefined
	)?.name;

	const labelCandidates = stats.filter(
		(s) =>
			s.name !== text &&
			s.distinct >= 2 &&
			s.distinct <= 50 &&
			s.nonEmpty >= 0.8 * n &&
			// Repeated values: each class needs several examples to learn from.
			s.distinct <= Math.max(2, 0.5 * s.nonEmpty)
	);
	labelCandidates.sort(
		(a, b) =>
			nameRank(a.name) - nameRank(b.name) ||
			b.nonEmpty - a.nonEmpty ||
			// A long free-text column with few distinct values is rarer than a short category.
			a.meanLength - b.meanLength ||
			table.columns.indexOf(a.name) - table.columns.indexOf(b.name)
	);
	return { text, label: labelCandidates[0]?.name };
}

/** Natural order ("class 2" before "class 10"), independent of the user's locale. */
const collator = new Intl.Collator('en', { numeric: true });
export function naturalCompare(a: string, b: string): number {
	return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export interface BuiltRows {
	rows: ParsedRow[];
	dropped: { line: number; reason: string }[];
	/** Label names in natural order. */
	labels: string[];
	/** Rows per label, index-aligned with `labels`. */
	labelCounts: number[];
	/** Rows dropped for an empty text or label. */
	empty: number;
	/** Repeated rows found, whatever was chosen for them. */
	dedupe: DedupeCounts;
}

function quoteList(names: string[]): string {
	return names.map((c) => `"${c}"`).join(', ');
}

function instead(suggestion: string | undefined, chosen: string, fallback: string): string {
	return suggestion && suggestion !== chosen ? `(for example "${suggestion}")` : fallback;
}

/** The labels of one cell of a multi-label column (labels.ts `multiLabelReader`); absent: the cell is one label. */
export type LabelsOf = (value: string) => string[];

/** A label column's stats over the labels its cells hold (each label of a multi-label cell counted). */
function labelStats(table: ParsedTable, name: string, labelsOf: LabelsOf): ColumnStats {
	const distinct = new Set<string>();
	let nonEmpty = 0;
	for (const r of table.records) {
		const labels = labelsOf(r.values[name] ?? '');
		if (labels.length) nonEmpty++;
		for (const l of labels) distinct.add(l);
	}
	return { name, nonEmpty, meanLength: 0, numericShare: 0, distinct: distinct.size };
}

function validateColumns(table: ParsedTable, textColumn: string, labelColumn: string, labelsOf?: LabelsOf) {
	const cols = quoteList(table.columns);
	if (!table.columns.includes(textColumn))
		throw new UserError('no-text-column', `There is no column named "${textColumn}". The columns are ${cols}.`);
	if (!table.columns.includes(labelColumn))
		throw new UserError('no-label-column', `There is no column named "${labelColumn}". The columns are ${cols}.`);
	if (textColumn === labelColumn)
		throw new UserError(
			'no-label-column',
			`"${textColumn}" is chosen as both the text and the label. Pick a different column for the label.`
		);

	const n = table.records.length;
	// Only an error message needs the guess, and it costs a pass over every column.
	const guess = () => guessColumns(table);
	const text = columnStats(table, textColumn);
	if (n > 0 && n - text.nonEmpty > 0.5 * n)
		throw new UserError(
			'no-text-column',
			`Column "${textColumn}" is empty in ${n - text.nonEmpty} of ${n} rows. Pick the column that holds the text to classify ${instead(guess().text, textColumn, '')}`.trim() + '.'
		);
	if (text.nonEmpty > 0 && text.numericShare > 0.8)
		throw new UserError(
			'no-text-column',
			`Column "${textColumn}" holds numbers in ${Math.round(100 * text.numericShare)}% of rows, not text. Pick the column that holds the text to classify ${instead(guess().text, textColumn, '')}`.trim() + '.'
		);

	const label = labelsOf ? labelStats(table, labelColumn, labelsOf) : columnStats(table, labelColumn);
	const pick = () =>
		`Pick a column with a few repeated categories ${instead(guess().label, labelColumn, '(such as a team, intent or sentiment)')}.`;
	if (label.distinct === 0)
		throw new UserError('no-label-column', `Column "${labelColumn}" is empty in every row. ${pick()}`);
	if (label.distinct > MAX_CLASSES || (label.distinct === label.nonEmpty && label.nonEmpty >= MIN_ROWS)) {
		const unique = label.distinct > 0.5 * label.nonEmpty;
		throw new UserError(
			'no-label-column',
			`Column "${labelColumn}" has ${label.distinct} different values in ${label.nonEmpty} rows` +
				(unique ? ', almost one per row: it looks like an id or free text, not a label. ' : `; at most ${MAX_CLASSES} classes are supported. `) +
				pick()
		);
	}
}

// ---------------------------------------------------------------------------------------------
// Repeated rows. An exact duplicate repeats an earlier row's whole example (text and label, prompt
// and response, or conversation); a conflict is one text that carries more than one label, which
// is label noise a user may want to drop. Both are counted before importing, so the importer can
// say what it will do and let the user choose.

export type DedupeChoice = 'drop' | 'keep';

export interface DedupeOptions {
	/** Exact duplicates; default 'drop' (the first copy stays). */
	duplicates?: DedupeChoice;
	/** Classification: every row of a text with conflicting labels; default 'keep'. */
	conflicts?: DedupeChoice;
}

export interface ConflictExample {
	text: string;
	labels: string[];
	lines: number[];
}

export interface DedupeCounts {
	/** Rows repeating an earlier row exactly. */
	duplicates: number;
	/** The first of them: the line and the line it repeats. */
	duplicateExamples: { line: number; of: number; text: string }[];
	/** Texts with more than one label, and their rows (exact duplicates not counted again). */
	conflictTexts: number;
	conflictRows: number;
	/** The first 20 such texts. */
	conflictExamples: ConflictExample[];
}

/**
 * A usable row before de-duplication: `key` is the whole example as its parts (text and label,
 * prompt and response…), compared part by part, `group` its text. The parts are the row's own
 * strings, never joined: a joined key would copy every text (a 1 GB import held its file twice).
 */
export interface DedupeCandidate {
	line: number;
	key: readonly string[];
	group: string;
	/** Classification only: conflicts are texts with several labels. */
	label?: string;
}

const EXAMPLES = 20;
const short = (s: string) => (s.length > 120 ? s.slice(0, 119) + '…' : s);

/**
 * Decides, for each candidate, whether it is kept: exact duplicates and conflicting texts are
 * dropped or kept as chosen, each dropped row with its reason. The counts do not depend on the
 * choice, so the importer can show them next to it.
 */
export function dedupe(candidates: DedupeCandidate[], opts: DedupeOptions = {}): Deduped {
	return runToEnd(dedupeWork(candidates, opts));
}

export interface Deduped {
	keep: boolean[];
	dropped: { line: number; reason: string }[];
	counts: DedupeCounts;
}

/**
 * Told as a build goes: the pass over the records (`rows`), then the search for exact duplicates
 * (`duplicates`, the slow part: every text is hashed into a map), with how many of how many are done.
 */
export type BuildTick = (pass: 'rows' | 'duplicates', done: number, total: number) => void;

/** A build pauses (a `Work` yield, sliced.ts) and tells its count every this many rows. */
export const BUILD_PACE = 2048;

/** Whether a build's pass over `n` records pauses before record `i`, telling `tick` how many are done (0 as it begins). */
export function buildDue(i: number, n: number, tick?: BuildTick): boolean {
	if (i === 0) tick?.('rows', 0, n);
	if (i === 0 || i % BUILD_PACE !== 0) return false;
	tick?.('rows', i, n);
	return true;
}

/** `dedupe` as work that pauses between rows (sliced.ts), telling `tick` how far its first pass is. */
export function* dedupeWork(candidates: DedupeCandidate[], opts: DedupeOptions = {}, tick?: BuildTick): Work<Deduped> {
	const dropDuplicates = (opts.duplicates ?? 'drop') === 'drop';
	const dropConflicts = opts.conflicts === 'drop';
	// First candidates by their key's first part (a reference to the row's text: nothing is
	// copied), then the rest of the key compared part by part.
	const firstOf = new Map<string, number | number[]>();
	const sameKey = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
	const n = candidates.length;
	const firstCopy = (c: DedupeCandidate, i: number): number | undefined => {
		const head = c.key[0] ?? '';
		const at = firstOf.get(head);
		if (at === undefined) {
			firstOf.set(head, i);
			return undefined;
		}
		const earlier = typeof at === 'number' ? [at] : at;
		for (const j of earlier) if (sameKey(candidates[j].key, c.key)) return candidates[j].line;
		if (typeof at === 'number') firstOf.set(head, [at, i]);
		else at.push(i);
		return undefined;
	};
	const duplicateOf: (number | undefined)[] = new Array(n);
	tick?.('duplicates', 0, n);
	for (let i = 0; i < n; i++) {
		duplicateOf[i] = firstCopy(candidates[i], i);
		if ((i + 1) % BUILD_PACE === 0) {
			tick?.('duplicates', i + 1, n);
			yield;
		}
	}
	tick?.('duplicates', n, n);

	// Labels per text, over the first copies only: label -> lines.
	const labelsOf = new Map<string, Map<string, number[]>>();
	for (let i = 0; i < n; i++) {
		if (i % BUILD_PACE === BUILD_PACE - 1) yield;
		const c = candidates[i];
		if (c.label === undefined || duplicateOf[i] !== undefined) continue;
		let byLabel = labelsOf.get(c.group);
		if (!byLabel) labelsOf.set(c.group, (byLabel = new Map()));
		const lines = byLabel.get(c.label);
		if (lines) lines.push(c.line);
		else byLabel.set(c.label, [c.line]);
	}
	const conflicting = new Map<string, ConflictExample>();
	for (const [text, byLabel] of labelsOf)
		if (byLabel.size > 1) conflicting.set(text, { text: short(text), labels: [...byLabel.keys()], lines: [...byLabel.values()].flat().sort((a, b) => a - b) });

	const counts: DedupeCounts = { duplicates: 0, duplicateExamples: [], conflictTexts: conflicting.size, conflictRows: 0, conflictExamples: [...conflicting.values()].slice(0, EXAMPLES) };
	const dropped: { line: number; reason: string }[] = [];
	const keeps = (c: DedupeCandidate, i: number): boolean => {
		const of = duplicateOf[i];
		const conflict = conflicting.get(c.group);
		if (of !== undefined) {
			counts.duplicates++;
			if (counts.duplicateExamples.length < EXAMPLES) counts.duplicateExamples.push({ line: c.line, of, text: short(c.group) });
		} else if (conflict) counts.conflictRows++;
		if (conflict && dropConflicts) {
			dropped.push({ line: c.line, reason: `text with conflicting labels (${conflict.labels.map((l) => `"${l}"`).join(', ')})` });
			return false;
		}
		if (of !== undefined && dropDuplicates) {
			dropped.push({ line: c.line, reason: `duplicate of line ${of}` });
			return false;
		}
		return true;
	};
	const keep: boolean[] = new Array(n);
	for (let i = 0; i < n; i++) {
		if (i % BUILD_PACE === BUILD_PACE - 1) yield;
		keep[i] = keeps(candidates[i], i);
	}
	return { keep, dropped, counts };
}

/**
 * Validates the chosen columns and builds the rows: text and label trimmed, rows with an empty
 * text or label dropped, exact (text, label) duplicates dropped unless kept (`opts`), other
 * columns kept as `meta`.
 */
export type BuildRowsOptions = DedupeOptions & { labelsOf?: LabelsOf; /** Multi-label: one row per cell keeping every label (`ParsedRow.labels`). */ keepSets?: boolean };

export function buildRows(table: ParsedTable, textColumn: string, labelColumn: string, opts: BuildRowsOptions = {}): BuiltRows {
	return runToEnd(buildRowsWork(table, textColumn, labelColumn, opts));
}

/** `buildRows` as work that pauses between rows (sliced.ts), telling `tick` how far it is. */
export function* buildRowsWork(table: ParsedTable, textColumn: string, labelColumn: string, opts: BuildRowsOptions = {}, tick?: BuildTick): Work<BuiltRows> {
	validateColumns(table, textColumn, labelColumn, opts.labelsOf);
	const metaColumns = table.columns.filter((c) => c !== textColumn && c !== labelColumn);

	const usable: ParsedRow[] = [];
	const dropped: { line: number; reason: string }[] = [];
	let empty = 0;
	const records = table.records;
	for (let i = 0; i < records.length; i++) {
		if (buildDue(i, records.length, tick)) yield;
		const r = records[i];
		const text = (r.values[textColumn] ?? '').trim();
		const cell = r.values[labelColumn] ?? '';
		// A multi-label cell gives one row per label read from it (its first only, or each).
		const labels = opts.labelsOf ? opts.labelsOf(cell) : [cell.trim()].filter(Boolean);
		if (!text || !labels.length) {
			empty++;
			dropped.push({ line: r.line, reason: !text ? `empty text ("${textColumn}")` : `empty label ("${labelColumn}")` });
			continue;
		}
		for (const label of opts.keepSets ? labels.slice(0, 1) : labels) {
			const row: ParsedRow = { text, label, line: r.line };
			if (opts.keepSets) row.labels = labels;
			if (metaColumns.length) {
				row.meta = Object.create(null) as Record<string, string>; // column names are data, not Object's properties
				for (const c of metaColumns) row.meta[c] = r.values[c] ?? '';
			}
			usable.push(row);
		}
	}
	// A label set is the same set in any order: "a;b" repeats "b;a", and conflicts with "a".
	const labelKey = (r: ParsedRow) => (r.labels ? JSON.stringify([...r.labels].sort()) : r.label);
	tick?.('rows', records.length, records.length);
	const d = yield* dedupeWork(
		usable.map((r) => {
			const label = labelKey(r);
			return { line: r.line, key: [r.text, label], group: r.text, label };
		}),
		opts,
		tick
	);
	const rows = usable.filter((_, i) => d.keep[i]);
	dropped.push(...d.dropped);
	dropped.sort((a, b) => a.line - b.line);

	const counts = new Map<string, number>();
	for (const r of rows) for (const l of r.labels ?? [r.label]) counts.set(l, (counts.get(l) ?? 0) + 1);
	const labels = [...counts.keys()].sort(naturalCompare);

	if (rows.length < MIN_ROWS)
		throw new UserError(
			'too-few-rows',
			`Only ${rows.length} usable row${rows.length === 1 ? '' : 's'}` +
				(dropped.length ? ` (${dropped.length} dropped: empty text or label, or duplicates)` : '') +
				`. A classifier needs at least ${MIN_ROWS} labelled rows; add more rows to the file.`,
			dropped.slice(0, 5).map((d) => d.line)
		);
	if (labels.length === 1)
		throw new UserError(
			'single-class',
			`All ${rows.length} rows have the label '${labels[0]}'. A classifier needs at least two classes: add rows with other labels, or pick another label column.`
		);

	return { rows, dropped, labels, labelCounts: labels.map((l) => counts.get(l)!), empty, dedupe: d.counts };
}
