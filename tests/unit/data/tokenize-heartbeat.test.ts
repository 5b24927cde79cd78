// A large tokenization leaves the worker answering: BPE training and encoding run in slices that
// yield to the event loop, so a heartbeat ping (src/lib/client/bridge.ts: 180 s without an answer
// and the worker is killed) is answered while either is under way. Before, both ran in one
// synchronous stretch: at a million rows, for minutes. Nothing half-made is stored.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { importDataset, prepareHubTokens, prepareTokens, type ImportArgs } from '../../../src/lib/data/pipeline';
import { packCausalLm } from '../../../src/lib/data/hub-tokens';
import { loadHubTokenizer } from '../../../src/lib/data/tokenizer';
import { encodeRows, type RowEncoder } from '../../../src/lib/data/tokenize-rows';
import { defaultSplitConfig, defaultTokenizerConfig } from '../../../src/lib/shared/config';
import type { PhaseProgress } from '../../../src/lib/shared/phases';
import { getTokenized, getTokenizer, loadRows, tokenizedKey, useDatabase } from '../../../src/lib/storage';
import { findTrainedTokenizer } from '../../../src/lib/storage/tokenizers';
import { enc, hubFiles, ticketsCsv } from './fixtures';
import { heartbeat } from './heartbeat';

const ROWS = 20_000;
const importTickets = (n: number) =>
	importDataset({ projectId: 'p1', fileName: 't.csv', bytes: enc(ticketsCsv(n, 3)).buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'team', split: { ...defaultSplitConfig }, skipBadRows: false } as ImportArgs);

beforeEach(() => useDatabase('test-' + Math.random()));

describe('tokenizing many rows keeps the worker answering', () => {
	const cfg = { ...defaultTokenizerConfig, vocabSize: 400 };

	it(`answers pings while the BPE trains and while ${ROWS.toLocaleString('en-US')} rows are tokenized`, async () => {
		const v = await importTickets(ROWS);
		// Phase events logged beside the heartbeat's pings, on a clock that moves 5 ms a reading (heartbeat.ts).
		const beat = heartbeat();
		let prep;
		try {
			prep = await prepareTokens(v.id, cfg, 32, (p: PhaseProgress | null) => void (p && beat.log.push(`${p.phase} ${p.done}/${p.total}`)));
		} finally {
			beat.stop();
		}
		const { log, pingsDuring } = beat;
		// Training: from the first merge counted to the last report.
		expect(pingsDuring('training-tokenizer', (e) => !e.endsWith('/0'))).toBeGreaterThan(0);
		// Tokenizing: from "0 / 20000 rows" to "20000 / 20000 rows".
		expect(pingsDuring('tokenizing', () => true)).toBeGreaterThan(0);
		expect(log.filter((e) => e.startsWith('tokenizing')).at(-1)).toBe(`tokenizing ${ROWS}/${ROWS}`);
		const cache = (await getTokenized(prep.key))!;
		expect(cache.offsets).toHaveLength(ROWS + 1);
	}, 120_000);

	it('stores no tokens when tokenizing stops part way (the worker ended, Cancel), and the next try tokenizes whole', async () => {
		const v = await importTickets(2_000);
		const failing: RowEncoder = async (json, texts, maxLength, onRows) => {
			await encodeRows(json, texts.slice(0, 1000), maxLength, onRows);
			throw new Error('the worker was ended');
		};
		await expect(prepareTokens(v.id, cfg, 32, undefined, failing)).rejects.toThrow('the worker was ended');
		// The tokenizer is stored whole (it was trained before); the tokens are not stored at all.
		const trained = (await findTrainedTokenizer(v.id, cfg))!;
		expect(await getTokenizer(trained.hash)).toBeDefined();
		expect(await getTokenized(tokenizedKey(v.id, trained.hash))).toBeUndefined();

		const again = await prepareTokens(v.id, cfg, 32);
		expect(again.reused).toEqual({ tokenizer: true, tokens: false });
		expect((await getTokenized(again.key))!.offsets).toHaveLength(2_001);
	}, 60_000);
});

describe("a pretrained model's language-modelling blocks", () => {
	it('are packed a chunk of rows at a time, with progress, into the blocks one call packs', async () => {
		const v = await importTickets(1_500);
		const counts: number[] = [];
		const prep = await prepareHubTokens(v.id, { repo: 'whetstone-test/tiny-gpt2', revision: 'abc' }, 'causal-lm', 24, hubFiles('gpt2'), (p) => void (p && p.phase === 'tokenizing' && counts.push(p.done)));
		expect(counts[0]).toBe(0);
		expect(counts.at(-1)).toBe(1_500);
		const cache = (await getTokenized(prep.key))!;
		const { tokenizer } = await loadHubTokenizer(hubFiles('gpt2'));
		const whole = packCausalLm(tokenizer, await loadRows(v.id), 24);
		expect(new Set(whole.splits).size).toBe(3);
		expect(Array.from(cache.splits)).toEqual(whole.splits);
		expect(cache.offsets).toHaveLength(whole.ids.length + 1);
		expect(Array.from(cache.ids)).toEqual(whole.ids.flat());
		expect(Array.from(cache.offsets.subarray(1, 4))).toEqual([24, 48, 72]);
	}, 60_000);
});
