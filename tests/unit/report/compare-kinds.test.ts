// Compare for every dataset kind: generation pairs on the rows both answered (a 5-prompt baseline
// with a run scored on 20), language-modelling runs pair on per-sequence sums, and the decision
// report covers both; the whitespace helper, the slice-column chooser with date buckets, and the
// form labels of the settings diff.
import { describe, expect, it } from 'vitest';
import { pairedBootstrap } from '../../../src/lib/engine/eval';
import { generationPairingProblem, pairedGenerationComparison, pairedOnText, scoreGenerations, sharedGenerationRows } from '../../../src/lib/engine/eval/generation-eval';
import { lmPairingProblem, pairedLmComparison } from '../../../src/lib/engine/eval/lm-compare';
import { bucketDates, sliceReport, sliceValues } from '../../../src/lib/engine/eval/report';
import { buildGenerationReport, buildLmReport, kindDecisionHtml } from '../../../src/lib/report/decision-kinds';
import { buildDecisionReport } from '../../../src/lib/report/decision';
import { compareGeneration, generationSystem } from '../../../src/lib/report/generation';
import { compareLm, lmSystem } from '../../../src/lib/report/lm';
import { visibleWhitespace } from '../../../src/lib/report/whitespace';
import { configLabel } from '../../../src/lib/shared/config-labels';
import { configDiff } from '../../../src/lib/report/diff';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import type { EvaluationResult, GenerationEvaluation, LmExamples } from '../../../src/lib/shared/types';
import { project, run, version } from '../storage/fixtures';

const words = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
/** 20 prompts, rows 100..119; the reference answer of row r is two words. */
const refs = Array.from({ length: 20 }, (_, i) => `${words[i % 10]} ${words[(i * 3) % 10]}`);

function generation(outputs: string[], rows: number[], maxNewTokens = 16): GenerationEvaluation {
	const r = rows.map((row) => refs[row - 100]);
	const s = scoreGenerations(r, outputs, { resamples: 50 });
	return {
		split: 'test',
		rows: rows.length,
		maxNewTokens,
		...s,
		examples: rows.map((row, i) => ({ row, prompt: `q${row}`, reference: r[i], output: outputs[i], bleu: s.perExample.bleu[i], rougeL: s.perExample.rougeL[i], exact: s.perExample.exact[i] }))
	};
}

const allRows = Array.from({ length: 20 }, (_, i) => 100 + i);
// The run: right on even rows, half right on odd ones.
const runOut = allRows.map((row, i) => (i % 2 ? refs[row - 100].split(' ')[0] : refs[row - 100]));
const runGen = generation(runOut, allRows);
// The baseline answered 5 prompts (rows 103..107): whitespace or one wrong word.
const baseRows = [103, 104, 105, 106, 107];
const baseGen = generation(['\n\n\n', 'nope', '  ', 'beta', 'wrong answer'], baseRows);

