/** Splits by group (no group in two splits) and by time (test after validation after train). */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { splitRowsBy } from '../../../src/lib/data/split-by';
import { importDataset, resplitDataset } from '../../../src/lib/data/pipeline';
import { loadRows, useDatabase } from '../../../src/lib/storage';
import { SPLIT_CODE, type StoredRow } from '../../../src/lib/shared/types';

const rows: StoredRow[] = Array.from({ length: 200 }, (_, i) => ({
	text: `t${i}`,
	label: i % 2,
	split: 0,
	meta: { customer: `c${i % 23}`, date: new Date(Date.UTC(2024, 0, 1 + Math.floor(i / 3))).toISOString().slice(0, 10) }
}));

describe('split by', () => {
	it('group: every group in one split, shares near the targets, seeded', () => {
		const codes = splitRowsBy(rows, { kind: 'group', column: 'customer' }, { seed: 1, validation: 0.1, test: 0.2 });
		const splitOf = new Map<string, Set<number>>();
		rows.forEach((r, i) => splitOf.set(r.meta!.customer, (splitOf.get(r.meta!.customer) ?? new Set()).add(codes[i])));
		for (const s of splitOf.values()) expect(s.size).toBe(1);
		const n = (c: number) => codes.filter((x) => x === c).length;
		expect(n(SPLIT_CODE.test)).toBeGreaterThanOrEqual(40);
		expect(n(SPLIT_CODE.test)).toBeLessThan(40 + 9); // at most one group over
		expect(n(SPLIT_CODE.validation)).toBeGreaterThanOrEqual(20);
		expect(Array.from(splitRowsBy(rows, { kind: 'group', column: 'customer' }, { seed: 1, validation: 0.1, test: 0.2 }))).toEqual(Array.from(codes));
		expect(Array.from(splitRowsBy(rows, { kind: 'group', column: 'customer' }, { seed: 2, validation: 0.1, test: 0.2 }))).not.toEqual(Array.from(codes));
	});

	it('time: the newest rows test, then validation, the oldest train; one date never split', () => {
		const codes = splitRowsBy(rows, { kind: 'time', column: 'date' }, { seed: 1, validation: 0.1, test: 0.2 });
		const last = (c: number) => Math.max(...rows.map((r, i) => (codes[i] === c ? Date.parse(r.meta!.date) : -Infinity)));
		const first = (c: number) => Math.min(...rows.map((r, i) => (codes[i] === c ? Date.parse(r.meta!.date) : Infinity)));
		expect(last(SPLIT_CODE.train)).toBeLessThan(first(SPLIT_CODE.validation));
		expect(last(SPLIT_CODE.validation)).toBeLessThan(first(SPLIT_CODE.test));
	});

	it('names missing values, non-dates and too few groups', () => {
		const holes = rows.map((r, i) => (i === 5 ? { ...r, meta: { customer: '', date: 'soon' } } : r));
		expect(() => splitRowsBy(holes, { kind: 'group', column: 'customer' }, { seed: 1, validation: 0.1, test: 0.2 })).toThrow(/Row 6 has no group in "customer"/);
		expect(() => splitRowsBy(holes, { kind: 'time', column: 'date' }, { seed: 1, validation: 0.1, test: 0.2 })).toThrow(/"soon", not a date/);
		const two = rows.map((r, i) => ({ ...r, meta: { ...r.meta!, customer: `c${i % 2}` } }));
		expect(() => splitRowsBy(two, { kind: 'group', column: 'customer' }, { seed: 1, validation: 0.1, test: 0.2 })).toThrow(/only 2 groups/);
	});

	it('a stored version re-split by group records it, and refuses the same split twice', async () => {
		useDatabase('split-by-' + Math.random());
		const csv = ['text,label,customer', ...rows.map((r, i) => `ticket ${i},${r.label ? 'a' : 'b'},${r.meta!.customer}`)].join('\n');
		const v = await importDataset({ projectId: 'p', fileName: 'g.csv', bytes: new TextEncoder().encode(csv).buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.2 }, skipBadRows: false });
		const g = await resplitDataset(v.id, { seed: 1, validation: 0.1, test: 0.2, by: { kind: 'group', column: 'customer' } });
		expect(g.split.by).toEqual({ kind: 'group', column: 'customer' });
		expect(g.name).toMatch(/split by group "customer", seed 1/);
		const stored = await loadRows(g.id);
		const splitOf = new Map<string, Set<number>>();
		for (const r of stored) splitOf.set(r.meta!.customer, (splitOf.get(r.meta!.customer) ?? new Set()).add(r.split));
		for (const s of splitOf.values()) expect(s.size).toBe(1);
		await expect(resplitDataset(g.id, { seed: 1, validation: 0.1, test: 0.2, by: { kind: 'group', column: 'customer' } })).rejects.toThrow(/already split/);
	});
});
