/**
 * Cleaning a stored dataset version: a check that previews what each step would change, and the
 * steps themselves, which make a new immutable version (the source stays as it was):
 *
 *   normalize        Unicode NFC/NFKC, whitespace and control characters, HTML tags, lowercase
 *   length           drop rows whose text is shorter or longer than a range of characters
 *   near-duplicates  keep the first row of each MinHash near-duplicate cluster (minhash.ts)
 *   redact-pii       replace personal data with typed placeholders (pii.ts), in texts and responses
 *   fix-leakage      put each near-duplicate cluster that spans splits wholly in training (leakage.ts)
 *
 * Steps run in the order given; the version records them as its recipe.
 */
import type { ChatMessage, StoredRow } from '../shared/types';
import { UserError } from '../shared/errors';
import { findLeakage } from './leakage';
import { keyOptions, nearDuplicateWork, type KnownBandKeys, type NearDupOptions, type NearDupResult } from './minhash';
import { findPii, redactPii, scanPiiWork, PII_NOT_FOUND, type PiiPattern } from './pii';
import { runInSlices, runToEnd, type Work } from './sliced';
import { PhaseReporter, type PhaseName, type PhaseProgress } from '../shared/phases';

/** Hears the stages of a check or a cleaning (phases.ts) with their counts; null when the work is over. */
export type OnPhase = (p: PhaseProgress | null) => void;

/**
 * The stages of one check or cleaning, reported one after another (each `stage` replaces the one
 * before) at most every 250 ms; the work counts at its yield points, every few dozen rows.
 */
class Stages {
	constructor(private readonly emit?: OnPhase) {}

	/** Starts a stage; the function returned counts it (`done` of `total`). */
	stage(phase: PhaseName, total: number, unit: string, note?: string): (done: number) => void {
		if (!this.emit) return () => {};
		const reporter = new PhaseReporter(this.emit, { phase, total, unit, ...(note ? { note } : {}) });
		return (done) => reporter.tick(done);
	}

	end(): void {
		this.emit?.(null);
	}
}

/** Text normalisation: Unicode form, whitespace and control characters, HTML tags and entities, case. */
export interface NormalizeOptions {
	unicode: 'NFC' | 'NFKC' | 'none';
	/** Control characters removed, runs of spaces and tabs made one space, ends trimmed (line breaks kept). */
	whitespace: boolean;
	/** Tags removed, the common entities decoded. */
	stripHtml: boolean;
	lowercase: boolean;
}

export const DEFAULT_NORMALIZE: NormalizeOptions = { unicode: 'NFC', whitespace: true, stripHtml: false, lowercase: false };

export type CleanStep =
	| { kind: 'normalize'; options: NormalizeOptions }
	| { kind: 'length'; min: number; max: number }
	| { kind: 'near-duplicates'; threshold: number }
	| { kind: 'redact-pii'; patterns?: PiiPattern[] }
	| { kind: 'fix-leakage'; threshold: number };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** One text through the normalisation options, in the order HTML, Unicode, whitespace, case. */
export function normalizeText(text: string, o: NormalizeOptions): string {
	let t = text;
	if (o.stripHtml)
		t = t
			.replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
			.replace(/<br\s*\/?>|<\/(p|div|li|h[1-6])>/gi, '\n')
			.replace(/<[^>]+>/g, '')
			.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
				if (e[0] === '#') {
					const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
					return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
				}
				return ENTITIES[e.toLowerCase()] ?? m;
			});
	if (o.unicode !== 'none') t = t.normalize(o.unicode);
	if (o.whitespace)
		t = t
			.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b\ufeff]/g, '')
			.replace(/\r\n?/g, '\n')
			.replace(/[ \t\u00a0]+/g, ' ')
			.replace(/ *\n */g, '\n')
			.replace(/\n{3,}/g, '\n\n')
			.trim();
	if (o.lowercase) t = t.toLowerCase();
	return t;
}

