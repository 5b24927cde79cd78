/**
 * LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") as peft v0.10's
 * `LoraConfig` and `lora.Linear` implement it: on each chosen linear layer
 *
 *   y = W x + b + (alpha / r) · B A dropout(x)      A (r, in): kaiming-uniform(a = √5);  B (out, r): zeros
 *
 * so the adapted model starts exactly where the base model is, and only A and B train.
 *
 * Design. The adapter tensors sit in the model's parameter record beside the layer they adapt,
 * named as peft names them inside the model (`<module>.lora_A.weight`, `<module>.lora_B.weight`),
 * and every architecture computes its block linears through one helper, `adaptedLinear`
 * (models/spec.ts), which adds the adapter's term where the record holds one. The scale and the
 * dropout travel in `ForwardOptions.lora`; `withLora` wraps an ArchSpec so that every forward of
 * a session carries them, as `get_peft_model` wraps a model. A session then trains a record of
 * frozen base tensors plus the adapter variables, and its training step does not know LoRA exists.
 *
 * For export the adapter either merges into the weights (`mergeAdapters`, W + scale·B·A, which
 * peft's `merge_and_unload` computes) or is written as peft saves it (`exportPeftAdapter`:
 * adapter_config.json + adapter_model.safetensors). Which modules, and the pure counting the page
 * does, are in shared/method.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { adapterModule, adapterShapes, fanInFanOutFor, headParams, isAdapterName, isLmHead, linearModules, loraAName, loraBName, parseTargets, selectTargets, type LoraMethod, type Shapes } from '../../shared/method';
import { hashSeed, Prng } from '../../shared/prng';
import { writeSafetensors, type WriteDtype } from '../io/safetensors';
import type { ArchSpec, ForwardOptions, HfConfigBase, Params } from '../models/spec';

export interface LoraConfig {
	rank: number;
	alpha: number;
	/** Dropout on the adapter's input, in training only. */
	dropout: number;
	targetModules: string[] | 'all-linear';
}

/** A LoRA run's adapter: its settings, the layers it adapts, and their weight layout. */
export interface LoraSetup extends LoraConfig {
	/** Full module names, e.g. `model.layers.0.self_attn.q_proj`. */
	modules: string[];
	/** GPT-2's Conv1D weights are [in, out] (peft's `fan_in_fan_out=True`). */
	fanInFanOut: boolean;
}

export interface HostParam {
	shape: number[];
	data: Float32Array;
}

export const loraScale = (cfg: Pick<LoraConfig, 'rank' | 'alpha'>) => cfg.alpha / cfg.rank;

export function loraConfigOf(m: LoraMethod): LoraConfig {
	return { rank: m.rank, alpha: m.alpha, dropout: m.dropout, targetModules: parseTargets(m.targetModules) };
}

/** The linear layers of the blocks a pattern selects ('q_proj,v_proj', a list, or 'all-linear'). */
export function targetModulesFor(spec: ArchSpec, config: HfConfigBase, pattern: string | readonly string[]): string[] {
	return selectTargets(spec.paramShapes(config), typeof pattern === 'string' ? parseTargets(pattern) : pattern);
}

export function loraSetup(spec: ArchSpec, config: HfConfigBase, m: LoraMethod): LoraSetup {
	const cfg = loraConfigOf(m);
	return { ...cfg, modules: targetModulesFor(spec, config, cfg.targetModules), fanInFanOut: fanInFanOutFor(spec.modelType) };
}

/** The names of an adapter's tensors, A then B for each module. */
export function adapterNames(modules: readonly string[]): string[] {
	return modules.flatMap((m) => [loraAName(m), loraBName(m)]);
}

/**
 * Fresh adapters for `modules`, as peft's `reset_lora_parameters` makes them: A from
 * kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in), B zeros. Each A draws from its own stream
 * seeded by `seed` and the module's name.
 */
export function initAdapters(spec: ArchSpec, config: HfConfigBase, modules: readonly string[], rank: number, seed: number): Record<string, HostParam> {
	const shapes = adapterShapes(spec.paramShapes(config), modules, rank, fanInFanOutFor(spec.modelType));
	const out: Record<string, HostParam> = {};
	for (const m of modules) {
		const [a, b] = [shapes[loraAName(m)], shapes[loraBName(m)]];
		const bound = 1 / Math.sqrt(a[1]);
		const rng = new Prng((seed ^ hashSeed(m)) >>> 0);
		out[loraAName(m)] = { shape: a, data: Float32Array.from({ length: a[0] * a[1] }, () => (2 * rng.next() - 1) * bound) };
		out[loraBName(m)] = { shape: b, data: new Float32Array(b[0] * b[1]) };
	}
	return out;
}

