import { describe, expect, it } from 'vitest';
import { packRow, rowCell, unpackRow } from '../../../src/lib/data/preview-rows';

describe('packed preview rows', () => {
	it('give back every value, empty ones and ones outside the BMP included', () => {
		const values = ['', 'a', '', 'Müller’s 🙂 order', '', 'x,y', ''];
		const row = packRow(values);
		expect(row.text).toBe(values.join(''));
		expect(values.map((_, i) => rowCell(row, i))).toEqual(values);
		expect(unpackRow(structuredClone(row))).toEqual(values);
	});

	it('answer "" past either end and for an empty row', () => {
		const row = packRow(['one', 'two']);
		expect(rowCell(row, -1)).toBe('');
		expect(rowCell(row, 2)).toBe('');
		expect(unpackRow(packRow([]))).toEqual([]);
	});
});
