/**
 * Opening a model that is on the user's disk, not on the Hub: a Hugging Face model folder (as
 * `save_pretrained` or this studio's export writes it) or its zip, and a PEFT LoRA adapter folder
 * on top of its base. The files are checked the way `from_pretrained` would need them (config.json
 * with a supported model_type, model.safetensors or an index with its shards, tokenizer.json for
 * the studio to read text) and the weights resolved by the same registry and loader as a download,
 * so an imported model computes what it computed where it was saved. A LoRA adapter is merged
 * (W + alpha/r · B·A, as peft's `merge_and_unload`), with its saved head and head_config.json.
 */
import { unzipSync } from 'fflate';
import { UserError } from '../../shared/errors';
import { resolveConfig, withTask } from '../models/registry';
import { hostParamsFromCheckpoint, type HostParams } from '../models/load';
import type { ArchSpec, HfConfigBase } from '../models/spec';
import { parseSafetensors, type SafetensorsTensor } from './safetensors';

export type FolderFiles = Record<string, Uint8Array>;

export interface ImportedModel {
	spec: ArchSpec;
	config: HfConfigBase;
	/** config.json as read (with an adapter's head written over it). */
	json: Record<string, unknown>;
	weights: HostParams;
	/** Tensors of the folder the model does not use (e.g. a tied copy); they are left out. */
	unexpected: string[];
}

const buffer = (u8: Uint8Array) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
const text = (u8: Uint8Array) => new TextDecoder().decode(u8);

/**
 * A zip's files by their path in the folder: a single top folder (a zipped directory) is taken
 * off, and macOS's `__MACOSX/` entries and directories are dropped.
 */
export function unzipFolder(bytes: Uint8Array): FolderFiles {
	let entries: FolderFiles;
	try {
		entries = unzipSync(bytes);
	} catch {
		throw new UserError('invalid-config', 'That file is not a readable zip. Choose the .zip the studio exported, or the unzipped model folder.');
	}
	const names = Object.keys(entries).filter((n) => !n.endsWith('/') && !n.startsWith('__MACOSX/'));
	const tops = new Set(names.map((n) => (n.includes('/') ? n.split('/')[0] : '')));
	const strip = tops.size === 1 && !tops.has('') ? [...tops][0].length + 1 : 0;
	return Object.fromEntries(names.map((n) => [n.slice(strip), entries[n]]));
}

function json(files: FolderFiles, name: string): Record<string, unknown> {
	try {
		return JSON.parse(text(files[name]));
	} catch {
		throw new UserError('invalid-config', `${name} in that folder is not valid JSON; the folder is damaged. Export or save it again.`);
	}
}

/** Every tensor of the folder's weights: model.safetensors, or the shards an index names. */
export function folderTensors(files: FolderFiles): Map<string, SafetensorsTensor> {
	if (files['model.safetensors']) return parseSafetensors(buffer(files['model.safetensors'])).tensors;
	if (files['model.safetensors.index.json']) {
		const index = json(files, 'model.safetensors.index.json') as { weight_map?: Record<string, string> };
		const out = new Map<string, SafetensorsTensor>();
		for (const shard of new Set(Object.values(index.weight_map ?? {}))) {
			if (!files[shard]) throw new UserError('invalid-config', `The folder's index names ${shard}, which is not in the folder. Choose the whole folder.`);
			for (const [k, v] of parseSafetensors(buffer(files[shard])).tensors) out.set(k, v);
		}
		return out;
	}
	if (files['pytorch_model.bin'])
		throw new UserError('invalid-config', 'That folder has only pytorch_model.bin; the studio reads safetensors. Save it with save_pretrained(..., safe_serialization=True) and open it again.');
	throw new UserError('invalid-config', 'That folder has no model.safetensors. Choose a Hugging Face model folder (config.json, model.safetensors, tokenizer.json) or the zip the studio exported.');
}

/** A model folder (not an adapter) as the studio's architecture, config and weights. */
export function importModelFolder(files: FolderFiles): ImportedModel {
	if (files['adapter_config.json'] && !files['config.json'])
		throw new UserError('invalid-config', 'That folder is a LoRA adapter; it needs its base model. Open the base model first, or export the run as a whole model.');
	if (!files['config.json']) throw new UserError('invalid-config', 'That folder has no config.json, so it is not a Hugging Face model folder. Choose the folder that save_pretrained wrote, or the exported zip.');
	const cfg = json(files, 'config.json');
	const { spec, config } = resolveConfig(cfg);
	return load(spec, config, cfg, folderTensors(files));
}

function load(spec: ArchSpec, config: HfConfigBase, cfg: Record<string, unknown>, tensors: Map<string, SafetensorsTensor>): ImportedModel {
	const { weights, missing, unexpected, mismatched } = hostParamsFromCheckpoint(spec, config, tensors);
	if (mismatched.length) {
		const m = mismatched[0];
		throw new UserError('invalid-config', `The folder's '${m.name}' has shape [${m.checkpoint.join(', ')}] but its config.json implies [${m.model.join(', ')}]; the weights and config.json do not belong together.`);
	}
	if (missing.length)
		throw new UserError('invalid-config', `The folder's weights lack '${missing[0]}'${missing.length > 1 ? ` and ${missing.length - 1} more` : ''}; it is not a complete ${spec.modelType} ${config.task} model.`);
	return { spec, config, json: cfg, weights, unexpected };
}

