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

export function insideApi(deps: InsideDeps) {
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
		}
	};
}