export interface CleanCheck {
	rows: number;
	threshold: number;
	/** Rows the normalisation changes, with the first few before and after. */
	normalize: { options: NormalizeOptions; changed: number; examples: { before: string; after: string }[] };
	/** Rows outside the length range (characters), which the length filter removes. */
	length: { min: number; max: number; removed: number; examples: string[] };
	/** Near-duplicate clusters: row indices (0-based, in stored order) and their texts, largest first (first 50). */
	clusters: { rows: number[]; texts: string[]; splits: number[] }[];
	clusterCount: number;
	/** Rows the near-duplicate step would remove (all but the first of each cluster). */
	nearRemovable: number;
	pii: { kind: string; count: number; rows: number; examples: string[] }[];
	/** Rows the redaction would change. */
	piiRows: number;
	piiNotFound: string;
	/** Held-out rows with a copy in training, per split, the first of them each with one training row it repeats, and the rows the fix would move. */
	leakage: { validation: number; test: number; pairs: { heldOut: string; train: string; split: string; kind: string }[]; moves: number };
}

/** All the text of a row that personal data can hide in. */
function rowTexts(r: StoredRow): string[] {
	return [r.text, r.response ?? '', ...(r.messages ?? []).map((m) => m.content)];
}

const short = (s: string) => (s.length > 160 ? s.slice(0, 159) + '…' : s);

/** Clusters and leakage pairs the check lists (with their texts) for display; their counts stay exact. */
export const CHECK_LISTED = 50;

export function checkRows(rows: readonly StoredRow[], threshold = 0.8, normalize: NormalizeOptions = DEFAULT_NORMALIZE, length = { min: 0, max: Infinity }, patterns: readonly PiiPattern[] = []): CleanCheck {
	return runToEnd(checkWork(rows, threshold, normalize, length, undefined, undefined, patterns));
}

/** `checkRows` in slices that give the event loop back (the data worker's heartbeat): the same result. */
/**
 * The band keys of texts made elsewhere (sub-workers on every core, workers/minhash-pool.ts), or
 * undefined to make them in this thread. The check and the cleaning give the same result either way.
 */
export type BandKeyer = (texts: readonly string[], opts: NearDupOptions) => Promise<Int32Array | undefined>;

/** The keys `keysFor` makes for these texts as KnownBandKeys for a search at `threshold`. */
async function knownKeys(texts: readonly string[], threshold: number | undefined, keysFor?: BandKeyer): Promise<KnownBandKeys | undefined> {
	if (!keysFor || threshold === undefined) return undefined;
	const keys = await keysFor(texts, { threshold });
	if (!keys) return undefined;
	const from = new Int32Array(texts.length);
	for (let i = 0; i < from.length; i++) from[i] = i;
	return { keys, texts, rows: texts.length, options: keyOptions({ threshold }), from };
}

/** The sub-workers' hashing (keysFor), reported as one stage without a count: the shards answer all at once. */
async function knownKeysReported(stages: Stages, texts: readonly string[], threshold: number | undefined, keysFor?: BandKeyer): Promise<KnownBandKeys | undefined> {
	if (keysFor && threshold !== undefined) stages.stage('hashing', 0, 'rows', `${texts.length.toLocaleString('en-US')} rows, on every core`);
	return knownKeys(texts, threshold, keysFor);
}

/**
 * The check in slices that give the event loop back (the data worker's heartbeat), its stages
 * reported to `onPhase` (hashing, measuring, comparing candidates, looking for personal data).
 */
export function checkRowsInSlices(
	rows: readonly StoredRow[],
	threshold = 0.8,
	normalize: NormalizeOptions = DEFAULT_NORMALIZE,
	length = { min: 0, max: Infinity },
	keysFor?: BandKeyer,
	onPhase?: OnPhase,
	patterns: readonly PiiPattern[] = []
): Promise<CleanCheck> {
	const stages = new Stages(onPhase);
	const work = async () => {
		try {
			const known = await knownKeysReported(stages, rows.map((r) => r.text), threshold, keysFor);
			return await runInSlices(checkWork(rows, threshold, normalize, length, known, stages, patterns));
		} finally {
			stages.end();
		}
	};
	return namedMemoryError(work(), rows.length, 'Checking');
}

