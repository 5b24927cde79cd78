/**
 * Baselines and the forgetting check, run by the engine worker with a cached base model: the
 * prompt-only (zero- or few-shot) classifier scored on exactly the rows a fine-tuned run is
 * scored on, stored as a run so Compare can pair it; and the perplexity of the base and a
 * fine-tuned model on general text held aside, to show what the specialization cost. For
 * prompt/response datasets, the generation baseline: the unmodified model answers the same first
 * test prompts an instruction run answers, scored with BLEU, ROUGE and exact match.
 */
import { isMultiLabel } from '../src/lib/data/labels';
import { buildEvaluation } from '../src/lib/engine/eval/evaluation';
import { decide, multilabelReport } from '../src/lib/engine/eval/multilabel';
import { perplexity } from '../src/lib/engine/eval/lm-score';
import { checkTemplate, drawShots, fewShotPrefix, scoreWithPrompts, type PromptTemplate } from '../src/lib/engine/eval/prompt-baseline';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import { defaultRunConfig, type Objective } from '../src/lib/shared/config';
import { UserError } from '../src/lib/shared/errors';
import type { ModelRef } from '../src/lib/shared/hub';
import { Prng } from '../src/lib/shared/prng';
import { SPLIT_CODE, type BaselineInfo, type DatasetVersion, type EvaluationResult, type Run, type SplitName } from '../src/lib/shared/types';
import { getDatasetVersion, loadRows, newId, putRun } from '../src/lib/storage';
import { rowMessages } from '../src/lib/data/hub-tokens';
import { chatTemplateOf } from '../src/lib/data/chat';
import { DEFAULT_GENERATION_ROWS, DEFAULT_MAX_NEW_TOKENS, generateAndScore, generationItems } from './generation-eval';

export interface BaseModel {
	spec: ArchSpec;
	config: HfConfigBase;
	params: Params;
	tokenizer: TextTokenizer;
	hfConfig: Record<string, unknown>;
}

export interface PromptBaselineArgs extends PromptTemplate {
	projectId: string;
	datasetVersionId: string;
	model: ModelRef;
	/** Training examples shown before each prompt (0 = zero-shot). */
	shots: number;
	seed: number;
	split?: SplitName;
}

export async function runPromptBaseline(
	base: BaseModel,
	args: PromptBaselineArgs,
	onProgress?: (done: number, total: number) => void,
	shouldStop?: () => boolean
): Promise<Run> {
	if (base.config.task !== 'causal-lm')
		throw new UserError('invalid-config', `${args.model.repo} is an encoder; a prompt baseline needs a causal language model (GPT-2, SmolLM2, Qwen2.5).`);
	const version = await getDatasetVersion(args.datasetVersionId);
	if (!version) throw new UserError('not-found', 'The dataset version is no longer stored.');
	if ((version.kind ?? 'classification') !== 'classification') throw new UserError('invalid-config', 'A prompt baseline scores labels; this dataset has none.');
	const multi = isMultiLabel(version);
	checkTemplate(args, version.labels);
	const split = args.split ?? 'test';
	const rows = await loadRows(version.id);
	const scored = rows.map((r, i) => ({ ...r, index: i })).filter((r) => r.split === SPLIT_CODE[split]);
	if (!scored.length) throw new UserError('not-found', `The ${split} split is empty.`);
	// A multi-label example carries its whole set, and the prompt shows every label of it (prompt-baseline.ts).
	const train = rows.filter((r) => r.split === SPLIT_CODE.train).map((r) => ({ text: r.text, label: r.label, ...(multi && r.labels?.length ? { labels: r.labels } : {}) }));
	const shots = drawShots(train, args.shots, new Prng(args.seed));
	const started = performance.now();
	const probs = await scoreWithPrompts(base.spec, base.params, base.config, base.tokenizer, args, scored.map((r) => r.text), {
		prefix: shots.length ? fewShotPrefix(args, shots) : undefined,
		onProgress: (done) => onProgress?.(done, scored.length),
		shouldStop
	});
	const metrics = multi
		? multiLabelMetrics(version, scored, probs)
		: buildEvaluation(
				{
					labels: version.labels,
					rows: scored.map((r) => r.index),
					yTrue: scored.map((r) => r.label),
					probs,
					meta: scored.map((r) => r.meta),
					datasetVersionId: version.id,
					datasetHash: version.contentHash
				},
				{ seed: 0 }
			);
	const kind = shots.length ? 'few-shot' : 'zero-shot';
	return storeBaseline({
		projectId: args.projectId,
		version,
		base,
		model: args.model,
		objective: 'classification',
		name: `${kind}${shots.length ? ` (${shots.length})` : ''} · ${args.model.repo.split('/').pop()}`,
		trainMs: performance.now() - started,
		baseline: {
			kind,
			description: `${args.model.repo}, prompt "${args.template.replaceAll('\n', '⏎')}", ${shots.length} example${shots.length === 1 ? '' : 's'}${multi ? `; multi-label: a label is chosen when its share of one softmax over the label words is at least 1/${version.labels.length}` : ''}`,
			model: args.model,
			prompt: args.template,
			shots: shots.length,
			labelWords: args.labelWords
		},
		evaluation: (now) => ({ ...metrics, split, checkpointId: '', step: 0, createdAt: now }),
		multiLabel: multi
	});
}

