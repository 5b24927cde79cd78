/**
 * From a Hugging Face `config.json` to the code that runs it: `model_type` picks the architecture
 * file, as transformers' AutoConfig / transformers.js's model registry do; `architectures` picks
 * the head (hf-config.ts), and `withTask` puts a different one on (as loading a checkpoint with
 * `AutoModelForSequenceClassification.from_pretrained(..., num_labels=n)` does).
 */
import { UserError } from '../../shared/errors';
import { bert } from './bert';
import { gpt2 } from './gpt2';
import { distilbert } from './distilbert';
import { gpt_neox } from './gpt_neox';
import { gemma } from './gemma';
import { defaultLabelNames } from './hf-config';
import { llama } from './llama';
import { mistral } from './mistral';
import { phi3 } from './phi3';
import { qwen2 } from './qwen2';
import { roberta } from './roberta';
import type { ArchSpec, HfConfigBase, Task } from './spec';

export const architectures: Record<string, ArchSpec> = { gpt2, llama, qwen2, bert, distilbert, roberta, gpt_neox, mistral, gemma, phi3 };

export const SUPPORTED_MODEL_TYPES = Object.keys(architectures);

export function archFor(modelType: unknown): ArchSpec {
	const spec = typeof modelType === 'string' ? architectures[modelType] : undefined;
	if (!spec)
		throw new UserError(
			'invalid-config',
			modelType === undefined
				? `config.json has no model_type, so the architecture is unknown. Supported: ${SUPPORTED_MODEL_TYPES.join(', ')}.`
				: `Model type ${JSON.stringify(modelType)} is not supported. Supported: ${SUPPORTED_MODEL_TYPES.join(', ')}; pick a model of one of these types.`
		);
	return spec;
}

/** The architecture and its normalized config for a parsed config.json (task from `architectures`). */
export function resolveConfig(json: Record<string, unknown>): { spec: ArchSpec; config: HfConfigBase } {
	const spec = archFor(json?.model_type);
	return { spec, config: spec.parseConfig(json) };
}

/**
 * The config with another head: `task`, and for sequence classification `numLabels` classes
 * named by `id2label` (a list by id, or config.json's `{"0": "neg", ...}`). Without names, the
 * config's own are kept when the count is unchanged, else `LABEL_<i>`. `problem_type` is kept
 * only when neither the task nor the class count changes; otherwise the loss infers it from the
 * labels, as transformers does when config.json has none. Load the parameters after this: the
 * new head's tensors come back as `missing` and `initMissing` creates them.
 */
export function withTask<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	task: Task,
	numLabels?: number,
	id2label?: readonly string[] | Record<string | number, string>
): C {
	if (!spec.tasks.includes(task))
		throw new UserError('invalid-config', `A ${spec.modelType} model cannot be trained for ${task} here; choose ${spec.tasks.join(' or ')}.`);
	if (task === 'causal-lm') return { ...config, task };
	const names = id2label === undefined ? undefined : labelList(id2label);
	const n = numLabels ?? names?.length ?? config.numLabels;
	if (!Number.isInteger(n) || n < 1) throw new UserError('invalid-config', `A classifier needs a whole number of classes (at least 1), got ${n}.`);
	if (names && names.length !== n)
		throw new UserError('invalid-config', `${names.length} label names were given for ${n} classes; give one name per class.`);
	const same = config.task === task && config.numLabels === n;
	return {
		...config,
		task,
		numLabels: n,
		labelNames: names ?? (same ? config.labelNames : defaultLabelNames(n)),
		problemType: same ? config.problemType : null
	};
}

function labelList(id2label: readonly string[] | Record<string | number, string>): string[] {
	if (Array.isArray(id2label)) return [...id2label];
	const entries = Object.entries(id2label).map(([k, v]) => [Number(k), v] as const);
	const out: string[] = [];
	for (const [id, name] of entries) {
		if (!Number.isInteger(id) || id < 0 || id >= entries.length || out[id] !== undefined)
			throw new UserError('invalid-config', `id2label must number the classes 0..${entries.length - 1} once each; got key ${id}.`);
		out[id] = name;
	}
	return out;
}
