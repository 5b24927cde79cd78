/**
 * The decision report: "is fine-tuning worth it over the baseline, by how much, with what
 * confidence?" as a JSON object and a self-contained HTML page (inline CSS, inline SVG, no
 * external assets or URLs) that can be mailed or archived. Sections follow the practice of model
 * cards (Mitchell et al. 2019): objective, data and lineage, results with intervals, the paired
 * difference on the same test rows, cost, and caveats.
 */
import { countParams } from '../shared/config';
import type { DatasetVersion, EvaluationResult, Project, SliceColumn } from '../shared/types';
import type { PairedComparison, PairedMetric } from '../engine/eval/evaluation';
import type { System } from './baselines';
import { count, duration, num, pct, pts, share, signed, withInterval, type Interval } from './format';
import { groupText, runDiffAgainstSpread, SPREAD_RULE, unit, type GroupSpread, type SpreadVerdict } from './spread';

export interface DecisionInput {
	project: Pick<Project, 'name' | 'description' | 'task'>;
	dataset: DatasetVersion;
	/** The baseline (or any reference) the candidate must beat. */
	reference: System;
	/** The fine-tuned run. */
	candidate: System;
	/** Paired bootstrap of candidate − reference, or null when they cannot be paired. */
	comparison: PairedComparison | null;
	/** Why they could not be paired. */
	pairingProblem?: string | null;
	/** Parameters trained, when the caller knows better than the config (pretrained, LoRA). */
	trainedParams?: number;
	/** The cross-validation or repeated-seeds groups the two runs belong to (report/spread.ts), if any. */
	spread?: { candidate: GroupSpread | null; reference: GroupSpread | null };
	generatedAt: number;
}

export interface SystemSummary {
	name: string;
	kind: string;
	description: string;
	split: string;
	count: number;
	step: number;
	accuracy: Interval;
	macroF1: Interval;
	logLoss: Interval | null;
	balancedAccuracy: number | null;
	mcc: number | null;
	kappa: number | null;
	rocAucMacro: number | null;
	ece: number | null;
	brier: number | null;
	perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
}

export type Verdict = 'better' | 'worse' | 'inconclusive' | 'unpaired';

export interface DecisionReport {
	title: string;
	generatedAt: string;
	objective: { project: string; description: string; task: string };
	data: {
		dataset: string;
		versionId: string;
		source: string;
		rows: number;
		labels: string[];
		labelCounts: number[];
		splitSizes: Record<string, number>;
		contentHash: string;
		dropped: { count: number; reasons: { reason: string; count: number }[] };
	};
	reference: SystemSummary;
	candidate: SystemSummary;
	difference: { metrics: PairedMetric[]; n: number; resamples: number; seed: number; alpha: number } | null;
	verdict: { kind: Verdict; text: string };
	cost: {
		trainMs: number | null;
		trainTime: string;
		steps: number | null;
		epochs: number | null;
		parametersTrained: number | null;
		model: string;
		backend: string;
		adapter: string | null;
		softwareAdapter: boolean;
	};
	slices: { column: string; gap: number | null; best?: string; worst?: string; notable: boolean }[];
	/** Fold/seed spread: each side's group over its folds or seeds, and the test difference against that spread. */
	spread: { rule: string; candidate: GroupSpread | null; reference: GroupSpread | null; verdict: SpreadVerdict | null } | null;
	caveats: string[];
	bootstrap: { resamples: number; seed: number; alpha: number } | null;
}

function interval(e: EvaluationResult, metric: 'accuracy' | 'macroF1'): Interval {
	return e.intervals?.[metric] ?? { estimate: e[metric], low: null, high: null };
}

function summarize(s: System): SystemSummary {
	const e = s.evaluation;
	return {
		name: s.name,
		kind: s.kind,
		description: s.baseline?.description ?? (s.run ? `trained run, checkpoint at step ${e.step}` : ''),
		split: e.split,
		count: e.count,
		step: e.step,
		accuracy: interval(e, 'accuracy'),
		macroF1: interval(e, 'macroF1'),
		logLoss: e.intervals?.logLoss ?? (Number.isFinite(e.loss) ? { estimate: e.loss, low: null, high: null } : null),
		balancedAccuracy: e.balancedAccuracy ?? null,
		mcc: e.mcc ?? null,
		kappa: e.kappa ?? null,
		rocAucMacro: e.rocAuc?.macro ?? null,
		ece: e.ece ?? null,
		brier: e.brier ?? null,
		perClass: e.perClass.map(({ label, precision, recall, f1, support }) => ({ label, precision, recall, f1, support }))
	};
}

