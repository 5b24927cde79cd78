/**
 * Trained tokenizers (keyed by the hash of their tokenizer.json) and the token ids of a dataset
 * version under one of them, cached so a run does not re-tokenize the same data. A tokenizer
 * trained here is found again by its dataset version and settings, so it is not trained twice.
 */
import type { TokenizerConfig } from '../shared/config';
import type { TokenizedCache, TokenizerRecord } from '../shared/types';
import { openDb } from './db';
import { write } from './tx';

export function tokenizedKey(versionId: string, tokenizerHash: string): string {
	return `${versionId}:${tokenizerHash}`;
}

export async function putTokenizer(record: TokenizerRecord): Promise<void> {
	await write(['tokenizers'], async (tx) => void (await tx.objectStore('tokenizers').put(record)), {
		what: 'the tokenizer'
	});
}

export async function getTokenizer(hash: string): Promise<TokenizerRecord | undefined> {
	return (await openDb()).get('tokenizers', hash);
}

export async function putTokenized(cache: TokenizedCache): Promise<void> {
	await write(['tokenized'], async (tx) => void (await tx.objectStore('tokenized').put(cache)), {
		what: 'the tokenized dataset'
	});
}

export async function getTokenized(key: string): Promise<TokenizedCache | undefined> {
	return (await openDb()).get('tokenized', key);
}

/** Settings as one string with sorted keys, so equal settings compare equal whatever their key order. */
function canonical(value: unknown): string {
	if (value === null || typeof value !== 'object') return JSON.stringify(value);
	if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
	const o = value as Record<string, unknown>;
	return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/**
 * The tokenizer already trained on `versionId` with exactly these settings, if one is stored
 * (training a BPE is deterministic: the same train split and settings give the same tokenizer.json).
 */
export async function findTrainedTokenizer(versionId: string, config: TokenizerConfig): Promise<TokenizerRecord | undefined> {
	const want = canonical(config);
	const stored = await (await openDb()).getAllFromIndex('tokenizers', 'byVersion', versionId);
	return stored.filter((r) => canonical(r.config) === want).sort((a, b) => b.createdAt - a.createdAt)[0];
}
