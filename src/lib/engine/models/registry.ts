/**
 * From a Hugging Face `config.json` to the code that runs it: `model_type` picks the architecture
 * file, as transformers' AutoConfig / transformers.js's model registry do.
 */
import { UserError } from '../../shared/errors';
import { bert } from './bert';
import { gpt2 } from './gpt2';
import { llama } from './llama';
import { qwen2 } from './qwen2';
import type { ArchSpec, HfConfigBase } from './spec';

export const architectures: Record<string, ArchSpec> = { gpt2, llama, qwen2, bert };

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

/** The architecture and its normalized config for a parsed config.json. */
export function resolveConfig(json: Record<string, unknown>): { spec: ArchSpec; config: HfConfigBase } {
	const spec = archFor(json?.model_type);
	return { spec, config: spec.parseConfig(json) };
}
