/**
 * The data worker's side of the token view: which tokenizers a dataset version can be looked at
 * with (the project's BPEs trained on it, from the tokenizer cache, and every pretrained model in
 * the model cache), loaded the way the pipeline loads them (`TextTokenizer.fromJson` for a stored
 * BPE, `loadHubTokenizer` for a model), and the figures of `token-stats.ts` over its rows. Row
 * lengths are kept for the last few (version, tokenizer) pairs, so changing the context length
 * only recounts.
 */
import { UserError } from '../shared/errors';
import type { ModelRef } from '../shared/hub';
import type { TokenizerConfig } from '../shared/config';
import { getDatasetVersion, getTokenizer, listCachedModels, loadRows, openDb } from '../storage';
import type { StoredRow } from '../shared/types';
import { TextTokenizer, loadHubTokenizer, type ReadModelFile } from './tokenizer';
import { exampleTokens, rowLengths, rowText, versionStats, viewTokenizer, type ExampleTokens, type RowLengths, type VersionTokenStats, type ViewTokenizer } from './token-stats';

/** A tokenizer to look at a version with: a stored BPE by its hash, or a cached model. */
export type TokenizerChoice = { kind: 'bpe'; hash: string } | { kind: 'hub'; model: ModelRef };

export interface TokenizerOption {
	choice: TokenizerChoice;
	/** A stable key for the choice (the BPE's hash, or repo@revision). */
	key: string;
	label: string;
}

export interface TokenViewSources {
	/** BPEs trained on this version, newest first, with the settings they were trained with. */
	project: TokenizerOption[];
	/** Models in the model cache that have a tokenizer.json, newest first. */
	pretrained: TokenizerOption[];
	/** The version's first rows, for picking an example. */
	examples: string[];
}

/** Reads a cached model's files (the worker passes `hubFileReader`, which merges the chat template). */
export type ReaderFor = (model: ModelRef) => ReadModelFile;

export function choiceKey(c: TokenizerChoice): string {
	return c.kind === 'bpe' ? `bpe:${c.hash}` : `hub:${c.model.repo}@${c.model.revision}`;
}

const EXAMPLES = 10;
const EXAMPLE_CHARS = 2000;

function bpeLabel(cfg: TokenizerConfig): string {
	return `Project BPE · vocabulary ${cfg.vocabSize}${cfg.lowercase ? ', lowercased' : ''}`;
}

export async function tokenViewSources(versionId: string): Promise<TokenViewSources> {
	const rows = await versionRows(versionId);
	const stored = await (await openDb()).getAllFromIndex('tokenizers', 'byVersion', versionId);
	const project = stored
		.filter((r) => r.config.kind === 'bpe-bytelevel')
		.sort((a, b) => b.createdAt - a.createdAt)
		.map((r) => ({ choice: { kind: 'bpe', hash: r.hash } as TokenizerChoice, key: `bpe:${r.hash}`, label: bpeLabel(r.config as TokenizerConfig) }));
	const pretrained = (await listCachedModels())
		.filter((m) => m.files.includes('tokenizer.json'))
		.map((m) => {
			const choice: TokenizerChoice = { kind: 'hub', model: { repo: m.repo, revision: m.revision } };
			return { choice, key: choiceKey(choice), label: `${m.repo} @ ${m.revision.slice(0, 8)}` };
		});
	return { project, pretrained, examples: rows.slice(0, EXAMPLES).map((r) => rowText(r).slice(0, EXAMPLE_CHARS)) };
}

// The last version's rows and the last few tokenizers: the view asks again on every change.
let lastRows: { versionId: string; rows: StoredRow[] } | undefined;
const tokenizers = new Map<string, ViewTokenizer>();
const lengths = new Map<string, RowLengths>();
const KEEP = 4;

function remember<V>(map: Map<string, V>, key: string, value: V): V {
	map.set(key, value);
	if (map.size > KEEP) map.delete(map.keys().next().value!);
	return value;
}

async function versionRows(versionId: string): Promise<StoredRow[]> {
	if (lastRows?.versionId === versionId) return lastRows.rows;
	if (!(await getDatasetVersion(versionId)))
		throw new UserError('not-found', `Dataset version ${versionId} is not stored (it may have been deleted). Pick another version on the Data screen.`);
	const rows = await loadRows(versionId);
	lastRows = { versionId, rows };
	return rows;
}

async function load(choice: TokenizerChoice, readerFor: ReaderFor): Promise<ViewTokenizer> {
	const key = choiceKey(choice);
	const known = tokenizers.get(key);
	if (known) return known;
	if (choice.kind === 'bpe') {
		const record = await getTokenizer(choice.hash);
		if (!record)
			throw new UserError('not-found', 'That tokenizer is no longer stored. Train the project tokenizer again (or start a run) and pick it again.');
		return remember(tokenizers, key, viewTokenizer(await TextTokenizer.fromJson(record.json), record.json));
	}
	const { tokenizer, json } = await loadHubTokenizer(readerFor(choice.model), choice.model.repo);
	return remember(tokenizers, key, viewTokenizer(tokenizer, json));
}

/** The example to show: one of the first rows by index, or a typed text. */
export type ExampleSource = { row: number } | { text: string };

async function exampleText(versionId: string, source: ExampleSource): Promise<string> {
	if ('text' in source) return source.text;
	const rows = await versionRows(versionId);
	const row = rows[source.row];
	if (!row) throw new UserError('not-found', `The version has no row ${source.row + 1}; pick one of its first rows.`);
	return rowText(row).slice(0, EXAMPLE_CHARS);
}

/** One example's tokens with their ids and kinds. */
export async function tokenExample(versionId: string, choice: TokenizerChoice, source: ExampleSource, readerFor: ReaderFor): Promise<ExampleTokens> {
	return exampleTokens(await load(choice, readerFor), await exampleText(versionId, source));
}

function requireContextLength(n: number): void {
	if (!Number.isInteger(n) || n < 1)
		throw new UserError('invalid-config', `The context length must be a positive whole number of tokens, got ${n}.`);
}

/** The histogram per split, the rows `contextLength` truncates and the unknown/byte-fallback rates. */
export async function tokenStats(versionId: string, choice: TokenizerChoice, contextLength: number, readerFor: ReaderFor): Promise<VersionTokenStats> {
	requireContextLength(contextLength);
	const key = `${versionId}|${choiceKey(choice)}`;
	let r = lengths.get(key);
	if (!r) {
		const t = await load(choice, readerFor);
		r = remember(lengths, key, rowLengths(t, await versionRows(versionId)));
	}
	return versionStats(r, contextLength);
}

/** The same example under two tokenizers, side by side (tokens per word for each). */
export async function compareTokenizers(versionId: string, a: TokenizerChoice, b: TokenizerChoice, source: ExampleSource, readerFor: ReaderFor): Promise<[ExampleTokens, ExampleTokens]> {
	const text = await exampleText(versionId, source);
	return [exampleTokens(await load(a, readerFor), text), exampleTokens(await load(b, readerFor), text)];
}