/**
 * A typed array or a list too large for the memory left fails with a RangeError that names
 * neither the cause nor a way out; it becomes a UserError that does. (Running out of JS heap ends
 * the worker instead, which the page reports, bridge.ts.) Nothing is stored before the end.
 */
async function namedMemoryError<T>(work: Promise<T>, rows: number, what: string): Promise<T> {
	try {
		return await work;
	} catch (e) {
		if (e instanceof RangeError && /allocation failed|invalid (typed )?array length|out of memory/i.test(e.message))
			throw new UserError(
				'quota-exceeded',
				`${what} ${rows.toLocaleString('en-US')} rows needs more memory than this tab has left (${e.message}). Close other tabs and try again, or clean a smaller version (a length filter, or a split); nothing was changed.`
			);
		throw e;
	}
}

/**
 * The near-duplicate search with its stages: hashing the rows in this thread (only when the
 * sub-workers did not, `known` without keys) and comparing the candidates band by band.
 */
function* searchReported(stages: Stages, texts: readonly string[], threshold: number, known?: KnownBandKeys): Work<NearDupResult> {
	const hashing = known?.keys && known.from.length === texts.length ? undefined : stages.stage('hashing', texts.length, 'rows');
	let comparing: ((done: number) => void) | undefined;
	return yield* nearDuplicateWork(
		texts,
		{ threshold },
		hashing,
		undefined,
		known,
		(band, bands) => (comparing ??= stages.stage('comparing', bands, 'bands'))(band)
	);
}

/**
 * The check as work that yields every few rows (sliced.ts). What it keeps grows with the findings,
 * not with the rows: counts, the first examples, and the near-duplicate pairs between different texts
 * (minhash.ts keeps a row's band keys in one typed array, and copies of one text as one group, not
 * as their pairs); no per-row copy of a text is made or held.
 */
function* checkWork(
	rows: readonly StoredRow[],
	threshold: number,
	normalize: NormalizeOptions,
	length: { min: number; max: number },
	known?: KnownBandKeys,
	stages = new Stages(),
	patterns: readonly PiiPattern[] = []
): Work<CleanCheck> {
	const texts = rows.map((r) => r.text);
	const norm: CleanCheck['normalize'] = { options: normalize, changed: 0, examples: [] };
	const outside: CleanCheck['length'] = { min: length.min, max: length.max, removed: 0, examples: [] };
	const measured = stages.stage('measuring', rows.length, 'rows');
	for (let i = 0; i < rows.length; i++) {
		if (i % 64 === 63) {
			measured(i);
			yield;
		}
		const r = rows[i];
		if (r.text.length < length.min || r.text.length > length.max) {
			outside.removed++;
			if (outside.examples.length < 5) outside.examples.push(short(r.text));
		}
		const after = normalizeText(r.text, normalize);
		if (after === r.text && (r.response === undefined || normalizeText(r.response, normalize) === r.response)) continue;
		norm.changed++;
		if (norm.examples.length < 5) norm.examples.push({ before: short(r.text), after: short(after) });
	}
	const near = yield* searchReported(stages, texts, threshold, known);
	const scanned = stages.stage('scanning', rows.length, 'rows');
	const pii = yield* scanPiiWork(rows.length, (i) => {
		if (i % 64 === 0) scanned(i);
		return rowTexts(rows[i]).join('\n');
	}, patterns);
	const leak = findLeakage(
		texts,
		rows.map((r) => r.split),
		{ threshold },
		near
	);
	const piiFlags = new Uint8Array(rows.length);
	let piiRows = 0;
	for (const list of Object.values(pii.rows))
		for (const i of list)
			if (!piiFlags[i]) {
				piiFlags[i] = 1;
				piiRows++;
			}
	let moves = 0;
	for (const c of leak.clusters) for (const i of c) if (rows[i].split !== 0) moves++;
	return {
		rows: rows.length,
		threshold,
		normalize: norm,
		length: outside,
		clusters: near.clusters.slice(0, CHECK_LISTED).map((c) => ({ rows: c, texts: c.map((i) => short(rows[i].text)), splits: c.map((i) => rows[i].split) })),
		clusterCount: near.clusters.length,
		nearRemovable: near.clusters.reduce((n, c) => n + c.length - 1, 0),
		pii: Object.keys(pii.counts).map((k) => ({ kind: k, count: pii.counts[k], rows: pii.rows[k].length, examples: pii.examples[k].map((e) => e.text) })),
		piiRows,
		piiNotFound: PII_NOT_FOUND,
		leakage: {
			validation: leak.rows.validation,
			test: leak.rows.test,
			pairs: leak.pairs.slice(0, CHECK_LISTED).map((p) => ({ heldOut: short(texts[p.heldOut]), train: short(texts[p.train]), split: p.split, kind: p.kind })),
			moves
		}
	};
}

