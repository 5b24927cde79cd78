/**
 * Baselines and the forgetting check, run by the engine worker with a cached base model: the
 * prompt-only (zero- or few-shot) classifier scored on exactly the rows a fine-tuned run is
 * scored on, stored as a run so Compare can pair it; and the perplexity of the base and a
 * fine-tuned model on general text held aside, to show what the specialization cost.
 */
import { buildEvaluation } from '../src/lib/engine/eval/evaluation';
import { perplexity } from '../src/lib/engine/eval/lm-score';
import { checkTemplate, drawShots, fewShotPrefix, scoreWithPrompts, type PromptTemplate } from '../src/lib/engine/eval/prompt-baseline';
import type { ArchSpec, HfConfigBase, Params } from '../src/lib/engine/models/spec';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import { defaultRunConfig } from '../src/lib/shared/config';
import { UserError } from '../src/lib/shared/errors';
import type { ModelRef } from '../src/lib/shared/hub';
import { Prng } from '../src/lib/shared/prng';
import { SPLIT_CODE, type Run, type SplitName } from '../src/lib/shared/types';
import { getDatasetVersion, loadRows, newId, putRun } from '../src/lib/storage';

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
	checkTemplate(args, version.labels);
	const split = args.split ?? 'test';
	const rows = await loadRows(version.id);
	const scored = rows.map((r, i) => ({ ...r, index: i })).filter((r) => r.split === SPLIT_CODE[split]);
	if (!scored.length) throw new UserError('not-found', `The ${split} split is empty.`);
	const train = rows.filter((r) => r.split === SPLIT_CODE.train).map((r) => ({ text: r.text, label: r.label }));
	const shots = drawShots(train, args.shots, new Prng(args.seed));
	const started = performance.now();
	const probs = await scoreWithPrompts(base.spec, base.params, base.config, base.tokenizer, args, scored.map((r) => r.text), {
		prefix: shots.length ? fewShotPrefix(args, shots) : undefined,
		onProgress: (done) => onProgress?.(done, scored.length),
		shouldStop
	});
	const metrics = buildEvaluation(
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
	const config = defaultRunConfig(version.labels.length);
	config.pretrained = {
		...args.model,
		modelType: base.config.modelType,
		hfConfig: base.hfConfig,
		objective: 'classification',
		contextLength: base.config.maxPositions,
		numClasses: version.labels.length
	};
	const now = Date.now();
	const run: Run = {
		id: newId('run_'),
		projectId: args.projectId,
		name: `${kind}${shots.length ? ` (${shots.length})` : ''} · ${args.model.repo.split('/').pop()}`,
		createdAt: now,
		updatedAt: now,
		status: 'completed',
		config,
		datasetVersionId: version.id,
		datasetHash: version.contentHash,
		step: 0,
		totalSteps: 0,
		epoch: 0,
		trainMs: performance.now() - started,
		baseline: {
			kind,
			description: `${args.model.repo}, prompt "${args.template.replaceAll('\n', '⏎')}", ${shots.length} example${shots.length === 1 ? '' : 's'}`,
			model: args.model,
			prompt: args.template,
			shots: shots.length,
			labelWords: args.labelWords
		},
		evaluation: { ...metrics, split, checkpointId: '', step: 0, createdAt: now }
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
