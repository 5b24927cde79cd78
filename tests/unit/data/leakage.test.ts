/** Leakage between training and the held-out splits: exact and near copies found, and the fix. */
import { describe, expect, it } from 'vitest';
import { findLeakage, fixLeakage } from '../../../src/lib/data/leakage';

const base = [
	'my parcel never arrived and the tracking page is empty',
	'the invoice for march charged me twice for one order',
	'the app crashes when I open the settings screen on android',
	'please change the delivery address for my next order',
	'refund the duplicate payment taken from my card last week'
];

describe('leakage', () => {
	it('finds held-out rows that repeat training rows exactly or nearly, and fixes them by cluster', () => {
		const texts = [...base, 'My parcel never arrived and the tracking page is empty', 'the invoice for march charged me twice for one order!', 'a new ticket about something else entirely', 'please change the delivery address for my next order'];
		// train: 0-4; validation: 5, 7; test: 6, 8
		const splits = [0, 0, 0, 0, 0, 1, 2, 1, 2];
		const r = findLeakage(texts, splits);
		const pairs = r.pairs.map((p) => [p.heldOut, p.train, p.split, p.kind]);
		expect(pairs).toEqual([
			[5, 0, 'validation', 'exact'],
			[6, 1, 'test', 'near'],
			[8, 3, 'test', 'exact']
		]);
		expect(r.rows).toEqual({ validation: 1, test: 2 });
		const fixed = fixLeakage(splits, r);
		expect(Array.from(fixed)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0]);
		expect(findLeakage(texts, fixed).pairs).toEqual([]);
	});

	it('copies inside one split are not leakage', () => {
		expect(findLeakage([base[0], base[0], base[1]], [1, 1, 0]).pairs).toEqual([]);
	});
});
