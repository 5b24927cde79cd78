/**
 * Scores the golden-vector fixtures (tests/fixtures/metrics, produced by scikit-learn 1.2.1,
 * sacrebleu 2.6.0, nltk 3.8 and rouge-score 0.1.2; see its README) with this library and compares
 * every expected field. Shared by the unit tests and `scripts/check-metrics.ts`, so both hold the
 * implementation to the same contract: every field in a fixture is either computed and compared
 * or listed in NOT_COMPARED with a reason; an unknown field is a failure, never skipped.
 */
import { averagePrecision, rocAuc, rocAucOvr, rocCurve } from './ranking';
import { accuracy, balancedAccuracy, cohenKappa, confusionMatrix, matthewsCorrcoef, precisionRecallF1, precisionRecallF1Average } from './classification';
import { brierScore, expectedCalibrationError, logLoss } from './calibration';
import { hammingLoss, jaccardPerLabel, jaccardScore, multilabelPrf, multilabelPrfAverage, subsetAccuracy, type MultilabelAverage } from './multilabel';
import { bleuSignature, corpusBleu, sentenceBleu, type BleuScore } from './bleu';
import { nltkCorpusBleu } from './bleu-nltk';
import { tokenize13a } from './tokenizer-13a';
import { rougeScores, rougeTokenize } from './rouge';
import { pyRstrip, pySplit } from './pystr';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export type FixtureKind = 'classification' | 'multilabel' | 'bleu' | 'rouge';
export const FIXTURE_FILES: Record<string, FixtureKind> = {
	'classification.json': 'classification',
	'multilabel.json': 'multilabel',
	'bleu.json': 'bleu',
	'rouge.json': 'rouge'
};

/** Absolute tolerance for floats; relative above 1 (BLEU is 0–100) and below 1e-9 (nltk's 1e-78 "zeros"). */
export const FLOAT_TOLERANCE = 1e-9;
/** Fields compared exactly: counts, lengths, matrices of counts. */
export const INTEGER_FIELDS = new Set(['support', 'confusion_matrix', 'count', 'counts', 'totals', 'sys_len', 'ref_len']);
/** Fixture fields deliberately not compared, with the reason. Empty today: every field is implemented. */
export const NOT_COMPARED: Record<string, string> = {};

/** Case keys that are inputs or descriptions, per fixture kind; everything else must be an expected value. */
const INPUT_KEYS: Record<FixtureKind, string[]> = {
	classification: ['name', 'description', 'n_classes', 'labels', 'n', 'y_true', 'y_pred', 'y_proba', 'y_score', 'skipped'],
	multilabel: ['name', 'description', 'n_samples', 'n_labels', 'y_true', 'y_pred', 'skipped'],
	bleu: ['name', 'description', 'hypotheses', 'references', 'skipped'],
	rouge: ['name', 'description', 'target', 'prediction', 'skipped']
};

export interface Mismatch {
	/** The field, with a path into it: `roc_curve.fpr[3]`. */
	path: string;
	expected: Json;
	got: unknown;
	/** |expected − got| for numbers. */
	diff?: number;
	/** Why it could not be compared (unknown field, scoring error, shape). */
	problem?: string;
}

export interface FieldCheck {
	field: string;
	mismatches: Mismatch[];
	/** Float leaves that matched bit for bit / within tolerance only. */
	exact: number;
	close: number;
}

type Scorer = () => unknown;

// ---------- scorers: fixture case -> fixture-shaped values ----------

function num(v: Json, what: string): number {
	if (typeof v !== 'number') throw new TypeError(`${what} is not a number`);
	return v;
}
const numbers = (v: Json, what: string): number[] => {
	if (!Array.isArray(v)) throw new TypeError(`${what} is not an array`);
	return v.map((x, i) => num(x, `${what}[${i}]`));
};
const matrix = (v: Json, what: string): number[][] => {
	if (!Array.isArray(v)) throw new TypeError(`${what} is not an array`);
	return v.map((row, i) => numbers(row, `${what}[${i}]`));
};
const strings = (v: Json, what: string): string[] => {
	if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new TypeError(`${what} is not a list of strings`);
	return v as string[];
};

