/**
 * Trained tokenizers (keyed by the hash of their tokenizer.json) and the token ids of a dataset
 * version under one of them, cached so a run does not re-tokenize the same data.
 */
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