/**
 * A PEFT LoRA adapter folder on its base model folder, merged: the base's weights with
 * W + (lora_alpha / r)·B·A for every adapted module (transposed for fan_in_fan_out), the saved
 * head (modules_to_save) in place, and the head's config from head_config.json.
 */
export function importAdapterFolder(base: FolderFiles, adapter: FolderFiles): ImportedModel {
	if (!adapter['adapter_config.json'] || !adapter['adapter_model.safetensors'])
		throw new UserError('invalid-config', 'That folder is not a PEFT adapter: it needs adapter_config.json and adapter_model.safetensors.');
	const ac = json(adapter, 'adapter_config.json') as { peft_type?: string; r: number; lora_alpha: number; fan_in_fan_out?: boolean; task_type?: string; use_dora?: boolean; use_rslora?: boolean };
	if (ac.peft_type !== 'LORA' || ac.use_dora || ac.use_rslora)
		throw new UserError('invalid-config', `The studio opens plain LoRA adapters; this one is ${ac.use_dora ? 'DoRA' : ac.use_rslora ? 'rsLoRA' : ac.peft_type}. Merge it in Python (merge_and_unload) and open the merged model.`);
	const baseJson = json(base, 'config.json');
	let { spec, config } = resolveConfig(baseJson);
	const head = adapter['head_config.json'] ? json(adapter, 'head_config.json') : null;
	const cfg: Record<string, unknown> = { ...baseJson, ...(head ?? {}) };
	if (ac.task_type === 'SEQ_CLS') {
		const n = Number(head?.num_labels ?? config.numLabels);
		config = withTask(spec, config, 'sequence-classification', n, (head?.id2label as Record<string, string>) ?? undefined);
		if (head?.pad_token_id !== undefined) config = { ...config, padTokenId: head.pad_token_id as number };
	}
	const tensors = new Map(folderTensors(base));
	const adapterTensors = parseSafetensors(buffer(adapter['adapter_model.safetensors'])).tensors;
	const scale = ac.lora_alpha / ac.r;
	const strip = (n: string) => n.replace(/^base_model\.model\./, '');
	for (const [rawName, a] of adapterTensors) {
		const name = strip(rawName);
		if (!name.endsWith('.lora_A.weight')) {
			if (!name.endsWith('.lora_B.weight')) tensors.set(name, a); // a saved head (modules_to_save)
			continue;
		}
		const module = name.slice(0, -'.lora_A.weight'.length);
		const b = adapterTensors.get(rawName.replace(/\.lora_A\.weight$/, '.lora_B.weight'));
		const w = tensors.get(module + '.weight');
		if (!b || !w) throw new UserError('invalid-config', `The adapter adapts '${module}', which ${b ? 'its base model does not have' : 'has no lora_B'}; this adapter belongs to another base model.`);
		tensors.set(module + '.weight', { ...w, data: mergeOne(w, a, b, scale, !!ac.fan_in_fan_out) });
	}
	return load(spec, config, cfg, tensors);
}

/** W + scale·B·A as a new array ([out, in], or [in, out] for fan_in_fan_out), in float64 sums. */
function mergeOne(w: SafetensorsTensor, a: SafetensorsTensor, b: SafetensorsTensor, scale: number, fanInFanOut: boolean): Float32Array {
	const [r, inDim] = a.shape;
	const outDim = b.shape[0];
	const A = a.data as Float32Array;
	const B = b.data as Float32Array;
	const out = Float32Array.from(w.data as Float32Array);
	for (let o = 0; o < outDim; o++)
		for (let i = 0; i < inDim; i++) {
			let s = 0;
			for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * inDim + i];
			out[fanInFanOut ? i * outDim + o : o * inDim + i] += scale * s;
		}
	return out;
}

/** Files a local model keeps in the cache: config, weights and the tokenizer (what a download keeps). */
export const LOCAL_MODEL_FILES = /^(config\.json|generation_config\.json|model\.safetensors|model\.safetensors\.index\.json|model-\d+-of-\d+\.safetensors|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|chat_template\.jinja|vocab\.txt|vocab\.json|merges\.txt|tokenizer\.model|added_tokens\.json)$/;

/** A cache id for a folder opened from disk: `local/<name>`, and a revision from its content (40 hex of SHA-256). */
export async function localModelRef(name: string, files: FolderFiles): Promise<{ repo: string; revision: string }> {
	const clean = name.replace(/\.zip$/i, '').replace(/[^\w.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 80) || 'model';
	const parts = Object.keys(files).filter((f) => LOCAL_MODEL_FILES.test(f)).sort();
	const total = parts.reduce((a, f) => a + f.length + 1 + files[f].byteLength, 0);
	const all = new Uint8Array(total);
	let o = 0;
	for (const f of parts) {
		all.set(new TextEncoder().encode(f + '\n'), o);
		o += f.length + 1;
		all.set(files[f], o);
		o += files[f].byteLength;
	}
	const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', all))].map((b) => b.toString(16).padStart(2, '0')).join('');
	return { repo: `local/${clean}`, revision: hash.slice(0, 40) };
}
