/**
 * Personal data a pattern can find, and its redaction with typed placeholders, before a dataset is
 * used to train (the practice of Presidio's pattern recognisers and BigCode's PII pipeline):
 *
 *   EMAIL        local@domain.tld (RFC 5322's common form, not its quoted local parts)
 *   PHONE        international (+CC …) and national numbers of 8-15 digits with spaces, dots,
 *                dashes or brackets between groups (E.164's maximum is 15 digits)
 *   CARD         payment card numbers of 13-19 digits in groups, kept only when the Luhn check passes
 *   IBAN         two letters, two check digits and up to 30 letters/digits, kept only when ISO 13616's
 *                mod-97 check gives 1
 *   IP           IPv4 dotted quads (each part ≤ 255) and IPv6 addresses (full or :: compressed)
 *   URL_CREDENTIALS  a URL with user:password@ in it (the whole URL is redacted)
 *   and user-defined patterns, each with its own placeholder.
 *
 * What it does NOT find, and the page says so: names, postal addresses, dates of birth, national
 * identity numbers, and anything written in words ("five five five …"). Pattern matching finds
 * forms, not meaning: review before you share.
 */

import { UserError } from '../shared/errors';
import { runToEnd, type Work } from './sliced';

export type PiiKind = 'EMAIL' | 'PHONE' | 'CARD' | 'IBAN' | 'IP' | 'URL_CREDENTIALS';

export const PII_KINDS: readonly PiiKind[] = ['URL_CREDENTIALS', 'EMAIL', 'IBAN', 'CARD', 'IP', 'PHONE'];

export const PII_NOT_FOUND = 'names, postal addresses, dates of birth, national ID numbers, and anything spelled out in words';

export interface PiiPattern {
	/** The placeholder's name: [NAME]. Letters, digits and underscores. */
	name: string;
	/** A regular expression source (JavaScript syntax), matched globally. */
	pattern: string;
	flags?: string;
}

export interface PiiMatch {
	kind: string;
	start: number;
	end: number;
	text: string;
}

/** The Luhn checksum (ISO/IEC 7812) over the digits of `s`. */
export function luhnValid(s: string): boolean {
	const digits = s.replace(/\D/g, '');
	if (digits.length < 12) return false;
	let sum = 0;
	for (let i = 0; i < digits.length; i++) {
		let d = digits.charCodeAt(digits.length - 1 - i) - 48;
		if (i % 2 === 1) {
			d *= 2;
			if (d > 9) d -= 9;
		}
		sum += d;
	}
	return sum % 10 === 0;
}

/** ISO 13616's IBAN check: move the first four characters to the end, letters to 10-35, mod 97 = 1. */
export function ibanValid(s: string): boolean {
	const iban = s.replace(/\s/g, '').toUpperCase();
	if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
	const moved = iban.slice(4) + iban.slice(0, 4);
	let rem = 0;
	for (const ch of moved) {
		const v = ch >= 'A' ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
		rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
	}
	return rem === 1;
}

const IPV4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const H = '[0-9A-Fa-f]{1,4}';
const IPV6 = [
	`(?:${H}:){7}${H}`,
	`(?:${H}:){1,7}:`,
	`(?:${H}:){1,6}:${H}`,
	`(?:${H}:){1,5}(?::${H}){1,2}`,
	`(?:${H}:){1,4}(?::${H}){1,3}`,
	`(?:${H}:){1,3}(?::${H}){1,4}`,
	`(?:${H}:){1,2}(?::${H}){1,5}`,
	`${H}:(?::${H}){1,6}`,
	`::(?:${H}:){0,5}${H}`
].join('|');

/** Built-in patterns; `check` filters matches that only look right (Luhn, mod 97, digit counts). */
const BUILT_IN: { kind: PiiKind; re: RegExp; check?: (m: string, before: string) => boolean }[] = [
	{ kind: 'URL_CREDENTIALS', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s/@]+@[^\s]+/gi },
	{ kind: 'EMAIL', re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g },
	{ kind: 'IBAN', re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g, check: ibanValid },
	{ kind: 'CARD', re: /\b\d(?:[ -]?\d){12,18}\b/g, check: luhnValid },
	{
		kind: 'IP',
		re: new RegExp(`\\b${IPV4_PART}(?:\\.${IPV4_PART}){3}\\b|(?<![\\w:])(?:${IPV6})(?![\\w:])`, 'g'),
		// an IPv6 address with fewer than three groups is '::A' at the start of a sentence, or '::1' (no one's address)
		check: (m) => !m.includes(':') || m.split(':').filter(Boolean).length >= 3
	},
	{
		kind: 'PHONE',
		re: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,5}(?![\w])/g,
		check: (m, before) => {
			const digits = m.replace(/\D/g, '').length;
			// an identifier's number: CVE-2021-42574, doi:10.1186/…, ISO/IEC 80000-13, IEEE 1541-2002, RFC, ISBN, arXiv
			if (/(?:CVE|doi|ISO|IEC|IEEE|RFC|ISBN|ISSN|arXiv|PhysRev[A-Z]*)[\s:./-]*(?:\d+[\s:./-]+)?$/i.test(before)) return false;
			// glued to the token before it (a DOI's j.aei.2025.103297, a path's abs/2009.02205)
			if (/[./_-]$/.test(before)) return false;
			// a decimal number (α = 0.0302011)
			if (/^\d+\.\d+$/.test(m)) return false;
			// two dash-joined groups of four or five digits are a range or a reference (pages 9824-9836, 1541-2002)
			if (/^\d{4,5}-\d{4,5}$/.test(m)) return false;
			// a phone has 8-15 digits and at least one separator or a leading + (a bare run of digits is an id or an amount)
			if (digits < 8 || digits > 15 || !(/^\+/.test(m) || /[ .()-]/.test(m))) return false;
			// dates written with dashes or dots (and a time after them), year ranges and arXiv ids are not phone numbers
			if (/^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{4})(?!\d)/.test(m)) return false;
			if (/^(?:1[89]|20)\d\d ?- ?(?:1[89]|20)\d\d$/.test(m)) return false;
			return !/^\d{4}\.\d{4,5}$/.test(m);
		}
	}
];