export interface CleanResult {
	rows: StoredRow[];
	normalized: number;
	removed: number;
	redactedRows: number;
	moved: number;
}

function redactRow(r: StoredRow, patterns: readonly PiiPattern[]): StoredRow {
	const redact = (t: string) => redactPii(t, findPii(t, patterns));
	const out: StoredRow = { ...r, text: redact(r.text) };
	if (r.response !== undefined) out.response = redact(r.response);
	if (r.messages) out.messages = r.messages.map((m): ChatMessage => ({ ...m, content: redact(m.content) }));
	return out;
}

export function applyCleaning(input: readonly StoredRow[], steps: readonly CleanStep[]): CleanResult {
	return runToEnd(cleaningWork(input, steps));
}

/** `applyCleaning` in slices that give the event loop back (the data worker's heartbeat): the same result. */
export function applyCleaningInSlices(input: readonly StoredRow[], steps: readonly CleanStep[], keysFor?: BandKeyer, onPhase?: OnPhase): Promise<CleanResult> {
	// keys for the first search's threshold, made for the rows as they come; rows a step changes before it are hashed again there
	const first = steps.find((s) => s.kind === 'near-duplicates' || s.kind === 'fix-leakage') as { threshold: number } | undefined;
	const stages = new Stages(onPhase);
	const work = async () => {
		try {
			const known = await knownKeysReported(stages, input.map((r) => r.text), first?.threshold, keysFor);
			return await runInSlices(cleaningWork(input, steps, known, stages));
		} finally {
			stages.end();
		}
	};
	return namedMemoryError(work(), input.length, 'Cleaning');
}

/**
 * The steps as work that yields every few rows (sliced.ts); a row is copied only when a step
 * changes it. A second near-duplicate search (the leakage fix after near-duplicates were dropped)
 * reuses the band keys of the first for every row whose text is the same (minhash.ts
 * KnownBandKeys): `origin` follows each row's place in that search through the filters between.
 */