/**
 * A multi-label dataset's prompt baseline, scored as a multi-label run is: the label words'
 * probabilities (one softmax over them after the prompt) are each label's score. A prompt ranks the
 * labels against each other, so the scores add up to 1 and a fixed 0.5 would rarely choose two: a
 * label is chosen when its share is at least an even split's (1 / the number of labels), a rule
 * that needs no tuning on the scored rows. Few-shot examples show their whole label sets in a
 * random order, which teaches the model to spread that softmax over a text's labels (1/m each of
 * m ≥ 1/K): prompt-baseline.ts says why. The scores are stored, so the figures can be read again.
 */
function multiLabelMetrics(version: DatasetVersion, scored: { index: number; label: number; labels?: number[] }[], probs: Float32Array): Omit<EvaluationResult, 'split' | 'checkpointId' | 'step' | 'createdAt'> {
	const l = version.labels.length;
	const truth = new Uint8Array(scored.length * l);
	scored.forEach((r, i) => {
		for (const j of r.labels ?? [r.label]) truth[i * l + j] = 1;
	});
	// One softmax over the labels: a label is chosen when its share is at least an even split's.
	const threshold = 1 / l;
	const predicted = decide(probs, threshold);
	// Binary cross-entropy of the scores against the label sets, per label, as a multi-label run's loss.
	let bce = 0;
	for (let i = 0; i < truth.length; i++) {
		const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i]));
		bce -= truth[i] ? Math.log(p) : Math.log(1 - p);
	}
	const rows = Int32Array.from(scored, (r) => r.index);
	const report = multilabelReport(truth, predicted, version.labels, rows, threshold, { seed: 0 });
	return {
		loss: truth.length ? bce / truth.length : 0,
		count: scored.length,
		accuracy: report.multiLabel.subsetAccuracy,
		macroF1: report.multiLabel.macro.f1,
		perClass: report.perClass,
		confusion: [],
		labels: version.labels,
		// Every row's scores and dataset index, as a multi-label run keeps them: Compare pairs the two row by row.
		multiLabel: { ...report.multiLabel, scores: { truth, probs, rows } },
		bootstrap: report.bootstrap,
		datasetVersionId: version.id,
		datasetHash: version.contentHash
	};
}

/**
 * A baseline as a completed run with no training: the base model and revision as its config,
 * its evaluation on the fine-tuned runs' rows, so Compare lists and pairs it like any run.
 */
async function storeBaseline(b: {
	projectId: string;
	version: DatasetVersion;
	base: BaseModel;
	model: ModelRef;
	objective: Objective;
	name: string;
	trainMs: number;
	baseline: BaselineInfo;
	evaluation: (now: number) => EvaluationResult;
	/** A multi-label dataset's baseline: the run says so, as a multi-label run's config does. */
	multiLabel?: boolean;
}): Promise<Run> {
	const numClasses = b.objective === 'classification' ? b.version.labels.length : 1;
	const config = defaultRunConfig(numClasses);
	config.pretrained = { ...b.model, modelType: b.base.config.modelType, hfConfig: b.base.hfConfig, objective: b.objective, contextLength: b.base.config.maxPositions, numClasses };
	if (b.multiLabel) {
		config.model.multiLabel = true;
		config.pretrained.multiLabel = true;
	}
	const now = Date.now();
	const run: Run = {
		id: newId('run_'),
		projectId: b.projectId,
		name: b.name,
		createdAt: now,
		updatedAt: now,
		status: 'completed',
		config,
		datasetVersionId: b.version.id,
		datasetHash: b.version.contentHash,
		step: 0,
		totalSteps: 0,
		epoch: 0,
		trainMs: b.trainMs,
		baseline: b.baseline,
		evaluation: b.evaluation(now)
	};
	await putRun(run);
	return run;
}

