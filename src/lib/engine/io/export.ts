/**
 * A trained model as a Hugging Face model folder: `config.json`, `model.safetensors` and, for a
 * causal LM, `generation_config.json`, laid out as transformers' `save_pretrained`
 * (safe_serialization=True, v4.40) writes them, so `AutoModelFor*.from_pretrained(folder)` loads
 * the result with no missing or unexpected keys. Tensor names are the parameter names, which are
 * already the head model's `state_dict` names (`transformer.h.0...`, `score.weight`); a tied LM
 * head is not written, as `save_pretrained` drops tied copies, and transformers re-ties it on load.
 * config.json is the downloaded one with what training changed written over it: the head class
 * in `architectures`, the labels, the stored dtype.
 */
import * as tf from '@tensorflow/tfjs';
import type { ArchSpec, HfConfigBase, Params } from '../models/spec';
import { UserError } from '../../shared/errors';
import { writeSafetensors, type WriteDtype, type WriteTensor } from './safetensors';

export interface HostParam {
	shape: number[];
	data: Float32Array;
}

export interface ExportOptions {
	/** Class names by id for a classifier; default: the config's `labelNames`. */
	labels?: string[];
	/** Storage dtype of the weights (default F32); F16/BF16 round to nearest even. */
	dtype?: WriteDtype;
	/**
	 * Written as `pad_token_id`. A decoder classifier needs it in transformers: without one,
	 * `*ForSequenceClassification` pools the last position of every row, which is a pad in a
	 * right-padded batch. Give the tokenizer's pad id.
	 */
	padTokenId?: number;
	/** The model's own generation_config.json, kept as it was (default: derived from config.json). */
	generationConfig?: Record<string, unknown>;
}

export interface HfExportFiles {
	'config.json': string;
	'model.safetensors': Uint8Array;
	'generation_config.json'?: string;
}

export interface HfExport {
	files: HfExportFiles;
	/** What transformers will do differently from what was trained here, for the user to read. */
	warnings: string[];
}

const TORCH_DTYPE: Record<WriteDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/**
 * The files of a Hugging Face model folder for `params` (tfjs tensors or host arrays keyed by the
 * parameter names). Every parameter of `spec.paramShapes(config)` must be there with its shape,
 * and nothing else: a tied model given an `lm_head.weight` is an error, since the export would
 * silently drop it.
 */
export async function exportHfModel<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	config: C,
	params: Record<string, HostParam> | Params,
	opts: ExportOptions = {}
): Promise<HfExport> {
	const dtype = opts.dtype ?? 'F32';
	const tensors: WriteTensor[] = [];
	for (const [name, p] of Object.entries(checkNames(spec, config, params as Record<string, HostParam | tf.Tensor>))) {
		const data = p instanceof tf.Tensor ? await p.data() : p.data;
		if (!(data instanceof Float32Array)) throw new Error(`Parameter '${name}' is not float32 data; it cannot be exported as ${dtype}.`);
		tensors.push({ name, shape: p.shape.slice(), data, dtype });
	}
	const warnings: string[] = [];
	const json = exportConfig(spec, config, opts, warnings);
	const files: HfExportFiles = {
		'config.json': jsonFile(json),
		'model.safetensors': new Uint8Array(writeSafetensors(tensors, { format: 'pt' }))
	};
	if (config.task === 'causal-lm') files['generation_config.json'] = jsonFile(opts.generationConfig ? withPad(opts.generationConfig, json.pad_token_id) : generationConfig(config, json));
	return { files, warnings };
}

