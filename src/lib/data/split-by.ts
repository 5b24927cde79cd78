/**
 * Splits that keep related rows apart from the held-out data, the two scikit-learn users reach
 * for when a random split would leak:
 *
 * - by group (`GroupShuffleSplit`): every row of one group (a customer, a document, a patient) goes
 *   to one split. Groups are shuffled with the seed and dealt to test, then validation, until each
 *   holds its share of the rows; the rest train.
 * - by time: rows sorted by a date column, the oldest train, then validation, the newest test, so a
 *   model is judged on data from after what it learned from (rows with one date stay together).
 */
import { UserError } from '../shared/errors';
import { Prng, hashSeed } from '../shared/prng';
import { SPLIT_CODE, type StoredRow } from '../shared/types';

export interface SplitBy {
	kind: 'group' | 'time';
	column: string;
}

function checkFractions(validation: number, test: number): void {
	const ok = (f: number) => Number.isFinite(f) && f >= 0 && f < 1;
	if (!ok(validation) || !ok(test) || validation + test >= 1)
		throw new UserError('invalid-config', `Validation (${validation}) and test (${test}) shares must each be between 0 and 1 and leave rows for training.`);
}

function valuesOf(rows: readonly StoredRow[], column: string, what: string): string[] {
	const values = rows.map((r) => (r.meta?.[column] ?? '').trim());
	const missing = values.findIndex((v) => v === '');
	if (missing >= 0)
		throw new UserError('invalid-config', `Row ${missing + 1} has no ${what} in "${column}" (${values.filter((v) => v === '').length} rows have none). Every row needs one; pick another column, or split by label.`);
	return values;
}

/** Deals whole units (groups, or runs of one date) in `order` to test, validation, then train by row counts. */
function deal(units: number[][], order: number[], n: number, validation: number, test: number, fromEnd: boolean): Uint8Array {
	const codes = new Uint8Array(n).fill(SPLIT_CODE.train);
	const want = { test: Math.round(n * test), validation: Math.round(n * validation) };
	let have = { test: 0, validation: 0 };
	const seq = fromEnd ? [...order].reverse() : order;
	for (const u of seq) {
		const size = units[u].length;
		const target = have.test < want.test ? 'test' : have.validation < want.validation ? 'validation' : null;
		if (!target) break;
		for (const i of units[u]) codes[i] = SPLIT_CODE[target];
		have = { ...have, [target]: have[target] + size };
	}
	return codes;
}

/** One split code per row, by group or by time. */
export function splitRowsBy(rows: readonly StoredRow[], by: SplitBy, cfg: { seed: number; validation: number; test: number }): Uint8Array {
	checkFractions(cfg.validation, cfg.test);
	if (by.kind === 'group') {
		const values = valuesOf(rows, by.column, 'group');
		const index = new Map<string, number>();
		const units: number[][] = [];
		values.forEach((v, i) => {
			let g = index.get(v);
			if (g === undefined) index.set(v, (g = units.push([]) - 1));
			units[g].push(i);
		});
		if (units.length < 3 && (cfg.validation > 0 || cfg.test > 0))
			throw new UserError('invalid-config', `"${by.column}" has only ${units.length} group${units.length === 1 ? '' : 's'}; splitting by group needs at least one group per split. Pick a column with more groups.`);
		const rng = new Prng(hashSeed(`group-split:${cfg.seed}`));
		const order = units.map((_, i) => i);
		for (let i = order.length - 1; i > 0; i--) {
			const j = rng.int(i + 1);
			[order[i], order[j]] = [order[j], order[i]];
		}
		return deal(units, order, rows.length, cfg.validation, cfg.test, false);
	}
	const values = valuesOf(rows, by.column, 'date');
	const times = values.map((v) => Date.parse(v));
	const bad = times.findIndex((t) => Number.isNaN(t));
	if (bad >= 0)
		throw new UserError('invalid-config', `Row ${bad + 1}'s "${by.column}" is "${values[bad]}", not a date (${times.filter((t) => Number.isNaN(t)).length} rows like it). Use ISO dates such as 2024-03-01, or pick another column.`);
	const byTime = new Map<number, number[]>();
	times.forEach((t, i) => byTime.set(t, [...(byTime.get(t) ?? []), i]));
	const sorted = [...byTime.keys()].sort((a, b) => a - b);
	const units = sorted.map((t) => byTime.get(t)!);
	// newest first: test takes the latest dates, then validation
	return deal(units, units.map((_, i) => i), rows.length, cfg.validation, cfg.test, true);
}
