/**
 * Language-modelling systems for the Compare screen: runs whose evaluation carries `lm`
 * (perplexity and next-token accuracy on a split) and no classes, and their comparison against a
 * reference run: paired on the sequences both scored when both kept per-sequence sums
 * (engine/eval/lm-compare.ts), otherwise the two point estimates side by side with why.
 */
import { lmPairingProblem, pairedLmComparison, type LmComparison } from '../engine/eval/lm-compare';
import type { EvaluationResult, Run } from '../shared/types';
import { baselineOf, type SystemKind } from './baselines';

export interface LmSystem {
	id: string;
	name: string;
	kind: SystemKind;
	run: Run;
	datasetVersionId: string;
	evaluation: EvaluationResult & { lm: NonNullable<EvaluationResult['lm']> };
}

/** A run as a language-modelling system, when its evaluation has perplexity and no classes. */
export function lmSystem(run: Run): LmSystem | null {
	const e = run.evaluation;
	if (!e?.lm || e.perClass.some((c) => c.support > 0)) return null;
	return {
		id: run.id,
		name: run.name,
		kind: baselineOf(run)?.kind ?? 'run',
		run,
		datasetVersionId: e.datasetVersionId ?? run.datasetVersionId,
		evaluation: e as LmSystem['evaluation']
	};
}

/** The reference by default: a baseline if there is one, else the oldest run (what later runs try to beat). */
export function defaultLmReference(systems: LmSystem[]): LmSystem | undefined {
	return systems.find((s) => s.kind !== 'run') ?? [...systems].sort((a, b) => a.run.createdAt - b.run.createdAt)[0];
}

/** Sequences are the test split's packed blocks: they line up only under the same tokenizer and context length. */
function cutProblem(a: Run, b: Run): string | null {
	const pa = a.config?.pretrained;
	const pb = b.config?.pretrained;
	const tok = (p: typeof pa, r: Run) => (p ? `${p.repo}@${p.revision}` : `its own BPE of ${r.config?.tokenizer?.vocabSize} tokens`);
	if (tok(pa, a) !== tok(pb, b)) return `They use different tokenizers (${tok(pa, a)} and ${tok(pb, b)}), so their test sequences are cut differently and cannot be paired.`;
	if ((pa?.contextLength ?? a.config?.model?.contextLength) !== (pb?.contextLength ?? b.config?.model?.contextLength))
		return 'They use different context lengths, so their test sequences are cut differently and cannot be paired.';
	return null;
}

export type LmRow = { system: LmSystem; comparison: LmComparison | null; problem: string | null };

/** Each system against the reference: the paired bootstrap where they share sequences, otherwise why not. */
export function compareLm(systems: LmSystem[], reference: LmSystem, options: { resamples?: number; seed?: number } = {}): LmRow[] {
	return systems.map((system) => {
		if (system.id === reference.id) return { system, comparison: null, problem: null };
		const problem = cutProblem(system.run, reference.run) ?? lmPairingProblem(system.evaluation, reference.evaluation);
		return { system, problem, comparison: problem ? null : pairedLmComparison(system.evaluation.lm.examples!, reference.evaluation.lm.examples!, options) };
	});
}