/** The spec with every forward pass applying the adapters in its params (peft's `PeftModel`). */
export function withLora<C extends HfConfigBase>(spec: ArchSpec<C>, cfg: Pick<LoraConfig, 'rank' | 'alpha' | 'dropout'>): ArchSpec<C> {
	const lora = { scale: loraScale(cfg), dropout: cfg.dropout };
	const opts = (o: ForwardOptions = {}): ForwardOptions => ({ ...o, lora });
	return { ...spec, hidden: (p, c, b, o) => spec.hidden(p, c, b, opts(o)), forward: (p, c, b, o) => spec.forward(p, c, b, opts(o)) };
}

/**
 * W + scale·B·A for every module `adapters` holds an A for (transposed for a [in, out] Conv1D
 * weight), keyed `<module>.weight`: new tensors the caller owns. Spread them over the base params
 * to get a plain model that computes what the adapted one does.
 */
export function mergeAdapters(params: Params, adapters: Params, cfg: Pick<LoraConfig, 'rank' | 'alpha'>, fanInFanOut = false): Params {
	const scale = loraScale(cfg);
	const out: Params = {};
	for (const name of Object.keys(adapters).filter((n) => n.endsWith('.lora_A.weight'))) {
		const m = adapterModule(name);
		const w = params[m + '.weight'];
		if (!w) throw new Error(`Cannot merge the adapter of '${m}': the params have no '${m}.weight'.`);
		out[m + '.weight'] = tf.tidy(() => {
			const delta = tf.matMul(adapters[loraBName(m)] as tf.Tensor2D, adapters[name] as tf.Tensor2D).mul(scale); // (out, in)
			return w.add(fanInFanOut ? delta.transpose() : delta);
		});
	}
	return out;
}

export interface PeftExportInput {
	spec: ArchSpec;
	/** The model's config with its head (task, labels) as the session has it. */
	config: HfConfigBase;
	lora: LoraSetup;
	/** The adapter and, for a classifier, its head, by parameter name (a session's `adapterTensors()`). */
	tensors: { name: string; shape: number[]; data: Float32Array }[];
	/** Hub id and commit of the base model. */
	baseModel: string;
	revision: string;
	/** Storage dtype (default F32). */
	dtype?: WriteDtype;
	/** The tokenizer's pad id: a decoder classifier's base needs it to batch (written to head_config.json). */
	padTokenId?: number;
}

export interface PeftExportFiles {
	'adapter_config.json': string;
	'adapter_model.safetensors': Uint8Array;
	'README.md': string;
	/** A classifier's head settings for the base config (headConfig). */
	'head_config.json'?: string;
}

/**
 * The adapter as peft's `save_pretrained` writes it (v0.10): tensors named
 * `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`, a classifier's head under its own
 * name (`base_model.model.score.weight`), and adapter_config.json, so that
 * `PeftModel.from_pretrained(base, folder)` loads it with nothing missing.
 */
export function exportPeftAdapter(input: PeftExportInput): PeftExportFiles {
	const { spec, config, lora } = input;
	const shapes = spec.paramShapes(config);
	const classify = config.task === 'sequence-classification';
	const byName = new Map(input.tensors.map((t) => [t.name, t]));
	const expected = [...adapterNames(lora.modules), ...(classify ? headParams(shapes).filter((n) => !isLmHead(n)) : [])];
	const lacking = expected.filter((n) => !byName.has(n));
	if (lacking.length) throw new Error(`Cannot export the adapter: '${lacking[0]}' is missing${lacking.length > 1 ? ` (and ${lacking.length - 1} more)` : ''}.`);
	const extra = [...byName.keys()].filter((n) => !expected.includes(n));
	if (extra.length) throw new Error(`Cannot export the adapter: '${extra[0]}' is neither an adapter nor the head.`);
	const modulesToSave = classify ? [...new Set(expected.filter((n) => !isAdapterName(n)).map((n) => (n.startsWith('bert.pooler.') ? 'pooler' : n.split('.')[0])))] : null;
	const adapterConfig = {
		alpha_pattern: {},
		auto_mapping: null,
		base_model_name_or_path: input.baseModel,
		bias: 'none',
		fan_in_fan_out: lora.fanInFanOut,
		inference_mode: true,
		init_lora_weights: true,
		layer_replication: null,
		layers_pattern: null,
		layers_to_transform: null,
		loftq_config: {},
		lora_alpha: lora.alpha,
		lora_dropout: lora.dropout,
		megatron_config: null,
		megatron_core: 'megatron.core',
		modules_to_save: modulesToSave,
		peft_type: 'LORA',
		r: lora.rank,
		rank_pattern: {},
		revision: input.revision,
		target_modules: peftTargetModules(shapes, lora),
		task_type: classify ? 'SEQ_CLS' : 'CAUSAL_LM',
		use_dora: false,
		use_rslora: false
	};
	const bytes = writeSafetensors(
		expected.map((n) => ({ name: `base_model.model.${n}`, shape: byName.get(n)!.shape, data: byName.get(n)!.data, dtype: input.dtype })),
		{ format: 'pt' }
	);
	const files: PeftExportFiles = {
		'adapter_config.json': JSON.stringify(adapterConfig, null, 2) + '\n',
		'adapter_model.safetensors': new Uint8Array(bytes),
		'README.md': peftReadme(input, classify)
	};
	if (classify) files['head_config.json'] = JSON.stringify(headConfig(input), null, 2) + '\n';
	return files;
}