/** The params in paramShapes order, after checking names and shapes. */
function checkNames<C extends HfConfigBase, P extends { shape: number[] }>(spec: ArchSpec<C>, config: C, params: Record<string, P>): Record<string, P> {
	const shapes = spec.paramShapes(config);
	const out: Record<string, P> = {};
	for (const [name, shape] of Object.entries(shapes)) {
		const p = params[name];
		if (!p) throw new Error(`Cannot export: parameter '${name}' of this ${spec.modelType} ${config.task} model is missing.`);
		if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i]))
			throw new Error(`Cannot export: '${name}' has shape [${p.shape.join(', ')}] but the config needs [${shape.join(', ')}].`);
		out[name] = p;
	}
	const extra = Object.keys(params).filter((n) => !(n in shapes));
	if (extra.length) {
		const tied = spec.isTied(config) && extra.includes('lm_head.weight');
		throw new Error(
			tied
				? `Cannot export: the config ties the LM head to the input embedding, but params has its own 'lm_head.weight'; untie the config (tieWordEmbeddings: false) to keep it.`
				: `Cannot export: ${extra.length} tensor(s) are not parameters of this ${spec.modelType} ${config.task} model, e.g. '${extra[0]}'.`
		);
	}
	return out;
}

/** config.json as downloaded, with the head, labels and dtype of this export written over it. */
export function exportConfig<C extends HfConfigBase>(spec: ArchSpec<C>, config: C, opts: ExportOptions = {}, warnings: string[] = []): Record<string, unknown> {
	const json: Record<string, unknown> = structuredClone(config.hfConfig ?? {});
	const className = spec.classNames[config.task];
	if (!className) throw new Error(`${spec.modelType} has no transformers class for ${config.task}.`);
	json.model_type = spec.modelType;
	json.architectures = [className];
	if (config.task === 'sequence-classification') {
		const labels = opts.labels ?? config.labelNames;
		if (labels.length !== config.numLabels)
			throw new UserError('invalid-config', `${labels.length} label names were given for a ${config.numLabels}-class model; give one name per class.`);
		const dup = labels.find((l, i) => labels.indexOf(l) !== i);
		if (dup !== undefined) throw new UserError('invalid-config', `The label name '${dup}' is used twice; label2id needs distinct names. Rename one class.`);
		json.id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
		json.label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
		json.num_labels = config.numLabels;
		if (config.problemType) json.problem_type = config.problemType;
		else delete json.problem_type;
	} else {
		// spelled out: the default differs between config classes (GPT2Config true, LlamaConfig false)
		json.tie_word_embeddings = config.tieWordEmbeddings;
	}
	if (opts.padTokenId !== undefined) json.pad_token_id = opts.padTokenId;
	// the decoders' classifiers find the last real token by pad_token_id; the encoders read the first token
	if (config.task === 'sequence-classification' && spec.tasks.includes('causal-lm') && (json.pad_token_id ?? null) === null)
		warnings.push(
			`config.json has no pad_token_id, so transformers' ${className} will classify each row by its last position and reject batches of more than one row. Export with the tokenizer's pad id.`
		);
	json.torch_dtype = TORCH_DTYPE[opts.dtype ?? 'F32'];
	return json;
}

/**
 * What `GenerationConfig.from_model_config` writes for a config.json with no generation
 * settings of its own: the special token ids that are set, marked `_from_model_config`.
 */
function generationConfig(config: HfConfigBase, json: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = { _from_model_config: true };
	if (config.bosTokenId !== null) out.bos_token_id = config.bosTokenId;
	if (config.eosTokenIds.length) out.eos_token_id = config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds;
	const pad = json.pad_token_id ?? config.padTokenId;
	if (pad !== null && pad !== undefined) out.pad_token_id = pad;
	if (json.transformers_version !== undefined) out.transformers_version = json.transformers_version;
	return out;
}

/**
 * The model's own generation config with the pad id config.json gained: `generate` reads its pad
 * from here, and without one it warns and pads with the EOS id.
 */
export function withPad(gen: Record<string, unknown>, pad: unknown): Record<string, unknown> {
	if (pad === null || pad === undefined || (gen.pad_token_id !== undefined && gen.pad_token_id !== null)) return gen;
	return { ...gen, pad_token_id: pad };
}

/** JSON as transformers writes it: keys sorted, two-space indent, a final newline. */
function jsonFile(value: Record<string, unknown>): string {
	return JSON.stringify(sortKeys(value), null, 2) + '\n';
}

function sortKeys(v: unknown): unknown {
	if (Array.isArray(v)) return v.map(sortKeys);
	if (v === null || typeof v !== 'object') return v;
	return Object.fromEntries(
		Object.keys(v)
			.sort()
			.map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])
	);
}
