/**
 * The labels of a classification dataset: steps that change them, each a new immutable version
 * (pipeline.ts `relabelDataset`), and columns that hold several labels per row.
 *
 *   rename-label    one class gets another name (not the name of an existing class: that is a merge)
 *   merge-labels    several classes become one (a new name, or one of theirs)
 *   drop-rare       the rows of every class with fewer than `min` rows are removed
 *   resample        random over- or undersampling of the TRAINING split only (validation and test
 *                   keep their rows, so their metrics stay comparable across versions): oversampling
 *                   draws copies with replacement up to the largest training class or a target
 *                   count; undersampling keeps a random subset down to the smallest class or a
 *                   target; seeded (imbalanced-learn's RandomOverSampler / RandomUnderSampler)
 *
 * A version's label names stay sorted and its rows index into them, so a step that removes or
 * renames a class renumbers the ids of the new version only; every earlier version keeps its own
 * names and ids, and a run reads the names of the version it trained on.
 *
 * Multi-label columns (a JSON or Python list, a Parquet list read as JSON, or labels separated by
 * `;`, `|` or `,`): `parseLabelList` reads one cell, `detectMultiLabel` suggests the delimiter.
 * Such a column is imported as its first label per row, as one row per label (both for a
 * single-label classifier, a softmax over the classes), or with each row's whole label set for a
 * multi-label classifier (a sigmoid per label; see `MultiLabelMode`). The label steps above are
 * for single-label data and refuse a multi-label version (`labelStepsRefusal`).
 */
import { SPLITS, SPLIT_CODE, type StoredRow } from '../shared/types';
import { UserError } from '../shared/errors';
import { Prng } from '../shared/prng';

export type LabelStep =
	| { kind: 'rename-label'; from: string; to: string }
	| { kind: 'merge-labels'; from: string[]; to: string }
	| { kind: 'drop-rare'; min: number }
	| { kind: 'resample'; method: 'oversample' | 'undersample'; /** Rows per class in training; absent: the largest (over) or smallest (under) class. */ target?: number; seed: number };

export const LABEL_STEP_KINDS = ['rename-label', 'merge-labels', 'drop-rare', 'resample'] as const;

/** Natural order ("class 2" before "class 10"), as the importer sorts label names (columns.ts). */
const collator = new Intl.Collator('en', { numeric: true });
const byName = (a: string, b: string) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

export interface LabelResult {
	labels: string[];
	rows: StoredRow[];
	/** Rows whose class name changed (rename, merge). */
	relabelled: number;
	/** Rows removed (drop-rare, undersampling). */
	removed: number;
	/** Copies added to training (oversampling). */
	added: number;
	/** Classes removed by drop-rare, with their row counts. */
	dropped: { label: string; rows: number }[];
}

const quote = (s: string) => `“${s}”`;

/** Rows per split and class: counts[split][label]. */
export function splitCounts(labels: readonly string[], rows: readonly StoredRow[]): number[][] {
	const counts = SPLITS.map(() => labels.map(() => 0));
	for (const r of rows) for (const i of r.labels ?? [r.label]) counts[r.split][i]++;
	return counts;
}

/** Rows relabelled by name, then the label list rebuilt from the names still in use (sorted) and the ids renumbered. */
function renumber(labels: readonly string[], rows: readonly StoredRow[], nameOf: (name: string) => string | null): { labels: string[]; rows: StoredRow[]; relabelled: number; removed: number } {
	const names = labels.map(nameOf);
	const kept = [...new Set(rows.map((r) => names[r.label]).filter((n): n is string => n !== null))].sort(byName);
	const id = new Map(kept.map((n, i) => [n, i]));
	let relabelled = 0;
	let removed = 0;
	const out: StoredRow[] = [];
	for (const r of rows) {
		const n = names[r.label];
		if (n === null) {
			removed++;
			continue;
		}
		if (n !== labels[r.label]) relabelled++;
		const label = id.get(n)!;
		out.push(label === r.label ? r : { ...r, label });
	}
	return { labels: kept, rows: out, relabelled, removed };
}

function requireClass(labels: readonly string[], name: string): void {
	if (!labels.includes(name)) throw new UserError('invalid-config', `There is no class ${quote(name)}; the classes are ${labels.map(quote).join(', ')}.`);
}

function cleanName(name: string): string {
	const n = name.trim();
	if (!n) throw new UserError('invalid-config', 'A class name cannot be empty. Type the new name.');
	return n;
}