/**
 * What the base config needs to take the trained head: the class count and names (else a
 * [2, d] head meets the saved [n, d] one) and, for a decoder, the pad id (else transformers
 * refuses batches of more than one row). Passed as keyword arguments to `from_pretrained`.
 */
export function headConfig(input: Pick<PeftExportInput, 'config' | 'padTokenId'>): Record<string, unknown> {
	const { config } = input;
	const out: Record<string, unknown> = {
		num_labels: config.numLabels,
		id2label: Object.fromEntries(config.labelNames.map((l, i) => [String(i), l])),
		label2id: Object.fromEntries(config.labelNames.map((l, i) => [l, i]))
	};
	const pad = input.padTokenId ?? config.padTokenId;
	if (pad !== null && pad !== undefined) out.pad_token_id = pad;
	if (config.problemType) out.problem_type = config.problemType;
	return out;
}

/**
 * target_modules as peft will match them against the whole model: the short names the user gave
 * (or the adapted layers' short names for 'all-linear') when they select exactly the adapted
 * layers among all its linear layers; otherwise the full module names. BERT's 'dense', for one,
 * would also catch the pooler.
 */
export function peftTargetModules(shapes: Shapes, lora: LoraSetup): string[] {
	const short = lora.targetModules === 'all-linear' ? [...new Set(lora.modules.map((m) => m.split('.').pop()!))] : lora.targetModules;
	const all = Object.entries(shapes)
		.filter(([n, s]) => s.length === 2 && n.endsWith('.weight'))
		.map(([n]) => n.slice(0, -'.weight'.length));
	const caught = all.filter((m) => short.some((t) => m === t || m.endsWith('.' + t)));
	const exact = caught.length === lora.modules.length && caught.every((m) => lora.modules.includes(m));
	return exact ? [...short].sort() : [...lora.modules];
}

function peftReadme(input: PeftExportInput, classify: boolean): string {
	const { config } = input;
	const head = classify ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM';
	const h = classify ? headConfig(input) : {};
	const py = (v: unknown) => JSON.stringify(v).replace(/\bnull\b/g, 'None').replace(/\btrue\b/g, 'True').replace(/\bfalse\b/g, 'False');
	const labels = classify
		? `,\n    num_labels=${config.numLabels},\n    id2label=${py(Object.fromEntries(config.labelNames.map((l, i) => [i, l]))).replace(/"(\d+)":/g, '$1:')},\n    label2id=${py(h.label2id)},` +
			(h.pad_token_id !== undefined ? `\n    pad_token_id=${h.pad_token_id},` : '') +
			(h.problem_type ? `\n    problem_type=${py(h.problem_type)},` : '') +
			'\n'
		: '';
	return (
		`# LoRA adapter for ${input.baseModel}\n\n` +
		`Trained in Whetstone: rank ${input.lora.rank}, alpha ${input.lora.alpha}, on ${input.lora.modules.length} layers (${linearSummary(input)}), base revision ${input.revision}.\n\n` +
		'```python\nfrom peft import PeftModel\n' +
		`from transformers import ${head}\n` +
		`base = ${head}.from_pretrained("${input.baseModel}", revision="${input.revision}"${labels})\n` +
		'model = PeftModel.from_pretrained(base, "./this-folder")\n' +
		'model = model.merge_and_unload()  # optional: a plain transformers model\n```\n' +
		(classify ? '\nThe same head settings are in `head_config.json`: `' + head + '.from_pretrained(base_id, **json.load(open("head_config.json")))`.\n' : '')
	);
}

function linearSummary(input: PeftExportInput): string {
	const all = linearModules(input.spec.paramShapes(input.config)).length;
	return input.lora.modules.length === all ? 'every linear layer of the blocks' : [...new Set(input.lora.modules.map((m) => m.split('.').pop()))].join(', ');
}

