/**
 * The decision report for language-modelling and generation (instruction) systems, in the same
 * shape and page style as the classification report (decision.ts): objective, data and lineage,
 * the two systems' metrics, the paired difference on the same rows with its bootstrap interval,
 * a verdict, cost and caveats (Mitchell et al. 2019). Language modelling is judged on perplexity
 * (lower is better) over the sequences both scored; generation on mean ROUGE-L over the prompts
 * both answered, with exact match beside it; multi-label classification on micro F1 over the rows
 * both scored, with macro F1, subset accuracy and Hamming loss beside it (each with its p-value).
 */
import type { GenerationComparison } from '../engine/eval/generation-eval';
import { pairedOnText } from '../engine/eval/generation-eval';
import type { LmComparison } from '../engine/eval/lm-compare';
import type { MultiLabelComparison, MultiLabelMetric } from '../engine/eval/multilabel-bootstrap';
import { MULTILABEL_HIGHER_IS_BETTER, MULTILABEL_METRIC_NAMES } from '../engine/eval/multilabel-bootstrap';
import type { DatasetVersion, MetricInterval, Project, Run } from '../shared/types';
import type { System } from './baselines';
import { droppedReasons, escapeHtml, modelOf, REPORT_CSS, table, type Verdict } from './decision';
import { duration, num, pct, pts, share, signed } from './format';
import type { GenerationSystem } from './generation';
import type { LmSystem } from './lm';
import { visibleWhitespace } from './whitespace';

export type ReportKind = 'language-modelling' | 'generation' | 'multi-label';

export interface KindMetric {
	metric: string;
	/** How the value reads: a share (%), a number, or BLEU's 0–100. */
	unit: 'share' | 'number' | 'bleu' | 'count';
	higherIsBetter: boolean | null;
	reference: number | null;
	candidate: number | null;
	/** 95% bootstrap intervals of each system alone, where stored. */
	referenceInterval?: [number, number] | null;
	candidateInterval?: [number, number] | null;
}

export interface KindDifference {
	metric: string;
	unit: 'share' | 'number';
	higherIsBetter: boolean;
	diff: number;
	low: number;
	high: number;
	/** Two-sided p-value of the paired bootstrap, where the report gives one per metric. */
	pValue?: number;
}

export interface KindSystemSummary {
	name: string;
	kind: string;
	description: string;
	split: string;
	step: number;
	/** Sequences (LM) or prompts answered (generation). */
	count: number;
}

export interface KindDecisionReport {
	kind: ReportKind;
	title: string;
	generatedAt: string;
	objective: { project: string; description: string; task: string };
	data: {
		dataset: string;
		versionId: string;
		source: string;
		rows: number;
		splitSizes: Record<string, number>;
		contentHash: string;
		dropped: { count: number; reasons: { reason: string; count: number }[] };
	};
	reference: KindSystemSummary;
	candidate: KindSystemSummary;
	results: KindMetric[];
	difference: { paired: string; n: number; resamples: number; seed: number; alpha: number; metrics: KindDifference[] } | null;
	verdict: { kind: Verdict; text: string };
	cost: { trainTime: string; trainMs: number | null; steps: number | null; epochs: number | null; model: string; backend: string; softwareAdapter: boolean };
	/** Generation: a few prompts with both answers (whitespace made visible). */
	examples: { row: number; prompt: string; reference: string; candidateOutput: string; referenceOutput: string }[];
	caveats: string[];
}

interface Common {
	project: Pick<Project, 'name' | 'description' | 'task'>;
	dataset: DatasetVersion;
	generatedAt: number;
}

function dataOf(v: DatasetVersion): KindDecisionReport['data'] {
	return {
		dataset: v.name,
		versionId: v.id,
		source: `${v.source.fileName} (${v.source.format}, ${v.source.bytes} bytes)`,
		rows: v.rowCount,
		splitSizes: { ...v.split.sizes },
		contentHash: v.contentHash,
		dropped: { count: v.dropped.length, reasons: droppedReasons(v) }
	};
}