export function droppedReasons(v: DatasetVersion): { reason: string; count: number }[] {
	const byReason = new Map<string, number>();
	for (const d of v.dropped) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
	return [...byReason].map(([reason, n]) => ({ reason, count: n })).sort((a, b) => b.count - a.count);
}

/** The paired verdict, unless the difference is within the fold/seed spread: then it is called so. */
function verdictOf(input: DecisionInput, ref: SystemSummary, cand: SystemSummary, spread: SpreadVerdict | null): { kind: Verdict; text: string } {
	const paired = pairedVerdict(input, ref, cand);
	if (!spread?.within || paired.kind === 'unpaired') return paired;
	return { kind: 'inconclusive', text: `No real difference between the configurations: ${spread.text} On the test rows alone: ${paired.text}` };
}

function pairedVerdict(input: DecisionInput, ref: SystemSummary, cand: SystemSummary): { kind: Verdict; text: string } {
	const acc = input.comparison?.metrics.find((m) => m.metric === 'accuracy');
	if (!acc) {
		const why = input.pairingProblem ? ` ${input.pairingProblem}` : '';
		return {
			kind: 'unpaired',
			text: `${cand.name} scores ${withInterval(cand.accuracy)} accuracy and ${ref.name} ${withInterval(ref.accuracy)}; they could not be compared on the same rows.${why}`
		};
	}
	const span = `${pts(acc.diff)} accuracy (95% CI ${pts(acc.low)} to ${pts(acc.high)})`;
	const tail = `${cand.name} was not better in ${share(acc.shareNotBetter, input.comparison!.resamples)} of ${input.comparison!.resamples} paired resamples.`;
	if (acc.low > 0) return { kind: 'better', text: `Fine-tuning is worth it: ${cand.name} beats ${ref.name} by ${span} on the same ${input.comparison!.n} test rows. ${tail}` };
	if (acc.high < 0) return { kind: 'worse', text: `${ref.name} is better: ${cand.name} trails it by ${span}. ${tail}` };
	return { kind: 'inconclusive', text: `No clear difference: ${cand.name} − ${ref.name} is ${span}, an interval that includes zero. More test rows, or a larger gain, are needed to tell. ${tail}` };
}

export function modelOf(s: System): string {
	const cfg = s.run?.config;
	if (!cfg) return s.baseline?.model ? `${s.baseline.model.repo}@${s.baseline.model.revision.slice(0, 10)}` : 'none';
	if (cfg.pretrained) return `${cfg.pretrained.repo}@${cfg.pretrained.revision.slice(0, 10)} (${cfg.pretrained.modelType}, ${cfg.pretrained.objective})`;
	const m = cfg.model;
	return `from-scratch transformer: ${m.nLayer} layer(s), ${m.nHead} heads, width ${m.dModel}, context ${m.contextLength}, vocabulary ${m.vocabSize}`;
}