/** One step over the rows; throws a UserError for a step that cannot apply (it names what to do instead). */
function applyStep(labels: readonly string[], rows: readonly StoredRow[], step: LabelStep): LabelResult {
	const base: LabelResult = { labels: [...labels], rows: [...rows], relabelled: 0, removed: 0, added: 0, dropped: [] };
	if (step.kind === 'rename-label') {
		requireClass(labels, step.from);
		const to = cleanName(step.to);
		if (to === step.from) throw new UserError('invalid-config', `${quote(to)} already has that name. Type a different name.`);
		if (labels.includes(to)) throw new UserError('invalid-config', `${quote(to)} is already a class. To put the rows of both in one class, merge ${quote(step.from)} and ${quote(to)} instead.`);
		return { ...base, ...renumber(labels, rows, (n) => (n === step.from ? to : n)) };
	}
	if (step.kind === 'merge-labels') {
		const from = [...new Set(step.from)];
		if (from.length < 2) throw new UserError('invalid-config', 'Choose at least two classes to merge.');
		from.forEach((f) => requireClass(labels, f));
		const to = cleanName(step.to);
		if (labels.includes(to) && !from.includes(to)) throw new UserError('invalid-config', `${quote(to)} is another class. Add it to the classes to merge, or type a new name.`);
		const set = new Set(from);
		return { ...base, ...renumber(labels, rows, (n) => (set.has(n) ? to : n)) };
	}
	if (step.kind === 'drop-rare') {
		if (!Number.isInteger(step.min) || step.min < 1) throw new UserError('invalid-config', `The fewest rows a class keeps must be a whole number, at least 1; got ${step.min}.`);
		const counts = labels.map(() => 0);
		for (const r of rows) counts[r.label]++;
		const rare = new Set(labels.filter((_, i) => counts[i] > 0 && counts[i] < step.min));
		const r = renumber(labels, rows, (n) => (rare.has(n) ? null : n));
		return { ...base, ...r, dropped: labels.flatMap((l, i) => (rare.has(l) ? [{ label: l, rows: counts[i] }] : [])) };
	}
	return { ...base, ...resample(labels, rows, step) };
}

/** Over- or undersampling of the training rows; validation and test rows are passed through untouched, in place. */
function resample(labels: readonly string[], rows: readonly StoredRow[], step: Extract<LabelStep, { kind: 'resample' }>): Pick<LabelResult, 'rows' | 'removed' | 'added'> {
	if (!Number.isInteger(step.seed)) throw new UserError('invalid-config', `The sampling seed must be a whole number, got ${step.seed}.`);
	if (step.target !== undefined && (!Number.isInteger(step.target) || step.target < 1))
		throw new UserError('invalid-config', `The target must be a whole number of rows per class, at least 1; got ${step.target}. Leave it empty to match the ${step.method === 'oversample' ? 'largest' : 'smallest'} class.`);
	const byClass = labels.map((): number[] => []);
	rows.forEach((r, i) => r.split === SPLIT_CODE.train && byClass[r.label].push(i));
	const present = byClass.filter((c) => c.length > 0);
	if (!present.length) throw new UserError('invalid-config', 'The training split has no rows to resample. Re-split the dataset first.');
	const sizes = present.map((c) => c.length);
	const target = step.target ?? (step.method === 'oversample' ? Math.max(...sizes) : Math.min(...sizes));
	const rng = new Prng(step.seed);
	if (step.method === 'oversample') {
		const copies: StoredRow[] = [];
		for (const members of byClass) for (let k = members.length; k > 0 && k < target; k++) copies.push(rows[members[rng.int(members.length)]]);
		return { rows: [...rows, ...copies], removed: 0, added: copies.length };
	}
	const drop = new Set<number>();
	for (const members of byClass) if (members.length > target) rng.shuffle(members).slice(target).forEach((i) => drop.add(i));
	return { rows: rows.filter((_, i) => !drop.has(i)), removed: drop.size, added: 0 };
}

/** The steps in order; the counts add up over the steps. */
export function applyLabelSteps(labels: readonly string[], rows: readonly StoredRow[], steps: readonly LabelStep[]): LabelResult {
	let out: LabelResult = { labels: [...labels], rows: [...rows], relabelled: 0, removed: 0, added: 0, dropped: [] };
	for (const step of steps) {
		const r = applyStep(out.labels, out.rows, step);
		out = { labels: r.labels, rows: r.rows, relabelled: out.relabelled + r.relabelled, removed: out.removed + r.removed, added: out.added + r.added, dropped: [...out.dropped, ...r.dropped] };
	}
	return out;
}

export interface LabelPreview {
	steps: LabelStep[];
	before: { labels: string[]; counts: number[][]; rows: number };
	after: { labels: string[]; counts: number[][]; rows: number };
	relabelled: number;
	removed: number;
	added: number;
	dropped: { label: string; rows: number }[];
	/** Why the steps cannot be applied as they are (fewer than two classes left, nothing changes). */
	refusal?: string;
}

