import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
	applyLabelSteps,
	describeLabelSteps,
	detectMultiLabel,
	formatLabelList,
	parseLabelList,
	previewLabelSteps,
	type LabelDelimiter,
	type LabelStep
} from '../../../src/lib/data/labels';
import { importDataset, inspectFile, planImport, previewLabels, relabelDataset, type ImportArgs } from '../../../src/lib/data/pipeline';
import { defaultSplitConfig } from '../../../src/lib/shared/config';
import { UserError } from '../../../src/lib/shared/errors';
import { SPLIT_CODE, type StoredRow } from '../../../src/lib/shared/types';
import { getDatasetVersion, loadRows, useDatabase } from '../../../src/lib/storage';
import { enc } from './fixtures';

const LABELS = ['a', 'b', 'c', 'd'];
/** a: 10 rows, b: 5, c: 2, d: 1, spread over the splits (every 5th validation, every 7th test). */
function rowsOf(counts = [10, 5, 2, 1]): StoredRow[] {
	const rows: StoredRow[] = [];
	counts.forEach((n, label) => {
		for (let i = 0; i < n; i++) rows.push({ text: `${LABELS[label]} ${i}`, label, split: i % 5 === 4 ? 1 : i % 7 === 6 ? 2 : 0 });
	});
	return rows;
}
const names = (labels: string[], rows: StoredRow[]) => rows.map((r) => labels[r.label]);
const count = (rows: StoredRow[], label: number, split?: number) => rows.filter((r) => r.label === label && (split === undefined || r.split === split)).length;

function thrown(f: () => unknown): UserError {
	try {
		f();
	} catch (e) {
		expect(e).toBeInstanceOf(UserError);
		return e as UserError;
	}
	throw new Error('expected a UserError');
}