function costOf(run: Run | undefined, s: { run?: Run; baseline?: { model?: { repo: string; revision: string } } }): KindDecisionReport['cost'] {
	return {
		trainMs: run ? run.trainMs : null,
		trainTime: run && !run.baseline ? duration(run.trainMs) : '–',
		steps: run && !run.baseline ? run.step : null,
		epochs: run && !run.baseline ? run.epoch : null,
		model: modelOf(s as Parameters<typeof modelOf>[0]),
		backend: run?.backend ? `${run.backend.name}${run.backend.adapter ? ` on ${run.backend.adapter}` : ''}` : 'unknown',
		softwareAdapter: !!run?.backend?.isFallbackAdapter
	};
}

function commonCaveats(v: DatasetVersion, candidate: { run: Run; datasetVersionId: string }, step: number): string[] {
	const out: string[] = [];
	if (v.dropped.length) out.push(`${v.dropped.length} row(s) were dropped at import (see Data); the model was not tested on rows like them.`);
	const b = candidate.run.backend;
	if (b?.isFallbackAdapter) out.push(`Trained on a software GPU adapter (${b.adapter ?? 'fallback'}): training time says little about a real GPU.`);
	if (!candidate.run.baseline && candidate.run.status !== 'completed') out.push(`The run is ${candidate.run.status}, not completed: the evaluated checkpoint is from step ${step}.`);
	if (candidate.datasetVersionId !== v.id) out.push('The candidate was evaluated on another dataset version than the one described here.');
	return out;
}

function verdictFrom(d: KindDifference | undefined, cand: string, ref: string, what: string, paired: string, problem: string | null, fmt: (v: number) => string): { kind: Verdict; text: string } {
	if (!d) return { kind: 'unpaired', text: `${cand} and ${ref} could not be compared on the same rows. ${problem ?? ''}`.trim() };
	const span = `${fmt(d.diff)} ${what} (95% CI ${fmt(d.low)} to ${fmt(d.high)}, ${paired})`;
	const better = d.higherIsBetter ? d.low > 0 : d.high < 0;
	const worse = d.higherIsBetter ? d.high < 0 : d.low > 0;
	if (better) return { kind: 'better', text: `${cand} beats ${ref}: ${span}.` };
	if (worse) return { kind: 'worse', text: `${ref} is better: ${cand} − ${ref} is ${span}.` };
	return { kind: 'inconclusive', text: `No clear difference: ${cand} − ${ref} is ${span}, an interval that includes zero. More test rows, or a larger gain, are needed to tell.` };
}

const summary = (s: { name: string; kind: string; run: Run }, e: { split: string; step: number }, count: number, description?: string): KindSystemSummary => ({
	name: s.name,
	kind: s.kind,
	description: description ?? s.run.baseline?.description ?? `trained run, checkpoint at step ${e.step}`,
	split: e.split,
	step: e.step,
	count
});

