/**
 * PII detection and redaction: each kind in the forms people write it, the checksums that keep
 * look-alikes out (Luhn for cards, mod 97 for IBANs), dates and amounts that are not phones, user
 * patterns, overlapping matches, and the per-kind report.
 */
import { describe, expect, it } from 'vitest';
import { findPii, ibanValid, luhnValid, redactPii, scanPii } from '../../../src/lib/data/pii';

const kinds = (t: string) => findPii(t).map((m) => `${m.kind}:${m.text}`);

describe('PII', () => {
	it('emails', () => {
		expect(kinds('write to jane.doe+tickets@example.co.uk today')).toEqual(['EMAIL:jane.doe+tickets@example.co.uk']);
		expect(kinds('no email@here or @handle')).toEqual([]);
	});

	it('phone numbers in international and national formats', () => {
		for (const p of ['+8801670105219', '+44 20 7946 0958', '+1-202-555-0143', '(555) 123-4567', '+49 30 1234567', '030 123456 78', '+33 1 23 45 67 89', '+81 3-1234-5678', '555.123.4567'])
			expect(kinds(`call ${p} now`), p).toEqual([`PHONE:${p}`]);
		// ... and real text that is not (PyPI package summaries): a date with its time, a year range, arXiv ids.
		for (const notPhone of ['order 12345678', 'on 2024-01-15', 'on 15.01.2024', 'costs 1,234,567', 'ticket 42 at 10:30', 'Build time: 08-26-2026.10:14:31.UTC', '(OpenData 2014-2025): data', 'presented in arXiv:2011.13052', 'see https://arxiv.org/abs/2009.02205', 'J. Med. Chem. 2019, 62, 21, 9824-9836', 'IEEE 1541-2002 / ISO/IEC 80000-13:2008', 'CVE-2021-42574 class', 'doi:10.1186/1471-2105-6-2', 'DOI 10.1016/j.aei.2025.103297', 'IEC 61970-501 standard', '[ PhysRevD.103.123001 ]', 'with α = 0.0302011'])
			expect(kinds(notPhone), notPhone).toEqual([]);
	});

	it('card numbers only when the Luhn check passes', () => {
		expect(luhnValid('4111 1111 1111 1111')).toBe(true);
		expect(luhnValid('4111 1111 1111 1112')).toBe(false);
		expect(kinds('card 4111 1111 1111 1111 and 5500-0000-0000-0004')).toEqual(['CARD:4111 1111 1111 1111', 'CARD:5500-0000-0000-0004']);
		expect(kinds('card 4111 1111 1111 1112').filter((k) => k.startsWith('CARD'))).toEqual([]);
	});

	it('IBANs only when mod 97 gives 1', () => {
		expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
		expect(ibanValid('DE89370400440532013000')).toBe(true);
		expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
		expect(kinds('pay GB82 WEST 1234 5698 7654 32 please')).toEqual(['IBAN:GB82 WEST 1234 5698 7654 32']);
		expect(kinds('pay DE89370400440532013000.')).toEqual(['IBAN:DE89370400440532013000']);
		expect(kinds('ref GB82 WEST 1234 5698 7654 33').filter((k) => k.startsWith('IBAN'))).toEqual([]);
	});

	it('IPv4 and IPv6 addresses', () => {
		expect(kinds('from 192.168.0.1 and 10.0.0.255')).toEqual(['IP:192.168.0.1', 'IP:10.0.0.255']);
		expect(kinds('not 999.1.1.1')).toEqual([]);
		expect(kinds('v6 2001:db8::1 and fe80::1ff:fe23:4567:890a and 2001:0db8:85a3:0000:0000:8a2e:0370:7334')).toEqual([
			'IP:2001:db8::1',
			'IP:fe80::1ff:fe23:4567:890a',
			'IP:2001:0db8:85a3:0000:0000:8a2e:0370:7334'
		]);
		expect(kinds('at 10:30:15')).toEqual([]);
		// '::' opening a sentence is not an address ('::A simple tool…', from PyPI's list), nor is loopback.
		expect(kinds('::A simple tool to extract job info')).toEqual([]);
		expect(kinds('listen on ::1 only')).toEqual([]);
	});

	it('URLs with credentials, whole, before the email inside them', () => {
		expect(kinds('see https://admin:s3cret@db.example.com/x?y=1 ok')).toEqual(['URL_CREDENTIALS:https://admin:s3cret@db.example.com/x?y=1']);
		expect(kinds('see https://example.com/a@b')).toEqual([]);
	});

	it('user-defined patterns, named; bad ones are refused with a reason', () => {
		const custom = [{ name: 'employee_id', pattern: 'EMP-\\d{6}' }];
		expect(findPii('by EMP-123456 at jane@example.com', custom).map((m) => m.kind)).toEqual(['EMPLOYEE_ID', 'EMAIL']);
		expect(() => findPii('x', [{ name: 'bad', pattern: '(' }])).toThrow(/not a valid regular expression/);
		expect(() => findPii('x', [{ name: 'empty', pattern: 'a*' }])).toThrow(/matches empty text/);
		expect(() => findPii('x', [{ name: 'a b', pattern: 'x' }])).toThrow(/letters, digits or underscores/);
	});

	it('redacts with typed placeholders', () => {
		const t = 'Jane (jane@example.com, +44 20 7946 0958) paid with 4111 1111 1111 1111 from 192.168.0.1.';
		expect(redactPii(t)).toBe('Jane ([EMAIL], [PHONE]) paid with [CARD] from [IP].');
	});

	it('reports counts, rows and examples per kind', () => {
		const r = scanPii(['a@b.io and c@d.io', 'nothing', 'call +1-202-555-0143', 'e@f.io']);
		expect(r.counts).toEqual({ EMAIL: 3, PHONE: 1 });
		expect(r.rows).toEqual({ EMAIL: [0, 3], PHONE: [2] });
		expect(r.examples.EMAIL.map((e) => e.row)).toEqual([0, 0, 3]);
	});
});
