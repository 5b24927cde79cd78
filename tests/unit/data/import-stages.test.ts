/**
 * An import after its files are read: building the rows, finding exact duplicates, hashing and
 * storing are told through the read's own callback (the page keeps a bar and Cancel up until the
 * version is stored), the long ones run in slices that let a heartbeat ping through, and a save
 * ended at any chunk (the page's Cancel terminates the worker; IndexedDB then aborts the save's
 * open transaction) leaves no version and no chunk, earlier versions as they were.
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { importDataset, type ImportArgs, type ImportProgress } from '../../../src/lib/data/pipeline';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { datasetSaveHooks, getDatasetVersion, listDatasetVersions, loadRows, newId, openDb, useDatabase } from '../../../src/lib/storage';
import { enc, ticketsCsv } from './fixtures';
import { heartbeat } from './heartbeat';

const args = (n: number, seed = 3, extra: Partial<ImportArgs> = {}): ImportArgs => ({
	projectId: 'p1',
	fileName: 't.csv',
	bytes: enc(ticketsCsv(n, seed)).buffer as ArrayBuffer,
	textColumn: 'text',
	labelColumn: 'team',
	split: { ...defaultSplitConfig },
	skipBadRows: false,
	...extra
});

beforeEach(() => useDatabase('test-' + Math.random()));
afterEach(() => {
	datasetSaveHooks.afterChunk = undefined;
	vi.restoreAllMocks();
});

/** The stages told, in order, each with the counts it said. */
function stages(progress: ImportProgress[]) {
	const out: { phase: string; unit: string; counts: number[]; total: number }[] = [];
	for (const p of progress) {
		if (!('phase' in p)) continue;
		if (out.at(-1)?.phase !== p.phase) out.push({ phase: p.phase, unit: p.unit, counts: [], total: p.total });
		out.at(-1)!.counts.push(p.done);
	}
	return out;
}

describe('an import tells its stages after the read', () => {
	it('building, duplicates, hashing and storing, in order, each counted up to its total', async () => {
		const progress: ImportProgress[] = [];
		// A clock that moves 300 ms at each reading: every report goes out (PhaseReporter sends one
		// per 250 ms), and every slice ends at its first chance.
		let now = 0;
		vi.spyOn(performance, 'now').mockImplementation(() => (now += 300));
		const v = await importDataset(args(5000), (p) => progress.push(p));

		const told = stages(progress);
		expect(told.map((s) => `${s.phase} (${s.unit})`)).toEqual(['building-rows (records)', 'deduplicating (rows)', 'hashing-version (rows)', 'storing-version (chunks)']);
		const [building, duplicates, hashing, storing] = told;
		expect(building.total).toBe(5000);
		expect(duplicates.total).toBe(5000);
		expect(hashing.total).toBe(v.rowCount);
		expect(storing.total).toBe(v.chunkCount);
		expect(v.chunkCount).toBe(5);
		for (const s of told) {
			expect(s.counts[0], s.phase).toBe(0);
			expect(s.counts.at(-1), s.phase).toBe(s.total);
			expect(s.counts.every((c, i) => i === 0 || c >= s.counts[i - 1]), `${s.phase} never counts back`).toBe(true);
			// Counts between the first and the last: the bar moves, not only jumps at the end.
			expect(s.counts.some((c) => c > 0 && c < s.total), `${s.phase} counted on the way`).toBe(true);
		}
		expect(storing.counts).toEqual([0, 1, 2, 3, 4, 5]);
	});

	it('stores the same version, under the id the page chose, with or without progress told', async () => {
		const quiet = await importDataset(args(3000, 5));
		const id = newId('ds_');
		const told = await importDataset({ ...args(3000, 5), versionId: id }, () => {});
		expect(told.id).toBe(id);
		expect(told.contentHash).toBe(quiet.contentHash);
		expect(await loadRows(id)).toEqual(await loadRows(quiet.id));
		// A stored version is never overwritten by an import given its id.
		await expect(importDataset({ ...args(20, 9), versionId: id })).rejects.toThrow(/already stored/);
		expect((await getDatasetVersion(id))?.rowCount).toBe(told.rowCount);
	});

	it('answers a ping while the rows are built and while they are hashed', async () => {
		const beat = heartbeat();
		try {
			await importDataset(args(20_000), (p) => void ('phase' in p && beat.log.push(`${p.phase} ${p.done}/${p.total}`)));
		} finally {
			beat.stop();
		}
		const { pingsDuring } = beat;
		expect(pingsDuring('building-rows')).toBeGreaterThan(0);
		expect(pingsDuring('deduplicating')).toBeGreaterThan(0);
		expect(pingsDuring('hashing-version')).toBeGreaterThan(0);
	});
});

/** Every row chunk stored, by version id. */
async function chunksByVersion(): Promise<Map<string, number>> {
	const keys = (await (await openDb()).getAllKeys('rows')) as [string, number][];
	const out = new Map<string, number>();
	for (const [id] of keys) out.set(id, (out.get(id) ?? 0) + 1);
	return out;
}

describe('an import ended in the middle of its save stores nothing', () => {
	it.each([1, 3, 5])('ended after chunk %i of 5: no version, no chunk; the earlier version as it was; then it imports', async (after) => {
		const earlier = await importDataset(args(1200, 1, { name: 'earlier' }));
		const earlierRows = await loadRows(earlier.id);

		// The worker's end, as the browser does it: the save's transaction, still open, is aborted.
		// (The hook holds it open, reading, after `after` chunks; the test then aborts it.)
		const transactions: IDBTransaction[] = [];
		const open = IDBDatabase.prototype.transaction;
		vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...a: Parameters<IDBDatabase['transaction']>) {
			const tx = open.apply(this, a);
			transactions.push(tx);
			return tx;
		});
		let heldAt = -1;
		datasetSaveHooks.afterChunk = (done) => {
			if (done < after) return;
			datasetSaveHooks.afterChunk = undefined;
			heldAt = done;
			const save = transactions.findLast((t) => t.mode === 'readwrite' && t.objectStoreNames.contains('rows'))!;
			setTimeout(() => save.abort(), 20);
			return new Promise<never>(() => {});
		};
		const id = newId('ds_');
		const storing: number[] = [];
		let now = 0;
		vi.spyOn(performance, 'now').mockImplementation(() => (now += 300));
		await expect(importDataset(args(5000, 2, { name: 'cancelled', versionId: id }), (p) => void ('phase' in p && p.phase === 'storing-version' && storing.push(p.done)))).rejects.toThrow();
		expect(heldAt).toBe(after);
		expect(storing).toContain(after);
		vi.restoreAllMocks();

		expect(await getDatasetVersion(id)).toBeUndefined();
		expect((await chunksByVersion()).get(id)).toBeUndefined();
		expect([...(await chunksByVersion()).keys()]).toEqual([earlier.id]);
		expect((await listDatasetVersions('p1')).map((v) => v.name)).toEqual(['earlier']);
		expect(await loadRows(earlier.id)).toEqual(earlierRows);

		const again = await importDataset(args(5000, 2, { name: 'again' }));
		expect((await loadRows(again.id)).length).toBe(again.rowCount);
		expect((await listDatasetVersions('p1')).map((v) => v.name).sort()).toEqual(['again', 'earlier']);
	});
});
