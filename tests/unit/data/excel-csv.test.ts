/**
 * A CSV as Excel on Windows writes it (tests/fixtures/data/tickets-excel.csv): a UTF-8 BOM, CRLF
 * line ends, quoted fields with line breaks (LF and CRLF) and doubled quotes, emoji (flags, skin
 * tones, ZWJ sequences), a text column named `Body Text` first, right after the BOM; and 4 exact
 * duplicates, one text with two labels and one empty text among its 30 rows.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseTable } from '../../../src/lib/data/parse';
import { guessKind } from '../../../src/lib/data/kinds';
import { importDataset, inspectFile, planImport, type ImportArgs } from '../../../src/lib/data/pipeline';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { loadRows, useDatabase } from '../../../src/lib/storage';
import { sampleFile } from './fixtures';

const FILE = 'tickets-excel.csv';
const bytes = () => sampleFile(FILE);

function args(over: Partial<ImportArgs> = {}): ImportArgs {
	return { projectId: 'p1', fileName: FILE, bytes: bytes(), textColumn: 'Body Text', labelColumn: 'Team', split: { ...defaultSplitConfig }, skipBadRows: false, ...over };
}

beforeEach(() => useDatabase('excel-' + Math.random()));

describe('an Excel-style CSV', () => {
	it('reads the header without the BOM, one record per row, emoji and line breaks intact', () => {
		const t = parseTable(FILE, bytes());
		expect(t.columns).toEqual(['Body Text', 'Team', 'Ticket ID', 'Created']);
		expect(t.columns[0].charCodeAt(0)).toBe('B'.charCodeAt(0));
		expect(t.problems).toEqual([]);
		expect(t.records).toHaveLength(30);
		// Line 3 holds a field with one line break inside, so the next record starts on line 5; the
		// last record starts on line 41 of 41 (header, 30 records, 10 line breaks inside fields).
		expect(t.records.slice(0, 4).map((r) => r.line)).toEqual([2, 3, 5, 6]);
		expect(t.records.at(-1)!.line).toBe(41);
		expect(t.records[1].values['Body Text']).toBe('My parcel 📦 has not arrived.\nTracking says "delivered" but nothing is at my door.');
		// A CRLF inside a quoted field becomes \n: no stray \r reaches the tokenizer.
		expect(t.records[5].values['Body Text']).toBe('Sync stops at 99%.\nI tried:\n- logging out\n- reinstalling\nNothing helps.');
		expect(t.records.every((r) => !Object.values(r.values).some((v) => v.includes('\r')))).toBe(true);
		const texts = t.records.map((r) => r.values['Body Text']);
		expect(texts).toContain('Notes with emoji like 👨‍👩‍👧 disappear after sync');
		expect(texts).toContain('Please switch my plan from monthly to yearly, thanks 🙂👍🏽');
		expect(texts).toContain('Why was I billed in dollars? I live in Portugal 🇵🇹');
		expect(t.records.map((r) => r.values['Ticket ID'])).toEqual(Array.from({ length: 30 }, (_, i) => `T-${1001 + i}`));
	});

	it('is guessed as classification of "Body Text" by "Team"', async () => {
		expect(guessKind(parseTable(FILE, bytes()))).toMatchObject({ kind: 'classification', textColumn: 'Body Text', labelColumn: 'Team' });
		const info = await inspectFile(FILE, bytes());
		expect(info).toMatchObject({ rowCount: 30, problemCount: 0, guess: { text: 'Body Text', label: 'Team' } });
	});

	it('counts empty rows, exact duplicates and conflicting labels before importing', async () => {
		const plan = await planImport(args());
		expect(plan).toMatchObject({ read: 30, unreadable: 0, empty: 1, rows: 25, dropped: 5 });
		expect(plan.error).toBeUndefined();
		expect(plan.found).toMatchObject({ duplicates: 4, conflictTexts: 1, conflictRows: 2 });
		expect(plan.found.duplicateExamples.map((d) => [d.line, d.of])).toEqual([
			[17, 2],
			[24, 3],
			[32, 8],
			[41, 22]
		]);
		expect(plan.found.conflictExamples).toEqual([{ text: 'Where is my order? It left the warehouse a week ago 🚚', labels: ['shipping', 'tech'], lines: [7, 26] }]);
		// The counts are the same whatever is chosen; the rows to import follow the choice.
		expect((await planImport(args({ duplicates: 'keep' }))).rows).toBe(29);
		expect((await planImport(args({ conflicts: 'drop' }))).rows).toBe(23);
		const both = await planImport(args({ duplicates: 'keep', conflicts: 'drop' }));
		expect([both.rows, both.found.duplicates]).toEqual([27, 4]);
	});

	it('imports exactly the planned rows, with emoji and line breaks, and stores the choice', async () => {
		for (const choice of [{}, { duplicates: 'keep' as const }, { conflicts: 'drop' as const }]) {
			const plan = await planImport(args(choice));
			const v = await importDataset(args(choice));
			expect(v.rowCount).toBe(plan.rows);
			expect(v.dropped).toHaveLength(plan.dropped);
			expect(v.dedupe).toEqual({
				duplicates: choice.duplicates ?? 'drop',
				conflicts: choice.conflicts ?? 'keep',
				read: 30,
				unreadable: 0,
				empty: 1,
				duplicateRows: 4,
				conflictTexts: 1,
				conflictRows: 2
			});
			const rows = await loadRows(v.id);
			expect(rows).toHaveLength(plan.rows);
			expect(rows.map((r) => r.text)).toContain('Notes with emoji like 👨‍👩‍👧 disappear after sync');
			expect(rows[0].meta).toEqual({ 'Ticket ID': 'T-1001', Created: '2026-11-02' });
		}
	});

	it('keeps every copy of a text in one split, so no test row has a copy in train', async () => {
		const v = await importDataset(args({ duplicates: 'keep', split: { seed: 3, validation: 0.2, test: 0.3 } }));
		const rows = await loadRows(v.id);
		const splitOf = new Map<string, Set<number>>();
		for (const r of rows) splitOf.set(r.text, (splitOf.get(r.text) ?? new Set()).add(r.split));
		expect(rows.length - splitOf.size).toBe(5); // 4 copies and the relabelled text
		expect([...splitOf.values()].every((s) => s.size === 1)).toBe(true);
	});

	it('records dropped duplicates and conflicts with their reasons', async () => {
		const v = await importDataset(args({ conflicts: 'drop' }));
		expect(v.dropped).toEqual([
			{ line: 7, reason: 'text with conflicting labels ("shipping", "tech")' },
			{ line: 17, reason: 'duplicate of line 2' },
			{ line: 24, reason: 'duplicate of line 3' },
			{ line: 26, reason: 'text with conflicting labels ("shipping", "tech")' },
			{ line: 31, reason: 'empty text ("Body Text")' },
			{ line: 32, reason: 'duplicate of line 8' },
			{ line: 41, reason: 'duplicate of line 22' }
		]);
	});

	it('says before importing why a choice of columns would fail', async () => {
		const plan = await planImport(args({ labelColumn: 'Ticket ID' }));
		expect(plan.rows).toBe(0);
		expect(plan.error).toMatch(/"Ticket ID" has \d+ different values/);
		const bad = await planImport(args({ split: { seed: 1, validation: 0.6, test: 0.5 } }));
		expect(bad.error).toMatch(/leave some rows for training/);
	});
});
