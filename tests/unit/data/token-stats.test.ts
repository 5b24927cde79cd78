import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../../src/lib/data/bpe';
import { TextTokenizer, loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import {
	binWidth,
	countWords,
	exampleTokens,
	lengthHistogram,
	rowLengths,
	rowText,
	truncatedBySplit,
	versionStats,
	viewTokenizer,
	type ViewTokenizer
} from '../../../src/lib/data/token-stats';
import { defaultTokenizerConfig } from '../../../src/lib/shared/config';
import { Prng } from '../../../src/lib/shared/prng';
import type { StoredRow } from '../../../src/lib/shared/types';
import { hubFiles, hubText, enc, ticketsCsv } from './fixtures';
import { importDataset, prepareTokens, type ImportArgs } from '../../../src/lib/data/pipeline';
import { compareTokenizers, tokenExample, tokenStats, tokenViewSources, type TokenizerChoice } from '../../../src/lib/data/token-view';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { loadRows, putModelFile, useDatabase } from '../../../src/lib/storage';

const WORDS = ['refund', 'my', 'invoice', 'the', 'parcel', 'is', 'late', 'again', 'app', 'crashes', 'on', 'login', 'café', 'naïve', '42', 'order'];

/** Rows of 1–40 random words, in all three splits. */
function makeRows(n: number, seed = 7): StoredRow[] {
	const rng = new Prng(seed);
	return Array.from({ length: n }, (_, i) => {
		const words = Array.from({ length: 1 + rng.int(40) }, () => WORDS[rng.int(WORDS.length)]);
		return { text: words.join(rng.next() < 0.2 ? '  ' : ' '), label: 0, split: i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0 };
	});
}

async function hub(name: string, override: Record<string, string | undefined> = {}): Promise<ViewTokenizer> {
	const read = hubFiles(name, override);
	const { tokenizer, json } = await loadHubTokenizer(read);
	return viewTokenizer(tokenizer, json);
}

function bpe(rows: StoredRow[]): ViewTokenizer {
	const json = trainBpe(rows.filter((r) => r.split === 0).map((r) => r.text), defaultTokenizerConfig);
	return viewTokenizer(new TextTokenizer(json), json);
}

/** The tiny Mistral tokenizer with `byte_fallback` on and the 256 `<0xNN>` tokens added to its vocabulary. */
function byteFallbackFiles(): Record<string, string> {
	const json = JSON.parse(hubText('mistral', 'tokenizer.json'));
	json.model.byte_fallback = true;
	json.model.unk_token = '<unk>';
	let next = Math.max(...(Object.values(json.model.vocab) as number[]), ...json.added_tokens.map((t: { id: number }) => t.id)) + 1;
	for (let b = 0; b < 256; b++) json.model.vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = next++;
	return { 'tokenizer.json': JSON.stringify(json) };
}

describe('token view: one example', () => {
	const rows = makeRows(200);

	it("shows exactly the tokenizer's encode ids, with the trained BPE and the tiny Hub tokenizers", async () => {
		const text = 'Refund my invoice, order 1042 — café!';
		for (const t of [bpe(rows), await hub('gpt2'), await hub('bert'), await hub('llama'), await hub('roberta'), await hub('mistral')]) {
			const shown = exampleTokens(t, text);
			expect(shown.tokens.map((x) => x.id)).toEqual(t.tokenizer.encode(text, { addSpecialTokens: true }));
			expect(shown.words).toBe(7); // "—" counts as a word
			expect(shown.tokensPerWord).toBeCloseTo(shown.tokens.length / 7, 12);
		}
	});

	it("our byte-level BPE has no unknown tokens, and its tokens' texts join back into the text", () => {
		const t = bpe(rows);
		const shown = exampleTokens(t, 'the parcel is late — café ☕');
		expect(shown.unknown).toBe(0);
		expect(shown.byteFallback).toBe(0);
		expect(shown.tokens.every((x) => x.kind === 'text')).toBe(true);
		// Lowercasing is the BPE's normalizer; whole characters here decode token by token.
		expect(shown.tokens.map((x) => x.text).join('')).toContain('the parcel is late');
	});

	it('shows a byte-level token that holds part of a character as its bytes', () => {
		const t = bpe(rows);
		const shown = exampleTokens(t, '☕');
		// ☕ is E2 98 95 in UTF-8; whatever the merges, the pieces spell those bytes in order.
		expect(shown.tokens.map((x) => x.text).join('')).toMatch(/^(<E2>|<98>|<95>)+$|^☕$/);
		if (shown.tokens.length > 1) expect(shown.tokens.map((x) => x.text).join('')).toBe('<E2><98><95>');
		expect(exampleTokens(t, 'the').tokens.map((x) => x.text).join('')).toBe('the');
	});

	it('marks unknown tokens and the special tokens the post-processor adds', async () => {
		const bert = await hub('bert');
		const shown = exampleTokens(bert, 'hello ☕ world');
		expect(shown.tokens[0]).toMatchObject({ id: 2, kind: 'special', token: '[CLS]' });
		expect(shown.tokens[shown.tokens.length - 1]).toMatchObject({ id: 3, kind: 'special', token: '[SEP]' });
		const unknown = shown.tokens.filter((x) => x.kind === 'unknown');
		expect(unknown).toHaveLength(1);
		expect(unknown[0].id).toBe(1);
		expect(shown.unknown).toBe(1);

		const gpt2 = await hub('gpt2');
		const g = exampleTokens(gpt2, 'naïve');
		expect(g.tokens.map((x) => x.kind)).toEqual(['text', 'text', 'unknown', 'text', 'text']);
		expect(g.unknown).toBe(1);
	});

	it('marks byte-fallback tokens of a BPE with byte_fallback', async () => {
		const t = await hub('mistral', byteFallbackFiles());
		expect(t.byteFallback).toBe(true);
		const shown = exampleTokens(t, 'the é');
		const bytes = shown.tokens.filter((x) => x.kind === 'byte');
		// é is two UTF-8 bytes, C3 A9.
		expect(bytes.map((x) => x.token)).toEqual(['<0xC3>', '<0xA9>']);
		expect(shown.byteFallback).toBe(2);
		expect(shown.unknown).toBe(0);
		expect(shown.tokens.map((x) => x.id)).toEqual(t.tokenizer.encode('the é', { addSpecialTokens: true }));
	});

	it('counts words as runs of non-space characters', () => {
		expect(countWords('')).toBe(0);
		expect(countWords('  a  b\tc\n')).toBe(3);
		expect(exampleTokens(bpe(rows), '   ').tokensPerWord).toBe(0);
	});
});

describe('token view: the whole version', () => {
	const rows = makeRows(300, 3);

	it('has one length per row equal to the encoded length, histogram counts summing to the split sizes', async () => {
		for (const t of [bpe(rows), await hub('bert'), await hub('llama')]) {
			const r = rowLengths(t, rows);
			rows.forEach((row, i) => expect(r.lengths[i]).toBe(t.tokenizer.encode(row.text, { addSpecialTokens: true }).length));
			const stats = versionStats(r, 20);
			const sizes = [0, 1, 2].map((s) => rows.filter((x) => x.split === s).length);
			expect(stats.splitRows).toEqual(sizes);
			expect(stats.histogram.counts.map((c) => c.reduce((a, b) => a + b, 0))).toEqual(sizes);
			// Every row is in the bin its length falls into.
			const { width, counts } = stats.histogram;
			for (let bin = 0; bin < counts[0].length; bin++)
				for (let s = 0; s < 3; s++)
					expect(counts[s][bin]).toBe(rows.filter((x, i) => x.split === s && Math.floor(r.lengths[i] / width) === bin).length);
			expect(counts[0].length).toBeLessThanOrEqual(12);
			expect(stats.longest).toBe(Math.max(...r.lengths));
			expect(stats.tokens).toBe(r.lengths.reduce((a, b) => a + b, 0));
		}
	});

	it('truncates the rows longer than the context length, per split, and recounts for another length', () => {
		const t = bpe(rows);
		const r = rowLengths(t, rows);
		for (const context of [1, 8, 20, 33, 1000]) {
			const direct = [0, 1, 2].map((s) => rows.filter((x) => x.split === s && t.tokenizer.encode(x.text).length > context).length);
			expect(truncatedBySplit(r.lengths, r.splits, context)).toEqual(direct);
			expect(versionStats(r, context).truncated).toEqual(direct);
		}
		expect(versionStats(r, 1000).truncated).toEqual([0, 0, 0]);
		expect(versionStats(r, 8).truncated.reduce((a, b) => a + b, 0)).toBeGreaterThan(versionStats(r, 33).truncated.reduce((a, b) => a + b, 0));
	});

	it('gives the unknown rate over the version and tokens per word', async () => {
		const t = await hub('gpt2');
		const r = rowLengths(t, rows);
		// café and naïve each hold one character the tiny GPT-2 does not know.
		let unknown = 0, tokens = 0, words = 0;
		for (const row of rows) {
			const ids = t.tokenizer.encode(row.text, { addSpecialTokens: true });
			unknown += ids.filter((id) => id === t.unknownId).length;
			tokens += ids.length;
			words += row.text.split(/\s+/).filter(Boolean).length;
			const nonAscii = [...row.text].filter((c) => c.charCodeAt(0) > 127).length;
			expect(ids.filter((id) => id === t.unknownId).length).toBe(nonAscii);
		}
		const stats = versionStats(r, 64);
		expect(unknown).toBeGreaterThan(0);
		expect(stats.unknown).toBe(unknown);
		expect(stats.unknownRate).toBeCloseTo(unknown / tokens, 12);
		expect(stats.byteFallbackRate).toBe(0);
		expect(stats.tokensPerWord).toBeCloseTo(tokens / words, 12);
		// One id per character for the tiny GPT-2: tokens per word is the mean word length, spaces counted.
		expect(stats.tokensPerWord).toBeGreaterThan(3);
	});

	it('reads a prompt/response row as the prompt then the response', () => {
		expect(rowText({ text: 'hi', response: 'hello', label: 0, split: 0 })).toBe('hi\nhello');
		expect(rowText({ text: 'hi', label: 0, split: 0 })).toBe('hi');
	});

	it('picks a 1-2-5 bin width that fits the longest row in at most 12 bins', () => {
		expect(binWidth(0)).toBe(1);
		expect(binWidth(11)).toBe(1);
		expect(binWidth(12)).toBe(2);
		expect(binWidth(59)).toBe(5);
		expect(binWidth(60)).toBe(10);
		expect(binWidth(1000)).toBe(100);
		const h = lengthHistogram(Int32Array.from([0, 5, 10, 119]), Uint8Array.from([0, 1, 2, 0]));
		expect(h.width).toBe(10);
		expect(h.counts.map((c) => c.length)).toEqual([12, 12, 12]);
		expect(h.counts[0][0]).toBe(1);
		expect(h.counts[0][11]).toBe(1);
		expect(h.counts[1][0]).toBe(1);
		expect(h.counts[2][1]).toBe(1);
	});
});

describe('token view in the data worker: stored tokenizers and versions', () => {
	const model = { repo: 'whetstone-test/tiny-gpt2', revision: 'a'.repeat(40) };
	const readerFor = () => hubFiles('gpt2');

	it('lists the BPEs trained on the version and the cached models, and counts with the same tokenizers', async () => {
		useDatabase('test-' + Math.random());
		const v = await importDataset({ projectId: 'p1', fileName: 't.csv', bytes: enc(ticketsCsv(80)).buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'team', split: { ...defaultSplitConfig }, skipBadRows: false } as ImportArgs);
		const none = await tokenViewSources(v.id);
		expect(none.project).toEqual([]);
		expect(none.pretrained).toEqual([]);

		const prep = await prepareTokens(v.id, defaultTokenizerConfig, 64);
		await putModelFile(model, 'tokenizer.json', (await hubFiles('gpt2')('tokenizer.json'))!);
		const sources = await tokenViewSources(v.id);
		expect(sources.project.map((o) => [o.key, o.label])).toEqual([[`bpe:${prep.tokenizerHash}`, 'Project BPE · vocabulary 512, lowercased']]);
		expect(sources.pretrained.map((o) => o.label)).toEqual([`${model.repo} @ aaaaaaaa`]);
		const rows = await loadRows(v.id);
		expect(sources.examples).toEqual(rows.slice(0, 10).map((r) => r.text));

		const bpeChoice = sources.project[0].choice;
		const hubChoice: TokenizerChoice = { kind: 'hub', model };
		const direct = bpe(rows);
		const shown = await tokenExample(v.id, bpeChoice, { row: 2 }, readerFor);
		expect(shown.tokens.map((t) => t.id)).toEqual(direct.tokenizer.encode(rows[2].text));

		const stats = await tokenStats(v.id, bpeChoice, 10, readerFor);
		expect(stats).toEqual(versionStats(rowLengths(direct, rows), 10));
		// Another length recounts from the kept lengths, to the same figures as counted directly.
		expect((await tokenStats(v.id, bpeChoice, 20, readerFor)).truncated).toEqual(truncatedBySplit(rowLengths(direct, rows).lengths, rowLengths(direct, rows).splits, 20));

		const [a, b] = await compareTokenizers(v.id, bpeChoice, hubChoice, { text: 'refund my payment please' }, readerFor);
		expect(a.tokensPerWord).toBeCloseTo(direct.tokenizer.encode('refund my payment please').length / 4, 12);
		expect(b.tokens).toHaveLength('refund my payment please'.length);
		expect(b.tokensPerWord).toBe(24 / 4);

		await expect(tokenStats(v.id, bpeChoice, 0, readerFor)).rejects.toMatchObject({ code: 'invalid-config' });
		await expect(tokenExample(v.id, { kind: 'bpe', hash: 'f'.repeat(64) }, { row: 0 }, readerFor)).rejects.toMatchObject({ code: 'not-found' });
		await expect(tokenExample('ds_missing', bpeChoice, { row: 0 }, readerFor)).rejects.toMatchObject({ code: 'not-found' });
	});
});
