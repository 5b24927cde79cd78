/**
 * Generation with alternatives (the Inside view): generate.ts's own loop (`generateStream`) runs
 * the model, and at each step this module keeps the raw logits and shows the distribution the token
 * was chosen from (generate.ts `processLogits`: the repetition penalty, then for sampling
 * temperature → top-k → top-p, as transformers orders its processors) with the alternatives the
 * token beat. `reshapeStep` draws how each warper reshapes one step's distribution by running
 * `processLogits` with the warpers switched on one at a time, in that same order.
 */
import { DEFAULT_GENERATE_OPTIONS, generateStream, processLogits, softmax, validateGenerateOptions, type GenerateOptions } from '../generate';
import type { ArchSpec, HfConfigBase, Params } from '../models/spec';
import type { TokenChoice } from './nexttoken';

export const ALTERNATIVES = 10;
/** Longest generation the view keeps the logits of (each step holds a vocabulary of floats). */
export const MAX_STEPS = 32;

export interface Alternative extends TokenChoice {
	/** The model's own probability (softmax of the raw logits), before any processing. */
	model: number;
}

export interface GeneratedStep {
	id: number;
	/** Probability of the chosen token in the distribution it was chosen from. */
	p: number;
	/** The likeliest tokens of that distribution, likeliest first (the chosen one among them when it is). */
	alternatives: Alternative[];
}

/** One step's inputs to the logits processing, kept so `reshapeStep` can redo it. */
export interface StepTrace {
	logits: Float32Array;
	previous: number[];
}

/** Generate from `promptIds` with generate.ts, keeping every step's logits and its alternatives. */
export async function generateWithAlternatives(
	arch: { spec: ArchSpec; config: HfConfigBase; params: Params },
	promptIds: number[],
	options: Partial<GenerateOptions>,
	k = ALTERNATIVES
): Promise<{ steps: GeneratedStep[]; trace: StepTrace[] }> {
	const opts = { ...DEFAULT_GENERATE_OPTIONS, ...options, maxNewTokens: Math.min(options.maxNewTokens ?? DEFAULT_GENERATE_OPTIONS.maxNewTokens, MAX_STEPS) };
	const trace: StepTrace[] = [];
	const ids = await generateStream(arch.spec, arch.params, arch.config, promptIds, opts, {
		onLogits: (logits, previous) => void trace.push({ logits: Float32Array.from(logits), previous: [...previous] })
	});
	const steps = ids.map((id, i) => {
		const { logits, previous } = trace[i];
		const probs = softmax(processLogits(logits, previous, opts));
		const model = softmax(logits);
		const alternatives = topIndices(probs, k).map((j) => ({ id: j, p: probs[j], model: model[j] }));
		return { id, p: probs[id], alternatives };
	});
	return { steps, trace };
}

export interface Stage {
	/** 'model' (with the repetition penalty), 'temperature', 'top-k', 'top-p'. */
	name: 'model' | 'temperature' | 'top-k' | 'top-p';
	/** Probabilities of the shown tokens at this stage. */
	probs: number[];
	/** Tokens left with a probability above 0. */
	kept: number;
}

/**
 * How the sampling warpers reshape one step's distribution: the `shown` tokens likeliest under the
 * model and their probabilities after each stage of `processLogits` (sampling on).
 */
export function reshapeStep(step: StepTrace, options: Partial<GenerateOptions>, shown = 12): { tokens: number[]; stages: Stage[] } {
	const o = { ...DEFAULT_GENERATE_OPTIONS, ...options, doSample: true };
	validateGenerateOptions(o);
	const off = { temperature: 1, topK: 0, topP: 1 };
	const settings: [Stage['name'], Partial<GenerateOptions>][] = [
		['model', off],
		['temperature', { ...off, temperature: o.temperature }],
		['top-k', { ...off, temperature: o.temperature, topK: o.topK }],
		['top-p', { temperature: o.temperature, topK: o.topK, topP: o.topP }]
	];
	const dists = settings.map(([name, s]) => ({ name, probs: softmax(processLogits(step.logits, step.previous, { ...o, ...s })) }));
	const tokens = topIndices(dists[0].probs, shown);
	return {
		tokens,
		stages: dists.map(({ name, probs }) => ({ name, probs: tokens.map((t) => probs[t]), kept: probs.reduce((n, p) => n + (p > 0 ? 1 : 0), 0) }))
	};
}

/** Indices of the k largest values, largest first (ties by index). */
function topIndices(values: ArrayLike<number>, k: number): number[] {
	const idx = Array.from({ length: values.length }, (_, i) => i);
	return idx.sort((a, b) => values[b] - values[a] || a - b).slice(0, Math.min(k, values.length));
}
