/**
 * Python `str.split()` / `str.strip()` / `str.rstrip()` without arguments. The reference
 * tokenizers (sacrebleu, nltk) split on Python's whitespace, which is not JavaScript's `\s`:
 * Python also counts U+001C..U+001F and U+0085, and does not count U+FEFF (CPython 3.11,
 * `Py_UNICODE_ISSPACE`).
 */

const WS = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const RUNS = new RegExp(`[${WS}]+`, 'g');
const LEADING = new RegExp(`^[${WS}]+`);
const TRAILING = new RegExp(`[${WS}]+$`);

export function pySplit(s: string): string[] {
	const out = s.split(RUNS);
	// A leading or trailing run leaves an empty string at that end; Python drops it.
	return out.filter((t) => t.length > 0);
}

export function pyRstrip(s: string): string {
	return s.replace(TRAILING, '');
}

export function pyStrip(s: string): string {
	return pyRstrip(s.replace(LEADING, ''));
}