function* cleaningWork(input: readonly StoredRow[], steps: readonly CleanStep[], given?: KnownBandKeys, stages = new Stages()): Work<CleanResult> {
	let rows = [...input];
	const result: CleanResult = { rows, normalized: 0, removed: 0, redactedRows: 0, moved: 0 };
	let known: KnownBandKeys | undefined = given;
	let origin: Int32Array | undefined = given && Int32Array.from(given.from);
	const filterRows = (keep: (r: StoredRow, i: number) => boolean) => {
		const kept: StoredRow[] = [];
		const places: number[] = [];
		for (let i = 0; i < rows.length; i++)
			if (keep(rows[i], i)) {
				kept.push(rows[i]);
				if (origin) places.push(origin[i]);
			}
		result.removed += rows.length - kept.length;
		rows = kept;
		if (origin) origin = Int32Array.from(places);
	};
	function* search(threshold: number): Work<NearDupResult> {
		known = { keys: known?.keys, texts: known?.texts, rows: known?.rows ?? 0, options: known?.options ?? '', from: origin ?? new Int32Array(0) };
		const near = yield* searchReported(
			stages,
			rows.map((r) => r.text),
			threshold,
			known
		);
		origin = new Int32Array(rows.length);
		for (let i = 0; i < origin.length; i++) origin[i] = i;
		return near;
	}
	for (const step of steps) {
		if (step.kind === 'normalize') {
			const normalized = stages.stage('cleaning', rows.length, 'rows', 'normalizing');
			for (let i = 0; i < rows.length; i++) {
				if (i % 64 === 63) {
					normalized(i);
					yield;
				}
				const r = rows[i];
				const out: StoredRow = { ...r, text: normalizeText(r.text, step.options) };
				if (r.response !== undefined) out.response = normalizeText(r.response, step.options);
				if (r.messages) out.messages = r.messages.map((m) => ({ ...m, content: normalizeText(m.content, step.options) }));
				if (JSON.stringify(out) === JSON.stringify(r)) continue;
				result.normalized++;
				rows[i] = out;
			}
			// a text normalised to nothing is not an example any more
			filterRows((r) => r.text.trim() !== '');
		} else if (step.kind === 'length') {
			filterRows((r) => r.text.length >= step.min && r.text.length <= step.max);
		} else if (step.kind === 'near-duplicates') {
			const { clusters } = yield* search(step.threshold);
			const drop = new Uint8Array(rows.length);
			for (const c of clusters) for (let k = 1; k < c.length; k++) drop[c[k]] = 1;
			filterRows((_, i) => !drop[i]);
		} else if (step.kind === 'redact-pii') {
			const redacted = stages.stage('cleaning', rows.length, 'rows', 'redacting personal data');
			for (let i = 0; i < rows.length; i++) {
				if (i % 32 === 31) {
					redacted(i);
					yield;
				}
				if (!rowTexts(rows[i]).some((t) => findPii(t, step.patterns).length)) continue;
				result.redactedRows++;
				rows[i] = redactRow(rows[i], step.patterns ?? []);
			}
		} else {
			const near = yield* search(step.threshold);
			const leak = findLeakage(
				rows.map((r) => r.text),
				rows.map((r) => r.split),
				{ threshold: step.threshold },
				near
			);
			for (const c of leak.clusters)
				for (const i of c)
					if (rows[i].split !== 0) {
						result.moved++;
						rows[i] = { ...rows[i], split: 0 };
					}
		}
	}
	result.rows = rows;
	return result;
}

/** The steps in words, for a version's name and its recipe line. */
export function describeSteps(steps: readonly CleanStep[]): string {
	return steps
		.map((s) => {
			if (s.kind === 'normalize') {
				const o = s.options;
				const parts = [o.unicode !== 'none' ? o.unicode : '', o.stripHtml ? 'HTML stripped' : '', o.whitespace ? 'whitespace' : '', o.lowercase ? 'lowercased' : ''].filter(Boolean);
				return `normalised (${parts.join(', ') || 'no change'})`;
			}
			if (s.kind === 'length') return `length ${s.min}-${Number.isFinite(s.max) ? s.max : '∞'} characters`;
			return s.kind === 'near-duplicates' ? `near-duplicates dropped (Jaccard ≥ ${s.threshold})` : s.kind === 'redact-pii' ? `PII redacted${s.patterns?.length ? ` (with ${s.patterns.map((p) => p.name).join(', ')})` : ''}` : `leakage moved to train (Jaccard ≥ ${s.threshold})`;
		})
		.join(', ');
}