/** What the steps would do, before they apply: rows changed, removed and added, and the counts per split and class before and after. */
export function previewLabelSteps(labels: readonly string[], rows: readonly StoredRow[], steps: readonly LabelStep[]): LabelPreview {
	const r = applyLabelSteps(labels, rows, steps);
	const preview: LabelPreview = {
		steps: steps.map((s) => ({ ...s })),
		before: { labels: [...labels], counts: splitCounts(labels, rows), rows: rows.length },
		after: { labels: r.labels, counts: splitCounts(r.labels, r.rows), rows: r.rows.length },
		relabelled: r.relabelled,
		removed: r.removed,
		added: r.added,
		dropped: r.dropped
	};
	const refusal = labelRefusal(r);
	if (refusal) preview.refusal = refusal;
	return preview;
}

/** A result that must not become a version, in words; undefined when it may. */
export function labelRefusal(r: LabelResult): string | undefined {
	if (!r.relabelled && !r.removed && !r.added) return 'Nothing would change: every row would keep its class and split.';
	if (r.labels.length < 2) return `${r.labels.length === 1 ? `Only the class ${quote(r.labels[0])}` : 'No class'} would be left; a classifier needs at least two. Choose a lower minimum or fewer classes to merge.`;
	return undefined;
}

/** The steps in words, for a version's name. */
export function describeLabelSteps(steps: readonly LabelStep[]): string {
	return steps
		.map((s) => {
			if (s.kind === 'rename-label') return `${s.from} renamed ${s.to}`;
			if (s.kind === 'merge-labels') return `${s.from.join(' + ')} merged as ${s.to}`;
			if (s.kind === 'drop-rare') return `classes under ${s.min} rows dropped`;
			const to = s.target ?? (s.method === 'oversample' ? 'the largest class' : 'the smallest class');
			return `training ${s.method === 'oversample' ? 'oversampled' : 'undersampled'} to ${to} (seed ${s.seed})`;
		})
		.join(', ');
}

// ---------------------------------------------------------------------------------------------
// Multi-label columns.

/** Whether a version keeps each row's label set (trained as a multi-label classifier). */
export function isMultiLabel(version: { multiLabel?: { mode: string } }): boolean {
	return version.multiLabel?.mode === 'all';
}

/** A stored row's label names: its set in a multi-label version, else its one label. */
export function rowLabelNames(labels: readonly string[], row: Pick<StoredRow, 'label' | 'labels'>): string[] {
	return (row.labels ?? [row.label]).map((i) => labels[i] ?? '');
}

/** Rows per label, a row counting once for each label it has (its one label when single-label). */
export function labelSetCounts(labels: readonly string[], rows: readonly Pick<StoredRow, 'label' | 'labels'>[]): number[] {
	const counts = labels.map(() => 0);
	for (const r of rows) for (const i of r.labels ?? [r.label]) counts[i]++;
	return counts;
}

/**
 * Why label steps do not apply to a version, or undefined when they do: rename, merge, drop-rare
 * and resampling are defined on one class per row, and a multi-label version has a set per row.
 */
export function labelStepsRefusal(version: { name: string; multiLabel?: { mode: string } }): string | undefined {
	if (isMultiLabel(version))
		return `"${version.name}" keeps several labels per row (multi-label); the label steps (rename, merge, drop rare classes, resample) are for single-label data. Import the file again with "train on the first label" to use them.`;
	return undefined;
}

/** How the labels of one cell are written: a JSON (or Python) list, or separated by a character. */
export type LabelDelimiter = 'json' | ';' | '|' | ',';
export const LABEL_DELIMITERS: LabelDelimiter[] = ['json', ';', '|', ','];

/**
 * What an import makes of a row with several labels:
 * 'first' keeps the first label listed (one row per example; the metrics mean what they say);
 * 'explode' makes one row per label (every label is learned, but a text then has several correct
 * answers and the accuracy counts all but one of them as misses); 'all' keeps one row per example
 * with its label set, for a multi-label classifier (a sigmoid and binary cross-entropy per label).
 * All copies of a text stay in one split either way; 'all' stratifies by the first label.
 */
export type MultiLabelMode = 'first' | 'explode' | 'all';
export interface MultiLabelOptions {
	delimiter: LabelDelimiter;
	mode: MultiLabelMode;
}

const QUOTED = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;

/** A list cell's items: JSON first; then a Python list (`['a', 'b']`, as pandas writes one to CSV). */
function listItems(v: string): string[] | null {
	if (!(v.startsWith('[') && v.endsWith(']'))) return null;
	try {
		const parsed: unknown = JSON.parse(v);
		if (Array.isArray(parsed)) return parsed.map((x) => (typeof x === 'string' ? x : x === null || x === undefined ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x)));
	} catch {
		// not JSON: maybe Python's repr
	}
	const inner = v.slice(1, -1).trim();
	if (!inner) return [];
	const items = [...inner.matchAll(QUOTED)].map((m) => (m[1] ?? m[2]).replace(/\\(.)/g, '$1'));
	// Only when the quoted items and their commas are the whole of it.
	return items.length && inner.replace(QUOTED, '').replace(/[\s,]/g, '') === '' ? items : null;
}