export function buildLmReport(input: Common & { reference: LmSystem; candidate: LmSystem; comparison: LmComparison | null; pairingProblem?: string | null }): KindDecisionReport {
	const { reference: r, candidate: c, comparison, dataset: v } = input;
	const re = r.evaluation;
	const ce = c.evaluation;
	const results: KindMetric[] = [
		{ metric: 'perplexity', unit: 'number', higherIsBetter: false, reference: re.lm.perplexity, candidate: ce.lm.perplexity },
		{ metric: 'next-token accuracy', unit: 'share', higherIsBetter: true, reference: re.lm.tokenAccuracy, candidate: ce.lm.tokenAccuracy },
		{ metric: 'loss (nats per token)', unit: 'number', higherIsBetter: false, reference: re.loss, candidate: ce.loss },
		{ metric: 'sequences scored', unit: 'count', higherIsBetter: null, reference: re.count, candidate: ce.count }
	];
	const paired = comparison ? pairedOnText(comparison.n, ...comparison.sizes, 'sequences') : '';
	const metrics: KindDifference[] = comparison
		? comparison.metrics.map((m) => ({
				metric: m.metric === 'perplexity' ? 'perplexity' : 'next-token accuracy',
				unit: m.metric === 'perplexity' ? 'number' : 'share',
				higherIsBetter: m.metric !== 'perplexity',
				diff: m.diff,
				low: m.low,
				high: m.high
			}))
		: [];
	const caveats = commonCaveats(v, c, ce.step);
	if (!comparison && input.pairingProblem) caveats.unshift(`No paired test: ${input.pairingProblem}`);
	if (ce.count < 50) caveats.push(`Small test split: ${ce.count} sequences, so differences are hard to tell from noise.`);
	if (r.run.config?.pretrained?.contextLength !== c.run.config?.pretrained?.contextLength)
		caveats.push('The two use different context lengths, so their sequences (and perplexities) are not cut alike.');
	return {
		kind: 'language-modelling',
		title: `${input.project.name}: ${c.name} vs ${r.name}`,
		generatedAt: new Date(input.generatedAt).toISOString(),
		objective: { project: input.project.name, description: input.project.description, task: input.project.task },
		data: dataOf(v),
		reference: summary(r, re, re.count),
		candidate: summary(c, ce, ce.count),
		results,
		difference: comparison ? { paired, n: comparison.n, resamples: comparison.resamples, seed: comparison.seed, alpha: comparison.alpha, metrics } : null,
		verdict: verdictFrom(metrics[0], c.name, r.name, 'perplexity', paired, input.pairingProblem ?? null, (x) => signed(x, 2)),
		cost: costOf(c.run, c),
		examples: [],
		caveats
	};
}

export function buildGenerationReport(
	input: Common & { reference: GenerationSystem; candidate: GenerationSystem; comparison: GenerationComparison | null; pairingProblem?: string | null }
): KindDecisionReport {
	const { reference: r, candidate: c, comparison, dataset: v } = input;
	const rg = r.generation;
	const cg = c.generation;
	const iv = (x: { low: number; high: number } | undefined, scale = 1): [number, number] | null => (x ? [x.low * scale, x.high * scale] : null);
	const results: KindMetric[] = [
		{ metric: 'BLEU', unit: 'bleu', higherIsBetter: true, reference: rg.bleu, candidate: cg.bleu, referenceInterval: iv(rg.intervals.bleu), candidateInterval: iv(cg.intervals.bleu) },
		{ metric: 'ROUGE-L', unit: 'number', higherIsBetter: true, reference: rg.rougeL, candidate: cg.rougeL, referenceInterval: iv(rg.intervals.rougeL), candidateInterval: iv(cg.intervals.rougeL) },
		{ metric: 'ROUGE-1', unit: 'number', higherIsBetter: true, reference: rg.rouge1, candidate: cg.rouge1 },
		{ metric: 'ROUGE-2', unit: 'number', higherIsBetter: true, reference: rg.rouge2, candidate: cg.rouge2 },
		{ metric: 'exact match', unit: 'share', higherIsBetter: true, reference: rg.exactMatch, candidate: cg.exactMatch, referenceInterval: iv(rg.intervals.exactMatch), candidateInterval: iv(cg.intervals.exactMatch) },
		{ metric: 'prompts answered', unit: 'count', higherIsBetter: null, reference: rg.examples.length, candidate: cg.examples.length },
		{ metric: 'max new tokens', unit: 'count', higherIsBetter: null, reference: rg.maxNewTokens, candidate: cg.maxNewTokens }
	];
	const paired = comparison ? pairedOnText(comparison.n, ...comparison.sizes) : '';
	const metrics: KindDifference[] = comparison
		? comparison.metrics.map((m) => ({ metric: m.metric === 'rougeL' ? 'ROUGE-L' : 'exact match', unit: m.metric === 'rougeL' ? 'number' : 'share', higherIsBetter: true, diff: m.diff, low: m.low, high: m.high }))
		: [];
	const caveats = commonCaveats(v, { run: c.run, datasetVersionId: c.generation.datasetVersionId }, c.run.evaluation?.step ?? 0);
	if (!comparison && input.pairingProblem) caveats.unshift(`No paired test: ${input.pairingProblem}`);
	if (comparison && comparison.n < Math.max(...comparison.sizes))
		caveats.push(`Only ${comparison.n === 1 ? 'the 1 prompt' : `the ${comparison.n} prompts`} both answered ${comparison.n === 1 ? 'is' : 'are'} paired (${c.name}: ${comparison.sizes[0]}, ${r.name}: ${comparison.sizes[1]}); BLEU, ROUGE and exact match above are each system's own prompts.`);
	if (comparison && comparison.n < 30) caveats.push(`Few prompts are paired (${comparison.n}): generate answers for more test prompts for a sharper answer.`);
	const blank = cg.examples.filter((e) => !e.output.trim()).length;
	if (blank) caveats.push(`${blank} of ${cg.examples.length} answers of ${c.name} are empty or only whitespace.`);
	const refByRow = new Map(rg.examples.map((e) => [e.row, e]));
	const examples = cg.examples
		.filter((e) => refByRow.has(e.row))
		.slice(0, 10)
		.map((e) => ({ row: e.row, prompt: e.prompt, reference: e.reference, candidateOutput: e.output, referenceOutput: refByRow.get(e.row)!.output }));
	return {
		kind: 'generation',
		title: `${input.project.name}: ${c.name} vs ${r.name}`,
		generatedAt: new Date(input.generatedAt).toISOString(),
		objective: { project: input.project.name, description: input.project.description, task: input.project.task },
		data: dataOf(v),
		reference: summary(r, { split: rg.split, step: r.run.evaluation?.step ?? 0 }, rg.examples.length, r.description),
		candidate: summary(c, { split: cg.split, step: c.run.evaluation?.step ?? 0 }, cg.examples.length, c.description),
		results,
		difference: comparison ? { paired, n: comparison.n, resamples: comparison.resamples, seed: comparison.seed, alpha: comparison.alpha, metrics } : null,
		verdict: verdictFrom(metrics[0], c.name, r.name, 'ROUGE-L', paired, input.pairingProblem ?? null, (x) => signed(x)),
		cost: costOf(c.run, { run: c.run.baseline ? undefined : c.run, baseline: c.run.baseline }),
		examples,
		caveats
	};
}