describe('generation pairing on shared rows', () => {
	it('pairs a 5-prompt baseline with a run scored on 20 on the 5 rows both answered', () => {
		expect(generationPairingProblem(runGen, baseGen)).toBeNull();
		const shared = sharedGenerationRows(runGen, baseGen);
		expect(shared.rows).toEqual(baseRows);
		expect(shared.a).toEqual([3, 4, 5, 6, 7]);
		expect(shared.b).toEqual([0, 1, 2, 3, 4]);
		const c = pairedGenerationComparison(runGen, baseGen, { resamples: 300, seed: 2 });
		expect(c.n).toBe(5);
		expect(c.sizes).toEqual([20, 5]);
		expect(pairedOnText(c.n, ...c.sizes)).toBe('paired on 5 of 20 prompts');
		// The same numbers as a paired bootstrap of the five rows' per-example ROUGE-L.
		const ra = shared.a.map((i) => runGen.examples[i].rougeL);
		const rb = shared.b.map((i) => baseGen.examples[i].rougeL);
		const mean = (v: number[]) => (idx: ArrayLike<number>) => [...Array.from(idx)].reduce((s, i) => s + v[i], 0) / idx.length;
		const ref = pairedBootstrap(5, mean(ra), mean(rb), { resamples: 300, seed: 2 });
		const rl = c.metrics.find((m) => m.metric === 'rougeL')!;
		expect(rl.diff).toBeCloseTo(ref.diff, 14);
		expect(rl.low).toBeCloseTo(ref.low, 14);
		expect(rl.high).toBeCloseTo(ref.high, 14);
		// Exact match: the run is exact on rows 104 and 106 (even index), the baseline never.
		expect(c.metrics.find((m) => m.metric === 'exactMatch')!.diff).toBeCloseTo(2 / 5, 15);
	});

	it('says why when nothing is shared or the limits differ', () => {
		const other = generation(['x'], [150 - 31]);
		expect(generationPairingProblem(runGen, { ...other, examples: [{ ...other.examples[0], row: 999 }] })).toMatch(/no prompt in common \(20 and 1 answered\)/);
		expect(generationPairingProblem(runGen, generation(['x'], [103], 48))).toMatch(/different limits \(16 and 48/);
		expect(pairedOnText(5, 5, 5)).toBe('paired on 5 prompts');
	});

	it('compareGeneration pairs systems built from stored runs', () => {
		const mk = (id: string, g: GenerationEvaluation, baseline?: boolean) =>
			generationSystem(
				run({
					id,
					name: id,
					datasetVersionId: 'ds_p',
					evaluation: { split: 'test', checkpointId: '', step: 6, accuracy: 0, macroF1: 0, loss: 1, perClass: [], confusion: [], labels: [], count: 20, createdAt: 1, datasetVersionId: 'ds_p', generation: g },
					...(baseline ? { baseline: { kind: 'zero-shot', description: 'zero-shot tiny-gpt2' } } : {})
				})
			)!;
		const r = mk('run 1', runGen);
		const b = mk('baseline', baseGen, true);
		const rows = compareGeneration([b, r], b);
		expect(rows[0].comparison).toBeNull();
		expect(rows[1].problem).toBeNull();
		expect(rows[1].comparison!.n).toBe(5);
	});
});

/** Per-sequence sums: row ids, NLL, tokens, correct. */
function lm(rows: number[], nll: number[], tokens: number[], correct: number[]): LmExamples {
	return { row: Int32Array.from(rows), nll: Float32Array.from(nll), tokens: Int32Array.from(tokens), correct: Int32Array.from(correct) };
}
function lmEval(ex: LmExamples | undefined, over: Partial<EvaluationResult> = {}): EvaluationResult {
	const nll = ex ? ex.nll.reduce((a, b) => a + b, 0) : 20;
	const tokens = ex ? ex.tokens.reduce((a, b) => a + b, 0) : 10;
	const correct = ex ? ex.correct.reduce((a, b) => a + b, 0) : 3;
	return {
		split: 'test',
		checkpointId: 'c',
		step: 6,
		accuracy: correct / tokens,
		macroF1: 0,
		loss: nll / tokens,
		perClass: [],
		confusion: [],
		labels: [],
		count: ex ? ex.row.length : 4,
		createdAt: 1,
		datasetVersionId: 'ds_t',
		lm: { perplexity: Math.exp(nll / tokens), tokenAccuracy: correct / tokens, ...(ex ? { examples: ex } : {}) },
		...over
	};
}

describe('language-modelling comparison', () => {
	const a = lm([0, 1, 2, 3, 4, 5], [10, 12, 8, 20, 6, 9], [10, 10, 8, 16, 6, 10], [4, 3, 4, 5, 3, 4]);
	// B scored the same sequences in another order, plus one A did not: pairing is by row id.
	const b = lm([5, 4, 3, 2, 1, 0, 9], [12, 7, 24, 9, 14, 13, 100], [10, 6, 16, 8, 10, 10, 50], [3, 2, 4, 3, 2, 3, 1]);

	it('pairs on the sequences both scored, recomputing perplexity from token sums', () => {
		const c = pairedLmComparison(a, b, { resamples: 400, seed: 3 });
		expect(c.n).toBe(6);
		expect(c.sizes).toEqual([6, 7]);
		const p = c.metrics.find((m) => m.metric === 'perplexity')!;
		expect(p.a).toBeCloseTo(Math.exp(65 / 60), 12);
		expect(p.b).toBeCloseTo(Math.exp(79 / 60), 12);
		expect(p.diff).toBeCloseTo(Math.exp(65 / 60) - Math.exp(79 / 60), 12);
		expect(p.low).toBeLessThanOrEqual(p.diff);
		expect(p.high).toBeGreaterThanOrEqual(p.diff);
		// A is lower (better) on every sequence, so no resample finds it not better.
		expect(p.high).toBeLessThan(0);
		expect(p.shareNotBetter).toBe(0);
		const acc = c.metrics.find((m) => m.metric === 'tokenAccuracy')!;
		expect(acc.diff).toBeCloseTo(23 / 60 - 17 / 60, 6);
	});

	it('an evaluation against itself differs by exactly zero', () => {
		const c = pairedLmComparison(a, a, { resamples: 50 });
		for (const m of c.metrics) expect([m.diff, m.low, m.high]).toEqual([0, 0, 0]);
	});

	it('says why two evaluations cannot be paired', () => {
		expect(lmPairingProblem(lmEval(a), lmEval(b))).toBeNull();
		expect(lmPairingProblem(lmEval(a), lmEval(undefined))).toMatch(/evaluate it again/);
		expect(lmPairingProblem(lmEval(a), lmEval(b, { split: 'validation' }))).toMatch(/different splits/);
		expect(lmPairingProblem(lmEval(a), lmEval(b, { datasetVersionId: 'other' }))).toMatch(/dataset versions/);
		expect(lmPairingProblem(lmEval(a), lmEval(lm([7], [1], [1], [1])))).toMatch(/no sequence in common/);
	});

	it('makes systems of LM runs only, and the report judges on perplexity', () => {
		const config = defaultRunConfig(0);
		const r1 = lmSystem(run({ id: 'r1', name: 'run 1', datasetVersionId: 'ds_t', config, evaluation: lmEval(b) }))!;
		const r2 = lmSystem(run({ id: 'r2', name: 'run 2', datasetVersionId: 'ds_t', config: { ...config, train: { ...config.train, learningRate: 1e-4 } }, evaluation: lmEval(a), trainMs: 4000, step: 6 }))!;
		expect(lmSystem(run({ evaluation: { ...lmEval(a), lm: undefined } }))).toBeNull();
		const [, row] = compareLm([r1, r2], r1, { resamples: 200 });
		expect(row.comparison!.n).toBe(6);
		const report = buildLmReport({ project: project({ name: 'Notes LM' }), dataset: version({ id: 'ds_t', kind: 'text', labels: [], labelCounts: [] }), reference: r1, candidate: r2, comparison: row.comparison, generatedAt: Date.UTC(2026, 0, 1) });
		expect(report.kind).toBe('language-modelling');
		expect(report.verdict.kind).toBe('better');
		expect(report.verdict.text).toMatch(/run 2 beats run 1: .* perplexity .*paired on 6 of 7 sequences/);
		expect(report.results.find((m) => m.metric === 'perplexity')!.candidate).toBeCloseTo(Math.exp(65 / 60), 6);
		const html = kindDecisionHtml(report);
		expect(html).toContain('next-token accuracy');
		expect(html).toContain('perplexity (lower is better)');
		expect(html).toContain('paired on 6 of 7 sequences');
		expect(html).not.toMatch(/(src|href)=["']https?:/);
		// Without per-sequence sums the verdict says they were not paired, and why.
		const unpaired = buildLmReport({ project: project(), dataset: version({ id: 'ds_t', kind: 'text' }), reference: r1, candidate: { ...r2, evaluation: lmEval(undefined) as typeof r2.evaluation }, comparison: null, pairingProblem: 'One of them was scored before per-sequence losses were kept.', generatedAt: 0 });
		expect(unpaired.verdict.kind).toBe('unpaired');
		expect(unpaired.caveats[0]).toMatch(/^No paired test/);
	});
});

describe('generation decision report', () => {
	it('covers BLEU, ROUGE, exact match, the paired count and the answers side by side', () => {
		const sys = (id: string, g: GenerationEvaluation, baseline?: boolean) =>
			generationSystem(
				run({
					id,
					name: id,
					status: 'completed',
					datasetVersionId: 'ds_p',
					evaluation: { split: 'test', checkpointId: '', step: 6, accuracy: 0, macroF1: 0, loss: 1, perClass: [], confusion: [], labels: [], count: 20, createdAt: 1, datasetVersionId: 'ds_p', generation: g },
					...(baseline ? { baseline: { kind: 'zero-shot', description: 'zero-shot, tiny-gpt2' } } : {})
				})
			)!;
		const reference = sys('zero-shot baseline', baseGen, true);
		const candidate = sys('run 1', runGen);
		const comparison = pairedGenerationComparison(runGen, baseGen, { resamples: 200 });
		const r = buildGenerationReport({ project: project({ name: 'Support answers' }), dataset: version({ id: 'ds_p', kind: 'pairs' }), reference, candidate, comparison, generatedAt: 0 });
		expect(r.kind).toBe('generation');
		expect(r.difference!.paired).toBe('paired on 5 of 20 prompts');
		expect(r.results.map((m) => m.metric)).toEqual(['BLEU', 'ROUGE-L', 'ROUGE-1', 'ROUGE-2', 'exact match', 'prompts answered', 'max new tokens']);
		expect(r.caveats.some((c) => /Only the 5 prompts both answered are paired/.test(c))).toBe(true);
		expect(r.examples.map((x) => x.row)).toEqual(baseRows);
		const html = kindDecisionHtml(r);
		expect(html).toContain('BLEU');
		expect(html).toContain('ROUGE-L');
		expect(html).toContain('exact match');
		// The baseline's whitespace-only answer is drawn, not blank.
		expect(html).toContain('⏎⏎⏎');
		expect(r.verdict.kind).toMatch(/better|inconclusive/);
	});
});

describe('visibleWhitespace', () => {
	it('draws whitespace-only answers with glyphs and says so', () => {
		expect(visibleWhitespace('\n\n  \t')).toEqual({ text: '⏎⏎··→', blank: true, note: '(only whitespace: 2 newlines, 1 tab, 2 spaces)' });
		expect(visibleWhitespace('')).toEqual({ text: '', blank: true, note: '(empty)' });
		expect(visibleWhitespace('\r\n')).toMatchObject({ text: '⏎', blank: true });
		// 48 newlines: the first 16 drawn, the count in the note.
		expect(visibleWhitespace('\n'.repeat(48))).toEqual({ text: `${'⏎'.repeat(16)}…`, blank: true, note: '(only whitespace: 48 newlines)' });
	});

	it('keeps text with words as it is, marking only leading and trailing blank lines', () => {
		expect(visibleWhitespace('a b\nc')).toEqual({ text: 'a b\nc', blank: false, note: null });
		expect(visibleWhitespace('\n\nanswer\n\n').text).toBe('⏎⏎answer⏎⏎');
	});
});

describe('slice columns and date buckets', () => {
	const n = 60;
	it('skips identifiers, one-value columns and columns without repeats', () => {
		expect(sliceValues(Array.from({ length: n }, (_, i) => `T-${1000 + i}`)).skipped).toMatch(/60 distinct values/);
		expect(sliceValues(new Array(n).fill('web')).skipped).toMatch(/one value/);
		// 20 distinct values, 3 rows each: under the 10-row minimum, so nothing to compare.
		expect(sliceValues(Array.from({ length: n }, (_, i) => `v${i % 20}`)).skipped).toMatch(/too few repeats/);
		expect(sliceValues(Array.from({ length: n }, (_, i) => (i % 3 ? 'email' : 'chat'))).skipped).toBeUndefined();
	});

	it('buckets dates by day over a short span, by month over a longer one, by year beyond', () => {
		const days = Array.from({ length: n }, (_, i) => `2024-03-0${1 + (i % 3)}T1${i % 10}:0${i % 6}:00Z`);
		expect(bucketDates(days)).toMatchObject({ unit: 'day' });
		expect(new Set(bucketDates(days)!.values)).toEqual(new Set(['2024-03-01', '2024-03-02', '2024-03-03']));
		const months = Array.from({ length: n }, (_, i) => `2024/${1 + (i % 4)}/${10 + (i % 15)}`);
		expect(bucketDates(months)).toMatchObject({ unit: 'month' });
		expect(new Set(bucketDates(months)!.values)).toEqual(new Set(['2024-01', '2024-02', '2024-03', '2024-04']));
		expect(bucketDates(['2019-01-01', '2024-06-01'])!.values).toEqual(['2019', '2024']);
		expect(bucketDates(['12', '14', 'x'])).toBeNull();
		// Unique timestamps become a sliceable column once bucketed by day.
		expect(sliceValues(days).skipped).toBeUndefined();
	});

	it('the report offers only the sliceable columns', () => {
		const yTrue = Array.from({ length: n }, (_, i) => i % 2);
		const yPred = yTrue.map((y, i) => (i % 5 ? y : 1 - y));
		const meta = yTrue.map((_, i) => ({ ticket_id: `T-${i}`, created: `2024-0${1 + (i % 3)}-1${i % 9}`, channel: i % 2 ? 'chat' : 'email' }));
		const cols = sliceReport(yTrue, yPred, 2, meta);
		expect(cols.find((c) => c.column === 'ticket_id')!.skipped).toBeTruthy();
		const created = cols.find((c) => c.column === 'created')!;
		expect(created.skipped).toBeUndefined();
		expect(created.slices.map((s) => s.value).sort()).toEqual(['2024-01', '2024-02', '2024-03']);
		const evaluation: EvaluationResult = {
			split: 'test', checkpointId: 'c', step: 1, accuracy: 0.8, macroF1: 0.8, loss: 0.5, perClass: [{ label: 'a', precision: 1, recall: 1, f1: 1, support: 30 }], confusion: [], labels: ['a', 'b'], count: n, createdAt: 0, slices: cols
		};
		const system = { id: 'r', name: 'run', kind: 'run' as const, datasetVersionId: 'ds', evaluation };
		const report = buildDecisionReport({ project: project(), dataset: version({ id: 'ds', labels: ['a', 'b'], labelCounts: [30, 30] }), reference: system, candidate: system, comparison: null, generatedAt: 0 });
		expect(report.slices.map((s) => s.column).sort()).toEqual(['channel', 'created']);
	});
});

describe('settings diff labels', () => {
	it('names config paths as the Train forms do', () => {
		expect(configLabel('model.nLayer')).toBe('Layers');
		expect(configLabel('config.train.learningRate')).toBe('Learning rate');
		expect(configLabel('pretrained.method.rank')).toBe('LoRA rank (r)');
		expect(configLabel('train.someNewField')).toBe('Training · some new field');
		expect(configLabel('pretrained.hfConfig.n_embd')).toBe('Pretrained · config.json · n_embd');
		const a = defaultRunConfig(2);
		const b = { ...a, train: { ...a.train, learningRate: 1e-4 }, model: { ...a.model, nLayer: 2 } };
		expect(configDiff([a, b]).map((d) => configLabel(d.path))).toEqual(['Layers', 'Learning rate']);
	});
});
