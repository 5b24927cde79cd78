/**
 * Generation systems for the Compare screen: instruction runs and prompt-only generation baselines
 * whose evaluation carries `generation` (greedy answers on the first N test rows, scored with
 * BLEU, ROUGE and exact match), and their paired comparison against a reference system on the rows
 * both answered.
 */
import { generationPairingProblem, pairedGenerationComparison, type GenerationComparison } from '../engine/eval/generation-eval';
import type { GenerationEvaluation, Run } from '../shared/types';
import { baselineOf, type SystemKind } from './baselines';

export interface GenerationSystem {
	id: string;
	name: string;
	kind: SystemKind;
	run: Run;
	description?: string;
	generation: GenerationEvaluation & { datasetVersionId: string };
}

/** A run (instruction-tuned, or a stored generation baseline) as a system, when it has generation results. */
export function generationSystem(run: Run): GenerationSystem | null {
	const g = run.evaluation?.generation;
	if (!g) return null;
	const baseline = baselineOf(run);
	return {
		id: run.id,
		name: run.name,
		kind: baseline?.kind ?? 'run',
		run,
		description: baseline?.description,
		generation: { ...g, datasetVersionId: run.evaluation!.datasetVersionId ?? run.datasetVersionId }
	};
}

/** The reference by default: the most recent generation baseline, else the first system. */
export function defaultGenerationReference(systems: GenerationSystem[]): GenerationSystem | undefined {
	const baselines = systems.filter((s) => s.kind !== 'run').sort((a, b) => b.run.createdAt - a.run.createdAt);
	return baselines[0] ?? systems[0];
}

export type GenerationRow = { system: GenerationSystem; comparison: GenerationComparison | null; problem: string | null };

/** Each system against the reference: the paired bootstrap where they share rows, otherwise why not. */
export function compareGeneration(systems: GenerationSystem[], reference: GenerationSystem, options: { resamples?: number; seed?: number } = {}): GenerationRow[] {
	return systems.map((system) => {
		if (system.id === reference.id) return { system, comparison: null, problem: null };
		const problem = generationPairingProblem(system.generation, reference.generation);
		return { system, problem, comparison: problem ? null : pairedGenerationComparison(system.generation, reference.generation, options) };
	});
}