/** Micro F1 decides the verdict: it weighs every label decision alike, as the threshold sweep does. */
const MULTILABEL_ORDER: MultiLabelMetric[] = ['microF1', 'macroF1', 'subsetAccuracy', 'hammingLoss'];

/**
 * The report of a multi-label system against another scored on the same rows: subset accuracy,
 * micro and macro F1 and Hamming loss with their intervals, the paired differences (each row drawn
 * with its whole label set, both systems the same draws), each system at its own threshold.
 */
export function buildMultiLabelReport(
	input: Common & { reference: System; candidate: System; comparison: MultiLabelComparison | null; pairingProblem?: string | null }
): KindDecisionReport {
	const { reference: r, candidate: c, comparison, dataset: v } = input;
	const rm = r.evaluation.multiLabel;
	const cm = c.evaluation.multiLabel;
	const iv = (x: MetricInterval | undefined): [number, number] | null => (x ? [x.low, x.high] : null);
	const figure = (metric: MultiLabelMetric, unit: KindMetric['unit'], of: (m: NonNullable<typeof rm>) => number): KindMetric => ({
		metric: MULTILABEL_METRIC_NAMES[metric],
		unit,
		higherIsBetter: MULTILABEL_HIGHER_IS_BETTER[metric],
		reference: rm ? of(rm) : null,
		candidate: cm ? of(cm) : null,
		referenceInterval: iv(rm?.intervals?.[metric]),
		candidateInterval: iv(cm?.intervals?.[metric])
	});
	const results: KindMetric[] = [
		figure('microF1', 'number', (m) => m.micro.f1),
		figure('macroF1', 'number', (m) => m.macro.f1),
		figure('subsetAccuracy', 'share', (m) => m.subsetAccuracy),
		figure('hammingLoss', 'number', (m) => m.hammingLoss),
		{ metric: 'threshold (a label at probability ≥)', unit: 'number', higherIsBetter: null, reference: rm?.threshold ?? null, candidate: cm?.threshold ?? null },
		{ metric: 'rows scored', unit: 'count', higherIsBetter: null, reference: r.evaluation.count, candidate: c.evaluation.count }
	];
	const paired = comparison ? `paired on the same ${comparison.n} ${c.evaluation.split} rows` : '';
	const metrics: KindDifference[] = comparison
		? MULTILABEL_ORDER.map((name) => comparison.metrics.find((m) => m.metric === name)!).map((m) => ({
				metric: MULTILABEL_METRIC_NAMES[m.metric],
				unit: m.metric === 'subsetAccuracy' ? 'share' : 'number',
				higherIsBetter: MULTILABEL_HIGHER_IS_BETTER[m.metric],
				diff: m.diff,
				low: m.low,
				high: m.high,
				pValue: m.pValue
			}))
		: [];
	const caveats = c.run ? commonCaveats(v, { run: c.run, datasetVersionId: c.datasetVersionId }, c.evaluation.step) : [];
	if (!comparison && input.pairingProblem) caveats.unshift(`No paired test: ${input.pairingProblem}`);
	if (c.evaluation.count < 200) caveats.push(`Small test split: ${c.evaluation.count} rows, so differences are hard to tell from noise; label more data for a sharper answer.`);
	if (rm && cm && rm.threshold !== cm.threshold)
		caveats.push(`The two decide at different thresholds (${c.name} at ${num(cm.threshold)}, ${r.name} at ${num(rm.threshold)}): each is scored at its own.`);
	if (cm && c.evaluation.split === 'test' && c.run?.multiLabelThreshold !== undefined)
		caveats.push(`${c.name} decides at a threshold saved on the Evaluate screen (${cm.threshold}); if it was chosen on these test rows, its figures are flattered.`);
	// A multi-label system is a run (trained, or a stored prompt baseline); no majority class is made for one.
	const described = (s: System) => ({ name: s.name, kind: s.kind, run: s.run as Run });
	const what = (s: System) => s.baseline?.description ?? (s.run ? undefined : s.kind);
	return {
		kind: 'multi-label',
		title: `${input.project.name}: ${c.name} vs ${r.name}`,
		generatedAt: new Date(input.generatedAt).toISOString(),
		objective: { project: input.project.name, description: input.project.description, task: input.project.task },
		data: dataOf(v),
		reference: summary(described(r), r.evaluation, r.evaluation.count, what(r)),
		candidate: summary(described(c), c.evaluation, c.evaluation.count, what(c)),
		results,
		difference: comparison ? { paired, n: comparison.n, resamples: comparison.resamples, seed: comparison.seed, alpha: comparison.alpha, metrics } : null,
		verdict: verdictFrom(metrics[0], c.name, r.name, 'micro F1', paired, input.pairingProblem ?? null, (x) => signed(x)),
		cost: costOf(c.run, c),
		examples: [],
		caveats
	};
}

