/**
 * The data report on a small messy file with every problem planted by hand (tests/fixtures/data/
 * tickets-messy.csv): exact duplicates, a conflicting label, near-duplicates that differ by case
 * and punctuation, personal data of four kinds, an empty text; and the CLI prints the same.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dataReport } from '../../../src/lib/data/report';

const execFileAsync = promisify(execFile);
const file = 'tests/fixtures/data/tickets-messy.csv';
const bytes = readFileSync(file);
const rows = (refs: { row: number }[]) => refs.map((r) => r.row);

describe('data report', async () => {
	const r = await dataReport('tickets-messy.csv', bytes);

	it('reads the file and guesses the kind and columns', () => {
		expect(r.rowsRead).toBe(27);
		expect(r.columns).toEqual(['text', 'label', 'team']);
		expect([r.kind, r.textColumn, r.labelColumn]).toEqual(['classification', 'text', 'label']);
		expect(r.empty.map((e) => e.line)).toEqual([22]); // data row 21, after the header
		expect(r.usable).toBe(26);
	});

	it('groups exact duplicates and conflicting labels by data row', () => {
		expect(r.exactDuplicates.map(rows)).toEqual([[1, 7]]);
		expect(r.conflicts.map((c) => [rows(c.rows), c.labels])).toEqual([[[2, 13], ['billing', 'technical']]]);
	});

	it('clusters near-duplicates (case, punctuation) at 0.8', () => {
		expect(r.nearDuplicates.map(rows)).toEqual([
			[1, 7, 12],
			[2, 13],
			[3, 24]
		]);
	});

	it('finds the personal data, by kind and row', () => {
		const pii = Object.fromEntries(r.pii.map((p) => [p.kind, rows(p.rows)]));
		expect(pii).toEqual({ EMAIL: [9], PHONE: [9], CARD: [10], IBAN: [15], IP: [19] });
		expect(r.piiNotFound).toMatch(/names/);
	});

	it('lists leakage between training and held-out rows after the default split', () => {
		// the copies of one text share a split; near-copies may not
		for (const l of r.leakage) {
			expect(l.split).not.toBe('train');
			expect(r.nearDuplicates.some((c) => rows(c).includes(l.heldOut.row) && rows(c).includes(l.train.row))).toBe(true);
		}
		expect(r.split.sizes.train + r.split.sizes.validation + r.split.sizes.test).toBe(26);
	});

	it('npm run data:report prints the same numbers (and JSON with --json)', async () => {
		// The script as `tsx scripts/data-report.ts` runs it: Node with tsx's loader, without npx
		// resolving the binary first; both invocations at once.
		const report = (...args: string[]) => execFileAsync(process.execPath, ['--import', 'tsx', 'scripts/data-report.ts', file, ...args], { encoding: 'utf8' }).then((o) => o.stdout);
		const [out, text] = await Promise.all([report('--json'), report('--near', '0.8')]);
		const json = JSON.parse(out);
		expect(json).toEqual(JSON.parse(JSON.stringify(r)));
		expect(text).toContain('exact-duplicate groups: 1\n  rows 1, 7');
		expect(text).toContain('near-duplicate clusters (Jaccard ≥ 0.8): 3');
		expect(text).toContain('IBAN: rows 15');
	}, 60_000);
});
