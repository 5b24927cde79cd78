/**
 * The engine worker's "Why this label" and "Embeddings" calls for the Inside view: resolve a
 * classifier (a run's checkpoint, kept warm by engine-api.ts, or a cached pretrained classifier)
 * and run engine/inside/attribution.ts and engine/inside/embeddings.ts on it. Thin wiring: the
 * numbers come from src/lib/engine/inside; only plain arrays cross back to the page.
 */
import { ClassifierSession } from '../src/lib/engine/classifier';
import { labelIds, runThreshold } from '../src/lib/engine/eval/multilabel';
import { PretrainedSession } from '../src/lib/engine/pretrained';
import type { TokenRows } from '../src/lib/engine/batching';
import type { SafetensorsTensor } from '../src/lib/engine/io';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import {
	COMPLETENESS_TOLERANCE,
	classifierModel,
	integratedGradients,
	occlusion,
	robertaPositionsFor,
	wordEmbeddingName,
	type ClassifierModel,
	type IgBaseline,
	type IgRule
} from '../src/lib/engine/inside/attribution';
import { pooledBatch, pooledModel, project, type Projection } from '../src/lib/engine/inside/embeddings';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import type { RunConfig } from '../src/lib/shared/config';
import type { ModelRef } from '../src/lib/shared/hub';
import { SPLIT_CODE, type Run } from '../src/lib/shared/types';
import { UserError } from '../src/lib/shared/errors';
import { loadRows } from '../src/lib/storage';
import type { InsideTarget } from './inside-api';

/** Longest input attributed: IG runs m forward/backward passes over it, and the page draws every token. */
export const WHY_MAX_TOKENS = 64;
/** Most test examples projected (the first ones of the split, in stored order). */
export const EMBEDDING_MAX_POINTS = 400;
/** Most integration steps a user may ask for. */
export const IG_MAX_STEPS = 512;

interface Ctx {
	run: Run;
	tokenizer: TextTokenizer;
	labels: string[];
}

/** engine-api.ts's loaders, handed in so the warm models are shared, not loaded twice. */
export interface InsideWhyDeps {
	runContext(runId: string): Promise<Ctx>;
	warmSession(ctx: Ctx, checkpointId?: string): Promise<{ session: ClassifierSession | PretrainedSession; step: number }>;
	prepare(runId: string): Promise<Ctx & { tokens: TokenRows & { splits: Uint8Array } }>;
	baseModel(ref: ModelRef): Promise<{ spec: ArchSpec; config: HfConfigBase; params: Params; tokenizer: TextTokenizer }>;
	/** The weights a pretrained run started from (the Hub download or the checkpoint it builds on). */
	startingTensors(cfg: RunConfig): Promise<Map<string, SafetensorsTensor>>;
	training(): string | null;
}

export interface WhyOptions {
	steps: number;
	rule: IgRule;
	baseline: IgBaseline;
	/** The class explained; the predicted one when absent. */
	target?: number;
}

export interface WhyResult {
	tokens: string[];
	/** Special tokens ([CLS], [SEP], BOS…): attributed, never occluded. */
	special: boolean[];
	attributions: number[];
	/** p(target) − p(target without the token); null where not occluded. */
	occlusion: (number | null)[];
	/** The class predicted without the token; null where not occluded. */
	predWithout: (number | null)[];
	labels: string[];
	probs: number[];
	predicted: number;
	target: number;
	logit: number;
	baselineLogit: number;
	sum: number;
	relativeError: number;
	tolerance: number;
	steps: number;
	rule: IgRule;
	baseline: IgBaseline;
	/** Tokens the text had before it was cut to `maxTokens` (the model's context or the view's cap). */
	totalTokens: number;
	maxTokens: number;
}

export interface EmbeddingsResult {
	labels: string[];
	/** The examples drawn: their text (cut to 200 characters) and true label (a multi-label run's: the first of its set, and the set). */
	examples: { text: string; label: number; labels?: number[] }[];
	/** Test examples in the split (more than `examples` when capped). */
	total: number;
	before: Projection;
	after: Projection;
	/** What "before" is: the run's initial weights, or the base model with the run's fresh head. */
	beforeWhat: string;
	afterStep: number;
}

