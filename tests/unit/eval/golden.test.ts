// Every field of every golden-vector case (scikit-learn 1.2.1, sacrebleu 2.6.0, nltk 3.8,
// rouge-score 0.1.2) through the library, one test per field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCase, expectedFields, FIXTURE_FILES, formatMismatch, type FixtureKind, type Json } from '../../../src/lib/engine/eval/golden';

type Case = { [key: string]: Json };
const FOLDER = join(__dirname, '../../fixtures/metrics');

function load(file: string): Case[] {
	return JSON.parse(readFileSync(join(FOLDER, file), 'utf8')).cases as Case[];
}

for (const [file, kind] of Object.entries(FIXTURE_FILES)) {
	describe(file, () => {
		const rows = load(file).flatMap((c) => Object.keys(expectedFields(kind, c)).map((field) => ({ name: String(c.name), field, c })));

		it('has cases', () => expect(rows.length).toBeGreaterThan(0));

		it.each(rows)('$name $field', ({ name, field, c }) => {
			const check = checkCase(kind, c).find((r) => r.field === field);
			expect(check, `no result for ${field}`).toBeDefined();
			expect(check!.mismatches.map((m) => formatMismatch(file, name, m))).toEqual([]);
		});

		it('reports nothing outside the expected fields', () => {
			for (const c of load(file)) {
				const fields = new Set(Object.keys(expectedFields(kind, c)));
				expect(checkCase(kind, c).filter((r) => !fields.has(r.field))).toEqual([]);
			}
		});
	});
}

describe('the checker itself', () => {
	const base = (): Case => JSON.parse(JSON.stringify(load('classification.json')[2]));
	const failures = (kind: FixtureKind, c: Case) => checkCase(kind, c).flatMap((r) => r.mismatches);

	it('fails a wrong number and says by how much', () => {
		const c = base();
		(c.expected as Case).accuracy = 0.61;
		const [m] = failures('classification', c);
		expect(m.path).toBe('accuracy');
		expect(m.diff).toBeCloseTo(0.01, 12);
		expect(formatMismatch('classification.json', 'x', m)).toMatch(/^classification.json x accuracy: expected 0.61 got 0.6 \(diff 0\.0100000/);
	});

	it('fails an unknown field instead of skipping it', () => {
		const c = base();
		(c.expected as Case).f2_macro = 0.5;
		(c.expected as Case).roc_curve = { ...((c.expected as Case).roc_curve as Case), optimal: 0.6 };
		const paths = failures('classification', c).map((m) => [m.path, m.problem]);
		expect(paths).toEqual([
			['roc_curve.optimal', 'unknown field: not implemented'],
			['f2_macro', 'unknown field: not implemented']
		]);
	});

	it('fails a count that is off by a rounding error, and a null that is a number', () => {
		const c = base();
		(c.expected as Case).support = [2, 3 + 1e-12];
		(c.expected as Case).roc_auc = null;
		expect(failures('classification', c).map((m) => m.path)).toEqual(['support[1]', 'roc_auc']);
	});

	it('fails a case it cannot score, e.g. a binary field in a multi-class case', () => {
		const c: Case = JSON.parse(JSON.stringify(load('classification.json')[6]));
		(c.expected as Case).roc_auc = 0.9;
		const [m] = failures('classification', c);
		expect(m.problem).toMatch(/could not score: a binary-only field/);
	});

	it('fails an unknown input key and a length mismatch', () => {
		const c: Case = JSON.parse(JSON.stringify(load('bleu.json')[0]));
		(c.sacrebleu_sentence as Json[]).pop();
		c.sample_weight = [1, 2];
		expect(failures('bleu', c).map((m) => m.path)).toEqual(['sacrebleu_sentence', 'sample_weight']);
	});
});
