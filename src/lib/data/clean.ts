/**
 * Cleaning a stored dataset version: a check that previews what each step would change, and the
 * steps themselves, which make a new immutable version (the source stays as it was):
 *
 *   near-duplicates  keep the first row of each MinHash near-duplicate cluster (minhash.ts)
 *   redact-pii       replace personal data with typed placeholders (pii.ts), in texts and responses
 *   fix-leakage      put each near-duplicate cluster that spans splits wholly in training (leakage.ts)
 *
 * Steps run in the order given; the version records them as its recipe.
 */
import type { ChatMessage, StoredRow } from '../shared/types';
import { findLeakage } from './leakage';
import { findNearDuplicates } from './minhash';
import { findPii, redactPii, scanPii, PII_NOT_FOUND } from './pii';

export type CleanStep = { kind: 'near-duplicates'; threshold: number } | { kind: 'redact-pii' } | { kind: 'fix-leakage'; threshold: number };

export interface CleanCheck {
	rows: number;
	threshold: number;
	/** Near-duplicate clusters: row indices (0-based, in stored order) and their texts, largest first (first 50). */
	clusters: { rows: number[]; texts: string[]; splits: number[] }[];
	clusterCount: number;
	/** Rows the near-duplicate step would remove (all but the first of each cluster). */
	nearRemovable: number;
	pii: { kind: string; count: number; rows: number; examples: string[] }[];
	/** Rows the redaction would change. */
	piiRows: number;
	piiNotFound: string;
	/** Held-out rows with a copy in training, per split, and the rows the fix would move. */
	leakage: { validation: number; test: number; pairs: { heldOut: string; train: string; split: string; kind: string }[]; moves: number };
}

/** All the text of a row that personal data can hide in. */
function rowTexts(r: StoredRow): string[] {
	return [r.text, r.response ?? '', ...(r.messages ?? []).map((m) => m.content)];
}

const short = (s: string) => (s.length > 160 ? s.slice(0, 159) + '…' : s);

export function checkRows(rows: readonly StoredRow[], threshold = 0.8): CleanCheck {
	const texts = rows.map((r) => r.text);
	const near = findNearDuplicates(texts, { threshold });
	const pii = scanPii(rows.map((r) => rowTexts(r).join('\n')));
	const leak = findLeakage(
		texts,
		rows.map((r) => r.split),
		{ threshold }
	);
	const piiRows = new Set(Object.values(pii.rows).flat()).size;
	let moves = 0;
	for (const c of leak.clusters) for (const i of c) if (rows[i].split !== 0) moves++;
	return {
		rows: rows.length,
		threshold,
		clusters: near.clusters.slice(0, 50).map((c) => ({ rows: c, texts: c.map((i) => short(rows[i].text)), splits: c.map((i) => rows[i].split) })),
		clusterCount: near.clusters.length,
		nearRemovable: near.clusters.reduce((n, c) => n + c.length - 1, 0),
		pii: Object.keys(pii.counts).map((k) => ({ kind: k, count: pii.counts[k], rows: pii.rows[k].length, examples: pii.examples[k].map((e) => e.text) })),
		piiRows,
		piiNotFound: PII_NOT_FOUND,
		leakage: {
			validation: leak.rows.validation,
			test: leak.rows.test,
			pairs: leak.pairs.slice(0, 50).map((p) => ({ heldOut: short(texts[p.heldOut]), train: short(texts[p.train]), split: p.split, kind: p.kind })),
			moves
		}
	};
}

export interface CleanResult {
	rows: StoredRow[];
	removed: number;
	redactedRows: number;
	moved: number;
}

function redactRow(r: StoredRow): StoredRow {
	const out: StoredRow = { ...r, text: redactPii(r.text) };
	if (r.response !== undefined) out.response = redactPii(r.response);
	if (r.messages) out.messages = r.messages.map((m): ChatMessage => ({ ...m, content: redactPii(m.content) }));
	return out;
}

export function applyCleaning(input: readonly StoredRow[], steps: readonly CleanStep[]): CleanResult {
	let rows = [...input];
	const result: CleanResult = { rows, removed: 0, redactedRows: 0, moved: 0 };
	for (const step of steps) {
		if (step.kind === 'near-duplicates') {
			const { clusters } = findNearDuplicates(
				rows.map((r) => r.text),
				{ threshold: step.threshold }
			);
			const drop = new Set(clusters.flatMap((c) => c.slice(1)));
			result.removed += drop.size;
			rows = rows.filter((_, i) => !drop.has(i));
		} else if (step.kind === 'redact-pii') {
			rows = rows.map((r) => {
				if (!rowTexts(r).some((t) => findPii(t).length)) return r;
				result.redactedRows++;
				return redactRow(r);
			});
		} else {
			const leak = findLeakage(
				rows.map((r) => r.text),
				rows.map((r) => r.split),
				{ threshold: step.threshold }
			);
			const move = new Set(leak.clusters.flat().filter((i) => rows[i].split !== 0));
			result.moved += move.size;
			rows = rows.map((r, i) => (move.has(i) ? { ...r, split: 0 } : r));
		}
	}
	result.rows = rows;
	return result;
}

/** The steps in words, for a version's name and its recipe line. */
export function describeSteps(steps: readonly CleanStep[]): string {
	return steps
		.map((s) => (s.kind === 'near-duplicates' ? `near-duplicates dropped (Jaccard ≥ ${s.threshold})` : s.kind === 'redact-pii' ? 'PII redacted' : `leakage moved to train (Jaccard ≥ ${s.threshold})`))
		.join(', ');
}
