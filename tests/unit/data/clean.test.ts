/**
 * Cleaning a stored version (fake-indexeddb): the check previews what each step changes, the steps
 * make a new version with its recipe and leave the source as it was, and a step that changes
 * nothing is refused.
 */
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkDataset, cleanDataset, importDataset } from '../../../src/lib/data/pipeline';
import { applyCleaning, checkRows, DEFAULT_NORMALIZE, normalizeText } from '../../../src/lib/data/clean';
import { getDatasetVersion, loadRows, useDatabase } from '../../../src/lib/storage';

beforeEach(() => useDatabase('clean-' + Math.random()));

async function messy() {
	const bytes = readFileSync('tests/fixtures/data/tickets-messy.csv');
	return importDataset({ projectId: 'p1', fileName: 'tickets-messy.csv', bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, textColumn: 'text', labelColumn: 'label', split: { seed: 42, validation: 0.1, test: 0.15 }, skipBadRows: false });
}

describe('cleaning a version', () => {
	it("finds and redacts the user's own patterns with the built-in kinds, and the recipe keeps them", async () => {
		const source = await messy();
		const own = [{ name: 'ERROR_CODE', pattern: 'error code \\d+' }];
		const check = await checkDataset(source.id, 0.8, undefined, undefined, undefined, undefined, own);
		expect(check.pii.find((p) => p.kind === 'ERROR_CODE')).toEqual({ kind: 'ERROR_CODE', count: 1, rows: 1, examples: ['error code 500'] });
		expect(check.piiRows).toBe(5);
		const cleaned = await cleanDataset(source.id, [{ kind: 'redact-pii', patterns: own }]);
		expect(cleaned.recipe).toEqual([{ kind: 'redact-pii', patterns: own }]);
		expect(cleaned.name).toContain('PII redacted (with ERROR_CODE)');
		const texts = (await loadRows(cleaned.id)).map((r) => r.text);
		expect(texts).toContain('Login fails with an [ERROR_CODE] after the latest update');
		expect(texts.some((t) => t.includes('[EMAIL]'))).toBe(true);
		// A pattern that is not a regular expression is refused with the reason.
		await expect(checkDataset(source.id, 0.8, undefined, undefined, undefined, undefined, [{ name: 'bad', pattern: '(' }])).rejects.toThrow(/The pattern for bad is not a valid regular expression/);
	});

	it('previews, then applies near-duplicates, PII redaction and the leakage fix as a new version', async () => {
		const source = await messy();
		expect(source.rowCount).toBe(25); // one exact duplicate dropped, one empty text
		const check = await checkDataset(source.id, 0.8);
		expect(check.clusterCount).toBe(3);
		expect(check.nearRemovable).toBe(3);
		expect(check.pii.map((p) => p.kind).sort()).toEqual(['CARD', 'EMAIL', 'IBAN', 'IP', 'PHONE']);
		expect(check.piiRows).toBe(4);

		const cleaned = await cleanDataset(source.id, [{ kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }, { kind: 'fix-leakage', threshold: 0.8 }]);
		expect(cleaned.cleanedOf).toBe(source.id);
		expect(cleaned.recipe?.map((s) => s.kind)).toEqual(['near-duplicates', 'redact-pii', 'fix-leakage']);
		expect(cleaned.rowCount).toBe(22);
		expect(cleaned.labelCounts.reduce((a, b) => a + b, 0)).toBe(22);
		expect(cleaned.name).toMatch(/cleaned: near-duplicates dropped/);
		const rows = await loadRows(cleaned.id);
		const all = rows.map((r) => r.text).join('\n');
		expect(all).toContain('You can reach me at [EMAIL] or [PHONE] about the refund');
		expect(all).toContain('[CARD]');
		expect(all).toContain('[IBAN]');
		expect(all).not.toMatch(/jane\.doe|4111|GB82|192\.168/);
		// the source is untouched
		expect((await getDatasetVersion(source.id))!.rowCount).toBe(25);
		expect((await loadRows(source.id)).map((r) => r.text).join('\n')).toContain('jane.doe@example.com');
		// nothing left to do on the cleaned version
		const again = await checkDataset(cleaned.id, 0.8);
		expect([again.nearRemovable, again.piiRows, again.leakage.moves]).toEqual([0, 0, 0]);
		await expect(cleanDataset(cleaned.id, [{ kind: 'redact-pii' }])).rejects.toThrow(/Nothing to change/);
	});

	it('the leakage fix moves every held-out member of a spanning cluster into training', () => {
		const t = 'my parcel never arrived and the tracking page has been empty for a week';
		const rows = [
			{ text: t, label: 0, split: 0 },
			{ text: t + '!', label: 0, split: 2 },
			{ text: t.toUpperCase(), label: 0, split: 1 },
			{ text: 'an unrelated ticket about invoices and refunds', label: 1, split: 2 }
		];
		const r = applyCleaning(rows, [{ kind: 'fix-leakage', threshold: 0.8 }]);
		expect(r.rows.map((x) => x.split)).toEqual([0, 0, 0, 2]);
		expect(r.moved).toBe(2);
	});
});

describe('normalisation and length', () => {
	const all = { unicode: 'NFKC', whitespace: true, stripHtml: true, lowercase: true } as const;

	it('normalises Unicode, whitespace and control characters, HTML and case, in that order', () => {
		expect(normalizeText('Caf\u0065\u0301', { ...DEFAULT_NORMALIZE })).toBe('Café'); // NFC composes
		expect(normalizeText('ﬁle Ｆｕｌｌ x²', { ...DEFAULT_NORMALIZE, unicode: 'NFKC' })).toBe('file Full x2');
		expect(normalizeText('  a\t\tb \u200b c\u0007\r\n\r\n\r\n\r\nd  ', DEFAULT_NORMALIZE)).toBe('a b c\n\nd');
		expect(normalizeText('<p>Fish &amp; chips</p><script>alert(1)</script>for &pound;5&#33;<br>now', { ...all })).toBe('fish & chips\nfor &pound;5!\nnow');
		expect(normalizeText('Keep  AS is', { unicode: 'none', whitespace: false, stripHtml: false, lowercase: false })).toBe('Keep  AS is');
	});

	it('previews and applies normalisation and the length filter; a text emptied by them is dropped', () => {
		const rows = [
			{ text: '<b>Refund</b>  please', label: 0, split: 0 },
			{ text: 'ok', label: 1, split: 0 },
			{ text: 'already clean text here', label: 1, split: 2 },
			{ text: '<br>', label: 0, split: 0 }
		];
		const check = checkRows(rows, 0.8, { ...DEFAULT_NORMALIZE, stripHtml: true }, { min: 3, max: 100 });
		expect(check.normalize.changed).toBe(2);
		expect(check.normalize.examples[0]).toEqual({ before: '<b>Refund</b>  please', after: 'Refund please' });
		expect(check.length.removed).toBe(1);
		const r = applyCleaning(rows, [
			{ kind: 'normalize', options: { ...DEFAULT_NORMALIZE, stripHtml: true } },
			{ kind: 'length', min: 3, max: 100 }
		]);
		expect(r.rows.map((x) => x.text)).toEqual(['Refund please', 'already clean text here']);
		expect([r.normalized, r.removed]).toEqual([2, 2]);
	});
});