function specialIds(t: TextTokenizer): Set<number> {
	return new Set([t.clsId, t.sepId, t.bosId, t.eosId, t.padId].filter((x): x is number => x !== undefined));
}

function checkOptions(o: WhyOptions): void {
	if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > IG_MAX_STEPS) throw new UserError('invalid-config', `Integration steps must be a whole number from 1 to ${IG_MAX_STEPS} (got ${o.steps}).`);
	if (o.rule !== 'riemann' && o.rule !== 'trapezoid') throw new UserError('invalid-config', `Unknown integration rule '${o.rule}': use riemann or trapezoid.`);
	if (o.baseline !== 'zero' && o.baseline !== 'pad') throw new UserError('invalid-config', `Unknown baseline '${o.baseline}': use zero or pad.`);
}

export function insideWhyApi(deps: InsideWhyDeps) {
	const idle = () => {
		if (deps.training()) throw new UserError('invalid-config', 'A run is training in this engine; look inside when it has paused or finished.');
	};

	/** The picked classifier, its tokenizer, how it encodes a text and its context. */
	async function classifier(target: InsideTarget): Promise<{ model: ClassifierModel; tokenizer: TextTokenizer; labels: string[]; encode(text: string): number[]; context: number }> {
		if ('model' in target) {
			const b = await deps.baseModel(target.model);
			if (b.config.task !== 'sequence-classification') throw new UserError('invalid-config', `${target.model.repo} is a language model; Why this label explains a classifier. Pick a classification run.`);
			const t = b.tokenizer;
			const context = b.config.maxPositions;
			const model: ClassifierModel = {
				params: b.params,
				forward: (p, batch) => b.spec.forward(p, b.config, batch),
				embeddingName: wordEmbeddingName(b.params),
				positionsFor: b.config.modelType === 'roberta' ? robertaPositionsFor(b.config.padTokenId ?? t.padId ?? 1) : undefined,
				padId: t.padId ?? 0,
				contextLength: context
			};
			return { model, tokenizer: t, labels: b.config.labelNames, context, encode: (text) => t.encode(text, { addSpecialTokens: true }) };
		}
		const ctx = await deps.runContext(target.runId);
		const { session } = await deps.warmSession(ctx, target.checkpointId);
		const t = ctx.tokenizer;
		const model = classifierModel(session);
		if (session instanceof PretrainedSession) return { model, tokenizer: t, labels: ctx.labels, context: session.config.pretrained!.contextLength, encode: (text) => t.encode(text, { addSpecialTokens: true }) };
		const m = session.config.model;
		// As ClassifierSession.batch does: a [CLS] prefix when the head pools the first token.
		const prefix = m.pooling === 'cls' && session.special.clsId !== undefined ? [session.special.clsId] : [];
		return { model, tokenizer: t, labels: ctx.labels, context: m.contextLength, encode: (text) => [...prefix, ...t.encode(text)] };
	}

	return {
		/**
		 * Why a classifier gives a text its label: integrated-gradient attributions per token with
		 * the completeness check, and leave-one-out occlusion as a cross-check.
		 */
		async whyLabel(target: InsideTarget, text: string, options: WhyOptions): Promise<WhyResult> {
			idle();
			checkOptions(options);
			if (!text.trim()) throw new UserError('invalid-config', 'Type a text to explain.');
			const c = await classifier(target);
			const all = c.encode(text);
			const maxTokens = Math.min(c.context, WHY_MAX_TOKENS);
			// Cut the content, keep a trailing special token ([SEP], </s>) as the model saw it in training.
			const specials = specialIds(c.tokenizer);
			let ids = all.slice(0, maxTokens);
			if (all.length > maxTokens && specials.has(all[all.length - 1])) ids = [...all.slice(0, maxTokens - 1), all[all.length - 1]];
			if (!ids.length) throw new UserError('invalid-config', 'The text has no tokens to explain.');
			const special = ids.map((id) => specials.has(id));
			const words = ids.map((id) => c.tokenizer.decode([id], { skipSpecialTokens: false }));
			const occludable = ids.map((_, j) => j).filter((j) => !special[j]);
			// One pass first for the prediction: the class to explain defaults to it.
			const first = await occlusion(c.model, ids, 0, []);
			const predicted = first.probs.indexOf(Math.max(...first.probs));
			const tgt = options.target ?? predicted;
			if (!Number.isInteger(tgt) || tgt < 0 || tgt >= first.probs.length) throw new UserError('invalid-config', `Class ${tgt} does not exist; this model has ${first.probs.length} classes.`);
			const ig = await integratedGradients(c.model, ids, tgt, { steps: options.steps, rule: options.rule, baseline: options.baseline });
			const occ = await occlusion(c.model, ids, tgt, occludable);
			return {
				tokens: words,
				special,
				attributions: ig.attributions,
				occlusion: occ.drop.map((x) => (Number.isNaN(x) ? null : x)),
				predWithout: occ.predWithout.map((x) => (x < 0 ? null : x)),
				labels: c.labels,
				probs: occ.probs,
				predicted,
				target: tgt,
				logit: ig.logit,
				baselineLogit: ig.baselineLogit,
				sum: ig.sum,
				relativeError: ig.relativeError,
				tolerance: COMPLETENESS_TOLERANCE,
				steps: options.steps,
				rule: options.rule,
				baseline: options.baseline,
				totalTokens: all.length,
				maxTokens
			};
		},

		/**
		 * The test examples' pooled representations projected to 2-D (PCA), before training (the
		 * run's initial weights) and after (its checkpoint), with each model's predictions.
		 */
		async insideEmbeddings(runId: string, checkpointId?: string): Promise<EmbeddingsResult> {
			idle();
			const p = await deps.prepare(runId);
			const cfg = p.run.config;
			if (cfg.pretrained && cfg.pretrained.objective !== 'classification') throw new UserError('invalid-config', 'This run trains a language model; the embeddings view draws the examples a classifier sorts.');
			const all: number[] = [];
			p.tokens.splits.forEach((s, i) => s === SPLIT_CODE.test && all.push(i));
			if (all.length < 2) throw new UserError('not-found', 'The test split needs at least two examples to draw.');
			const rows = all.slice(0, EMBEDDING_MAX_POINTS);
			const stored = await loadRows(p.run.datasetVersionId);
			const sets = p.tokens.labelSets;
			const examples = rows.map((r) => ({
				text: (stored[r]?.text ?? '').slice(0, 200),
				label: p.tokens.labels[r],
				...(sets ? { labels: labelIds(sets.data.subarray(r * sets.width, (r + 1) * sets.width)) } : {})
			}));
			const spec = { padId: p.tokenizer.padId ?? 0, clsId: p.tokenizer.clsId };

			const projectSession = async (s: ClassifierSession | PretrainedSession): Promise<Projection> => {
				const m = pooledModel(s);
				const bs = cfg.train.batchSize;
				let d = 0;
				const vecs: Float32Array[] = [];
				const probs: Float32Array[] = [];
				for (let i = 0; i < rows.length; i += bs) {
					const out = await pooledBatch(m, s.batch(p.tokens, rows.slice(i, i + bs)));
					d = out.d;
					vecs.push(out.vectors);
					probs.push(out.probs);
				}
				const cat = (parts: Float32Array[]) => {
					const o = new Float32Array(parts.reduce((a, x) => a + x.length, 0));
					let at = 0;
					for (const x of parts) (o.set(x, at), (at += x.length));
					return o;
				};
				return project(cat(vecs), cat(probs), rows.length, d, m.numClasses, m.multiLabel ? runThreshold(p.run) : undefined);
			};

			const w = await deps.warmSession(p, checkpointId);
			const after = await projectSession(w.session);
			const initial = cfg.pretrained
				? await PretrainedSession.fromPretrained(cfg, await deps.startingTensors(cfg), spec, p.labels)
				: ClassifierSession.create(cfg, spec);
			let before: Projection;
			try {
				before = await projectSession(initial);
			} finally {
				initial.dispose();
			}
			const beforeWhat = cfg.pretrained ? `${cfg.pretrained.repo} as the run started (its fresh classification head)` : "the run's initial weights (seed " + cfg.train.seed + ')';
			return { labels: p.labels, examples, total: all.length, before, after, beforeWhat, afterStep: w.step };
		}
	};
}
