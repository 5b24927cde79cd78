/**
 * Check & clean say where they are: each stage (measuring, hashing, comparing candidates, looking
 * for personal data, applying a step) is reported by name with its count, in order, and the work
 * ends with no stage left; reporting does not change what the check or the cleaning finds.
 * (The page shows these with Cancel, which ends the data worker: e2e data-clean.spec.)
 */
import { describe, expect, it } from 'vitest';
import { applyCleaningInSlices, checkRowsInSlices, DEFAULT_NORMALIZE, type BandKeyer, type CleanStep } from '../../../src/lib/data/clean';
import { bandKeys } from '../../../src/lib/data/minhash';
import type { PhaseProgress } from '../../../src/lib/shared/phases';
import type { StoredRow } from '../../../src/lib/shared/types';

function rows(n: number): StoredRow[] {
	const out: StoredRow[] = [];
	for (let i = 0; i < n; i++) {
		const text = i % 10 === 3 ? `refund for order ${i - 1} please, mail me at user${i}@example.com` : i % 10 === 2 ? `refund for order ${i} please` : `ticket ${i} about parcel ${i * 7} and invoice ${i * 13}`;
		out.push({ text, label: i % 3, split: i % 5 === 0 ? 2 : i % 5 === 1 ? 1 : 0 } as StoredRow);
	}
	return out;
}

/** The phases heard, null included, and the phase names in the order they first came. */
function listener() {
	const heard: (PhaseProgress | null)[] = [];
	const order = () => [...new Set(heard.filter((p): p is PhaseProgress => !!p).map((p) => p.phase))];
	return { heard, order, onPhase: (p: PhaseProgress | null) => void heard.push(p && { ...p }) };
}

function wellFormed(heard: (PhaseProgress | null)[]) {
	expect(heard.at(-1)).toBeNull();
	const last = new Map<string, number>();
	for (const p of heard) {
		if (!p) continue;
		expect(p.done).toBeGreaterThanOrEqual(0);
		if (p.total > 0) expect(p.done).toBeLessThanOrEqual(p.total);
		const key = `${p.phase}|${p.note ?? ''}`;
		// within one stage the count never goes back
		if (last.has(key)) expect(p.done).toBeGreaterThanOrEqual(last.get(key)!);
		last.set(key, p.done);
	}
}

const LENGTH = { min: 0, max: Infinity };

describe('check & clean progress', () => {
	it('a check reports measuring, hashing, comparing and scanning with their totals, and ends; the result is the same unheard', async () => {
		const data = rows(1200);
		const l = listener();
		const heard = await checkRowsInSlices(data, 0.8, DEFAULT_NORMALIZE, LENGTH, undefined, l.onPhase);
		expect(l.order()).toEqual(['measuring', 'hashing', 'comparing', 'scanning']);
		wellFormed(l.heard);
		const first = (phase: string) => l.heard.find((p) => p?.phase === phase)!;
		expect(first('measuring')).toMatchObject({ done: 0, total: 1200, unit: 'rows' });
		expect(first('hashing')).toMatchObject({ done: 0, total: 1200, unit: 'rows' });
		expect(first('comparing')).toMatchObject({ done: 0, unit: 'bands' });
		expect(first('comparing').total).toBeGreaterThan(1);
		expect(first('scanning')).toMatchObject({ done: 0, total: 1200, unit: 'rows' });
		expect(heard.clusterCount).toBeGreaterThan(0);
		expect(heard.piiRows).toBe(120);
		expect(await checkRowsInSlices(data, 0.8, DEFAULT_NORMALIZE, LENGTH)).toEqual(heard);
	});

	it('with keys made by sub-workers, hashing is one stage without a count, and the rows are not hashed again', async () => {
		const data = rows(800);
		const keysFor: BandKeyer = async (texts, opts) => bandKeys(texts, opts);
		const l = listener();
		const heard = await checkRowsInSlices(data, 0.8, DEFAULT_NORMALIZE, LENGTH, keysFor, l.onPhase);
		expect(l.order()).toEqual(['hashing', 'measuring', 'comparing', 'scanning']);
		const hashing = l.heard.filter((p) => p?.phase === 'hashing');
		expect(hashing).toEqual([{ phase: 'hashing', done: 0, total: 0, unit: 'rows', note: '800 rows, on every core' }]);
		wellFormed(l.heard);
		expect(heard).toEqual(await checkRowsInSlices(data, 0.8, DEFAULT_NORMALIZE, LENGTH));
	});

	it('a cleaning reports each step it applies, and ends; the rows are those of an unheard cleaning', async () => {
		const data = rows(800);
		const steps: CleanStep[] = [{ kind: 'normalize', options: { ...DEFAULT_NORMALIZE, lowercase: true } }, { kind: 'near-duplicates', threshold: 0.8 }, { kind: 'redact-pii' }];
		const l = listener();
		const cleaned = await applyCleaningInSlices(data, steps, undefined, l.onPhase);
		expect(l.order()).toEqual(['cleaning', 'hashing', 'comparing']);
		expect([...new Set(l.heard.filter((p) => p?.phase === 'cleaning').map((p) => p!.note))]).toEqual(['normalizing', 'redacting personal data']);
		wellFormed(l.heard);
		expect(cleaned.redactedRows).toBeGreaterThan(0);
		expect(cleaned.removed).toBeGreaterThan(0);
		expect(await applyCleaningInSlices(data, steps)).toEqual(cleaned);
	});

	it('an empty version is checked without a stage left behind', async () => {
		const l = listener();
		await checkRowsInSlices([], 0.8, DEFAULT_NORMALIZE, LENGTH, undefined, l.onPhase);
		expect(l.heard.at(-1)).toBeNull();
	});
});