/** The labels of one cell: trimmed, empty ones left out, each once, in the order written. A cell that is not a list is one label. */
export function parseLabelList(value: string, delimiter: LabelDelimiter): string[] {
	const v = value.trim();
	const parts = delimiter === 'json' ? (listItems(v) ?? [v]) : v.split(delimiter);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

/** Labels written as one cell (the inverse of `parseLabelList` for labels without the delimiter). */
export function formatLabelList(labels: readonly string[], delimiter: LabelDelimiter): string {
	return delimiter === 'json' ? JSON.stringify(labels) : labels.join(delimiter === ',' ? ', ' : ` ${delimiter} `);
}

export interface MultiLabelGuess {
	column: string;
	delimiter: LabelDelimiter;
	/** Sampled non-empty cells, and those holding more than one label. */
	cells: number;
	multi: number;
	/** Distinct labels in the sampled cells. */
	labels: number;
}

const SAMPLE = 1000;
const MAX_LABELS = 100;

/**
 * Whether the values of one column look like several labels per cell, and how they are written.
 * A list column when most cells are lists; otherwise the delimiter that splits the most cells into
 * short, repeated labels (free text has long, unrepeated pieces, so a comma in prose is not taken
 * for one). Null when no delimiter fits or no cell holds two labels.
 */
export function detectMultiLabel(values: readonly string[]): Omit<MultiLabelGuess, 'column'> | null {
	const cells = values.slice(0, SAMPLE).map((v) => v.trim()).filter(Boolean);
	// Most columns have no list and no delimiter at all: one cheap pass rules them out.
	if (cells.length < 2 || !cells.some((c) => /[[;|,]/.test(c))) return null;
	const lists = cells.map(listItems);
	const candidates: Omit<MultiLabelGuess, 'column'>[] = [];
	if (lists.filter((l) => l !== null).length >= 0.8 * cells.length) {
		const parsed = cells.map((c) => parseLabelList(c, 'json'));
		candidates.push({ delimiter: 'json', cells: cells.length, multi: parsed.filter((p) => p.length > 1).length, labels: new Set(parsed.flat()).size });
	}
	for (const d of [';', '|', ','] as const) {
		const parsed = cells.map((c) => parseLabelList(c, d));
		const all = parsed.flat();
		const distinct = new Set(all).size;
		const meanLength = all.reduce((n, p) => n + p.length, 0) / Math.max(1, all.length);
		const multi = parsed.filter((p) => p.length > 1).length;
		if (multi && meanLength <= 30 && distinct <= MAX_LABELS && distinct <= 0.5 * all.length && !cells.some((c) => c.startsWith('[')))
			candidates.push({ delimiter: d, cells: cells.length, multi, labels: distinct });
	}
	return candidates.filter((c) => c.multi > 0).sort((a, b) => b.multi - a.multi)[0] ?? null;
}

/** Every column of a table (but `exclude`, the text) that looks multi-label, most multi-label cells first. */
export function detectMultiLabelColumns(table: { columns: string[]; records: { values: Record<string, string> }[] }, exclude: readonly string[] = []): MultiLabelGuess[] {
	const out: MultiLabelGuess[] = [];
	// A label is among the first columns of any real table; a file of 10,000 columns costs no more than 200.
	for (const column of table.columns.slice(0, 200)) {
		if (exclude.includes(column)) continue;
		const g = detectMultiLabel(table.records.slice(0, SAMPLE).map((r) => (Object.hasOwn(r.values, column) ? r.values[column] : '')));
		if (g) out.push({ column, ...g });
	}
	return out.sort((a, b) => b.multi - a.multi);
}

/** The labels an import reads from one cell of a multi-label column (`columns.ts` `buildRows`'s `labelsOf`). */
export function multiLabelReader(o: MultiLabelOptions): (value: string) => string[] {
	return (value) => {
		const list = parseLabelList(value, o.delimiter);
		return o.mode === 'first' ? list.slice(0, 1) : list;
	};
}

/** A step's split counts for the balance chart: per split, the class names with their counts. */
export function balance(labels: readonly string[], counts: readonly number[][]): { split: (typeof SPLITS)[number]; bars: { label: string; count: number }[] }[] {
	return SPLITS.map((split, s) => ({ split, bars: labels.map((label, i) => ({ label, count: counts[s]?.[i] ?? 0 })) }));
}
