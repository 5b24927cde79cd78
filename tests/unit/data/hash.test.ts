import { describe, expect, it } from 'vitest';
import { datasetHash, sha256Hex } from '../../../src/lib/data/hash';

describe('sha256Hex', () => {
	it('matches the FIPS 180-2 test vectors', async () => {
		expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
		expect(await sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
	});

	it('hashes only the bytes a view covers', async () => {
		const buf = new TextEncoder().encode('xxabcxx');
		expect(await sha256Hex(buf.subarray(2, 5))).toBe(await sha256Hex('abc'));
		expect(await sha256Hex(new TextEncoder().encode('abc').buffer)).toBe(await sha256Hex('abc'));
	});
});

describe('datasetHash', () => {
	it('ignores meta key order but not content, labels or order of rows', async () => {
		const a = { text: 't', label: 0, split: 0, meta: { x: '1', y: '2' } };
		const b = { text: 'u', label: 1, split: 2 };
		const h = await datasetHash(['l0', 'l1'], [a, b]);
		expect(await datasetHash(['l0', 'l1'], [{ split: 0, meta: { y: '2', x: '1' }, label: 0, text: 't' }, b])).toBe(h);
		expect(await datasetHash(['l0', 'l1'], [b, a])).not.toBe(h);
		expect(await datasetHash(['l0', 'L1'], [a, b])).not.toBe(h);
		expect(await datasetHash(['l0', 'l1'], [{ ...a, split: 1 }, b])).not.toBe(h);
	});

	it('covers the response and the messages of prompt/response rows', async () => {
		const row = { text: 'q', label: 0, split: 0, response: 'a' };
		const h = await datasetHash(['(all)'], [row]);
		expect(await datasetHash(['(all)'], [{ ...row, response: 'b' }])).not.toBe(h);
		expect(await datasetHash(['(all)'], [{ text: 'q', label: 0, split: 0 }])).not.toBe(h);
		const chat = { ...row, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] };
		expect(await datasetHash(['(all)'], [chat])).not.toBe(h);
		expect(await datasetHash(['(all)'], [{ ...chat, messages: [{ role: 'system', content: 'q' }, chat.messages[1]] }])).not.toBe(await datasetHash(['(all)'], [chat]));
	});
});
