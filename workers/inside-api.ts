/**
 * The engine worker's "Inside" calls (the Evaluate screen's Inside view): resolve the picked model
 * (a run's checkpoint, kept warm by engine-api.ts, or a cached base model) into one handle
 * (engine/inside/model.ts) and run the engine's inside modules on it. Thin wiring: the numbers
 * come from src/lib/engine/inside.
 */
import { ClassifierSession } from '../src/lib/engine/classifier';
import { PretrainedSession } from '../src/lib/engine/pretrained';
import { archModel, describe, scratchModel, type InsideInfo, type InsideModel } from '../src/lib/engine/inside/model';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import type { ModelRef } from '../src/lib/shared/hub';
import type { Run } from '../src/lib/shared/types';
import { UserError } from '../src/lib/shared/errors';
import { attentionMaps, SHOWN_TOKENS, type AttentionMaps } from '../src/lib/engine/inside/attention';
import { compareNextTokens, nextTokenView, type NextTokenChange, type NextTokenView } from '../src/lib/engine/inside/nexttoken';
import { generateWithAlternatives, reshapeStep, type GeneratedStep, type Stage, type StepTrace } from '../src/lib/engine/inside/alternatives';
import type { GenerateOptions } from '../src/lib/engine/generate';

/** What the Inside view looks at: a run's checkpoint (its best when absent) or a cached base model. */
export type InsideTarget = { runId: string; checkpointId?: string } | { model: ModelRef };

/** engine-api.ts's model loaders, handed in so the warm models are shared, not loaded twice. */
export interface InsideDeps {
	runContext(runId: string): Promise<{ run: Run; tokenizer: TextTokenizer; labels: string[] }>;
	warmSession(ctx: { run: Run; tokenizer: TextTokenizer; labels: string[] }, checkpointId?: string): Promise<{ session: ClassifierSession | PretrainedSession }>;
	baseModel(ref: ModelRef): Promise<{ spec: ArchSpec; config: HfConfigBase; params: Params; tokenizer: TextTokenizer }>;
	/** Non-null while a run trains in this engine (the GPU is busy, the warm model may be replaced). */
	training(): string | null;
}

export interface Resolved {
	model: InsideModel;
	tokenizer: TextTokenizer;
	/** The text's ids as the model saw texts in training (special tokens, [CLS] prefix), at most `max`. */
	encode(text: string, max: number): number[];
	/** A fine-tuned pretrained run's base model (for the before/after comparison); null otherwise. */
	base: ModelRef | null;
}

/** A token id with the text it stands for, as the page shows it. */
export interface ShownToken {
	id: number;
	text: string;
}

export interface NextTokenResult {
	tokens: ShownToken[];
	/** The text had more tokens than the view shows (SHOWN_TOKENS); the rest was cut. */
	cut: boolean;
	view: NextTokenView & { top: (ShownToken & { p: number })[][] };
	/** The fine-tuned run's base model on the same tokens, and what changed; absent without a base. */
	base?: { name: string; view: NextTokenView & { top: (ShownToken & { p: number })[][] }; change: NextTokenChange };
}

export interface AlternativesResult {
	prompt: ShownToken[];
	steps: (GeneratedStep & { text: string; alternatives: (GeneratedStep['alternatives'][number] & { text: string })[] })[];
}