function caveats(input: DecisionInput, ref: SystemSummary, cand: SystemSummary, slices: SliceColumn[], spread: SpreadVerdict | null): string[] {
	const out: string[] = [];
	if (spread?.within) out.push(`Within the ${spread.word} spread: ${spread.text}`);
	else if (spread && spread.within === null) out.push(spread.text);
	const { dataset: v, candidate } = input;
	const acc = cand.accuracy;
	if (acc.low !== null && acc.high !== null && acc.high > acc.low && (cand.count < 200 || acc.high - acc.low > 0.1))
		out.push(
			`Small test set: ${cand.count} rows, so the accuracy interval is ${((acc.high - acc.low) * 100).toFixed(1)} points wide. Differences smaller than that are hard to tell from noise; label more data for a sharper answer.`
		);
	else if (cand.count < 200) out.push(`Small test set: ${cand.count} rows; label more data for a sharper answer.`);
	const diff = input.comparison?.metrics.find((m) => m.metric === 'accuracy');
	if (diff && diff.low <= 0 && diff.high >= 0) out.push('The accuracy difference is not significant at the 95% level: its interval includes zero.');
	if (!input.comparison && input.pairingProblem) out.push(`No paired test: ${input.pairingProblem}`);
	for (const c of slices) {
		if (c.gap === null) continue;
		const best = c.slices.find((s) => s.value === c.best)!;
		const worst = c.slices.find((s) => s.value === c.worst)!;
		const text = `${c.column}: ${pct(best.accuracy)} on “${c.best}” (${best.count} rows) vs ${pct(worst.accuracy)} on “${c.worst}” (${worst.count} rows)`;
		if (c.notable) out.push(`Slice gap, ${text}; their intervals do not overlap. Check the model on the worse group before relying on it there.`);
		else if (c.gap >= 0.1) out.push(`Slice gap (may be noise), ${text}; their intervals overlap.`);
	}
	const counts = v.labelCounts.filter((c) => c > 0);
	if (counts.length >= 2) {
		const ratio = Math.max(...counts) / Math.min(...counts);
		if (ratio >= 3)
			out.push(`Class imbalance: the largest class has ${ratio.toFixed(1)}× the rows of the smallest, so accuracy flatters a model that favours it; read macro F1 and balanced accuracy too.`);
	}
	if (v.dropped.length) out.push(`${v.dropped.length} row(s) were dropped at import (see Data); the model was not tested on rows like them.`);
	const b = candidate.run?.backend;
	if (b?.isFallbackAdapter)
		out.push(`Trained on a software GPU adapter (${b.adapter ?? 'fallback'}): training time says little about a real GPU.`);
	else if (b && b.name !== 'webgpu') out.push(`Trained on the ${b.name} backend${b.fallbackReason ? ` (${b.fallbackReason})` : ''}: training time is not representative of WebGPU.`);
	if (cand.ece !== null && cand.ece > 0.1) out.push(`Probabilities are poorly calibrated (ECE ${num(cand.ece)}): do not read them as confidences without recalibration.`);
	if (candidate.run && candidate.run.status !== 'completed') out.push(`The run is ${candidate.run.status}, not completed: the evaluated checkpoint is from step ${cand.step}.`);
	if (candidate.datasetVersionId !== v.id) out.push('The candidate was evaluated on another dataset version than the one described here.');
	if (ref.count !== cand.count) out.push(`The two were scored on different numbers of rows (${ref.count} and ${cand.count}).`);
	return out;
}

export function buildDecisionReport(input: DecisionInput): DecisionReport {
	const { project, dataset: v, reference, candidate } = input;
	const ref = summarize(reference);
	const cand = summarize(candidate);
	const run = candidate.run;
	// Only columns worth slicing by: a few repeated values (engine/eval/report.ts `sliceValues`);
	// evaluations stored before that choice may hold identifiers or raw timestamps, with no gap.
	const slices = (candidate.evaluation.slices ?? []).filter((c) => !c.skipped && c.gap !== null);
	const params = input.trainedParams ?? (run && !run.config.pretrained ? countParams(run.config.model) : null);
	const groups = input.spread && (input.spread.candidate || input.spread.reference) ? input.spread : null;
	const acc = input.comparison?.metrics.find((m) => m.metric === 'accuracy');
	const spreadVerdict = groups ? runDiffAgainstSpread(acc ? acc.diff : cand.accuracy.estimate - ref.accuracy.estimate, groups.candidate, groups.reference, acc ? 'test accuracy' : 'unpaired test accuracy') : null;
	return {
		title: `${project.name}: ${cand.name} vs ${ref.name}`,
		generatedAt: new Date(input.generatedAt).toISOString(),
		objective: { project: project.name, description: project.description, task: project.task },
		data: {
			dataset: v.name,
			versionId: v.id,
			source: `${v.source.fileName} (${v.source.format}, ${v.source.bytes} bytes)`,
			rows: v.rowCount,
			labels: v.labels,
			labelCounts: v.labelCounts,
			splitSizes: { ...v.split.sizes },
			contentHash: v.contentHash,
			dropped: { count: v.dropped.length, reasons: droppedReasons(v) }
		},
		reference: ref,
		candidate: cand,
		difference: input.comparison
			? { metrics: input.comparison.metrics, n: input.comparison.n, resamples: input.comparison.resamples, seed: input.comparison.seed, alpha: input.comparison.alpha }
			: null,
		verdict: verdictOf(input, ref, cand, spreadVerdict),
		cost: {
			trainMs: run ? run.trainMs : null,
			trainTime: run ? duration(run.trainMs) : '–',
			steps: run ? run.step : null,
			epochs: run ? run.epoch : null,
			parametersTrained: params,
			model: modelOf(candidate),
			backend: run?.backend?.name ?? 'unknown',
			adapter: run?.backend?.adapter ?? null,
			softwareAdapter: !!run?.backend?.isFallbackAdapter
		},
		slices: slices.map(({ column, gap, best, worst, notable }) => ({ column, gap, best, worst, notable })),
		spread: groups ? { rule: SPREAD_RULE, candidate: groups.candidate, reference: groups.reference, verdict: spreadVerdict } : null,
		caveats: caveats(input, ref, cand, slices, spreadVerdict),
		bootstrap: candidate.evaluation.bootstrap ?? null
	};
}