/** Perplexity of a model on general text (token-weighted, in context windows). */
export async function generalPerplexity(model: Pick<BaseModel, 'spec' | 'config' | 'params' | 'tokenizer'>, text: string, contextLength: number): Promise<{ perplexity: number; tokens: number }> {
	const paragraphs = text.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
	const sequences = paragraphs.map((p) => model.tokenizer.encode(p, { addSpecialTokens: true })).filter((s) => s.length > 1);
	if (!sequences.length) throw new UserError('invalid-config', 'The general text is empty; paste a few paragraphs of ordinary prose.');
	const r = await perplexity(model.spec, model.params, model.config, sequences, { contextLength: Math.min(contextLength, model.config.maxPositions), batchSize: 4 });
	return { perplexity: r.perplexity, tokens: r.tokens };
}

export interface GenerationBaselineArgs {
	projectId: string;
	datasetVersionId: string;
	model: ModelRef;
	/** Training pairs shown as earlier chat turns before each prompt (0 = zero-shot). */
	shots: number;
	seed: number;
	/** Tokens generated per prompt at most (default 64). */
	maxNewTokens?: number;
	/** The first N rows of the split (default 50), as an instruction run's evaluation takes them. */
	rows?: number;
	split?: SplitName;
	resamples?: number;
}

/**
 * The prompt-only generation baseline: the base model, unmodified, answers the first N prompts of
 * the split, formatted with its chat template (or the Alpaca fallback), zero-shot or with k
 * training pairs as earlier turns. Stored as a completed run with `baseline` and an evaluation
 * carrying `generation` only (no loss pass), so Compare pairs it with instruction runs.
 */
export async function runGenerationBaseline(
	base: BaseModel & { tokenizerConfig: Record<string, unknown> },
	args: GenerationBaselineArgs,
	onProgress?: (done: number, total: number) => void,
	shouldStop?: () => boolean
): Promise<Run> {
	if (base.config.task !== 'causal-lm')
		throw new UserError('invalid-config', `${args.model.repo} is an encoder; a generation baseline needs a causal language model (GPT-2, SmolLM2, Qwen2.5).`);
	if (!Number.isInteger(args.shots) || args.shots < 0) throw new UserError('invalid-config', `Shots must be a whole number ≥ 0 (got ${args.shots}).`);
	const version = await getDatasetVersion(args.datasetVersionId);
	if (!version) throw new UserError('not-found', 'The dataset version is no longer stored.');
	if (version.kind !== 'pairs') throw new UserError('invalid-config', 'A generation baseline answers prompts; this dataset has no prompt/response pairs.');
	const split = args.split ?? 'test';
	const maxNewTokens = args.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
	const stored = await loadRows(version.id);
	const items = generationItems(stored, split, args.rows ?? DEFAULT_GENERATION_ROWS);
	const train = stored.filter((r) => r.split === SPLIT_CODE.train).map(rowMessages);
	const shots = new Prng(args.seed).shuffle(train).slice(0, args.shots);
	const started = performance.now();
	const generation = await generateAndScore(base, items, { split, maxNewTokens, shots, resamples: args.resamples, onProgress, shouldStop });
	const kind = shots.length ? 'few-shot' : 'zero-shot';
	const template = chatTemplateOf(base.tokenizerConfig) !== undefined ? 'chat template' : 'Alpaca prompt';
	return storeBaseline({
		projectId: args.projectId,
		version,
		base,
		model: args.model,
		objective: 'instruction',
		name: `${kind} generation${shots.length ? ` (${shots.length})` : ''} · ${args.model.repo.split('/').pop()}`,
		trainMs: performance.now() - started,
		baseline: {
			kind,
			description: `${args.model.repo}, ${template}, ${shots.length} example${shots.length === 1 ? '' : 's'}, greedy, ≤ ${maxNewTokens} new tokens`,
			model: args.model,
			prompt: template,
			shots: shots.length
		},
		evaluation: (now) => ({
			split,
			checkpointId: '',
			step: 0,
			createdAt: now,
			// No loss pass and no classes: the exact-match rate stands in for accuracy in generic lists.
			accuracy: generation.exactMatch,
			macroF1: 0,
			loss: NaN,
			perClass: [],
			confusion: [],
			labels: [],
			count: generation.rows,
			datasetVersionId: version.id,
			datasetHash: version.contentHash,
			generation
		})
	});
}
