/**
 * From checkpoint tensors to a model's parameter record, with transformers' loading rules
 * (`PreTrainedModel._load_pretrained_model` and `_init_weights`, v4.40): legacy `gamma`/`beta`
 * names become `weight`/`bias`; a bare base-model checkpoint (`h.0...` for `GPT2Model`) gets the
 * head model's prefix (`transformer.h.0...`); a tied head's stored copy is dropped, since the head
 * reuses the embedding; shapes must match the config. Keys the model does not use (old causal-mask
 * buffers, pre-training heads, an LM head under a classifier) are reported; keys it lacks are
 * reported as missing, and `initMissing` creates them only when they are a fresh head.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../shared/errors';
import { hashSeed, Prng } from '../../shared/prng';
import type { SafetensorsTensor } from '../io/safetensors';
import type { ArchSpec, HfConfigBase, Params } from './spec';

export interface MismatchedParam {
	name: string;
	/** The shape stored in the checkpoint (e.g. [2, d] for a 2-class head)... */
	checkpoint: number[];
	/** ...and the one this config needs (e.g. [5, d] for the user's 5 labels). */
	model: number[];
}

export interface LoadedParams {
	params: Params;
	/**
	 * Names the model needs that the checkpoint lacks (to initialize, e.g. a new classifier),
	 * including head tensors whose stored shape did not fit (`mismatched`).
	 */
	missing: string[];
	/** Checkpoint names the model does not use. */
	unexpected: string[];
	/**
	 * The checkpoint's own head, sized for other labels: left out and listed in `missing`, so a
	 * fresh head replaces it (transformers' `ignore_mismatched_sizes=True`).
	 */
	mismatched: MismatchedParam[];
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

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Parameters as plain arrays (no device upload), keyed by the model's names. */
export type HostParams = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * The checkpoint's tensors the model uses, checked and renamed, as host arrays that share the
 * checkpoint's buffers: for callers that build their own device tensors (training variables)
 * and must not upload, read back and upload again.
 */
export function hostParamsFromCheckpoint<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	tensors: Map<string, SafetensorsTensor>
): { weights: HostParams; missing: string[]; unexpected: string[]; mismatched: MismatchedParam[] } {
	const shapes = spec.paramShapes(config);
	const head = new Set(spec.headParams(config));
	const names = canonicalNames(spec, [...tensors.keys()]);
	const weights: HostParams = {};
	const missing: string[] = [];
	const mismatched: MismatchedParam[] = [];
	for (const [name, shape] of Object.entries(shapes)) {
		const source = names.get(name);
		if (source === undefined) {
			missing.push(name);
			continue;
		}
		const t = tensors.get(source)!;
		if (!(t.data instanceof Float32Array))
			throw new UserError('invalid-config', `Checkpoint tensor '${source}' is ${t.dtype}; a ${spec.modelType} parameter must be a float.`);
		if (!sameShape(t.shape, shape)) {
			if (head.has(name)) {
				mismatched.push({ name, checkpoint: t.shape.slice(), model: shape.slice() });
				missing.push(name);
				continue;
			}
			throw new UserError(
				'invalid-config',
				`Checkpoint tensor '${source}' has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]; the weights and config.json do not belong together.`
			);
		}
		weights[name] = { shape, data: t.data };
	}
	const tiedCopy = spec.isTied(config) ? 'lm_head.weight' : undefined;
	const unexpected = [...names].filter(([name]) => !(name in shapes) && name !== tiedCopy).map(([, source]) => source);
	return { weights, missing, unexpected, mismatched };
}

export function paramsFromCheckpoint<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	tensors: Map<string, SafetensorsTensor>
): LoadedParams {
	const { weights, ...rest } = hostParamsFromCheckpoint(spec, config, tensors);
	const params: Params = {};
	for (const [name, w] of Object.entries(weights)) params[name] = tf.tensor(w.data, w.shape, 'float32');
	return { params, ...rest };
}

/**
 * Fresh tensors for the `missing` names, as transformers' `_init_weights` makes them for
 * `nn.Linear`: weights from normal(0, initializer_range), biases zero. Only a fresh head
 * (`spec.headParams`) may be missing; anything else means the checkpoint does not fit the config,
 * and the error names it. Each tensor draws from its own stream, seeded by `seed` and its name,
 * so the values do not depend on which other tensors were missing.
 */
export function initMissing<C extends HfConfigBase>(spec: ArchSpec<C>, config: C, missing: readonly string[], seed: number): Params {
	const shapes = spec.paramShapes(config);
	const head = new Set(spec.headParams(config));
	const notHead = missing.filter((n) => !head.has(n));
	if (notHead.length)
		throw new UserError(
			'invalid-config',
			`The checkpoint lacks ${notHead.length} tensor(s) this ${spec.modelType} model needs and cannot start fresh: ${notHead.slice(0, 4).map((n) => `'${n}'`).join(', ')}${notHead.length > 4 ? ', ...' : ''}. Check that config.json and the weights come from the same model.`
		);
	const out: Params = {};
	for (const name of missing) {
		const shape = shapes[name];
		const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
		if (!name.endsWith('.bias')) {
			const rng = new Prng((seed ^ hashSeed(name)) >>> 0);
			for (let i = 0; i < data.length; i++) data[i] = rng.normal() * config.initializerRange;
		}
		out[name] = tf.tensor(data, shape, 'float32');
	}
	return out;
}

export interface PretrainedParams extends LoadedParams {
	/** Names of the tensors `initMissing` created (the fresh head). */
	initialized: string[];
}

/**
 * `paramsFromCheckpoint` then `initMissing`: every parameter of the config, from the checkpoint
 * or, for a fresh head, newly initialised. `missing` still lists what the checkpoint lacked.
 */
export function loadPretrained<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	tensors: Map<string, SafetensorsTensor>,
	seed: number
): PretrainedParams {
	const loaded = paramsFromCheckpoint(spec, config, tensors);
	let fresh: Params;
	try {
		fresh = initMissing(spec, config, loaded.missing, seed);
	} catch (e) {
		tf.dispose(Object.values(loaded.params));
		throw e;
	}
	// in paramShapes order, so the record lists parameters as named_parameters() does
	const params: Params = {};
	for (const name of Object.keys(spec.paramShapes(config))) params[name] = loaded.params[name] ?? fresh[name];
	return { ...loaded, params, initialized: Object.keys(fresh) };
}
