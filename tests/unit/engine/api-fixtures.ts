/**
 * What the engine-API tests share (tfjs CPU, fake-indexeddb): a small support-ticket CSV, a run
 * created on it through the worker's own API (import, tokenize, create) with a tiny classifier,
 * and seeded token rows for the loop-level tests.
 */
import { api } from '../../../workers/engine-api';
import { importDataset, prepareTokens } from '../../../src/lib/data/pipeline';
import { defaultRunConfig, type TrainConfig } from '../../../src/lib/shared/config';
import type { LmTokenRows } from '../../../src/lib/engine/pretrained';
import { Prng } from '../../../src/lib/shared/prng';

export const TICKET_WORDS: Record<string, string[]> = {
	billing: ['refund', 'invoice', 'charged', 'payment', 'price'],
	shipping: ['parcel', 'delivery', 'tracking', 'courier', 'address'],
	technical: ['crash', 'error', 'sync', 'bug', 'loading']
};

/** 30 tickets per class; with `region`, a third column alternating EU / NA for slices. */
export function ticketsCsv(region = false): string {
	const lines = [region ? 'text,label,region' : 'text,label'];
	let i = 0;
	for (const [label, ws] of Object.entries(TICKET_WORDS))
		for (let k = 0; k < 30; k++) lines.push(`ticket ${i++} about the ${ws[k % 5]} and ${ws[(k * 3) % 5]} again,${label}${region ? (k % 2 ? ',EU' : ',NA') : ''}`);
	return lines.join('\n');
}

/**
 * Imports the tickets into project 'p1', tokenizes them (BPE vocabulary 300) and creates run 'r':
 * one layer, two heads, width 16, context 16, no dropout, batch 8, with `train` over that.
 */
export async function createTicketRun(train: Partial<TrainConfig>, opts: { test?: number; region?: boolean } = {}) {
	const bytes = new TextEncoder().encode(ticketsCsv(opts.region)).buffer as ArrayBuffer;
	const version = await importDataset({ projectId: 'p1', fileName: 't.csv', bytes, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.15, test: opts.test ?? 0.15 }, skipBadRows: false });
	const config = defaultRunConfig(version.labels.length);
	config.model = { ...config.model, nLayer: 1, nHead: 2, dModel: 16, contextLength: 16, dropout: 0 };
	config.tokenizer.vocabSize = 300;
	config.train = { ...config.train, batchSize: 8, ...train };
	const prep = await prepareTokens(version.id, config.tokenizer, config.model.contextLength);
	config.model.vocabSize = prep.vocabSize;
	const run = await api.createRun({ projectId: 'p1', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, config, name: 'r' });
	return { run, version };
}

/** `n` seeded rows of 4-13 tokens whose first token tells the class (i % classes). */
export function classRows(n: number, classes = 3, seed = 1): LmTokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const labels: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 4 + rng.int(10);
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 4 + (i % classes) : 10 + rng.int(50));
		offsets.push(ids.length);
		labels.push(i % classes);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(labels) };
}
