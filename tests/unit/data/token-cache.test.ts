// The tokenized-dataset cache: a second run (or a Resume) with the same dataset version and
// tokenizer reuses the trained tokenizer and the token ids; other settings, another tokenizer or
// another dataset version miss. Progress is told phase by phase with counts.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as bpe from '../../../src/lib/data/bpe';
import { importDataset, prepareHubTokens, prepareTokens, type ImportArgs } from '../../../src/lib/data/pipeline';
import { defaultSplitConfig, defaultTokenizerConfig } from '../../../src/lib/shared/config';
import type { PhaseProgress } from '../../../src/lib/shared/phases';
import { getTokenized, useDatabase } from '../../../src/lib/storage';
import { enc, hubFiles, ticketsCsv } from './fixtures';

const buf = (s: string) => enc(s).buffer as ArrayBuffer;
const importTickets = (n: number, seed = 1) =>
	importDataset({ projectId: 'p1', fileName: 't.csv', bytes: buf(ticketsCsv(n, seed)), textColumn: 'text', labelColumn: 'team', split: { ...defaultSplitConfig }, skipBadRows: false } as ImportArgs);

function recorder() {
	const events: PhaseProgress[] = [];
	return { events, onPhase: (p: PhaseProgress | null) => void (p && events.push(p)), phases: () => [...new Set(events.map((e) => e.phase))] };
}

beforeEach(() => useDatabase('test-' + Math.random()));

describe('prepareTokens caches the tokenizer and the tokens per dataset version and tokenizer', () => {
	const cfg = { ...defaultTokenizerConfig, vocabSize: 300 };

	it('a miss trains the BPE and tokenizes, counting merges and rows; a hit does neither and says so', async () => {
		const v = await importTickets(120);
		const first = recorder();
		const a = await prepareTokens(v.id, cfg, 32, first.onPhase);
		expect(a.reused).toEqual({ tokenizer: false, tokens: false });
		expect(first.phases()).toEqual(['preparing', 'training-tokenizer', 'tokenizing']);
		const merges = first.events.filter((e) => e.phase === 'training-tokenizer' && e.total > 0);
		expect(merges.at(-1)!.done).toBeGreaterThan(0);
		const rows = first.events.filter((e) => e.phase === 'tokenizing');
		expect(rows.at(-1)).toMatchObject({ done: 120, total: 120, unit: 'rows' });

		const train = vi.spyOn(bpe, 'trainBpe');
		const second = recorder();
		const b = await prepareTokens(v.id, { lowercase: cfg.lowercase, vocabSize: 300, kind: 'bpe-bytelevel' }, 32, second.onPhase);
		expect(train).not.toHaveBeenCalled();
		train.mockRestore();
		expect(b).toEqual({ ...a, reused: { tokenizer: true, tokens: true } });
		expect(second.events).toEqual([{ phase: 'tokenizing', done: 120, total: 120, unit: 'rows', note: 'reused the cached tokens' }]);
	});

	it('another maximum length reuses the tokenizer but tokenizes again; the ids are those of a fresh run', async () => {
		const v = await importTickets(90);
		const a = await prepareTokens(v.id, cfg, 32);
		const b = await prepareTokens(v.id, cfg, 8);
		expect(b.reused).toEqual({ tokenizer: true, tokens: false });
		expect(b.tokenizerHash).toBe(a.tokenizerHash);
		const cache = (await getTokenized(b.key))!;
		expect(cache.maxLength).toBe(8);
		// Same as a fresh database would compute.
		useDatabase('test-' + Math.random());
		const w = await importTickets(90);
		const fresh = await prepareTokens(w.id, cfg, 8);
		expect(fresh.tokenizerHash).toBe(b.tokenizerHash);
		expect((await getTokenized(fresh.key))!.ids).toEqual(cache.ids);
	});

	it('another tokenizer (vocabulary size, casing) or another dataset version misses', async () => {
		const v = await importTickets(100);
		const a = await prepareTokens(v.id, cfg, 32);
		const bigger = await prepareTokens(v.id, { ...cfg, vocabSize: 320 }, 32);
		expect(bigger.reused).toEqual({ tokenizer: false, tokens: false });
		expect(bigger.tokenizerHash).not.toBe(a.tokenizerHash);
		const cased = await prepareTokens(v.id, { ...cfg, lowercase: !cfg.lowercase }, 32);
		expect(cased.reused).toEqual({ tokenizer: false, tokens: false });
		const other = await importTickets(100, 7);
		expect(other.id).not.toBe(v.id);
		const o = await prepareTokens(other.id, cfg, 32);
		expect(o.reused).toEqual({ tokenizer: false, tokens: false });
		expect(o.key).not.toBe(a.key);
		// and the first is still a hit
		expect((await prepareTokens(v.id, cfg, 32)).reused).toEqual({ tokenizer: true, tokens: true });
	});
});

describe('prepareHubTokens caches per tokenizer hash', () => {
	const model = { repo: 'whetstone-test/tiny', revision: 'abc123' };

	it('counts the rows it tokenizes in chunks (the same ids as one call), and reuses them the second time', async () => {
		const v = await importTickets(600);
		const first = recorder();
		const a = await prepareHubTokens(v.id, model, 'classification', 12, hubFiles('bert'), first.onPhase);
		expect(a.reused).toEqual({ tokenizer: false, tokens: false });
		const counts = first.events.map((e) => e.done);
		expect(counts[0]).toBe(0);
		expect(counts.at(-1)).toBe(600);
		const chunked = (await getTokenized(a.key))!;

		const second = recorder();
		const b = await prepareHubTokens(v.id, model, 'classification', 12, hubFiles('bert'), second.onPhase);
		expect(b).toEqual({ ...a, reused: { tokenizer: false, tokens: true } });
		expect(second.events).toEqual([{ phase: 'tokenizing', done: 600, total: 600, unit: 'rows', note: 'reused the cached tokens' }]);

		// Without progress the rows are encoded in one call: the same cache.
		useDatabase('test-' + Math.random());
		const w = await importTickets(600);
		const whole = await prepareHubTokens(w.id, model, 'classification', 12, hubFiles('bert'));
		const cache = (await getTokenized(whole.key))!;
		expect(cache.ids).toEqual(chunked.ids);
		expect(cache.offsets).toEqual(chunked.offsets);
		expect(whole.truncated).toBe(a.truncated);
	});
});
