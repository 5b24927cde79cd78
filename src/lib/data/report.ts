/**
 * The data report: what a file holds and what is wrong with it, before it is imported, computed by
 * the importer's own code (parse, kind guess, row building with the split it would store) so the
 * Data screen and `npm run data:report` give the same numbers:
 *
 *   rows read and columns, the detected kind and columns, unreadable records with their lines,
 *   exact-duplicate groups, texts with conflicting labels, near-duplicate clusters (minhash.ts),
 *   personal data per kind (pii.ts), and train/held-out leakage after the default split
 *   (leakage.ts).
 *
 * Row numbers are 1-based data rows: the n-th record of the file after its header, with the
 * physical line where it starts beside it.
 */
import { defaultSplitConfig, type SplitConfig } from '../shared/config';
import { SPLITS } from '../shared/types';
import { guessKind, type DatasetKind } from './kinds';
import { readTable } from './parquet';
import { buildFor } from './pipeline';
import { findNearDuplicates } from './minhash';
import { scanPii, PII_NOT_FOUND, type PiiPattern } from './pii';
import { findLeakage } from './leakage';

export interface DataReportOptions {
	text?: string;
	label?: string;
	kind?: DatasetKind;
	/** Near-duplicate Jaccard threshold; default 0.8. */
	near?: number;
	split?: SplitConfig;
	piiPatterns?: PiiPattern[];
}

/** A data row: its 1-based number among the records and the line it starts on. */
export interface RowRef {
	row: number;
	line: number;
}

export interface DataReport {
	fileName: string;
	format: string;
	encoding: string;
	rowsRead: number;
	columns: string[];
	kind: DatasetKind;
	why: string;
	textColumn: string;
	labelColumn?: string;
	/** Usable rows (not empty, readable). */
	usable: number;
	problems: { line: number; message: string }[];
	/** Rows dropped whatever is chosen: empty text, label, prompt or response. */
	empty: { line: number; reason: string }[];
	/** Groups of rows repeating one example exactly (text and label / prompt and response). */
	exactDuplicates: RowRef[][];
	/** Texts with more than one label: the text, its labels and rows. */
	conflicts: { text: string; labels: string[]; rows: RowRef[] }[];
	nearThreshold: number;
	/** Near-duplicate clusters (two or more rows), largest first. */
	nearDuplicates: RowRef[][];
	pii: { kind: string; count: number; rows: RowRef[]; examples: string[] }[];
	piiNotFound: string;
	split: SplitConfig & { sizes: Record<string, number> };
	/** Held-out rows with a copy in training (exact or near), each once with one training row it repeats (leakage.ts). */
	leakage: { heldOut: RowRef; train: RowRef; split: string; kind: 'exact' | 'near'; jaccard: number }[];
}

