/** The dataset hash, computed in pieces, equals SHA-256 of the whole JSON text it always hashed. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { datasetHash, sha256Hex } from '../../../src/lib/data/hash';
import type { StoredRow } from '../../../src/lib/shared/types';

/** The definition: one JSON text of the labels and the rows' layout. */
function wholeText(labels: string[], rows: StoredRow[]): string {
	const layout = rows.map((r) => {
		const fields: unknown[] = [r.text, r.label, r.split, r.meta ? Object.keys(r.meta).sort().map((k) => [k, r.meta![k]]) : null];
		if (r.response !== undefined || r.messages !== undefined) fields.push(r.response ?? null, r.messages ? r.messages.map((m) => [m.role, m.content]) : null);
		return fields;
	});
	return JSON.stringify({ labels, rows: layout });
}

const row = fc.record(
	{
		text: fc.string({ unit: 'grapheme', maxLength: 40 }),
		label: fc.nat(5),
		split: fc.constantFrom(0, 1, 2),
		meta: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
		response: fc.string({ maxLength: 10 })
	},
	{ requiredKeys: ['text', 'label', 'split'] }
) as fc.Arbitrary<StoredRow>;

describe('datasetHash in pieces', () => {
	it('equals the SHA-256 of the whole JSON text, lone surrogates included', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 }), fc.array(row, { maxLength: 30 }), async (labels, rows) => {
				expect(await datasetHash(labels, rows)).toBe(await sha256Hex(wholeText(labels, rows)));
			}),
			{ numRuns: 200, seed: 31 }
		);
		const lone: StoredRow[] = [{ text: 'a\ud800b', label: 0, split: 0 }];
		expect(await datasetHash(['x'], lone)).toBe(await sha256Hex(wholeText(['x'], lone)));
	});

	it('equals it across the megabyte pieces too', async () => {
		const rows: StoredRow[] = Array.from({ length: 30_000 }, (_, i) => ({ text: `row ${i} ${'é€😀'.repeat(i % 7)} with some words`, label: i % 3, split: i % 3 }));
		expect(await datasetHash(['a', 'b', 'c'], rows)).toBe(await sha256Hex(wholeText(['a', 'b', 'c'], rows)));
	});
});
