/**
 * Re-checks the metrics library against a folder of golden vectors:
 *   npx tsx scripts/check-metrics.ts tests/fixtures/metrics
 * Reads classification.json, multilabel.json, bleu.json and rouge.json (absent ones are skipped),
 * scores every case, compares every expected field (counts exactly, floats within 1e-9; see
 * FLOAT_TOLERANCE in golden.ts), prints one line per mismatch and ends with `N passed, M failed`.
 * Exits 1 on any mismatch, unknown field or case it could not score.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCase, FIXTURE_FILES, formatMismatch, NOT_COMPARED, type Json } from '../src/lib/engine/eval/golden';

const KNOWN_TOP_LEVEL = new Set(['reference', 'canonical', 'seed', 'probability_resolution', 'cases']);

function main(folder: string | undefined): number {
	if (!folder) {
		console.error('usage: npx tsx scripts/check-metrics.ts <fixture folder>');
		return 2;
	}
	let passed = 0;
	let failed = 0;
	let exact = 0;
	let close = 0;
	let files = 0;
	for (const [file, kind] of Object.entries(FIXTURE_FILES)) {
		const path = join(folder, file);
		if (!existsSync(path)) continue;
		files++;
		let data: { [key: string]: Json };
		try {
			data = JSON.parse(readFileSync(path, 'utf8'));
		} catch (e) {
			console.log(`${file}: could not read: ${(e as Error).message}`);
			failed++;
			continue;
		}
		for (const key of Object.keys(data)) {
			if (!KNOWN_TOP_LEVEL.has(key)) console.log(`${file}: note: top-level key '${key}' is not used`);
		}
		const cases = Array.isArray(data.cases) ? data.cases : [];
		if (cases.length === 0) {
			console.log(`${file}: no cases`);
			failed++;
		}
		for (const c of cases) {
			const obj = c as { [key: string]: Json };
			const name = typeof obj.name === 'string' ? obj.name : '(unnamed)';
			for (const check of checkCase(kind, obj)) {
				exact += check.exact;
				close += check.close;
				if (check.mismatches.length === 0) passed++;
				else {
					failed++;
					for (const m of check.mismatches) console.log(formatMismatch(file, name, m));
				}
			}
		}
	}
	if (files === 0) {
		console.log(`no fixture files (${Object.keys(FIXTURE_FILES).join(', ')}) in ${folder}`);
		failed++;
	}
	const skipped = Object.keys(NOT_COMPARED);
	if (skipped.length) console.log(`not compared (see NOT_COMPARED): ${skipped.join(', ')}`);
	console.log(`float values: ${exact} bit-identical, ${close} within tolerance`);
	console.log(`${passed} passed, ${failed} failed`);
	return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv[2]);
