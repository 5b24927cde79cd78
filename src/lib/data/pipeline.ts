/**
 * The data worker's API: inspect a file, import it as an immutable dataset version, summarize a
 * version, and tokenize it (BPE trained on the train split only, so validation and test text
 * never shapes the vocabulary). Each function reads and writes IndexedDB itself; only ids and
 * small summaries cross to the UI.
 */
import type { SplitConfig, TokenizerConfig } from '../shared/config';
import { defaultSplitConfig } from '../shared/config';
import { UserError } from '../shared/errors';
import { Prng, hashSeed } from '../shared/prng';
import { SPLITS, SPLIT_CODE, type DatasetVersion, type SplitName, type StoredRow } from '../shared/types';
import {
	getDatasetVersion,
	getTokenized,
	getTokenizer,
	loadRows,
	newId,
	putTokenized,
	putTokenizer,
	saveDatasetVersion,
	tokenizedKey
} from '../storage';
import { buildRows, guessColumns } from './columns';
import { datasetHash, sha256Hex } from './hash';
import { parseTable, type TableFormat, type TableProblem } from './parse';
import { splitSizes, stratifiedSplit } from './split';
import { trainBpe } from './bpe';
import { TextTokenizer } from './tokenizer';

export interface FileInspection {
	fileName: string;
	format: TableFormat;
	bytes: number;
	columns: string[];
	/** Records that were read; rows may still be dropped at import (empty text, duplicates). */
	rowCount: number;
	/** The first 20 readable records. */
	preview: Record<string, string>[];
	/** The first 50 unreadable records. */
	problems: TableProblem[];
	problemCount: number;
	guess: { text?: string; label?: string };
}

export async function inspectFile(fileName: string, bytes: ArrayBuffer): Promise<FileInspection> {
	const table = parseTable(fileName, bytes);
	return {
		fileName,
		format: table.format,
		bytes: table.bytes,
		columns: table.columns,
		rowCount: table.records.length,
		preview: table.records.slice(0, 20).map((r) => r.values),
		problems: table.problems.slice(0, 50),
		problemCount: table.problems.length,
		guess: guessColumns(table)
	};
}

export interface ImportArgs {
	projectId: string;
	fileName: string;
	bytes: ArrayBuffer;
	textColumn: string;
	labelColumn: string;
	split: SplitConfig;
	/** Import the readable rows and record the unreadable ones in `dropped`. */
	skipBadRows: boolean;
	/** Defaults to the file name. */
	name?: string;
}

function rowsWord(n: number): string {
	return `${n} row${n === 1 ? '' : 's'}`;
}

/**
 * Parses, validates, splits and stores a file as a new dataset version. Everything before the
 * one atomic save can throw, so a failed import leaves storage as it was.
 */
export async function importDataset(args: ImportArgs): Promise<DatasetVersion> {
	const table = parseTable(args.fileName, args.bytes);
	const { problems } = table;
	if (problems.length > 0 && !args.skipBadRows) {
		const shown = problems.slice(0, 5).map((p) => p.message).join('; ');
		const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
		throw new UserError(
			'parse-error',
			`${rowsWord(problems.length)} could not be read: ${shown}${more}. Fix them in the file, or choose 'Skip bad rows' to import the ${rowsWord(table.records.length)} that could be read.`,
			problems.map((p) => p.line)
		);
	}

	const built = buildRows(table, args.textColumn, args.labelColumn);
	const labelIndex = new Map(built.labels.map((l, i) => [l, i]));
	const labelIds = built.rows.map((r) => labelIndex.get(r.label)!);
	const codes = stratifiedSplit(labelIds, args.split);
	const rows: StoredRow[] = built.rows.map((r, i) => {
		const row: StoredRow = { text: r.text, label: labelIds[i], split: codes[i] };
		if (r.meta) row.meta = r.meta;
		return row;
	});

	const contentHash = await datasetHash(built.labels, rows);
	const dropped = [
		...problems.map((p) => ({ line: p.line, reason: p.message.replace(/^line \d+: /, '') })),
		...built.dropped
	].sort((a, b) => a.line - b.line);

	const version: DatasetVersion = {
		id: newId('ds_'),
		projectId: args.projectId,
		name: args.name?.trim() || args.fileName,
		createdAt: Date.now(),
		source: { fileName: args.fileName, format: table.format, bytes: table.bytes },
		textColumn: args.textColumn,
		labelColumn: args.labelColumn,
		labels: built.labels,
		labelCounts: built.labelCounts,
		rowCount: rows.length,
		chunkCount: 0, // set by saveDatasetVersion, which decides the chunking
		contentHash,
		split: { ...args.split, sizes: splitSizes(codes) },
		dropped
	};
	return saveDatasetVersion(version, rows);
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

export interface DatasetSummary {
	version: DatasetVersion;
	/** Rows per split and label: splitCounts[SPLIT_CODE[split]][labelIndex]. */
	splitCounts: number[][];
	/** 20 rows spread over the dataset, the same ones every time. */
	sample: { text: string; label: string; split: SplitName }[];
}

export async function datasetSummary(versionId: string): Promise<DatasetSummary> {
	const version = await requireVersion(versionId);
	const rows = await loadRows(versionId);
	const splitCounts = SPLITS.map(() => version.labels.map(() => 0));
	for (const r of rows) splitCounts[r.split][r.label]++;
	const indices = new Prng(hashSeed(versionId))
		.shuffle(rows.map((_, i) => i))
		.slice(0, 20)
		.sort((a, b) => a - b);
	const sample = indices.map((i) => ({
		text: rows[i].text,
		label: version.labels[rows[i].label],
		split: SPLITS[rows[i].split]
	}));
	return { version, splitCounts, sample };
}

export interface PreparedTokens {
	tokenizerHash: string;
	/** Key of the TokenizedCache in storage. */
	key: string;
	vocabSize: number;
}

/**
 * Trains the tokenizer on the train split, stores it, and stores every row's token ids
 * (truncated to `maxLength`, no special tokens; the engine adds those). Reuses a stored cache
 * for the same data, tokenizer and length.
 */
export async function prepareTokens(
	versionId: string,
	cfg: TokenizerConfig,
	maxLength: number
): Promise<PreparedTokens> {
	if (!Number.isInteger(maxLength) || maxLength < 1)
		throw new UserError('invalid-config', `The maximum length must be a positive whole number of tokens, got ${maxLength}.`);
	const version = await requireVersion(versionId);
	const rows = await loadRows(versionId);

	const trainTexts = rows.filter((r) => r.split === SPLIT_CODE.train).map((r) => r.text);
	const json = trainBpe(trainTexts, cfg);
	const tokenizerHash = await sha256Hex(json);
	const key = tokenizedKey(versionId, tokenizerHash);
	const tokenizer = await TextTokenizer.fromJson(json);
	const result = { tokenizerHash, key, vocabSize: tokenizer.vocabSize };

	// The cache key has no length in it, so a cache made for another maxLength is redone.
	const cached = await getTokenized(key);
	if (cached && cached.maxLength === maxLength) return result;

	if (!(await getTokenizer(tokenizerHash)))
		await putTokenizer({ hash: tokenizerHash, datasetVersionId: version.id, config: { ...cfg }, json, createdAt: Date.now() });

	const encoded = rows.map((r) => tokenizer.encode(r.text).slice(0, maxLength));
	const offsets = new Int32Array(rows.length + 1);
	for (let i = 0; i < rows.length; i++) offsets[i + 1] = offsets[i] + encoded[i].length;
	const ids = new Int32Array(offsets[rows.length]);
	encoded.forEach((e, i) => ids.set(e, offsets[i]));

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