describe('label steps', () => {
	it('renames a class, keeping the names sorted and every row', () => {
		const rows = rowsOf();
		const r = applyLabelSteps(LABELS, rows, [{ kind: 'rename-label', from: 'b', to: 'zeta' }]);
		expect(r.labels).toEqual(['a', 'c', 'd', 'zeta']);
		expect(r.relabelled).toBe(5);
		expect(r.rows).toHaveLength(rows.length);
		expect(names(r.labels, r.rows)).toEqual(names(LABELS, rows).map((n) => (n === 'b' ? 'zeta' : n)));
		expect(r.rows.map((x) => x.split)).toEqual(rows.map((x) => x.split));
	});

	it('refuses a rename onto an existing class, an unknown class and an empty name, saying what to do', () => {
		expect(thrown(() => applyLabelSteps(LABELS, rowsOf(), [{ kind: 'rename-label', from: 'b', to: 'a' }])).message).toContain('merge “b” and “a” instead');
		expect(thrown(() => applyLabelSteps(LABELS, rowsOf(), [{ kind: 'rename-label', from: 'x', to: 'y' }])).message).toContain('There is no class “x”');
		expect(thrown(() => applyLabelSteps(LABELS, rowsOf(), [{ kind: 'rename-label', from: 'b', to: '  ' }])).message).toContain('cannot be empty');
	});

	it('merges classes into a new name or one of theirs', () => {
		const r = applyLabelSteps(LABELS, rowsOf(), [{ kind: 'merge-labels', from: ['c', 'd'], to: 'other' }]);
		expect(r.labels).toEqual(['a', 'b', 'other']);
		expect(r.relabelled).toBe(3);
		expect(count(r.rows, 2)).toBe(3);
		const into = applyLabelSteps(LABELS, rowsOf(), [{ kind: 'merge-labels', from: ['b', 'c'], to: 'b' }]);
		expect(into.labels).toEqual(['a', 'b', 'd']);
		expect(into.relabelled).toBe(2);
		expect(count(into.rows, 1)).toBe(7);
		expect(thrown(() => applyLabelSteps(LABELS, rowsOf(), [{ kind: 'merge-labels', from: ['c'], to: 'x' }])).message).toContain('at least two');
		expect(thrown(() => applyLabelSteps(LABELS, rowsOf(), [{ kind: 'merge-labels', from: ['c', 'd'], to: 'a' }])).message).toContain('“a” is another class');
	});

	it('drops the classes with fewer rows than the minimum, and only their rows', () => {
		const r = applyLabelSteps(LABELS, rowsOf(), [{ kind: 'drop-rare', min: 3 }]);
		expect(r.labels).toEqual(['a', 'b']);
		expect(r.removed).toBe(3);
		expect(r.dropped).toEqual([{ label: 'c', rows: 2 }, { label: 'd', rows: 1 }]);
		expect(r.rows.map((x) => x.text)).toEqual(rowsOf().filter((x) => x.label < 2).map((x) => x.text));
	});

	it('oversamples training only, to the largest training class or a target, seeded', () => {
		const rows = rowsOf();
		const step: LabelStep = { kind: 'resample', method: 'oversample', seed: 7 };
		const r = applyLabelSteps(LABELS, rows, [step]);
		const largest = count(rows, 0, SPLIT_CODE.train);
		for (let l = 0; l < 4; l++) expect(count(r.rows, l, SPLIT_CODE.train)).toBe(largest);
		expect(r.added).toBe(r.rows.length - rows.length);
		expect(r.rows.slice(0, rows.length)).toEqual(rows);
		// copies of training rows of their class
		for (const c of r.rows.slice(rows.length)) expect(rows.some((x) => x === c && x.split === 0)).toBe(true);
		expect(applyLabelSteps(LABELS, rows, [step]).rows).toEqual(r.rows);
		expect(applyLabelSteps(LABELS, rows, [{ ...step, seed: 8 }]).rows).not.toEqual(r.rows);
		const to12 = applyLabelSteps(LABELS, rows, [{ ...step, target: 12 }]);
		for (let l = 0; l < 4; l++) expect(count(to12.rows, l, SPLIT_CODE.train)).toBe(12);
	});

	it('undersamples training only, to the smallest training class or a target', () => {
		const rows = rowsOf();
		const r = applyLabelSteps(LABELS, rows, [{ kind: 'resample', method: 'undersample', seed: 1 }]);
		for (let l = 0; l < 4; l++) expect(count(r.rows, l, SPLIT_CODE.train)).toBe(1);
		const t = applyLabelSteps(LABELS, rows, [{ kind: 'resample', method: 'undersample', target: 3, seed: 1 }]);
		expect([0, 1, 2, 3].map((l) => count(t.rows, l, SPLIT_CODE.train))).toEqual([3, 3, 2, 1]);
		expect(thrown(() => applyLabelSteps(LABELS, rows, [{ kind: 'resample', method: 'undersample', target: 0, seed: 1 }])).message).toContain('at least 1');
	});

	it('previews counts before and after, and refuses what would leave one class or change nothing', () => {
		const p = previewLabelSteps(LABELS, rowsOf(), [{ kind: 'merge-labels', from: ['c', 'd'], to: 'rare' }, { kind: 'rename-label', from: 'a', to: 'alpha' }]);
		expect(p.before.labels).toEqual(LABELS);
		expect(p.after.labels).toEqual(['alpha', 'b', 'rare']);
		expect(p.after.counts.map((s) => s.reduce((a, b) => a + b, 0))).toEqual(p.before.counts.map((s) => s.reduce((a, b) => a + b, 0)));
		expect(p.relabelled).toBe(13);
		expect(p.refusal).toBeUndefined();
		expect(previewLabelSteps(LABELS, rowsOf(), [{ kind: 'drop-rare', min: 6 }]).refusal).toContain('Only the class “a” would be left');
		expect(previewLabelSteps(LABELS, rowsOf(), [{ kind: 'drop-rare', min: 1 }]).refusal).toContain('Nothing would change');
		expect(describeLabelSteps(p.steps)).toBe('c + d merged as rare, a renamed alpha');
	});
});

/** Random classification rows over a few classes and the three splits. */
const arbRows = fc.record({
	k: fc.integer({ min: 2, max: 6 }),
	cells: fc.array(fc.record({ label: fc.nat(), split: fc.constantFrom(0, 0, 0, 1, 2) }), { minLength: 1, maxLength: 80 })
}).map(({ k, cells }) => {
	// As an import stores them: only the classes that have rows, in order.
	const used = [...new Set(cells.map((c) => c.label % k))].sort((a, b) => a - b);
	return { labels: used.map((u) => `class ${u}`), rows: cells.map((c, i): StoredRow => ({ text: `t${i}`, label: used.indexOf(c.label % k), split: c.split })) };
});

