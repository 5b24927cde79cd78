/**
 * From checkpoint tensors to a model's parameter record, with transformers' loading rules
 * (`PreTrainedModel._load_pretrained_model`, v4.40): legacy `gamma`/`beta` names become
 * `weight`/`bias`; a bare base-model checkpoint (`h.0...` for `GPT2Model`) gets the head model's
 * prefix (`transformer.h.0...`); a tied head's stored copy is dropped, since the head reuses the
 * embedding; shapes must match the config. Keys the model does not use (old causal-mask buffers,
 * pre-training heads) and keys it lacks (a fresh classifier) are reported, not guessed at.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../shared/errors';
import type { SafetensorsTensor } from '../io/safetensors';
import type { ArchSpec, HfConfigBase, Params } from './spec';

export interface LoadedParams {
	params: Params;
	/** Names the model needs that the checkpoint lacks (to initialize, e.g. a new classifier). */
	missing: string[];
	/** Checkpoint names the model does not use. */
	unexpected: string[];
}

/** Checkpoint names as the model would see them (prefix added, legacy names fixed). */
export function canonicalNames<C extends HfConfigBase>(spec: ArchSpec<C>, names: string[]): Map<string, string> {
	const prefix = spec.baseModelPrefix + '.';
	const hasPrefix = names.some((n) => n.startsWith(prefix));
	const out = new Map<string, string>();
	for (const name of names) {
		let fixed = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
		// Only base-model tensors get the prefix; a head's own tensors (lm_head, classifier) never had one.
		if (!hasPrefix && !/^(lm_head|classifier|cls|score)\./.test(fixed)) fixed = prefix + fixed;
		out.set(fixed, name);
	}
	return out;
}

export function paramsFromCheckpoint<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	tensors: Map<string, SafetensorsTensor>
): LoadedParams {
	const shapes = spec.paramShapes(config);
	const names = canonicalNames(spec, [...tensors.keys()]);
	const params: Params = {};
	const missing: string[] = [];
	try {
		for (const [name, shape] of Object.entries(shapes)) {
			const source = names.get(name);
			if (source === undefined) {
				missing.push(name);
				continue;
			}
			const t = tensors.get(source)!;
			if (!(t.data instanceof Float32Array))
				throw new UserError('invalid-config', `Checkpoint tensor '${source}' is ${t.dtype}; a ${spec.modelType} parameter must be a float.`);
			if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
				throw new UserError(
					'invalid-config',
					`Checkpoint tensor '${source}' has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]; the weights and config.json do not belong together.`
				);
			params[name] = tf.tensor(t.data, shape, 'float32');
		}
	} catch (e) {
		Object.values(params).forEach((t) => t.dispose());
		throw e;
	}
	const tiedCopy = spec.isTied(config) ? 'lm_head.weight' : undefined;
	const unexpected = [...names].filter(([name]) => !(name in shapes) && name !== tiedCopy).map(([, source]) => source);
	return { params, missing, unexpected };
}
