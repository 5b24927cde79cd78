import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import {
	ALL_LABEL,
	datasetSummary,
	hubTokenizedKey,
	importDataset,
	inspectFile,
	prepareHubTokens,
	type ImportArgs
} from '../../../src/lib/data/pipeline';
import { applyChatTemplate, encodePrompt, fallbackPrompt } from '../../../src/lib/data/chat';
import { encodeInstruction, fitInstruction } from '../../../src/lib/data/hub-tokens';
import { sha256Hex } from '../../../src/lib/data/hash';
import { loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import type { TokenizedCache } from '../../../src/lib/shared/types';
import { getTokenized, getTokenizer, listDatasetVersions, loadRows, useDatabase } from '../../../src/lib/storage';
import { enc, hubFiles, hubText, llamaStyle, sampleFile, ticketsCsv } from './fixtures';

const buf = (s: string) => enc(s).buffer as ArrayBuffer;
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const model = { repo: 'whetstone-test/tiny', revision: 'abc123' };

function args(fileName: string, bytes: ArrayBuffer, over: Partial<ImportArgs>): ImportArgs {
	return { projectId: 'p1', fileName, bytes, textColumn: 'text', split: { ...defaultSplitConfig }, skipBadRows: false, ...over };
}

async function rejection(p: Promise<unknown>): Promise<UserError> {
	try {
		await p;
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

/** Row i's ids in a tokenized cache. */
const rowIds = (c: TokenizedCache, i: number) => Array.from(c.ids.subarray(c.offsets[i], c.offsets[i + 1]));

beforeEach(() => useDatabase('test-' + Math.random()));

describe('inspectFile guesses the kind', () => {
	it('for the sample files', async () => {
		expect((await inspectFile('a.jsonl', sampleFile('alpaca-sample.jsonl'))).kind).toMatchObject({ kind: 'pairs', format: 'alpaca' });
		expect((await inspectFile('c.jsonl', sampleFile('chat-sample.jsonl'))).kind).toMatchObject({ kind: 'pairs', format: 'chat', textColumn: 'messages' });
		expect((await inspectFile('d.jsonl', sampleFile('domain-text.jsonl'))).kind).toMatchObject({ kind: 'text', textColumn: 'text' });
		const tickets = await inspectFile('t.csv', buf(ticketsCsv(60)));
		expect(tickets.kind).toMatchObject({ kind: 'classification', textColumn: 'text', labelColumn: 'team' });
		expect(tickets.guess).toEqual({ text: 'text', label: 'team' });
	});
});

describe('importDataset of text and pairs', () => {
	it('imports text with one label and a random split', async () => {
		const v = await importDataset(args('handbook.jsonl', sampleFile('domain-text.jsonl'), { kind: 'text' }));
		expect(v).toMatchObject({ kind: 'text', textColumn: 'text', labelColumn: '', labels: [ALL_LABEL], labelCounts: [30], rowCount: 30 });
		// One class of 30: round(4.5) = 5 test, 3 validation.
		expect(v.split.sizes).toEqual({ train: 22, validation: 3, test: 5 });
		const rows = await loadRows(v.id);
		expect(rows.every((r) => r.label === 0 && r.response === undefined)).toBe(true);
		const again = await importDataset(args('handbook.jsonl', sampleFile('domain-text.jsonl'), { kind: 'text' }));
		expect(again.contentHash).toBe(v.contentHash);
	});

	it('imports Alpaca pairs: the prompt in text, the output in response', async () => {
		const v = await importDataset(args('alpaca.jsonl', sampleFile('alpaca-sample.jsonl'), { kind: 'pairs', textColumn: 'instruction', responseColumn: 'output' }));
		expect(v).toMatchObject({ kind: 'pairs', textColumn: 'instruction', labelColumn: 'output', labels: [ALL_LABEL], rowCount: 20 });
		const rows = await loadRows(v.id);
		expect(rows[2]).toMatchObject({ text: 'Write a short, friendly reply asking for the order number.', label: 0, response: expect.stringMatching(/^Thanks for getting in touch!/) });
		expect(rows[0].text).toMatch(/one sentence\.\n\nI bought the yearly plan/);

		// The response is part of the content hash.
		const edited = new TextDecoder().decode(sampleFile('alpaca-sample.jsonl')).replace('"output": "shipping"', '"output": "billing"');
		const w = await importDataset(args('alpaca.jsonl', buf(edited), { kind: 'pairs', textColumn: 'instruction', responseColumn: 'output' }));
		expect(w.contentHash).not.toBe(v.contentHash);
	});

	it('imports chat conversations, keeping the messages', async () => {
		const v = await importDataset(args('chat.jsonl', sampleFile('chat-sample.jsonl'), { kind: 'pairs', textColumn: 'messages' }));
		expect(v).toMatchObject({ kind: 'pairs', textColumn: 'messages', labelColumn: '', rowCount: 20 });
		const rows = await loadRows(v.id);
		const multi = rows.find((r) => r.messages!.length === 4)!;
		expect(multi.response).toBe(multi.messages![3].content);
		expect(multi.text).toBe(`User: ${multi.messages![0].content}\n\nAssistant: ${multi.messages![1].content}\n\nUser: ${multi.messages![2].content}`);

		const s = await datasetSummary(v.id);
		expect(s.splitCounts.map((c) => c[0])).toEqual([v.split.sizes.train, v.split.sizes.validation, v.split.sizes.test]);
		expect(s.sample[0]).toMatchObject({ label: ALL_LABEL, response: expect.any(String), turns: expect.any(Number) });
		expect(s.lengths.response!.max).toBeGreaterThan(s.lengths.response!.mean);
		expect(s.lengths.text.mean).toBeCloseTo(rows.reduce((a, r) => a + r.text.length, 0) / rows.length);
	});

	it('refuses unreadable conversations unless skipping, and drops those without a final reply', async () => {
		const good = Array.from({ length: 12 }, (_, i) => ({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }] }));
		const file = buf(jsonl([...good, { messages: 'hello' }, { messages: [{ role: 'user', content: 'q' }] }, { messages: [{ role: 'user' }] }]));
		const e = await rejection(importDataset(args('c.jsonl', file, { kind: 'pairs', textColumn: 'messages' })));
		expect(e.code).toBe('parse-error');
		expect(e.lines).toEqual([13, 15]);
		expect(e.message).toMatch(/^2 rows have messages that could not be read: line 13: the messages are not valid JSON.*; line 15: message 1 has no "content"\. .*'Skip bad rows' to import the 12 rows/);
		expect(await listDatasetVersions('p1')).toEqual([]);

		const v = await importDataset(args('c.jsonl', file, { kind: 'pairs', textColumn: 'messages', skipBadRows: true }));
		expect(v.rowCount).toBe(12);
		expect(v.dropped.map((d) => d.line)).toEqual([13, 14, 15]);
		expect(v.dropped[1].reason).toMatch(/ends with a "user" turn/);
	});

	it('names a wrong response column', async () => {
		const file = buf(jsonl(Array.from({ length: 20 }, (_, i) => ({ question: `q${i}`, answer: i % 3 ? '' : `a${i}`, notes: `n${i}` }))));
		const e = await rejection(importDataset(args('qa.jsonl', file, { kind: 'pairs', textColumn: 'question', responseColumn: 'answer' })));
		expect(e.code).toBe('no-label-column');
		expect(e.message).toBe('Column "answer" is empty in 13 of 20 rows. Pick the column that holds the response.');
		expect((await rejection(importDataset(args('qa.jsonl', file, { kind: 'pairs', textColumn: 'question', responseColumn: 'nope' })))).message).toMatch(/no column named "nope"/);
		expect(await listDatasetVersions('p1')).toEqual([]);
	});
});

describe('prepareHubTokens', () => {
	it('classification: special tokens around each row, truncated keeping them; the cache and tokenizer are stored', async () => {
		const v = await importDataset({ ...args('t.csv', buf(ticketsCsv(80)), {}), labelColumn: 'team' });
		const out = await prepareHubTokens(v.id, model, 'classification', 12, hubFiles('bert'));
		const hash = await sha256Hex(hubText('bert', 'tokenizer.json'));
		expect(out).toMatchObject({ tokenizerHash: hash, key: `${v.id}:${hash}:classification:12`, vocabSize: 109, rows: 80 });
		expect(out.key).toBe(hubTokenizedKey(v.id, hash, 'classification', 12));
		expect(out.truncated).toBeGreaterThan(0);
		expect(await getTokenizer(hash)).toMatchObject({ hash, datasetVersionId: v.id, config: { kind: 'hub', ...model }, json: hubText('bert', 'tokenizer.json') });

		const { tokenizer } = await loadHubTokenizer(hubFiles('bert'));
		const cache = (await getTokenized(out.key))!;
		expect(cache.tokenizerHash).toBe(hash);
		expect(cache.lossStart).toBeUndefined();
		const rows = await loadRows(v.id);
		expect(Array.from(cache.labels)).toEqual(rows.map((r) => r.label));
		expect(Array.from(cache.splits)).toEqual(rows.map((r) => r.split));
		rows.forEach((r, i) => {
			const ids = rowIds(cache, i);
			expect(ids[0]).toBe(2);
			expect(ids[ids.length - 1]).toBe(3);
			expect(ids.slice(1, -1)).toEqual(tokenizer.encode(r.text).slice(0, 10));
		});

		// Reused, with its counts.
		expect(await prepareHubTokens(v.id, model, 'classification', 12, hubFiles('bert'))).toEqual({ ...out, reused: { tokenizer: false, tokens: true } });
		expect((await getTokenized(out.key))!.createdAt).toBe(cache.createdAt);
	});

	it('causal LM: rows with EOS, packed per split into blocks of maxLength, the last one kept', async () => {
		const v = await importDataset(args('d.jsonl', sampleFile('domain-text.jsonl'), { kind: 'text' }));
		const rows = await loadRows(v.id);
		for (const [name, files, bos, eos] of [
			['gpt2', hubFiles('gpt2'), undefined, 0],
			['llama-style', hubFiles('gpt2', llamaStyle()), 99, 100]
		] as const) {
			const out = await prepareHubTokens(v.id, model, 'causal-lm', 64, files);
			const cache = (await getTokenized(out.key))!;
			const { tokenizer } = await loadHubTokenizer(files);
			expect(out.key, name).toMatch(/:causal-lm:64$/);
			for (const split of [0, 1, 2]) {
				const expected = rows.filter((r) => r.split === split).flatMap((r) => [...(bos === undefined ? [] : [bos]), ...tokenizer.encode(r.text), eos]);
				const blocks = [...cache.splits.keys()].filter((i) => cache.splits[i] === split).map((i) => rowIds(cache, i));
				expect(blocks.flat(), name).toEqual(expected);
				expect(blocks.slice(0, -1).every((b) => b.length === 64)).toBe(true);
				expect(blocks.at(-1)!.length).toBe(expected.length - 64 * (blocks.length - 1));
			}
			expect(Array.from(cache.labels).every((l) => l === 0)).toBe(true);
			expect(out.rows).toBe(cache.splits.length);
		}
	});

	it("instruction with a chat template: the prompt is the rendering up to the generation prompt, loss from there", async () => {
		const v = await importDataset(args('c.jsonl', sampleFile('chat-sample.jsonl'), { kind: 'pairs', textColumn: 'messages' }));
		const rows = await loadRows(v.id);
		const out = await prepareHubTokens(v.id, model, 'instruction', 512, hubFiles('llama'));
		expect(out).toMatchObject({ rows: 20, truncated: 0, dropped: 0 });
		const cache = (await getTokenized(out.key))!;
		const { tokenizer, config } = await loadHubTokenizer(hubFiles('llama'));
		rows.forEach((r, i) => {
			const ids = rowIds(cache, i);
			const start = cache.lossStart![i];
			expect(ids.slice(0, start)).toEqual(encodePrompt(tokenizer, config, r.messages!.slice(0, -1)));
			// The whole conversation as the template renders it; <|im_end|> is the EOS, so none is added.
			expect(tokenizer.decode(ids, { skipSpecialTokens: false })).toBe(applyChatTemplate(config, r.messages!));
			expect(tokenizer.decode(ids.slice(start), { skipSpecialTokens: false })).toBe(`${r.response}<|im_end|>\n`);
		});
	});

	it('instruction without a template: the Alpaca prompt, then the response and EOS', async () => {
		const v = await importDataset(args('a.jsonl', sampleFile('alpaca-sample.jsonl'), { kind: 'pairs', textColumn: 'instruction', responseColumn: 'output' }));
		const rows = await loadRows(v.id);
		const out = await prepareHubTokens(v.id, model, 'instruction', 1024, hubFiles('qwen2'));
		const cache = (await getTokenized(out.key))!;
		const { tokenizer } = await loadHubTokenizer(hubFiles('qwen2'));
		rows.forEach((r, i) => {
			const ids = rowIds(cache, i);
			const prompt = tokenizer.encode(fallbackPrompt(r.text));
			expect(cache.lossStart![i]).toBe(prompt.length);
			expect(ids).toEqual([...prompt, ...tokenizer.encode(r.response!), 0]);
		});
	});

	it('instruction: long prompts are cut from the left so half of maxLength stays for the response', async () => {
		const v = await importDataset(args('a.jsonl', sampleFile('alpaca-sample.jsonl'), { kind: 'pairs', textColumn: 'instruction', responseColumn: 'output' }));
		const rows = await loadRows(v.id);
		const out = await prepareHubTokens(v.id, model, 'instruction', 40, hubFiles('gpt2', llamaStyle()));
		expect(out.truncated).toBe(20); // every Alpaca prompt alone is longer than 40 characters
		const cache = (await getTokenized(out.key))!;
		const { tokenizer } = await loadHubTokenizer(hubFiles('gpt2', llamaStyle()));
		rows.forEach((r, i) => {
			const ids = rowIds(cache, i);
			const start = cache.lossStart![i];
			const response = [...tokenizer.encode(r.response!), 100];
			const prompt = [99, ...tokenizer.encode(fallbackPrompt(r.text))];
			expect(ids.length).toBe(Math.min(40, start + response.length));
			expect(start).toBe(Math.max(20, 40 - response.length));
			expect(ids[0]).toBe(99); // BOS kept
			expect(ids.slice(1, start)).toEqual(prompt.slice(prompt.length - (start - 1)));
			expect(ids.slice(start)).toEqual(response.slice(0, 40 - start));
		});
	});

	it('refuses an objective the dataset cannot serve, and a model without a tokenizer', async () => {
		const text = await importDataset(args('d.jsonl', sampleFile('domain-text.jsonl'), { kind: 'text' }));
		expect((await rejection(prepareHubTokens(text.id, model, 'instruction', 64, hubFiles('gpt2')))).code).toBe('invalid-config');
		expect((await rejection(prepareHubTokens(text.id, model, 'classification', 64, hubFiles('gpt2')))).message).toMatch(/has no labels/);
		const missing = await rejection(prepareHubTokens(text.id, model, 'causal-lm', 64, hubFiles('gpt2', { 'tokenizer.json': undefined })));
		expect(missing.code).toBe('not-found');
		expect(missing.message).toMatch(/whetstone-test\/tiny/);
		expect((await rejection(prepareHubTokens(text.id, model, 'causal-lm', 1, hubFiles('gpt2')))).code).toBe('invalid-config');
	});
});

describe('fitting an instruction example', () => {
	it('cuts the prompt from the left, keeping BOS, then the end', async () => {
		const { tokenizer } = await loadHubTokenizer(hubFiles('gpt2', llamaStyle()));
		const p = [99, 1, 2, 3, 4, 5, 6, 7, 8, 9];
		const r = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
		expect(fitInstruction(tokenizer, p, r.slice(0, 2), 12)).toEqual({ ids: [...p, 11, 12], lossStart: 10, truncated: false });
		expect(fitInstruction(tokenizer, p, r.slice(0, 2), 8)).toEqual({ ids: [99, 5, 6, 7, 8, 9, 11, 12], lossStart: 6, truncated: true });
		expect(fitInstruction(tokenizer, p, r, 8)).toEqual({ ids: [99, 7, 8, 9, 11, 12, 13, 14], lossStart: 4, truncated: true });
		expect(fitInstruction(tokenizer, [1, 2], r, 8)).toEqual({ ids: [1, 2, 11, 12, 13, 14, 15, 16], lossStart: 2, truncated: true });
	});

	it('drops a row with no response token left', async () => {
		const { tokenizer, config } = await loadHubTokenizer(hubFiles('bert')); // no EOS to append
		const row = { text: 'question', response: '   ', label: 0, split: 0 };
		const out = encodeInstruction(tokenizer, config, [row, { ...row, response: 'answer' }], 64);
		expect(out.dropped).toBe(1);
		expect(out.ids).toHaveLength(1);
	});
});