describe('label steps, properties', () => {
	it('resampling never touches validation or test rows', () => {
		fc.assert(
			fc.property(arbRows, fc.constantFrom<'oversample' | 'undersample'>('oversample', 'undersample'), fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), fc.integer(), ({ labels, rows }, method, target, seed) => {
				fc.pre(rows.some((r) => r.split === 0));
				const r = applyLabelSteps(labels, rows, [{ kind: 'resample', method, target, seed }]);
				expect(r.rows.filter((x) => x.split !== 0)).toEqual(rows.filter((x) => x.split !== 0));
				expect(r.labels).toEqual(labels.filter((_, i) => rows.some((x) => x.label === i)));
			})
		);
	});

	it('rename and merge keep every row, its text and split', () => {
		fc.assert(
			fc.property(arbRows, fc.nat(), fc.nat(), ({ labels, rows }, a, b) => {
				const from = labels[a % labels.length];
				const other = labels[b % labels.length];
				const steps: LabelStep[] = [{ kind: 'rename-label', from, to: `renamed ${from}` }];
				if (other !== from) steps.push({ kind: 'merge-labels', from: [`renamed ${from}`, other], to: 'merged' });
				fc.pre(rows.some((r) => labels[r.label] === from));
				const r = applyLabelSteps(labels, rows, steps);
				expect(r.rows.map((x) => [x.text, x.split])).toEqual(rows.map((x) => [x.text, x.split]));
				expect(r.labels).toEqual([...r.labels].sort(new Intl.Collator('en', { numeric: true }).compare));
				const want = (n: string) => (n === from || n === other ? (steps.length > 1 ? 'merged' : `renamed ${from}`) : n);
				expect(names(r.labels, r.rows)).toEqual(names(labels, rows).map(want));
			})
		);
	});

	it('drop-rare removes exactly the rows of classes under the minimum', () => {
		fc.assert(
			fc.property(arbRows, fc.integer({ min: 1, max: 20 }), ({ labels, rows }, min) => {
				const counts = labels.map((_, i) => rows.filter((r) => r.label === i).length);
				const r = applyLabelSteps(labels, rows, [{ kind: 'drop-rare', min }]);
				const kept = rows.filter((x) => counts[x.label] >= min);
				expect(r.rows.map((x) => x.text)).toEqual(kept.map((x) => x.text));
				expect(names(r.labels, r.rows)).toEqual(names(labels, kept));
				expect(r.removed).toBe(rows.length - kept.length);
			})
		);
	});

	it('a multi-label cell round-trips through its delimiter', () => {
		const label = (forbid: string) => fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.trim()).filter((s) => s.length > 0 && !s.includes(forbid));
		for (const d of ['json', ';', '|', ','] as LabelDelimiter[]) {
			fc.assert(
				fc.property(fc.uniqueArray(label(d === 'json' ? '\u0000' : d), { minLength: 1, maxLength: 6 }), (labels) => {
					expect(parseLabelList(formatLabelList(labels, d), d)).toEqual(labels);
				})
			);
		}
	});
});

describe('multi-label cells', () => {
	it('reads JSON lists, Python lists and delimiters, trimmed and each label once', () => {
		expect(parseLabelList('["billing", "urgent"]', 'json')).toEqual(['billing', 'urgent']);
		expect(parseLabelList("['billing', 'urgent', 'billing']", 'json')).toEqual(['billing', 'urgent']);
		expect(parseLabelList('[1, 2]', 'json')).toEqual(['1', '2']);
		expect(parseLabelList('billing', 'json')).toEqual(['billing']);
		expect(parseLabelList('[]', 'json')).toEqual([]);
		expect(parseLabelList(' billing ; urgent;;', ';')).toEqual(['billing', 'urgent']);
		expect(parseLabelList('a|b', '|')).toEqual(['a', 'b']);
	});

	it('suggests the delimiter, and takes neither prose nor a single-label column for multi-label', () => {
		expect(detectMultiLabel(['billing;urgent', 'tech', 'tech;urgent', 'billing'])).toMatchObject({ delimiter: ';', multi: 2, labels: 3 });
		expect(detectMultiLabel(['["a","b"]', '["a"]', '["c"]'])).toMatchObject({ delimiter: 'json', multi: 1, labels: 3 });
		expect(detectMultiLabel(['a | b', 'b', 'a'])).toMatchObject({ delimiter: '|' });
		expect(detectMultiLabel(['billing', 'tech', 'billing'])).toBeNull();
		expect(detectMultiLabel(['Hello, I was charged twice, please help me with this', 'The parcel, which I ordered on Monday, never came', 'My app crashes, every time, on the login page'])).toBeNull();
	});
});

