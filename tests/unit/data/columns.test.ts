import { describe, expect, it } from 'vitest';
import { buildRows, dedupe, guessColumns } from '../../../src/lib/data/columns';
import { parseTable } from '../../../src/lib/data/parse';
import { UserError } from '../../../src/lib/shared/errors';
import { enc, ticketsCsv } from './fixtures';

const table = (csv: string) => parseTable('t.csv', enc(csv));

function code(f: () => unknown): string {
	try {
		f();
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return (e as UserError).code;
	}
	return 'no error';
}

describe('guessColumns', () => {
	it('picks the long free-text column and the usual label name', () => {
		expect(guessColumns(table(ticketsCsv(200)))).toEqual({ text: 'text', label: 'team' });
	});

	it('falls back to a repeated-category column when no name matches', () => {
		const csv = ['message,queue_name,n']
			.concat(Array.from({ length: 40 }, (_, i) => `"a fairly long message number ${i}",${['x', 'y', 'z'][i % 3]},${i}`))
			.join('\n');
		expect(guessColumns(table(csv))).toEqual({ text: 'message', label: 'queue_name' });
	});

	it('does not offer a numeric id column as text', () => {
		const csv = ['id,msg,label'].concat(Array.from({ length: 20 }, (_, i) => `${100000 + i},hi ${i},${i % 2}`)).join('\n');
		expect(guessColumns(table(csv)).text).toBe('msg');
	});
});

describe('dedupe', () => {
	it('compares keys part by part: parts that would join to the same string are different rows', () => {
		const d = dedupe([
			{ line: 2, key: ['a|b', 'c'], group: 'a|b' },
			{ line: 3, key: ['a', 'b|c'], group: 'a' },
			{ line: 4, key: ['a', 'b|c'], group: 'a' },
			{ line: 5, key: ['["a","b"]'], group: '["a","b"]' },
			{ line: 6, key: ['a', 'b'], group: 'a' }
		]);
		expect(d.keep).toEqual([true, true, false, true, true]);
		expect(d.dropped).toEqual([{ line: 4, reason: 'duplicate of line 3' }]);
	});

	it('finds the first copy among several keys with the same head, and conflicts by text', () => {
		const rows = ['x', 'y', 'z', 'y', 'x', 'w'].map((label, i) => ({ line: i + 2, key: ['same text', label], group: 'same text', label }));
		const d = dedupe(rows, { conflicts: 'keep' });
		expect(d.dropped).toEqual([
			{ line: 5, reason: 'duplicate of line 3' },
			{ line: 6, reason: 'duplicate of line 2' }
		]);
		expect(d.counts).toMatchObject({ duplicates: 2, conflictTexts: 1, conflictRows: 4 });
	});
});

describe('buildRows', () => {
	it('builds rows, drops empty and duplicate ones with reasons, keeps other columns as meta', () => {
		const csv = ticketsCsv(40) + 'T-x,,billing,email,EU,1\nT-y,orphan text,,chat,US,2\n';
		const t = table(csv);
		// a duplicate of the first ticket's (text, team)
		t.records.push({ line: 99, values: { ...t.records[0].values, id: 'T-dup' } });
		const b = buildRows(t, 'text', 'team');
		expect(b.rows).toHaveLength(40);
		expect(b.labels).toEqual(['account', 'billing', 'shipping', 'tech']);
		expect(b.labelCounts).toEqual([10, 10, 10, 10]);
		expect(b.dropped).toEqual([
			{ line: 42, reason: 'empty text ("text")' },
			{ line: 43, reason: 'empty label ("team")' },
			{ line: 99, reason: 'duplicate of line 2' }
		]);
		expect(b.rows[0].meta).toEqual({ id: 'T-0', channel: expect.any(String), region: expect.any(String), priority: expect.any(String) });
		expect(b.rows[0].line).toBe(2);
	});

	it('sorts labels naturally and trims them', () => {
		const csv = ['text,label'].concat(Array.from({ length: 30 }, (_, i) => `row ${i},  class ${[10, 2, 1][i % 3]} `)).join('\n');
		const b = buildRows(table(csv), 'text', 'label');
		expect(b.labels).toEqual(['class 1', 'class 2', 'class 10']);
	});

	it('refuses unknown columns', () => {
		const t = table(ticketsCsv(20));
		expect(code(() => buildRows(t, 'body', 'team'))).toBe('no-text-column');
		expect(code(() => buildRows(t, 'text', 'nope'))).toBe('no-label-column');
	});

	it('refuses a label column of all-unique ids, suggesting the real label', () => {
		const t = table(ticketsCsv(150));
		let err: UserError | undefined;
		try {
			buildRows(t, 'text', 'id');
		} catch (e) {
			err = e as UserError;
		}
		expect(err?.code).toBe('no-label-column');
		expect(err?.message).toMatch(/"id" has 150 different values in 150 rows/);
		expect(err?.message).toMatch(/for example "team"/);
		// Small tables too: one class per row teaches nothing.
		expect(code(() => buildRows(table(ticketsCsv(30)), 'text', 'id'))).toBe('no-label-column');
	});

	it('refuses a text column that is mostly empty or numbers', () => {
		const t = table(ticketsCsv(40));
		expect(code(() => buildRows(t, 'priority', 'team'))).toBe('no-text-column');
		const sparse = ['text,label'].concat(Array.from({ length: 30 }, (_, i) => `${i % 3 === 0 ? 'words' : ''},${i % 2}`)).join('\n');
		expect(code(() => buildRows(table(sparse), 'text', 'label'))).toBe('no-text-column');
	});

	it('refuses a single class, naming it', () => {
		let err: UserError | undefined;
		try {
			buildRows(table(ticketsCsv(214, 1, ['billing'])), 'text', 'team');
		} catch (e) {
			err = e as UserError;
		}
		expect(err?.code).toBe('single-class');
		expect(err?.message).toMatch(/^All 214 rows have the label 'billing'\. A classifier needs at least two classes/);
	});

	it('refuses fewer than 10 usable rows', () => {
		expect(code(() => buildRows(table(ticketsCsv(9)), 'text', 'team'))).toBe('too-few-rows');
	});
});
