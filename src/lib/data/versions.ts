/**
 * A dataset version out of the studio, and two versions side by side:
 *
 * - export as JSONL (one object per row: text, label name, split, response or messages, and the
 *   metadata columns), CSV (papaparse's RFC 4180 writer, the same columns, nested values as JSON)
 *   or Parquet (hyparquet-writer, snappy; every column a string), so a version round-trips through
 *   the importer;
 * - compare: rows matched by their content (text, and response or messages), reported as added,
 *   removed, or changed (same content, another label or split), with examples.
 */
import Papa from 'papaparse';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { SPLITS, type DatasetVersion, type StoredRow } from '../shared/types';
import { rowLabelNames } from './labels';

export type VersionFormat = 'jsonl' | 'csv' | 'parquet';

/** The version's rows as flat records with named columns, in a fixed column order. */
function records(version: DatasetVersion, rows: readonly StoredRow[]): { columns: string[]; rows: Record<string, string>[] } {
	const kind = version.kind ?? 'classification';
	const meta = new Set<string>();
	for (const r of rows) for (const k of Object.keys(r.meta ?? {})) meta.add(k);
	const hasResponse = rows.some((r) => r.response !== undefined);
	const hasMessages = rows.some((r) => r.messages);
	const columns = [
		hasMessages ? 'messages' : 'text',
		...(hasMessages ? [] : hasResponse ? ['response'] : []),
		...(kind === 'classification' ? ['label'] : []),
		'split',
		...[...meta].filter((m) => !['text', 'label', 'split', 'response', 'messages'].includes(m))
	];
	const out = rows.map((r) => {
		const o: Record<string, string> = Object.create(null);
		if (hasMessages) o.messages = JSON.stringify(r.messages ?? []);
		else o.text = r.text;
		if (!hasMessages && hasResponse) o.response = r.response ?? '';
		// A label set as a JSON list, which the importer reads back as a multi-label column.
		if (kind === 'classification') o.label = r.labels ? JSON.stringify(rowLabelNames(version.labels, r)) : (version.labels[r.label] ?? '');
		o.split = SPLITS[r.split];
		for (const c of columns) if (!(c in o)) o[c] = r.meta?.[c] ?? '';
		return o;
	});
	return { columns, rows: out };
}

/** The file name and bytes of a version in `format`. */
export function exportVersion(version: DatasetVersion, rows: readonly StoredRow[], format: VersionFormat): { fileName: string; bytes: Uint8Array } {
	// "tickets.csv · cleaned: PII redacted" -> "tickets-cleaned-PII-redacted"
	const base =
		version.name
			.replace(/\.(csv|tsv|jsonl|ndjson|json|parquet|txt)\b/gi, '')
			.replace(/[^\p{L}\p{N}.]+/gu, '-')
			.replace(/^-+|-+$/g, '')
			.slice(0, 80) || 'dataset';
	const { columns, rows: recs } = records(version, rows);
	let bytes: Uint8Array;
	if (format === 'jsonl') {
		const lines = recs.map((r) => {
			const o: Record<string, unknown> = {};
			for (const c of columns) o[c] = c === 'messages' ? JSON.parse(r[c]) : r[c];
			return JSON.stringify(o);
		});
		bytes = new TextEncoder().encode(lines.join('\n') + '\n');
	} else if (format === 'csv') {
		bytes = new TextEncoder().encode(Papa.unparse({ fields: columns, data: recs.map((r) => columns.map((c) => r[c])) }, { newline: '\n' }) + '\n');
	} else {
		bytes = new Uint8Array(parquetWriteBuffer({ columnData: columns.map((c) => ({ name: c, data: recs.map((r) => r[c]), type: 'STRING' as const })) }));
	}
	return { fileName: `${base}.${format}`, bytes };
}

export interface VersionDiff {
	a: { id: string; name: string; rows: number };
	b: { id: string; name: string; rows: number };
	same: number;
	added: number;
	removed: number;
	/** Same content, another label or split. */
	changed: number;
	examples: { added: string[]; removed: string[]; changed: { text: string; from: string; to: string }[] };
}

const content = (r: StoredRow) => JSON.stringify([r.text, r.response ?? null, r.messages ?? null]);
const short = (s: string) => (s.length > 140 ? s.slice(0, 139) + '…' : s);

/** What changed from version `a` to version `b`, row content as the key (repeated rows counted as many times as they occur). */
export function compareVersions(a: DatasetVersion, aRows: readonly StoredRow[], b: DatasetVersion, bRows: readonly StoredRow[]): VersionDiff {
	const describe = (v: DatasetVersion, r: StoredRow) => `${(v.kind ?? 'classification') === 'classification' ? `${rowLabelNames(v.labels, r).join(', ')} · ` : ''}${SPLITS[r.split]}`;
	const inA = new Map<string, StoredRow[]>();
	for (const r of aRows) inA.set(content(r), [...(inA.get(content(r)) ?? []), r]);
	const diff: VersionDiff = {
		a: { id: a.id, name: a.name, rows: aRows.length },
		b: { id: b.id, name: b.name, rows: bRows.length },
		same: 0,
		added: 0,
		removed: 0,
		changed: 0,
		examples: { added: [], removed: [], changed: [] }
	};
	for (const r of bRows) {
		const list = inA.get(content(r));
		const old = list?.shift();
		if (!old) {
			diff.added++;
			if (diff.examples.added.length < 10) diff.examples.added.push(short(r.text));
			continue;
		}
		const from = describe(a, old);
		const to = describe(b, r);
		if (from === to) diff.same++;
		else {
			diff.changed++;
			if (diff.examples.changed.length < 10) diff.examples.changed.push({ text: short(r.text), from, to });
		}
	}
	for (const list of inA.values())
		for (const r of list) {
			diff.removed++;
			if (diff.examples.removed.length < 10) diff.examples.removed.push(short(r.text));
		}
	return diff;
}