function classificationScorers(c: JsonObject): Record<string, Scorer> {
	const yTrue = numbers(c.y_true, 'y_true');
	const yPred = numbers(c.y_pred, 'y_pred');
	const yProba = matrix(c.y_proba, 'y_proba');
	const k = num(c.n_classes, 'n_classes');
	const binaryScore = (): number[] => {
		if (k !== 2) throw new RangeError(`a binary-only field in a ${k}-class case`);
		return c.y_score !== undefined ? numbers(c.y_score, 'y_score') : yProba.map((row) => row[1]);
	};
	const out: Record<string, Scorer> = {
		accuracy: () => accuracy(yTrue, yPred),
		support: () => precisionRecallF1(yTrue, yPred, k).support,
		confusion_matrix: () => confusionMatrix(yTrue, yPred, k),
		matthews_corrcoef: () => matthewsCorrcoef(yTrue, yPred),
		cohen_kappa: () => cohenKappa(yTrue, yPred),
		balanced_accuracy: () => balancedAccuracy(yTrue, yPred),
		log_loss: () => logLoss(yTrue, yProba),
		roc_auc: () => rocAuc(yTrue, binaryScore()),
		roc_curve: () => rocCurve(yTrue, binaryScore()),
		average_precision: () => averagePrecision(yTrue, binaryScore()),
		brier_score_loss: () => brierScore(yTrue, binaryScore()),
		roc_auc_ovr_macro: () => rocAucOvr(yTrue, yProba, 'macro'),
		roc_auc_ovr_weighted: () => rocAucOvr(yTrue, yProba, 'weighted')
	};
	for (const metric of ['precision', 'recall', 'f1'] as const) {
		out[`${metric}_none`] = () => precisionRecallF1(yTrue, yPred, k)[metric];
		for (const avg of ['macro', 'micro', 'weighted', 'binary'] as const) {
			out[`${metric}_${avg}`] = () => precisionRecallF1Average(yTrue, yPred, k, avg)[metric];
		}
	}
	for (const field of Object.keys(isObject(c.expected) ? c.expected : {})) {
		const bins = /^ece_(\d+)bin_maxprob$/.exec(field);
		if (bins) out[field] = () => expectedCalibrationError(yTrue, yProba, Number(bins[1])).ece;
	}
	out.ece_bins = () => expectedCalibrationError(yTrue, yProba, 10).bins;
	return out;
}

function multilabelScorers(c: JsonObject): Record<string, Scorer> {
	const yTrue = matrix(c.y_true, 'y_true');
	const yPred = matrix(c.y_pred, 'y_pred');
	const out: Record<string, Scorer> = {
		hamming_loss: () => hammingLoss(yTrue, yPred),
		subset_accuracy: () => subsetAccuracy(yTrue, yPred),
		jaccard_none: () => jaccardPerLabel(yTrue, yPred)
	};
	const averages: MultilabelAverage[] = ['macro', 'micro', 'weighted', 'samples'];
	for (const metric of ['precision', 'recall', 'f1'] as const) {
		out[`${metric}_none`] = () => multilabelPrf(yTrue, yPred)[metric];
		for (const avg of averages) out[`${metric}_${avg}`] = () => multilabelPrfAverage(yTrue, yPred, avg)[metric];
	}
	for (const avg of averages) out[`jaccard_${avg}`] = () => jaccardScore(yTrue, yPred, avg);
	return out;
}

function bleuFields(s: BleuScore) {
	const { score, precisions, bp, sysLen, refLen, counts, totals } = s;
	return { score, precisions, bp, sys_len: sysLen, ref_len: refLen, counts, totals };
}

const tok = (s: string) => tokenize13a(pyRstrip(s));

function bleuScorers(c: JsonObject): Record<string, Scorer> {
	const hyps = strings(c.hypotheses, 'hypotheses');
	if (!Array.isArray(c.references)) throw new TypeError('references is not an array');
	const refs = c.references.map((r, i) => strings(r, `references[${i}]`));
	return {
		// The README's exact call: `Tokenizer13a()(s.rstrip())`, as sacrebleu preprocesses a segment.
		tokenized_13a: () => ({ hypotheses: hyps.map(tok), references: refs.map((r) => r.map(tok)) }),
		sacrebleu_corpus: () => ({ ...bleuFields(corpusBleu(hyps, refs)), signature: bleuSignature(refs) }),
		sacrebleu_sentence: () => hyps.map((h, i) => bleuFields(sentenceBleu(h, refs[i]))),
		sacrebleu_sentence_signature: () => bleuSignature(refs, { effectiveOrder: true }),
		nltk_corpus_bleu_whitespace: () => nltkCorpusBleu(refs.map((r) => r.map(pySplit)), hyps.map(pySplit))
	};
}

function rougeScorers(c: JsonObject): Record<string, Scorer> {
	if (typeof c.target !== 'string' || typeof c.prediction !== 'string') throw new TypeError('target and prediction must be strings');
	const target = c.target;
	const prediction = c.prediction;
	const variant = (useStemmer: boolean) => () => ({
		tokens: { target: rougeTokenize(target, useStemmer), prediction: rougeTokenize(prediction, useStemmer) },
		scores: rougeScores(target, prediction, { rougeTypes: ROUGE_TYPES, useStemmer })
	});
	return { no_stemmer: variant(false), stemmer: variant(true) };
}
/** Every type rouge-score accepts, so a fixture may ask for any of them. */
const ROUGE_TYPES = [...Array.from({ length: 9 }, (_, i) => `rouge${i + 1}`), 'rougeL', 'rougeLsum'];

const SCORERS: Record<FixtureKind, (c: JsonObject) => Record<string, Scorer>> = {
	classification: classificationScorers,
	multilabel: multilabelScorers,
	bleu: bleuScorers,
	rouge: rougeScorers
};