function value(m: { unit: KindMetric['unit'] }, v: number | null): string {
	if (v === null) return '–';
	if (m.unit === 'share') return pct(v);
	if (m.unit === 'bleu') return num(v, 1);
	if (m.unit === 'count') return String(v);
	return num(v);
}

function withRange(m: KindMetric, v: number | null, range: [number, number] | null | undefined): string {
	const head = value(m, v);
	if (!range || v === null) return head;
	return `${head} [${value(m, range[0])}–${value(m, range[1])}]`;
}

/** An answer for the report's table: whitespace drawn, with "(empty)" or "(only whitespace: …)" beside it. */
function shownAnswer(text: string): string {
	const v = visibleWhitespace(text);
	return v.note ? `${v.text} ${v.note}`.trim() : v.text;
}

const diffText = (d: KindDifference, v: number) => (d.unit === 'share' ? pts(v) : signed(v));

/** The report as one HTML page with everything inline (the same style as the classification report). */
export function kindDecisionHtml(r: KindDecisionReport): string {
	const e = escapeHtml;
	const ref = r.reference;
	const cand = r.candidate;
	const results = table(
		['metric', ref.name, cand.name],
		r.results.map((m) => [m.metric + (m.higherIsBetter === false ? ' (lower is better)' : ''), withRange(m, m.reference, m.referenceInterval), withRange(m, m.candidate, m.candidateInterval)]),
		[false, true, true]
	);
	const withP = !!r.difference?.metrics.some((d) => d.pValue !== undefined);
	const lowerNote = r.kind === 'language-modelling' ? '; for perplexity lower is better' : r.kind === 'multi-label' ? '; for Hamming loss lower is better. Each resample draws rows with their whole label sets' : '';
	const diff = r.difference
		? table(
				['metric', 'difference', '95% interval', ...(withP ? ['two-sided p'] : [])],
				r.difference.metrics.map((d) => [d.metric, diffText(d, d.diff), `${diffText(d, d.low)} to ${diffText(d, d.high)}`, ...(withP ? [d.pValue === undefined ? '–' : share(d.pValue, r.difference!.resamples)] : [])]),
				[false, true, true, true]
			) +
			`<p class="muted">Paired bootstrap over the rows both scored (${e(r.difference.paired)}): ${r.difference.resamples} resamples, seed ${r.difference.seed}. A difference is ${e(cand.name)} minus ${e(ref.name)}${lowerNote}.</p>`
		: '<p class="muted">No paired difference: the two were not scored on the same rows.</p>';
	const d = r.data;
	const data = table(null, [
		['dataset version', `${d.dataset} (${d.versionId})`],
		['source', d.source],
		['rows', `${d.rows} (train ${d.splitSizes.train ?? '–'}, validation ${d.splitSizes.validation ?? '–'}, test ${d.splitSizes.test ?? '–'})`],
		['content hash (SHA-256)', d.contentHash],
		['dropped at import', d.dropped.count ? d.dropped.reasons.map((x) => `${x.count} × ${x.reason}`).join('; ') : 'none']
	]);
	const c = r.cost;
	const cost = table(null, [
		['model', c.model],
		['training time', c.trainTime],
		['steps / epochs', `${c.steps ?? '–'} / ${c.epochs ?? '–'}`],
		['backend', `${c.backend}${c.softwareAdapter ? ' (software adapter)' : ''}`]
	]);
	const examples = r.examples.length
		? table(
				['row', 'prompt', 'reference answer', cand.name, ref.name],
				r.examples.map((x) => [String(x.row), x.prompt, shownAnswer(x.reference), shownAnswer(x.candidateOutput), shownAnswer(x.referenceOutput)])
			) + '<p class="muted">An answer of only whitespace is drawn as ⏎ (newline), → (tab) and · (space).</p>'
		: '';
	const caveats = r.caveats.length ? `<ul class="caveats">${r.caveats.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : '<p>None found.</p>';
	const what = r.kind === 'generation' ? 'Generated answers' : r.kind === 'multi-label' ? 'Multi-label classification' : 'Language modelling';
	const noun = r.kind === 'generation' ? 'prompts' : r.kind === 'multi-label' ? 'rows' : 'sequences';
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(r.title)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>${e(r.title)}</h1>
<p class="muted">Decision report from Whetstone, ${e(r.generatedAt)}. Task: ${e(r.objective.task)} (${r.kind}).</p>
<div class="card verdict ${r.verdict.kind}">${e(r.verdict.text)}</div>
<h2>Objective</h2><div class="card"><strong>${e(r.objective.project)}</strong><p>${e(r.objective.description || 'No description.')}</p></div>
<h2>Data</h2><div class="card">${data}</div>
<h2>${what}: ${e(ref.name)} vs ${e(cand.name)}</h2><div class="card">${results}<p class="muted">${e(ref.name)}: ${e(ref.description)}; ${ref.count} ${ref.split} ${noun}. ${e(cand.name)}: ${e(cand.description)}; ${cand.count} ${cand.split} ${noun}. Brackets: 95% percentile bootstrap intervals.</p></div>
<h2>Paired difference</h2><div class="card">${diff}</div>
${examples ? `<h2>Answers side by side</h2><div class="card">${examples}</div>` : ''}
<h2>Cost</h2><div class="card">${cost}</div>
<h2>Caveats</h2><div class="card">${caveats}</div>
</main></body></html>
`;
}
