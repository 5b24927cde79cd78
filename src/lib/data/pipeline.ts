/**
 * The data worker's API: inspect a file, import it as an immutable dataset version (of one of
 * three kinds: classification, text, prompt/response pairs; see `kinds.ts`), summarize a version,
 * and tokenize it: for the from-scratch model with a BPE trained on the train split only (so
 * validation and test text never shapes the vocabulary), or with a pretrained model's tokenizer
 * for one of the objectives (`hub-tokens.ts`). Each function reads and writes IndexedDB itself;
 * only ids and small summaries cross to the UI.
 */
import type { Objective, SplitConfig, TokenizerConfig } from '../shared/config';
import { defaultSplitConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import type { ModelRef } from '../shared/hub';
import { Prng, hashSeed } from '../shared/prng';
import { SPLITS, SPLIT_CODE, type DatasetVersion, type HubDatasetSource, type ImportCleaning, type SplitName, type StoredRow, type TokenizedCache } from '../shared/types';
import {
	getDatasetVersion,
	getTokenized,
	getTokenizer,
	loadRows,
	newId,
	putTokenized,
	putTokenizer,
	ROWS_PER_CHUNK,
	saveDatasetVersion,
	tokenizedKey
} from '../storage';
import { buildRowsWork, guessColumns, type BuildTick, type DedupeChoice, type DedupeCounts } from './columns';
import { buildPairRowsWork, buildTextRowsWork, guessKind, requireRows, resolvePairs, type BuiltKindRows, type DatasetKind, type KindGuess, type PairsFormat } from './kinds';
import { runInSlices, runToEnd, type Work } from './sliced';
import { encodeClassification, encodeInstruction, packCausalLm, type EncodedRows } from './hub-tokens';
import { datasetHash, sha256Hex } from './hash';
import { parseTable, type TableFormat, type TableProblem } from './parse';
import { splitSizes, stratifiedSplit } from './split';
import { readTable } from './parquet';
import { dropSource, readSource, type FileSource, type ReadProgress } from './stream';
import { splitRowsBy } from './split-by';
import { compareVersions, exportVersion, type VersionDiff, type VersionFormat } from './versions';
import { applyCleaningInSlices, checkRowsInSlices, describeSteps, type BandKeyer, type CleanCheck, type CleanStep, type NormalizeOptions, type OnPhase } from './clean';
import type { PiiPattern } from './pii';
import { applyLabelSteps, describeLabelSteps, detectMultiLabelColumns, labelRefusal, labelSetCounts, labelStepsRefusal, rowLabelNames, multiLabelReader, parseLabelList, previewLabelSteps, type LabelPreview, type LabelStep, type MultiLabelGuess, type MultiLabelOptions } from './labels';
import { BPE_SAMPLE_CHARS, sampleForBpe, trainBpeAsync } from './bpe';
import { encodeRows, type RowEncoder } from './tokenize-rows';
import { Slicer } from './tokenize-slices';
import { IdList } from './tokenize-fast';
import { TextTokenizer, loadHubTokenizer, type ReadModelFile } from './tokenizer';
import { findTrainedTokenizer } from '../storage/tokenizers';
import { PhaseReporter, type PhaseProgress } from '../shared/phases';
import { packRow, type PackedRow } from './preview-rows';

export interface FileInspection {
	fileName: string;
	format: TableFormat;
	bytes: number;
	columns: string[];
	/** Records that were read; rows may still be dropped at import (empty text, duplicates). */
	rowCount: number;
	/**
	 * The first 20 readable records as rows of values in `columns`' order (a missing one as ''), values
	 * cut at PREVIEW_CHARS, each row packed into one string (preview-rows.ts). The page receives this by
	 * structured clone: 20 objects of 10,002 keys took it over 200 ms (a frozen page), arrays of strings
	 * 140 ms, packed rows a few.
	 */
	preview: PackedRow[];
	/** How the bytes were read as text, and why when it was not plain UTF-8 (see `decodeText`). */
	encoding: string;
	encodingNote?: string;
	/** Where the rows came from, when not the obvious place (the array inside a JSON object). */
	source?: string;
	/** The first 50 unreadable records. */
	problems: TableProblem[];
	problemCount: number;
	/** Classification columns: the text and the label (kept for the classification pickers). */
	guess: { text?: string; label?: string };
	/** The guessed kind of dataset and its columns (see `guessKind` for the rules). */
	kind: KindGuess;
	/** Columns whose cells hold several labels, with the delimiter suggested (labels.ts `detectMultiLabel`). */
	multiLabel: MultiLabelGuess[];
}

/** A preview cell longer than this is cut: a 5 MB field would cost the page seconds to lay out. */
export const PREVIEW_CHARS = 20_000;

/** A preview row: every column's value in order (a missing one as ''; a column named `constructor` is data, never Object's). */
function previewRow(values: Record<string, string>, columns: string[]): PackedRow {
	return packRow(
		columns.map((c) => {
			const v = Object.hasOwn(values, c) ? values[c] : '';
			return v.length > PREVIEW_CHARS ? v.slice(0, PREVIEW_CHARS) + '…' : v;
		})
	);
}

/** Parses the file in the worker and returns what the importer shows (the page never parses it). */
export async function inspectFile(fileName: string, bytes: ArrayBuffer): Promise<FileInspection> {
	return inspectTable(fileName, await readTable(fileName, bytes));
}

/** The chosen files read as a stream (stream.ts), telling `onProgress` (a top-level comlink proxy); the table is kept for the import. */
export async function inspectSource(fileName: string, source: FileSource, onProgress?: (p: ReadProgress) => void): Promise<FileInspection> {
	return inspectTable(fileName, await readSource(source, { onProgress }));
}

function inspectTable(fileName: string, table: ReturnType<typeof parseTable>): FileInspection {
	const guess = guessColumns(table);
	return {
		fileName,
		format: table.format,
		bytes: table.bytes,
		columns: table.columns,
		rowCount: table.records.length,
		preview: table.records.slice(0, 20).map((r) => previewRow(r.values, table.columns)),
		encoding: table.encoding,
		...(table.encodingNote ? { encodingNote: table.encodingNote } : {}),
		...(table.source ? { source: table.source } : {}),
		problems: table.problems.slice(0, 50),
		problemCount: table.problems.length,
		guess,
		kind: guessKind(table),
		multiLabel: detectMultiLabelColumns(table, [guess.text ?? ''])
	};
}

export interface ImportArgs {
	projectId: string;
	fileName: string;
	/** The file's bytes, or (from the page) the chosen files, read as a stream and kept between calls. */
	bytes?: ArrayBuffer;
	source?: FileSource;
	/** Defaults to 'classification'. */
	kind?: DatasetKind;
	/** The text (classification, text), the prompt or Alpaca instruction (pairs), or the messages (chat). */
	textColumn: string;
	/** Classification only. */
	labelColumn?: string;
	/** Classification: the label column holds several labels per cell, read this way (labels.ts). */
	multiLabel?: MultiLabelOptions;
	/** Pairs from two columns (or Alpaca's output). Without it, a pairs import reads `textColumn` as chat messages. */
	responseColumn?: string;
	/** Pairs: the layout, when the caller knows it; otherwise inferred (see `resolvePairs`). */
	pairsFormat?: PairsFormat;
	split: SplitConfig;
	/** Import the readable rows and record the unreadable ones in `dropped`. */
	skipBadRows: boolean;
	/** Exact duplicates: 'drop' (default; the first copy stays) or 'keep'. */
	duplicates?: DedupeChoice;
	/** Classification: every row of a text that has conflicting labels, 'keep' (default) or 'drop'. */
	conflicts?: DedupeChoice;
	/** Defaults to the file name. */
	name?: string;
	/** Rows read from a Hub dataset (data/hub-dataset.ts): recorded with the version's source. */
	hub?: HubDatasetSource;
	/**
	 * The id to store the version under (`newId('ds_')`; one not stored yet). The page makes it, so
	 * that after a Cancel it can look whether the version had already been stored.
	 */
	versionId?: string;
}

/**
 * What an import tells as it goes, through one callback: the files read (stream.ts), then its
 * stages after the read, each a phase with its count: building the rows, finding exact
 * duplicates, hashing the rows, storing the version's chunks.
 */
export type ImportProgress = ReadProgress | PhaseProgress;

function rowsWord(n: number): string {
	return `${n} row${n === 1 ? '' : 's'}`;
}

function badRowsError(problems: TableProblem[], readable: number, what = 'could not be read'): UserError {
	const shown = problems.slice(0, 5).map((p) => p.message).join('; ');
	const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
	return new UserError(
		'parse-error',
		`${rowsWord(problems.length)} ${what}: ${shown}${more}. Fix them in the file, or choose 'Skip bad rows' to import the ${rowsWord(readable)} that could be read.`,
		problems.map((p) => p.line)
	);
}

/** The one label of text and pairs datasets: every row is label 0. */
export const ALL_LABEL = '(all)';

export interface Built {
	rows: StoredRow[];
	labels: string[];
	labelCounts: number[];
	dropped: { line: number; reason: string }[];
	textColumn: string;
	labelColumn: string;
	/** Rows dropped for being empty, and chat rows that could not be read. */
	empty: number;
	unreadable: number;
	dedupe: DedupeCounts;
}

/**
 * The seeded split, stratified by label, with every copy of a text in one split: the split is
 * drawn over distinct texts (each with its first row's label) and given to all their rows, so a
 * kept duplicate or a relabelled text cannot sit in train and in test at once. With distinct
 * texts this is exactly `stratifiedSplit` over the rows.
 */
export function splitByText(rows: { text: string; label: number }[], cfg: SplitConfig): Uint8Array {
	const groupOf = new Map<string, number>();
	const groupLabels: number[] = [];
	const group = rows.map((r) => {
		let g = groupOf.get(r.text);
		if (g === undefined) {
			g = groupLabels.length;
			groupOf.set(r.text, g);
			groupLabels.push(r.label);
		}
		return g;
	});
	const codes = stratifiedSplit(groupLabels, cfg);
	return Uint8Array.from(group, (g) => codes[g]);
}

function* buildClassification(table: ReturnType<typeof parseTable>, args: ImportArgs, tick?: BuildTick): Work<Built> {
	const labelColumn = args.labelColumn ?? '';
	const labelsOf = args.multiLabel && multiLabelReader(args.multiLabel);
	const keepSets = args.multiLabel?.mode === 'all';
	const built = yield* buildRowsWork(table, args.textColumn, labelColumn, { duplicates: args.duplicates, conflicts: args.conflicts, ...(labelsOf ? { labelsOf } : {}), ...(keepSets ? { keepSets } : {}) }, tick);
	const labelIndex = new Map(built.labels.map((l, i) => [l, i]));
	// A multi-label row's `label` is its first label as written: the split stratifies by it.
	const labelIds = built.rows.map((r) => labelIndex.get(r.label)!);
	const codes = splitByText(built.rows.map((r, i) => ({ text: r.text, label: labelIds[i] })), args.split);
	const rows: StoredRow[] = built.rows.map((r, i) => {
		const row: StoredRow = { text: r.text, label: labelIds[i], split: codes[i] };
		if (r.labels) row.labels = r.labels.map((l) => labelIndex.get(l)!).sort((a, b) => a - b);
		if (r.meta) row.meta = r.meta;
		return row;
	});
	return { rows, labels: built.labels, labelCounts: built.labelCounts, dropped: built.dropped, textColumn: args.textColumn, labelColumn, empty: built.empty, unreadable: 0, dedupe: built.dedupe };
}

/**
 * Text and pairs: one class, so the stratified split is a plain seeded random split. For pairs,
 * `labelColumn` records the response column ('' for chat), for lineage.
 */
function* buildUnlabelled(table: ReturnType<typeof parseTable>, args: ImportArgs, kind: 'text' | 'pairs', tick?: BuildTick): Work<Built> {
	let built: BuiltKindRows;
	let layout: 'text' | PairsFormat = 'text';
	let labelColumn = '';
	const opts = { duplicates: args.duplicates };
	if (kind === 'text') built = yield* buildTextRowsWork(table, args.textColumn, opts, tick);
	else {
		const spec = resolvePairs(table, args.textColumn, args.responseColumn, args.pairsFormat);
		built = yield* buildPairRowsWork(table, spec, opts, tick);
		layout = spec.format;
		labelColumn = spec.responseColumn ?? '';
	}
	if (built.problems.length > 0 && !args.skipBadRows)
		throw badRowsError(built.problems, built.rows.length, 'have messages that could not be read');
	requireRows(built, layout);
	const codes = splitByText(built.rows.map((r) => ({ text: r.text, label: 0 })), args.split);
	const rows: StoredRow[] = built.rows.map((r, i) => {
		const row: StoredRow = { text: r.text, label: 0, split: codes[i] };
		if (r.response !== undefined) row.response = r.response;
		if (r.messages) row.messages = r.messages;
		if (r.meta) row.meta = r.meta;
		return row;
	});
	const dropped = [...built.dropped, ...built.problems.map((p) => ({ line: p.line, reason: p.message.replace(/^line \d+: /, '') }))];
	return { rows, labels: [ALL_LABEL], labelCounts: [rows.length], dropped, textColumn: args.textColumn, labelColumn, empty: built.empty, unreadable: built.problems.length, dedupe: built.dedupe };
}

/** The rows an import would store, split, with what was dropped and why (the data report reuses it). */
export function buildFor(table: ReturnType<typeof parseTable>, args: ImportArgs): Built {
	return runToEnd(buildWork(table, args));
}

/** `buildFor` as work that pauses between rows (sliced.ts), telling `tick` how far it is. */
export function buildWork(table: ReturnType<typeof parseTable>, args: ImportArgs, tick?: BuildTick): Work<Built> {
	const kind = args.kind ?? 'classification';
	return kind === 'classification' ? buildClassification(table, args, tick) : buildUnlabelled(table, args, kind, tick);
}

/** The build's two passes told as two phases: the records made rows, then the search for duplicates. */
function buildPhases(emit: (p: PhaseProgress | null) => void): BuildTick {
	let pass: 'rows' | 'duplicates' | undefined;
	let reporter: PhaseReporter | undefined;
	return (next, done, total) => {
		if (next !== pass) {
			reporter?.finish();
			pass = next;
			reporter = new PhaseReporter(emit, { phase: next === 'rows' ? 'building-rows' : 'deduplicating', total, unit: next === 'rows' ? 'records' : 'rows' });
			if (done === 0) return; // the reporter told 0 as it began
		}
		reporter!.tick(done);
	};
}

export interface ImportPlan {
	/** Readable records, and unreadable ones (which the import refuses unless told to skip them). */
	read: number;
	unreadable: number;
	/** Rows with an empty text, label, prompt or response: always dropped. */
	empty: number;
	/** Repeated rows found (see `dedupe` in columns.ts); the same whatever is chosen. */
	found: DedupeCounts;
	/** Rows the import stores with these choices, and those it drops (with reasons). */
	rows: number;
	dropped: number;
	/** Why the import would refuse these choices (then `rows` is 0). */
	error?: string;
}

/**
 * What `importDataset` would do with these arguments, without storing anything: the same code
 * builds the same rows, so the count the importer's button shows is the count it imports.
 * Unreadable records are counted as if skipped; the import itself still refuses them unless
 * `skipBadRows` is set.
 */
export async function planImport(args: ImportArgs): Promise<ImportPlan> {
	const table = await tableOf(args);
	const none: DedupeCounts = { duplicates: 0, duplicateExamples: [], conflictTexts: 0, conflictRows: 0, conflictExamples: [] };
	const base = { read: table.records.length, unreadable: table.problems.length };
	try {
		const built = buildFor(table, { ...args, skipBadRows: true });
		return { ...base, unreadable: base.unreadable + built.unreadable, empty: built.empty, found: built.dedupe, rows: built.rows.length, dropped: built.dropped.length };
	} catch (e) {
		if (!(e instanceof UserError)) throw e;
		return { ...base, empty: 0, found: none, rows: 0, dropped: 0, error: e.message };
	}
}

/**
 * Parses, validates, splits and stores a file as a new dataset version. Everything before the
 * one atomic save can throw, so a failed import leaves storage as it was; and the page's Cancel,
 * which ends the worker at any point of it, stores nothing (storage/datasets.ts says why).
 * `onProgress` hears the read, then each stage after it (`ImportProgress`); the long ones
 * (building, hashing) run in slices, so the worker answers its heartbeat and tells its counts.
 */
export async function importDataset(args: ImportArgs, onProgress?: (p: ImportProgress) => void): Promise<DatasetVersion> {
	const kind = args.kind ?? 'classification';
	if (args.versionId && (await getDatasetVersion(args.versionId)))
		throw new Error(`A dataset version ${args.versionId} is already stored; versions are never overwritten.`);
	const table = await tableOf(args, onProgress);
	const { problems } = table;
	if (problems.length > 0 && !args.skipBadRows) throw badRowsError(problems, table.records.length);

	const emit = (p: PhaseProgress | null) => void (p && onProgress?.(p));
	const built = await runInSlices(buildWork(table, args, onProgress && buildPhases(emit)));
	const { rows } = built;
	const codes = rows.map((r) => r.split);
	const hashing = onProgress && new PhaseReporter(emit, { phase: 'hashing-version', total: rows.length, unit: 'rows' });
	const contentHash = await datasetHash(built.labels, rows, hashing && ((done) => hashing.tick(done)));
	hashing?.finish();
	const dropped = [
		...problems.map((p) => ({ line: p.line, reason: p.message.replace(/^line \d+: /, '') })),
		...built.dropped
	].sort((a, b) => a.line - b.line);

	const version: DatasetVersion = {
		id: args.versionId ?? newId('ds_'),
		projectId: args.projectId,
		name: args.name?.trim() || args.fileName,
		createdAt: Date.now(),
		source: { fileName: args.fileName, format: table.format, bytes: table.bytes, ...(args.hub ? { hub: structuredClone(args.hub) } : {}) },
		kind,
		textColumn: built.textColumn,
		labelColumn: built.labelColumn,
		labels: built.labels,
		labelCounts: built.labelCounts,
		rowCount: rows.length,
		chunkCount: 0, // set by saveDatasetVersion, which decides the chunking
		contentHash,
		split: { ...args.split, sizes: splitSizes(codes) },
		dropped,
		dedupe: cleaning(args, table.records.length, problems.length, built)
	};
	const ml = kind === 'classification' ? args.multiLabel : undefined;
	if (ml) version.multiLabel = { delimiter: ml.delimiter, mode: ml.mode, multiRows: table.records.filter((r) => parseLabelList(r.values[built.labelColumn] ?? '', ml.delimiter).length > 1).length };
	// Every chunk is told (no 250 ms pacing): each is a write of a thousand rows, so the messages stay few next to the work.
	const storing = onProgress && new PhaseReporter(emit, { phase: 'storing-version', total: Math.ceil(rows.length / ROWS_PER_CHUNK), unit: 'chunks', note: `${ROWS_PER_CHUNK.toLocaleString('en-US')} rows each` }, 0);
	const saved = await saveDatasetVersion(version, rows, ROWS_PER_CHUNK, storing && ((done) => storing.tick(done)));
	// The kept table of the chosen files is done with: its memory goes back.
	if (args.source) dropSource();
	return saved;
}

function tableOf(args: ImportArgs, onProgress?: (p: ImportProgress) => void) {
	if (args.source) return readSource(args.source, { onProgress });
	if (!args.bytes) throw new UserError('empty-file', 'No file was chosen.');
	return readTable(args.fileName, args.bytes);
}

function cleaning(args: ImportArgs, read: number, unreadable: number, built: Built): ImportCleaning {
	const kind = args.kind ?? 'classification';
	return {
		duplicates: args.duplicates ?? 'drop',
		conflicts: kind === 'classification' ? (args.conflicts ?? 'keep') : 'keep',
		read,
		unreadable: unreadable + built.unreadable,
		empty: built.empty,
		duplicateRows: built.dedupe.duplicates,
		conflictTexts: built.dedupe.conflictTexts,
		conflictRows: built.dedupe.conflictRows
	};
}

/** A re-split's name: the source's name without an earlier re-split suffix, then the new split. */
export function resplitName(name: string, split: SplitConfig): string {
	const pct = (f: number) => `${Math.round(f * 1000) / 10}%`;
	const by = split.by ? `by ${split.by.kind === 'group' ? 'group' : 'time'} "${split.by.column}", ` : '';
	return `${name.replace(/ · split .*$/, '')} · split ${by}seed ${split.seed}, ${pct(split.validation)} validation, ${pct(split.test)} test`;
}

/**
 * Splits a stored version's rows again with another seed or fractions, as a new immutable version
 * (the same rows, labels, cleaning and source; `resplitOf` names the source). Nothing is read from
 * the file again. The new version is refused when its split equals the source's.
 */
export async function resplitDataset(versionId: string, split: SplitConfig): Promise<DatasetVersion> {
	const source = await requireVersion(versionId);
	const sameBy = (source.split.by?.kind ?? '') === (split.by?.kind ?? '') && (source.split.by?.column ?? '') === (split.by?.column ?? '');
	const same = sameBy && source.split.seed === split.seed && source.split.validation === split.validation && source.split.test === split.test;
	if (same)
		throw new UserError('invalid-config', `"${source.name}" is already split with seed ${split.seed}, validation ${split.validation} and test ${split.test}. Change the seed or a fraction to re-split it.`);
	if (!Number.isInteger(split.seed))
		throw new UserError('invalid-config', `The split seed must be a whole number, got ${split.seed}.`);
	const old = await loadRows(versionId);
	const codes = split.by ? splitRowsBy(old, split.by, split) : splitByText(old, split);
	const rows: StoredRow[] = old.map((r, i) => ({ ...r, split: codes[i] }));
	const version: DatasetVersion = {
		...source,
		id: newId('ds_'),
		name: resplitName(source.name, split),
		createdAt: Date.now(),
		chunkCount: 0,
		contentHash: await datasetHash(source.labels, rows),
		split: { seed: split.seed, validation: split.validation, test: split.test, ...(split.by ? { by: { ...split.by } } : {}), sizes: splitSizes(codes) },
		resplitOf: source.id
	};
	return saveDatasetVersion(version, rows);
}

/** What each cleaning step would change in a stored version (data/clean.ts), before it applies. `keysFor`: near-duplicate band keys made on every core (workers/minhash-pool.ts). */
export async function checkDataset(
	versionId: string,
	threshold = 0.8,
	normalize?: NormalizeOptions,
	length?: { min: number; max: number },
	keysFor?: BandKeyer,
	onPhase?: OnPhase,
	patterns: readonly PiiPattern[] = []
): Promise<CleanCheck> {
	await requireVersion(versionId);
	return checkRowsInSlices(await loadRows(versionId), threshold, normalize, length, keysFor, onPhase, patterns);
}

/**
 * Applies cleaning steps to a stored version's rows as a new immutable version (`cleanedOf` names
 * the source, `recipe` the steps); the source stays as it was. Refused when nothing would change.
 */
export async function cleanDataset(versionId: string, steps: CleanStep[], keysFor?: BandKeyer, onPhase?: OnPhase): Promise<DatasetVersion> {
	const source = await requireVersion(versionId);
	if (!steps.length) throw new UserError('invalid-config', 'Choose at least one cleaning step.');
	const result = await applyCleaningInSlices(await loadRows(versionId), steps, keysFor, onPhase);
	if (!result.normalized && !result.removed && !result.redactedRows && !result.moved)
		throw new UserError('invalid-config', `Nothing to change in "${source.name}": ${describeSteps(steps)} would leave every row as it is.`);
	const { rows } = result;
	const counts = labelSetCounts(source.labels, rows);
	if (source.kind !== 'text' && source.kind !== 'pairs' && counts.filter((c) => c > 0).length < 2)
		throw new UserError('single-class', 'Cleaning would leave fewer than two classes; choose fewer steps or a lower near-duplicate threshold.');
	const codes = rows.map((r) => r.split);
	const version: DatasetVersion = {
		...source,
		id: newId('ds_'),
		name: `${source.name.replace(/ · cleaned.*$/, '')} · cleaned: ${describeSteps(steps)}`,
		createdAt: Date.now(),
		labelCounts: counts,
		rowCount: rows.length,
		chunkCount: 0,
		contentHash: await datasetHash(source.labels, rows),
		split: { ...source.split, sizes: splitSizes(codes) },
		cleanedOf: source.id,
		recipe: steps.map((s) => ({ ...s }))
	};
	delete version.resplitOf;
	return saveDatasetVersion(version, rows);
}

/** What label steps (data/labels.ts) would change in a stored classification version, before they apply. */
export async function previewLabels(versionId: string, steps: LabelStep[]): Promise<LabelPreview> {
	const source = await requireClassification(versionId);
	return previewLabelSteps(source.labels, await loadRows(versionId), steps);
}

/**
 * Applies label steps as a new immutable version (`cleanedOf` the source, `recipe` the steps), with
 * its own sorted label names and ids; the source, and every run trained on it, keep theirs.
 */
export async function relabelDataset(versionId: string, steps: LabelStep[]): Promise<DatasetVersion> {
	const source = await requireClassification(versionId);
	if (!steps.length) throw new UserError('invalid-config', 'Choose at least one label step.');
	const result = applyLabelSteps(source.labels, await loadRows(versionId), steps);
	const refusal = labelRefusal(result);
	if (refusal) throw new UserError(result.labels.length < 2 ? 'single-class' : 'invalid-config', `${refusal} (${describeLabelSteps(steps)} on "${source.name}")`);
	const { rows, labels } = result;
	const counts = labels.map(() => 0);
	for (const r of rows) counts[r.label]++;
	const version: DatasetVersion = {
		...source,
		id: newId('ds_'),
		name: `${source.name.replace(/ · (cleaned|labels): .*$/, '')} · labels: ${describeLabelSteps(steps)}`,
		createdAt: Date.now(),
		labels,
		labelCounts: counts,
		rowCount: rows.length,
		chunkCount: 0,
		contentHash: await datasetHash(labels, rows),
		split: { ...source.split, sizes: splitSizes(rows.map((r) => r.split)) },
		cleanedOf: source.id,
		recipe: steps.map((s) => ({ ...s }))
	};
	delete version.resplitOf;
	return saveDatasetVersion(version, rows);
}

async function requireClassification(versionId: string): Promise<DatasetVersion> {
	const v = await requireVersion(versionId);
	if ((v.kind ?? 'classification') !== 'classification')
		throw new UserError('invalid-config', `"${v.name}" has no labels (it is a ${v.kind === 'text' ? 'text' : 'prompt/response'} dataset); label steps apply to classification datasets.`);
	const multi = labelStepsRefusal(v);
	if (multi) throw new UserError('invalid-config', multi);
	return v;
}

/** A stored version as a file (JSONL, CSV or Parquet) that the importer reads back. */
export async function exportDatasetVersion(versionId: string, format: VersionFormat): Promise<{ fileName: string; bytes: Uint8Array }> {
	const version = await requireVersion(versionId);
	return exportVersion(version, await loadRows(versionId), format);
}

/** Rows added, removed and changed from version `a` to version `b`. */
export async function compareDatasetVersions(a: string, b: string): Promise<VersionDiff> {
	const [va, vb] = [await requireVersion(a), await requireVersion(b)];
	return compareVersions(va, await loadRows(a), vb, await loadRows(b));
}

/** Imports the built-in example (support tickets: text in `text`, label in `team`). */
export function importExample(projectId: string, csvText: string): Promise<DatasetVersion> {
	const bytes = new TextEncoder().encode(csvText);
	return importDataset({
		projectId,
		fileName: 'example.csv',
		name: 'Example: support tickets',
		bytes: bytes.buffer as ArrayBuffer,
		textColumn: 'text',
		labelColumn: 'team',
		split: { ...defaultSplitConfig },
		// The example is ours: a bad row in it is a bug to surface, not to skip.
		skipBadRows: false
	});
}

async function requireVersion(versionId: string): Promise<DatasetVersion> {
	const version = await getDatasetVersion(versionId);
	if (!version)
		throw new UserError('not-found', `Dataset version ${versionId} is not stored (it may have been deleted). Import the file again.`);
	return version;
}

export interface LengthStats {
	/** Mean and longest length in characters. */
	mean: number;
	max: number;
}

export interface DatasetSummary {
	version: DatasetVersion;
	/** Rows per split and label: splitCounts[SPLIT_CODE[split]][labelIndex]. Text and pairs have one label. */
	splitCounts: number[][];
	/** Characters of the text (the prompt, for pairs) and of the response (pairs). */
	lengths: { text: LengthStats; response?: LengthStats };
	/** 20 rows spread over the dataset, the same ones every time; `response` for pairs, `turns` for chat. */
	sample: { text: string; label: string; split: SplitName; response?: string; turns?: number }[];
}

function lengthStats(values: string[]): LengthStats {
	let sum = 0;
	let max = 0;
	for (const v of values) {
		sum += v.length;
		if (v.length > max) max = v.length;
	}
	return { mean: values.length ? sum / values.length : 0, max };
}

export async function datasetSummary(versionId: string): Promise<DatasetSummary> {
	const version = await requireVersion(versionId);
	const rows = await loadRows(versionId);
	const splitCounts = SPLITS.map(() => version.labels.map(() => 0));
	for (const r of rows) for (const l of r.labels ?? [r.label]) splitCounts[r.split][l]++;
	const indices = new Prng(hashSeed(versionId))
		.shuffle(rows.map((_, i) => i))
		.slice(0, 20)
		.sort((a, b) => a - b);
	const sample = indices.map((i) => {
		const r = rows[i];
		const s: DatasetSummary['sample'][number] = { text: r.text, label: rowLabelNames(version.labels, r).join(', '), split: SPLITS[r.split] };
		if (r.response !== undefined) s.response = r.response;
		if (r.messages) s.turns = r.messages.length;
		return s;
	});
	const lengths: DatasetSummary['lengths'] = { text: lengthStats(rows.map((r) => r.text)) };
	if (version.kind === 'pairs') lengths.response = lengthStats(rows.map((r) => r.response ?? ''));
	return { version, splitCounts, lengths, sample };
}

export interface PreparedTokens {
	tokenizerHash: string;
	/** Key of the TokenizedCache in storage. */
	key: string;
	vocabSize: number;
	/** Pretrained models: rows (or packed blocks) in the cache. */
	rows?: number;
	/** Pretrained models: rows whose ids were cut to fit the maximum length. */
	truncated?: number;
	/** Pretrained models, instruction tuning: rows left out because none of the response fit. */
	dropped?: number;
	/** What was found in the cache instead of being done again: the trained tokenizer, the token ids. */
	reused?: { tokenizer: boolean; tokens: boolean };
}

/** Reports while rows are tokenized; says so when the cached ids were reused instead. */
export type PhaseCallback = (p: PhaseProgress | null) => void;

function reusedTokens(onPhase: PhaseCallback | undefined, rows: number): void {
	onPhase?.({ phase: 'tokenizing', done: rows, total: rows, unit: 'rows', note: 'reused the cached tokens' });
}

/**
 * Trains the tokenizer on the train split, stores it, and stores every row's token ids
 * (truncated to `maxLength`, no special tokens; the engine adds those). A tokenizer trained on
 * this version with the same settings is reused (BPE training is deterministic), and so is a
 * stored cache for the same data, tokenizer and length. `onPhase` hears the BPE's merges and the
 * rows tokenized (a top-level comlink proxy from the page).
 */
export async function prepareTokens(
	versionId: string,
	cfg: TokenizerConfig,
	maxLength: number,
	onPhase?: PhaseCallback,
	encoder: RowEncoder = encodeRows
): Promise<PreparedTokens> {
	if (!Number.isInteger(maxLength) || maxLength < 1)
		throw new UserError('invalid-config', `The maximum length must be a positive whole number of tokens, got ${maxLength}.`);
	const version = await requireVersion(versionId);
	let rows: StoredRow[] | undefined;

	const trained = await findTrainedTokenizer(versionId, cfg);
	let json = trained?.json;
	if (json === undefined) {
		onPhase?.({ phase: 'preparing', done: 0, total: 0, unit: 'rows', note: `reading the ${version.rowCount} rows of the dataset` });
		rows = await loadRows(versionId);
		const trainTexts = rows.filter((r) => r.split === SPLIT_CODE.train).map((r) => r.text);
		const sample = sampleForBpe(trainTexts);
		const sampled = sample.length < trainTexts.length ? `a seeded sample of ${sample.length.toLocaleString('en-US')} of the ${trainTexts.length.toLocaleString('en-US')} training texts (${BPE_SAMPLE_CHARS / 1e6} M characters)` : undefined;
		// Counting the words comes first (no count yet), then the merges, counted.
		onPhase?.({ phase: 'training-tokenizer', done: 0, total: 0, unit: 'merges', note: `counting the words of ${sampled ?? `${sample.length} texts`}` });
		const bpe: { reporter?: PhaseReporter } = {};
		const note = sampled && `learning from ${sampled}`;
		json = await trainBpeAsync(sample, cfg, onPhase && ((done, total) => (bpe.reporter ??= new PhaseReporter(onPhase, { phase: 'training-tokenizer', total, unit: 'merges', ...(note ? { note } : {}) })).tick(done)));
		bpe.reporter?.finish(note);
	}
	const tokenizerHash = trained?.hash ?? (await sha256Hex(json));
	const key = tokenizedKey(versionId, tokenizerHash);
	const tokenizer = await TextTokenizer.fromJson(json);

	// The cache key has no length in it, so a cache made for another maxLength is redone.
	const cached = await getTokenized(key);
	if (cached && cached.maxLength === maxLength) {
		reusedTokens(onPhase, cached.offsets.length - 1);
		return { tokenizerHash, key, vocabSize: tokenizer.vocabSize, reused: { tokenizer: !!trained, tokens: true } };
	}
	const result = { tokenizerHash, key, vocabSize: tokenizer.vocabSize, reused: { tokenizer: !!trained, tokens: false } };

	if (!(await getTokenizer(tokenizerHash)))
		await putTokenizer({ hash: tokenizerHash, datasetVersionId: version.id, config: { ...cfg }, json, createdAt: Date.now() });

	if (!rows) onPhase?.({ phase: 'preparing', done: 0, total: 0, unit: 'rows', note: `reading the ${version.rowCount} rows of the dataset` });
	const all = rows ?? (await loadRows(versionId));
	rows = all;
	const progress = onPhase && new PhaseReporter(onPhase, { phase: 'tokenizing', total: all.length, unit: 'rows' });
	// In slices (and sub-workers, from the data worker) so the worker answers its heartbeat;
	// the cache below is written once, whole.
	const { ids, offsets } = await encoder(json, all.map((r) => r.text), maxLength, progress && ((done) => progress.tick(done)));
	progress?.finish();

	await putTokenized({
		key,
		datasetVersionId: versionId,
		tokenizerHash,
		ids,
		offsets,
		labels: Int32Array.from(rows, (r) => r.label),
		splits: Uint8Array.from(rows, (r) => r.split),
		maxLength,
		createdAt: Date.now()
	});
	return result;
}

/** The cache as stored for a pretrained model: the counts are kept so a reused cache reports them. */
type HubTokenizedCache = TokenizedCache & { objective: Objective; truncated: number; dropped: number };

/** The cache key of a pretrained model's tokens: the objective and length change the ids, so they are in it. */
export function hubTokenizedKey(versionId: string, tokenizerHash: string, objective: Objective, maxLength: number): string {
	return tokenizedKey(versionId, `${tokenizerHash}:${objective}:${maxLength}`);
}

function flatten(encoded: EncodedRows) {
	const n = encoded.ids.length;
	const offsets = new Int32Array(n + 1);
	for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + encoded.ids[i].length;
	const ids = new Int32Array(offsets[n]);
	encoded.ids.forEach((e, i) => ids.set(e, offsets[i]));
	return { ids, offsets };
}

/**
 * Tokenizes a dataset version with a downloaded model's tokenizer for one objective (see
 * `hub-tokens.ts`), and stores the tokenizer (`TokenizerRecord`, hash = SHA-256 of its
 * tokenizer.json, config `{kind: 'hub', repo, revision}`) and the ids (`TokenizedCache`).
 *
 * The cache key is `hubTokenizedKey(versionId, tokenizerHash, objective, maxLength)`, i.e.
 * `${versionId}:${tokenizerHash}:${objective}:${maxLength}`; the cache's `tokenizerHash` field is
 * the tokenizer record's hash. The engine reads the cache by the returned `key` and the tokenizer
 * by `tokenizerHash`. A stored cache for the same key is reused.
 *
 * `readFile` reads one file of the model, e.g. `(file) => getModelFile(model, file)`.
 */
export async function prepareHubTokens(
	versionId: string,
	model: ModelRef,
	objective: Objective,
	maxLength: number,
	readFile: ReadModelFile,
	onPhase?: PhaseCallback
): Promise<PreparedTokens> {
	if (!Number.isInteger(maxLength) || maxLength < 2)
		throw new UserError('invalid-config', `The maximum length must be a whole number of tokens, at least 2; got ${maxLength}.`);
	const version = await requireVersion(versionId);
	const kind = version.kind ?? 'classification';
	if (objective === 'classification' && kind !== 'classification')
		throw new UserError('invalid-config', `"${version.name}" has no labels (it is a ${kind === 'text' ? 'text' : 'prompt/response'} dataset). Classification needs a dataset with a label column; import one, or pick another objective.`);
	if (objective === 'instruction' && kind !== 'pairs')
		throw new UserError('invalid-config', `"${version.name}" has no responses. Instruction tuning needs a prompt/response or chat dataset; import one, or pick language modelling.`);

	const { tokenizer, json, config } = await loadHubTokenizer(readFile, model.repo);
	const tokenizerHash = await sha256Hex(json);
	const key = hubTokenizedKey(versionId, tokenizerHash, objective, maxLength);
	const base = { tokenizerHash, key, vocabSize: tokenizer.vocabSize };

	const cached = (await getTokenized(key)) as HubTokenizedCache | undefined;
	if (cached && cached.maxLength === maxLength) {
		reusedTokens(onPhase, cached.offsets.length - 1);
		return { ...base, rows: cached.offsets.length - 1, truncated: cached.truncated ?? 0, dropped: cached.dropped ?? 0, reused: { tokenizer: false, tokens: true } };
	}

	onPhase?.({ phase: 'preparing', done: 0, total: 0, unit: 'rows', note: `reading the ${version.rowCount} rows of the dataset` });
	const rows = await loadRows(versionId);
	const progress = onPhase && new PhaseReporter(onPhase, { phase: 'tokenizing', total: rows.length, unit: 'rows' });
	const encoded =
		objective === 'causal-lm'
			? await packInChunks(rows, progress, (part) => packCausalLm(tokenizer, part, maxLength), maxLength)
			: await encodeInChunks(rows, progress, (part) =>
					objective === 'classification' ? encodeClassification(tokenizer, part, maxLength) : encodeInstruction(tokenizer, config, part, maxLength)
				);
	if (encoded.ids.length === 0)
		throw new UserError('too-few-rows', `No ${objective === 'instruction' ? 'example' : 'row'} of "${version.name}" is left after tokenizing with ${maxLength} tokens. Raise the maximum length.`);

	if (!(await getTokenizer(tokenizerHash)))
		await putTokenizer({
			hash: tokenizerHash,
			datasetVersionId: versionId,
			config: { kind: 'hub', repo: model.repo, revision: model.revision },
			json,
			createdAt: Date.now()
		});

	const { ids, offsets } = flatten(encoded);
	const cache: HubTokenizedCache = {
		key,
		datasetVersionId: versionId,
		tokenizerHash,
		ids,
		offsets,
		labels: Int32Array.from(encoded.labels),
		splits: Uint8Array.from(encoded.splits),
		maxLength,
		createdAt: Date.now(),
		objective,
		truncated: encoded.truncated,
		dropped: encoded.dropped
	};
	if (encoded.lossStart) cache.lossStart = Int32Array.from(encoded.lossStart);
	await putTokenized(cache);
	return { ...base, rows: encoded.ids.length, truncated: encoded.truncated, dropped: encoded.dropped, reused: { tokenizer: false, tokens: false } };
}

/**
 * Rows encoded a chunk at a time so progress can be told and the worker's event loop gets a turn
 * between chunks (its heartbeat); rows that encode independently (classification, instruction
 * pairs) give the same result as one call.
 */
async function encodeInChunks(rows: StoredRow[], progress: PhaseReporter | undefined, encode: (rows: StoredRow[]) => EncodedRows): Promise<EncodedRows> {
	const size = 256;
	const slicer = new Slicer();
	let out: EncodedRows | undefined;
	for (let from = 0; from < rows.length || !out; from += size) {
		if (out && slicer.due()) await slicer.yield();
		const part = encode(rows.slice(from, from + size));
		if (!out) out = { ...part, ids: [...part.ids], labels: [...part.labels], splits: [...part.splits], ...(part.lossStart ? { lossStart: [...part.lossStart] } : {}) };
		else {
			out.ids.push(...part.ids);
			out.labels.push(...part.labels);
			out.splits.push(...part.splits);
			if (part.lossStart) (out.lossStart ??= []).push(...part.lossStart);
			out.truncated += part.truncated;
			out.dropped += part.dropped;
		}
		progress?.tick(Math.min(rows.length, from + size));
	}
	return out;
}

/**
 * Packed language-modelling blocks, a chunk of rows at a time (progress told, the event loop given
 * a turn between chunks) with the result of one call: a chunk's blocks of one split are its part
 * of that split's token stream, so the streams are joined chunk after chunk and cut into blocks of
 * `maxLength` at the end, split after split in `SPLITS` order, as `packCausalLm` does.
 */
async function packInChunks(rows: StoredRow[], progress: PhaseReporter | undefined, pack: (rows: StoredRow[]) => EncodedRows, maxLength: number): Promise<EncodedRows> {
	const streams = SPLITS.map(() => new IdList());
	const slicer = new Slicer();
	for (let from = 0; from < rows.length; from += 256) {
		if (from > 0 && slicer.due()) await slicer.yield();
		const part = pack(rows.slice(from, from + 256));
		part.ids.forEach((block, i) => {
			const stream = streams[part.splits[i]];
			for (const id of block) stream.push(id);
		});
		progress?.tick(Math.min(rows.length, from + 256));
	}
	const out: EncodedRows = { ids: [], labels: [], splits: [], truncated: 0, dropped: 0 };
	streams.forEach((stream, split) => {
		for (let start = 0; start < stream.length; start += maxLength) {
			out.ids.push(Array.from(stream.data.subarray(start, Math.min(stream.length, start + maxLength))));
			out.labels.push(0);
			out.splits.push(split);
		}
	});
	return out;
}