describe('label versions in storage', () => {
	beforeEach(() => useDatabase('test-' + Math.random()));

	function csv(): string {
		const lines = ['text,label,tags'];
		const tags = ['billing;urgent', 'tech', 'tech;account', 'billing'];
		for (let i = 0; i < 40; i++) lines.push(`ticket number ${i} about ${['money', 'crash', 'login', 'parcel'][i % 4]},${i < 24 ? 'billing' : i < 36 ? 'tech' : i < 39 ? 'account' : 'legal'},${tags[i % 4]}`);
		return lines.join('\n') + '\n';
	}
	const args = (over: Partial<ImportArgs> = {}): ImportArgs => ({ projectId: 'p', fileName: 'labels.csv', bytes: enc(csv()).buffer as ArrayBuffer, textColumn: 'text', labelColumn: 'label', split: { ...defaultSplitConfig }, skipBadRows: false, ...over });

	it('a label step makes a new version with its recipe; the source keeps its names, ids and rows', async () => {
		const v = await importDataset(args());
		expect(v.labels).toEqual(['account', 'billing', 'legal', 'tech']);
		const before = await loadRows(v.id);
		const steps: LabelStep[] = [{ kind: 'drop-rare', min: 2 }, { kind: 'rename-label', from: 'tech', to: 'engineering' }];
		const p = await previewLabels(v.id, steps);
		expect(p.removed).toBe(1);
		expect(p.after.labels).toEqual(['account', 'billing', 'engineering']);
		const w = await relabelDataset(v.id, steps);
		expect(w).toMatchObject({ cleanedOf: v.id, labels: ['account', 'billing', 'engineering'], labelCounts: [3, 24, 12], rowCount: 39 });
		expect(w.recipe).toEqual(steps);
		expect(w.name).toBe('labels.csv · labels: classes under 2 rows dropped, tech renamed engineering');
		expect(await getDatasetVersion(v.id)).toEqual(v);
		expect(await loadRows(v.id)).toEqual(before);
		const after = await loadRows(w.id);
		expect(after.map((r) => w.labels[r.label])).toEqual(before.filter((r) => v.labels[r.label] !== 'legal').map((r) => (v.labels[r.label] === 'tech' ? 'engineering' : v.labels[r.label])));
		await expect(relabelDataset(v.id, [{ kind: 'drop-rare', min: 20 }])).rejects.toThrow(/Only the class “billing” would be left/);
	});

	it('oversampling as a version leaves validation and test as they were', async () => {
		const v = await importDataset(args());
		const w = await relabelDataset(v.id, [{ kind: 'resample', method: 'oversample', seed: 3 }]);
		expect(w.split.sizes.validation).toBe(v.split.sizes.validation);
		expect(w.split.sizes.test).toBe(v.split.sizes.test);
		expect(w.split.sizes.train).toBeGreaterThan(v.split.sizes.train);
		const held = (rows: StoredRow[]) => rows.filter((r) => r.split !== 0);
		expect(held(await loadRows(w.id))).toEqual(held(await loadRows(v.id)));
	});

	it('detects a multi-label column and imports it as its first label or one row per label', async () => {
		const info = await inspectFile('labels.csv', enc(csv()).buffer as ArrayBuffer);
		expect(info.multiLabel).toEqual([{ column: 'tags', delimiter: ';', cells: 40, multi: 20, labels: 4 }]);
		const first = await importDataset(args({ labelColumn: 'tags', multiLabel: { delimiter: ';', mode: 'first' } }));
		expect(first.labels).toEqual(['billing', 'tech']);
		expect(first.rowCount).toBe(40);
		expect(first.multiLabel).toEqual({ delimiter: ';', mode: 'first', multiRows: 20 });
		const plan = await planImport(args({ labelColumn: 'tags', multiLabel: { delimiter: ';', mode: 'explode' } }));
		expect(plan.rows).toBe(60);
		const each = await importDataset(args({ labelColumn: 'tags', multiLabel: { delimiter: ';', mode: 'explode' } }));
		expect(each.labels).toEqual(['account', 'billing', 'tech', 'urgent']);
		expect(each.labelCounts).toEqual([10, 20, 20, 10]);
		// every copy of a text in one split
		const rows = await loadRows(each.id);
		const splitOf = new Map<string, number>();
		for (const r of rows) expect(splitOf.get(r.text) ?? (splitOf.set(r.text, r.split), r.split)).toBe(r.split);
		// read as one label per cell, the same column has combined labels
		const whole = await importDataset(args({ labelColumn: 'tags' }));
		expect(whole.labels).toContain('billing;urgent');
		await expect(previewLabels(each.id, [{ kind: 'rename-label', from: 'nope', to: 'x' }])).rejects.toThrow(/There is no class “nope”/);
	});
});