export function insideApi(deps: InsideDeps) {
	/** The last generation's steps, kept so the reshaping chart can redo any of them. */
	let trace: { key: string; steps: StepTrace[]; tokenizer: TextTokenizer } | null = null;

	const show = (t: TextTokenizer, id: number): ShownToken => ({ id, text: t.decode([id], { skipSpecialTokens: false }) });

	/** The text's ids, at most SHOWN_TOKENS and the model's context; `cut` when it had more. */
	function ids(r: Resolved, text: string): { ids: number[]; cut: boolean } {
		const max = Math.min(SHOWN_TOKENS, r.model.contextLength);
		const all = r.encode(text, max + 1);
		if (!all.length) throw new UserError('invalid-config', 'Type a text first: it has no tokens.');
		return { ids: all.slice(0, max), cut: all.length > max };
	}

	function named(t: TextTokenizer, v: NextTokenView) {
		return { ...v, top: v.top.map((row) => row.map((c) => ({ ...show(t, c.id), p: c.p }))) };
	}

	function needsLm(r: Resolved, what: string): void {
		if (r.model.task !== 'causal-lm')
			throw new UserError('invalid-config', `This model classifies text; ${what} needs a language model. Pick a causal language model or a language-modelling run.`);
	}

	async function resolve(target: InsideTarget): Promise<Resolved> {
		if (deps.training()) throw new UserError('invalid-config', 'A run is training in this engine; look inside when it has paused or finished.');
		if ('model' in target) {
			const b = await deps.baseModel(target.model);
			const t = b.tokenizer;
			return {
				model: archModel(b.spec, b.config, b.params, t.padId ?? 0),
				tokenizer: t,
				encode: (text, max) => t.encode(text, { addSpecialTokens: true, maxLength: max }),
				base: null
			};
		}
		const ctx = await deps.runContext(target.runId);
		const { session } = await deps.warmSession(ctx, target.checkpointId);
		const t = ctx.tokenizer;
		const padId = t.padId ?? 0;
		if (session instanceof PretrainedSession) {
			const p = ctx.run.config.pretrained!;
			return {
				model: archModel(session.spec, session.hf, session.modelParams, padId),
				tokenizer: t,
				encode: (text, max) => t.encode(text, { addSpecialTokens: true, maxLength: max }),
				base: { repo: p.repo, revision: p.revision }
			};
		}
		const m = ctx.run.config.model;
		const params = Object.fromEntries(session.params) as Params;
		// As ClassifierSession.batch does: a [CLS] prefix when the head pools the first token.
		const prefix = m.pooling === 'cls' && session.special.clsId !== undefined ? [session.special.clsId] : [];
		return {
			model: scratchModel(m, params, padId, ctx.labels),
			tokenizer: t,
			encode: (text, max) => [...prefix, ...t.encode(text)].slice(0, max),
			base: null
		};
	}

	return {
		/** What the picked model is (task, layers, heads, labels) and, for a fine-tuned run, its base. */
		async insideModel(target: InsideTarget): Promise<InsideInfo & { base: ModelRef | null }> {
			const r = await resolve(target);
			return { ...describe(r.model), base: r.base };
		},

		/** Every layer's and head's attention over the text (its first SHOWN_TOKENS tokens), with rollout. */
		async insideAttention(target: InsideTarget, text: string): Promise<AttentionMaps & { tokens: ShownToken[]; cut: boolean }> {
			const r = await resolve(target);
			const { ids: x, cut } = ids(r, text);
			const maps = await attentionMaps(r.model, x);
			const pad = r.model.padId;
			const tokens = Array.from({ length: maps.length }, (_, i) => (i < x.length ? show(r.tokenizer, x[i]) : { id: pad, text: '[pad]' }));
			return { ...maps, tokens, cut };
		},

		/**
		 * Each token's log-probability and the top-10 next tokens; for a fine-tuned language-modelling
		 * run, the same under its base model and the tokens whose probability changed most.
		 */
		async insideNextTokens(target: InsideTarget, text: string, withBase = true): Promise<NextTokenResult> {
			const r = await resolve(target);
			needsLm(r, 'the next-token view');
			const { ids: x, cut } = ids(r, text);
			const tuned = await nextTokenView(r.model, x);
			const out: NextTokenResult = { tokens: x.map((id) => show(r.tokenizer, id)), cut, view: named(r.tokenizer, tuned) };
			if (withBase && r.base) {
				const b = await deps.baseModel(r.base);
				const before = await nextTokenView(archModel(b.spec, b.config, b.params, r.model.padId), x);
				out.base = { name: r.base.repo, view: named(r.tokenizer, before), change: compareNextTokens(before, tuned) };
			}
			return out;
		},

		/** Generate (greedy or sampled, generate.ts) and show the alternatives each token beat. */
		async insideGenerate(target: InsideTarget, prompt: string, opts: Partial<GenerateOptions>): Promise<AlternativesResult> {
			const r = await resolve(target);
			needsLm(r, 'generation');
			if (!r.model.arch) throw new UserError('invalid-config', 'Generation runs Hugging Face architectures; this from-scratch model has no generation loop. Pick a pretrained model.');
			const { ids: x } = ids(r, prompt);
			const { steps, trace: t } = await generateWithAlternatives(r.model.arch, x, opts);
			trace = { key: JSON.stringify(target), steps: t, tokenizer: r.tokenizer };
			const tk = r.tokenizer;
			return {
				prompt: x.map((id) => show(tk, id)),
				steps: steps.map((s) => ({ ...s, text: show(tk, s.id).text, alternatives: s.alternatives.map((a) => ({ ...a, text: show(tk, a.id).text })) }))
			};
		},

		/** How temperature, top-k and top-p reshape step `index` of the last generation (generate.ts's order). */
		async insideReshape(index: number, opts: Partial<GenerateOptions>): Promise<{ tokens: ShownToken[]; stages: Stage[] }> {
			const step = trace?.steps[index];
			if (!trace || !step) throw new UserError('not-found', 'Generate first: the chart reshapes a step of the last generation.');
			const { tokens, stages } = reshapeStep(step, opts);
			return { tokens: tokens.map((id) => show(trace!.tokenizer, id)), stages };
		}
	};
}