export async function dataReport(fileName: string, bytes: ArrayBuffer | Uint8Array, opts: DataReportOptions = {}): Promise<DataReport> {
	const table = await readTable(fileName, bytes);
	const guess = guessKind(table);
	const kind = opts.kind ?? guess.kind;
	const textColumn = opts.text ?? guess.textColumn ?? table.columns[0];
	const labelColumn = kind === 'classification' ? (opts.label ?? guess.labelColumn) : undefined;
	const split = opts.split ?? defaultSplitConfig;
	const ab = bytes instanceof Uint8Array ? (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer) : bytes;
	const built = buildFor(table, {
		projectId: '',
		fileName,
		bytes: ab,
		kind,
		textColumn,
		labelColumn,
		responseColumn: kind === 'pairs' ? guess.responseColumn : undefined,
		pairsFormat: kind === 'pairs' ? guess.format : undefined,
		split,
		skipBadRows: true,
		duplicates: 'keep',
		conflicts: 'keep'
	});
	// With every duplicate kept, the built rows are the records minus the dropped ones, in order.
	const droppedLines = new Set(built.dropped.map((d) => d.line));
	const refs: RowRef[] = [];
	table.records.forEach((r, i) => {
		if (!droppedLines.has(r.line)) refs.push({ row: i + 1, line: r.line });
	});
	const rows = built.rows;
	const example = (i: number) => JSON.stringify([rows[i].text, rows[i].label, rows[i].response ?? null, rows[i].messages ?? null]);

	const byExample = new Map<string, number[]>();
	rows.forEach((_, i) => {
		const k = example(i);
		const g = byExample.get(k);
		if (g) g.push(i);
		else byExample.set(k, [i]);
	});
	const exactDuplicates = [...byExample.values()].filter((g) => g.length > 1).map((g) => g.map((i) => refs[i]));

	const conflicts: DataReport['conflicts'] = [];
	if (kind === 'classification') {
		const byText = new Map<string, Map<number, number[]>>();
		rows.forEach((r, i) => {
			const m = byText.get(r.text) ?? new Map<number, number[]>();
			m.set(r.label, [...(m.get(r.label) ?? []), i]);
			byText.set(r.text, m);
		});
		for (const [text, m] of byText)
			if (m.size > 1)
				conflicts.push({ text, labels: [...m.keys()].map((l) => built.labels[l]), rows: [...m.values()].flat().sort((a, b) => a - b).map((i) => refs[i]) });
	}

	const texts = rows.map((r) => (r.response !== undefined ? `${r.text}\n${r.response}` : r.text));
	const nearThreshold = opts.near ?? 0.8;
	const near = findNearDuplicates(texts, { threshold: nearThreshold });
	const piiReport = scanPii(texts, opts.piiPatterns ?? []);
	// leakage compares texts (prompts for pairs); the near-duplicates above are of the same texts unless rows have responses
	const leakTexts = rows.map((r) => r.text);
	const leak = findLeakage(
		leakTexts,
		rows.map((r) => r.split),
		{ threshold: nearThreshold },
		texts.every((t, i) => t === leakTexts[i]) ? near : undefined
	);
	const sizes: Record<string, number> = { train: 0, validation: 0, test: 0 };
	for (const r of rows) sizes[SPLITS[r.split]]++;

	return {
		fileName,
		format: table.format,
		encoding: table.encoding,
		rowsRead: table.records.length,
		columns: table.columns,
		kind,
		why: opts.kind ? 'chosen' : guess.why,
		textColumn,
		labelColumn,
		usable: rows.length,
		problems: table.problems,
		empty: built.dropped.filter((d) => !table.problems.some((p) => p.line === d.line)),
		exactDuplicates,
		conflicts,
		nearThreshold,
		nearDuplicates: near.clusters.map((c) => c.map((i) => refs[i])),
		pii: Object.keys(piiReport.counts).map((k) => ({ kind: k, count: piiReport.counts[k], rows: piiReport.rows[k].map((i) => refs[i]), examples: piiReport.examples[k].map((e) => e.text) })),
		piiNotFound: PII_NOT_FOUND,
		split: { ...split, sizes },
		leakage: leak.pairs.map((p) => ({ heldOut: refs[p.heldOut], train: refs[p.train], split: p.split, kind: p.kind, jaccard: p.jaccard }))
	};
}

/** The report as plain text, one section per finding, row numbers listed. */
export function formatDataReport(r: DataReport): string {
	const list = (refs: RowRef[]) => refs.map((x) => x.row).join(', ');
	const out: string[] = [];
	out.push(`${r.fileName}: ${r.rowsRead} rows read (${r.format.toUpperCase()}, ${r.encoding}); columns: ${r.columns.join(', ')}`);
	out.push(`kind: ${r.kind} (${r.why}); text: "${r.textColumn}"${r.labelColumn ? `; label: "${r.labelColumn}"` : ''}; ${r.usable} usable rows`);
	out.push(`problems: ${r.problems.length}` + r.problems.slice(0, 20).map((p) => `\n  line ${p.line}: ${p.message}`).join(''));
	if (r.empty.length) out.push(`empty: ${r.empty.length}` + r.empty.slice(0, 20).map((d) => `\n  line ${d.line}: ${d.reason}`).join(''));
	out.push(`exact-duplicate groups: ${r.exactDuplicates.length}` + r.exactDuplicates.map((g) => `\n  rows ${list(g)}`).join(''));
	if (r.kind === 'classification') out.push(`conflicting duplicates: ${r.conflicts.length}` + r.conflicts.map((c) => `\n  rows ${list(c.rows)}: ${c.labels.join(' / ')}: ${c.text.slice(0, 80)}`).join(''));
	out.push(`near-duplicate clusters (Jaccard ≥ ${r.nearThreshold}): ${r.nearDuplicates.length}` + r.nearDuplicates.map((g) => `\n  rows ${list(g)}`).join(''));
	out.push(`PII: ${r.pii.length ? r.pii.map((p) => `${p.kind} ${p.count}`).join(', ') : 'none found'}` + r.pii.map((p) => `\n  ${p.kind}: rows ${list(p.rows)}`).join(''));
	out.push(`  (not looked for: ${r.piiNotFound})`);
	const s = r.split;
	out.push(`split (seed ${s.seed}, validation ${s.validation}, test ${s.test}): train ${s.sizes.train}, validation ${s.sizes.validation}, test ${s.sizes.test}`);
	const leaked = (split: string) => r.leakage.filter((l) => l.split === split).length;
	out.push(
		`train/held-out leakage: ${leaked('validation')} validation and ${leaked('test')} test rows repeat a training row` +
			r.leakage.map((l) => `\n  ${l.split} row ${l.heldOut.row} ~ train row ${l.train.row} (${l.kind}, Jaccard ${l.jaccard.toFixed(2)})`).join('')
	);
	return out.join('\n');
}