/** The report as pretty JSON (what the JSON download holds). */
export function decisionJson(report: DecisionReport): string {
	return JSON.stringify(report, null, 2);
}

// ---- HTML ----

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
	return s.replace(/[&<>"']/g, (c) => ESC[c]);
}

export const REPORT_CSS = `
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1c1c1a;background:#f7f7f5;margin:0}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.1rem;margin:28px 0 8px}
.muted{color:#6b6b66}.card{background:#fff;border:1px solid #e4e4df;border-radius:12px;padding:16px 20px;margin:12px 0}
.verdict{border-left:5px solid #6b6b66;font-size:1.05rem}.verdict.better{border-left-color:#15803d}.verdict.worse{border-left-color:#b91c1c}.verdict.inconclusive{border-left-color:#b45309}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e4df}
th{color:#6b6b66;font-weight:600;font-size:.8rem}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
ul.caveats li{margin:4px 0}.spread.within{color:#b45309;font-weight:600}.flag{color:#b91c1c;font-weight:600}code{background:#f1f1ee;padding:1px 4px;border-radius:4px;font-size:.85em}
svg text{font:12px system-ui,sans-serif;fill:#1c1c1a}
`;

interface BarItem {
	label: string;
	estimate: number;
	low: number | null;
	high: number | null;
	color: string;
}

function clip(s: string, most: number): string {
	return s.length > most ? `${s.slice(0, most - 1)}…` : s;
}

/** A difference as the page shows it: points for accuracy, signed units for F1 and log loss. */
function diffText(m: PairedMetric, v: number): string {
	return m.metric === 'accuracy' ? pts(v) : signed(v);
}

/** Horizontal bars on [0, 1] with interval whiskers. */
export function barsSvg(items: BarItem[], width = 640): string {
	const left = 240;
	const right = 70;
	const rowH = 26;
	const h = items.length * rowH + 24;
	const x = (v: number) => left + Math.max(0, Math.min(1, v)) * (width - left - right);
	const ticks = [0, 0.25, 0.5, 0.75, 1]
		.map((t) => `<line x1="${x(t)}" y1="4" x2="${x(t)}" y2="${h - 18}" stroke="#ecece8"/><text x="${x(t)}" y="${h - 4}" text-anchor="middle">${t * 100}%</text>`)
		.join('');
	const rows = items
		.map((it, i) => {
			const y = 8 + i * rowH;
			const whisker =
				it.low !== null && it.high !== null
					? `<line x1="${x(it.low)}" y1="${y + 9}" x2="${x(it.high)}" y2="${y + 9}" stroke="#1c1c1a" stroke-width="1.5"/>` +
						`<line x1="${x(it.low)}" y1="${y + 4}" x2="${x(it.low)}" y2="${y + 14}" stroke="#1c1c1a"/><line x1="${x(it.high)}" y1="${y + 4}" x2="${x(it.high)}" y2="${y + 14}" stroke="#1c1c1a"/>`
					: '';
			return (
				`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escapeHtml(clip(it.label, 36))}</text>` +
				`<rect x="${left}" y="${y + 2}" width="${Math.max(0, x(it.estimate) - left).toFixed(1)}" height="14" rx="3" fill="${it.color}" opacity="0.8"/>` +
				whisker +
				`<text x="${width - right + 6}" y="${y + 13}">${pct(it.estimate)}</text>`
			);
		})
		.join('');
	return `<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img">${ticks}${rows}</svg>`;
}

/** Differences with their intervals around a zero line (a forest plot), in percentage points. */
export function forestSvg(metrics: PairedMetric[], width = 640): string {
	const items = metrics.filter((m) => m.metric !== 'logLoss');
	const left = 240;
	const right = 110;
	const rowH = 28;
	const h = items.length * rowH + 26;
	const reach = Math.max(0.05, ...items.flatMap((m) => [Math.abs(m.low), Math.abs(m.high), Math.abs(m.diff)]).filter(Number.isFinite));
	const x = (v: number) => left + ((v + reach) / (2 * reach)) * (width - left - right);
	const rows = items
		.map((m, i) => {
			const y = 10 + i * rowH;
			const color = m.low > 0 ? '#15803d' : m.high < 0 ? '#b91c1c' : '#b45309';
			const name = m.metric === 'accuracy' ? 'accuracy' : 'macro F1';
			return (
				`<text x="${left - 8}" y="${y + 12}" text-anchor="end">Δ ${name}</text>` +
				`<line x1="${x(m.low)}" y1="${y + 8}" x2="${x(m.high)}" y2="${y + 8}" stroke="${color}" stroke-width="2.5"/>` +
				`<circle cx="${x(m.diff)}" cy="${y + 8}" r="5" fill="${color}"/>` +
				`<text x="${width - right + 8}" y="${y + 12}">${diffText(m, m.diff)}</text>`
			);
		})
		.join('');
	const axis =
		`<line x1="${x(0)}" y1="2" x2="${x(0)}" y2="${h - 18}" stroke="#6b6b66" stroke-dasharray="4 3"/>` +
		`<text x="${x(-reach)}" y="${h - 4}">${signed(-reach, 2)}</text><text x="${x(0)}" y="${h - 4}" text-anchor="middle">0</text>` +
		`<text x="${x(reach)}" y="${h - 4}" text-anchor="end">${signed(reach, 2)}</text>`;
	return `<svg viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img">${axis}${rows}</svg>`;
}

export function table(head: string[] | null, rows: string[][], numeric: boolean[] = []): string {
	const th = head ? `<thead><tr>${head.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
	const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
	return `<table>${th}<tbody>${body}</tbody></table>`;
}

/** The fold/seed spread section: each side's group and the verdict of the rule. */
function spreadHtml(s: NonNullable<DecisionReport['spread']>, refName: string, candName: string): string {
	const rows = (
		[
			[refName, s.reference],
			[candName, s.candidate]
		] as const
	).map(([name, g]) =>
		g
			? [name, `${g.name}${g.member ? `, ${unit(g)} ${g.member}` : ''}`, `${g.n} of ${g.k}`, groupText(g, 'valAccuracy'), groupText(g, 'valLoss')]
			: [name, 'a single run (no folds or seeds)', '–', '–', '–']
	);
	const verdict = s.verdict ? `<p class="spread${s.verdict.within ? ' within' : ''}">${escapeHtml(s.verdict.text)}</p>` : '';
	return `<h2>Fold and seed spread</h2><div class="card">${table(['system', 'group', 'finished', 'validation accuracy', 'validation loss'], rows)}${verdict}<p class="muted">${escapeHtml(s.rule)}</p></div>
`;
}

const METRIC_NAMES: Record<string, string> = { accuracy: 'accuracy', macroF1: 'macro F1', logLoss: 'log loss' };

/** The report as one HTML page with everything inline. */
export function decisionHtml(r: DecisionReport): string {
	const e = escapeHtml;
	const ref = r.reference;
	const cand = r.candidate;
	const results = table(
		['metric', ref.name, cand.name],
		[
			['accuracy', withInterval(ref.accuracy), withInterval(cand.accuracy)],
			['macro F1', withInterval(ref.macroF1, false), withInterval(cand.macroF1, false)],
			['log loss', withInterval(ref.logLoss, false), withInterval(cand.logLoss, false)],
			['balanced accuracy', pct(ref.balancedAccuracy), pct(cand.balancedAccuracy)],
			['Matthews correlation', num(ref.mcc), num(cand.mcc)],
			["Cohen's kappa", num(ref.kappa), num(cand.kappa)],
			['ROC AUC (macro)', num(ref.rocAucMacro), num(cand.rocAucMacro)],
			['ECE', num(ref.ece), num(cand.ece)],
			['Brier score', num(ref.brier), num(cand.brier)],
			['rows scored', String(ref.count), String(cand.count)]
		],
		[false, true, true]
	);
	const bars = barsSvg([
		{ label: `${ref.name}: accuracy`, ...ref.accuracy, color: '#a8a29e' },
		{ label: `${cand.name}: accuracy`, ...cand.accuracy, color: '#0f766e' },
		{ label: `${ref.name}: macro F1`, ...ref.macroF1, color: '#a8a29e' },
		{ label: `${cand.name}: macro F1`, ...cand.macroF1, color: '#0f766e' }
	]);
	const diff = r.difference
		? forestSvg(r.difference.metrics) +
			table(
				['metric', 'difference', '95% interval', 'share of resamples not better', 'two-sided p'],
				r.difference.metrics.map((m) => {
					return [
						METRIC_NAMES[m.metric],
						diffText(m, m.diff),
						`${diffText(m, m.low)} to ${diffText(m, m.high)}`,
						share(m.shareNotBetter, r.difference!.resamples),
						share(m.pValue, r.difference!.resamples)
					];
				}),
				[false, true, true, true, true]
			) +
			`<p class="muted">Paired bootstrap over the same ${r.difference.n} test rows: ${r.difference.resamples} resamples, seed ${r.difference.seed}. A difference is ${e(cand.name)} minus ${e(ref.name)}; for log loss lower is better.</p>`
		: '<p class="muted">No paired difference: the two were not scored on the same rows.</p>';
	const d = r.data;
	const data = table(
		null,
		[
			['dataset version', `${d.dataset} (${d.versionId})`],
			['source', d.source],
			['rows', `${d.rows} (train ${d.splitSizes.train ?? '–'}, validation ${d.splitSizes.validation ?? '–'}, test ${d.splitSizes.test ?? '–'})`],
			['classes', d.labels.map((l, i) => `${l} ${d.labelCounts[i]}`).join(', ')],
			['content hash (SHA-256)', d.contentHash],
			['dropped at import', d.dropped.count ? d.dropped.reasons.map((x) => `${x.count} × ${x.reason}`).join('; ') : 'none']
		]
	);
	const c = r.cost;
	const cost = table(
		null,
		[
			['model', c.model],
			['parameters trained', c.parametersTrained === null ? 'not known' : count(c.parametersTrained)],
			['training time', c.trainTime],
			['steps / epochs', `${c.steps ?? '–'} / ${c.epochs ?? '–'}`],
			['backend', `${c.backend}${c.adapter ? ` on ${c.adapter}` : ''}${c.softwareAdapter ? ' (software adapter)' : ''}`]
		]
	);
	const perClass = table(
		['class', 'precision', 'recall', 'F1', 'support'],
		cand.perClass.map((p) => [p.label, num(p.precision), num(p.recall), num(p.f1), String(p.support)]),
		[false, true, true, true, true]
	);
	const slices = r.slices.length
		? table(
				['column', 'best', 'worst', 'gap', ''],
				r.slices.map((s) => [s.column, s.best ?? '–', s.worst ?? '–', s.gap === null ? '–' : pts(s.gap), s.notable ? 'intervals do not overlap' : '']),
				[false, false, false, true, false]
			)
		: '<p class="muted">No metadata columns to slice by.</p>';
	const spread = r.spread ? spreadHtml(r.spread, ref.name, cand.name) : '';
	const caveats = r.caveats.length ? `<ul class="caveats">${r.caveats.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : '<p>None found.</p>';
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(r.title)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>${e(r.title)}</h1>
<p class="muted">Decision report from Whetstone, ${e(r.generatedAt)}. Task: ${e(r.objective.task)}.</p>
<div class="card verdict ${r.verdict.kind}">${e(r.verdict.text)}</div>
<h2>Objective</h2><div class="card"><strong>${e(r.objective.project)}</strong><p>${e(r.objective.description || 'No description.')}</p></div>
<h2>Data</h2><div class="card">${data}</div>
<h2>Baseline vs fine-tuned</h2><div class="card">${bars}${results}<p class="muted">${e(ref.name)}: ${e(ref.description)}. ${e(cand.name)}: ${e(cand.description)}. Intervals: 95% percentile bootstrap${r.bootstrap ? `, ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}` : ''}.</p></div>
<h2>Paired difference</h2><div class="card">${diff}</div>
${spread}<h2>Per class (${e(cand.name)})</h2><div class="card">${perClass}</div>
<h2>Slices (${e(cand.name)})</h2><div class="card">${slices}</div>
<h2>Cost</h2><div class="card">${cost}</div>
<h2>Caveats</h2><div class="card">${caveats}</div>
</main></body></html>
`;
}