function compile(custom: readonly PiiPattern[]): { kind: string; re: RegExp; check?: (m: string, before: string) => boolean }[] {
	return custom.map((p) => {
		if (!/^[A-Za-z0-9_]+$/.test(p.name)) throw new UserError('bad-pattern', `A pattern's name must be letters, digits or underscores: "${p.name}".`);
		let re: RegExp;
		try {
			re = new RegExp(p.pattern, (p.flags ?? '').replace(/g/g, '') + 'g');
		} catch (e) {
			throw new UserError('bad-pattern', `The pattern for ${p.name} is not a valid regular expression: ${(e as Error).message}`);
		}
		if (re.test('')) throw new UserError('bad-pattern', `The pattern for ${p.name} matches empty text; it would match everywhere.`);
		return { kind: p.name.toUpperCase(), re };
	});
}

/** Every match in `text`, earlier patterns first where two overlap (URLs with credentials before emails, ...). */
export function findPii(text: string, custom: readonly PiiPattern[] = []): PiiMatch[] {
	const found: PiiMatch[] = [];
	const taken: [number, number][] = [];
	const overlaps = (s: number, e: number) => taken.some(([a, b]) => s < b && e > a);
	for (const { kind, re, check } of [...compile(custom), ...BUILT_IN]) {
		re.lastIndex = 0;
		for (const m of text.matchAll(re)) {
			const start = m.index ?? 0;
			const end = start + m[0].length;
			if (m[0].length === 0 || overlaps(start, end) || (check && !check(m[0], text.slice(Math.max(0, start - 24), start)))) continue;
			found.push({ kind, start, end, text: m[0] });
			taken.push([start, end]);
		}
	}
	return found.sort((a, b) => a.start - b.start);
}

/** `text` with each match replaced by its placeholder, `[EMAIL]`, `[PHONE]`, ... */
export function redactPii(text: string, matches: readonly PiiMatch[] = findPii(text)): string {
	let out = '';
	let at = 0;
	for (const m of matches) {
		out += text.slice(at, m.start) + `[${m.kind}]`;
		at = m.end;
	}
	return out + text.slice(at);
}

export interface PiiReport {
	/** Rows with at least one match, per kind. */
	rows: Record<string, number[]>;
	/** Matches per kind. */
	counts: Record<string, number>;
	/** Up to `examples` matches per kind, with the row they are in. */
	examples: Record<string, { row: number; text: string }[]>;
}

/** Scans every text; row numbers are the indices into `texts`. */
export function scanPii(texts: readonly string[], custom: readonly PiiPattern[] = [], examples = 5): PiiReport {
	return runToEnd(scanPiiWork(texts.length, (i) => texts[i], custom, examples));
}

/**
 * `scanPii` as work that yields every few rows (sliced.ts), over `count` texts given one at a
 * time by `textAt`: a row's texts joined are made when it is scanned and not kept.
 */
export function* scanPiiWork(count: number, textAt: (row: number) => string, custom: readonly PiiPattern[] = [], examples = 5): Work<PiiReport> {
	const report: PiiReport = { rows: {}, counts: {}, examples: {} };
	for (let row = 0; row < count; row++) {
		if (row % 32 === 31) yield;
		const seen = new Set<string>();
		for (const m of findPii(textAt(row), custom)) {
			report.counts[m.kind] = (report.counts[m.kind] ?? 0) + 1;
			if (!seen.has(m.kind)) (report.rows[m.kind] ??= []).push(row);
			seen.add(m.kind);
			const ex = (report.examples[m.kind] ??= []);
			if (ex.length < examples) ex.push({ row, text: m.text });
		}
	}
	return report;
}