// ---------- comparison ----------

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function tolerance(expected: number): number {
	const a = Math.abs(expected);
	if (a === 0) return FLOAT_TOLERANCE;
	return FLOAT_TOLERANCE * (a < FLOAT_TOLERANCE ? a : Math.max(1, a));
}

/** Walks `expected`; every leaf must be matched by `got`. `integer` marks count fields. */
function compare(path: string, expected: Json, got: unknown, integer: boolean, check: FieldCheck): void {
	const miss = (problem?: string, diff?: number): void => {
		check.mismatches.push({ path, expected, got, diff, problem });
	};
	if (expected === null) {
		// null in a fixture is sklearn's NaN / undefined: the library must say undefined too.
		if (!(got === null || (typeof got === 'number' && Number.isNaN(got)))) miss('expected undefined (null)');
	} else if (typeof expected === 'number') {
		if (typeof got !== 'number' || Number.isNaN(got)) return miss();
		const diff = Math.abs(expected - got);
		if (integer ? expected !== got : !(diff <= tolerance(expected))) return miss(undefined, diff);
		if (integer) return;
		if (diff === 0) check.exact++;
		else check.close++;
	} else if (typeof expected === 'string' || typeof expected === 'boolean') {
		if (expected !== got) miss();
	} else if (Array.isArray(expected)) {
		if (!Array.isArray(got) && !ArrayBuffer.isView(got)) return miss('not an array');
		const arr = got as ArrayLike<unknown>;
		if (arr.length !== expected.length) return miss(`length ${arr.length}, expected ${expected.length}`);
		expected.forEach((e, i) => compare(`${path}[${i}]`, e, arr[i], integer, check));
	} else {
		if (!isObject(got)) return miss('not an object');
		for (const [key, e] of Object.entries(expected)) {
			const sub = `${path}.${key}`;
			if (Object.hasOwn(NOT_COMPARED, sub)) continue;
			if (!Object.hasOwn(got, key)) {
				check.mismatches.push({ path: sub, expected: e, got: undefined, problem: 'unknown field: not implemented' });
				continue;
			}
			compare(sub, e, got[key], integer || INTEGER_FIELDS.has(key), check);
		}
	}
}

/** The expected values of a case, by field name, whatever the fixture kind keeps them in. */
export function expectedFields(kind: FixtureKind, c: JsonObject): JsonObject {
	if (kind === 'classification' || kind === 'multilabel') {
		if (!isObject(c.expected)) throw new TypeError(`case ${String(c.name)} has no expected object`);
		return c.expected as JsonObject;
	}
	const out: JsonObject = {};
	for (const [key, v] of Object.entries(c)) if (!INPUT_KEYS[kind].includes(key)) out[key] = v;
	return out;
}

/** Case keys that are neither known inputs nor (for kinds with an `expected` object) `expected`. */
export function unknownCaseKeys(kind: FixtureKind, c: JsonObject): string[] {
	if (kind === 'bleu' || kind === 'rouge') return [];
	return Object.keys(c).filter((k) => k !== 'expected' && !INPUT_KEYS[kind].includes(k));
}

/** Scores one case and compares every expected field; never throws. */
export function checkCase(kind: FixtureKind, c: JsonObject): FieldCheck[] {
	const checks: FieldCheck[] = [];
	const fail = (field: string, expected: Json, problem: string) =>
		checks.push({ field, exact: 0, close: 0, mismatches: [{ path: field, expected, got: undefined, problem }] });
	for (const key of unknownCaseKeys(kind, c)) fail(key, c[key], 'unknown case key: not an input this checker knows');
	let expected: JsonObject;
	let scorers: Record<string, Scorer>;
	try {
		expected = expectedFields(kind, c);
		scorers = SCORERS[kind](c);
	} catch (e) {
		fail('(case)', null, `could not score: ${(e as Error).message}`);
		return checks;
	}
	for (const [field, e] of Object.entries(expected)) {
		if (Object.hasOwn(NOT_COMPARED, field)) continue;
		if (!Object.hasOwn(scorers, field)) {
			fail(field, e, 'unknown field: not implemented');
			continue;
		}
		const check: FieldCheck = { field, mismatches: [], exact: 0, close: 0 };
		try {
			compare(field, e, scorers[field](), INTEGER_FIELDS.has(field), check);
		} catch (err) {
			check.mismatches.push({ path: field, expected: e, got: undefined, problem: `could not score: ${(err as Error).message}` });
		}
		checks.push(check);
	}
	return checks;
}

export function formatValue(v: unknown): string {
	if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
	if (v === undefined) return 'nothing';
	const s = JSON.stringify(v);
	return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** One line per mismatch: `file case field: expected X got Y (diff D)`. */
export function formatMismatch(file: string, caseName: string, m: Mismatch): string {
	const head = `${file} ${caseName} ${m.path}:`;
	const diff = m.diff !== undefined ? ` (diff ${m.diff})` : '';
	const problem = m.problem ? ` [${m.problem}]` : '';
	return `${head} expected ${formatValue(m.expected)} got ${formatValue(m.got)}${diff}${problem}`;
}
