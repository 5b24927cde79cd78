/**
 * Which weights a fine-tuning run trains, as pure rules over parameter names and shapes, so the
 * page counts trainable parameters with exactly the rules the engine applies:
 *
 *   full    every parameter trains
 *   lora    LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models") as peft
 *           v0.10's `LoraConfig` and `lora.Linear` define it: the base stays frozen; on the chosen
 *           linear layers  y = W x + b + (alpha / r) · B A dropout(x),  A (r, in) and B (out, r)
 *           trained; a classifier's new head trains in full (peft's `modules_to_save`)
 *   freeze  the embeddings and the first N blocks stay as loaded; or only the head trains
 *           ('all-but-head', a linear probe)
 *
 * Target modules match as peft matches a list: an entry selects every linear layer of the blocks
 * whose name is the entry or ends with `.entry` ('q_proj', 'self_attn.q_proj'); 'all-linear' is
 * every linear layer of the blocks, never the embeddings, the LM head or the classifier.
 *
 * `hfParamShapes` (arch-shapes.ts) mirrors the architecture files' `paramShapes` from config.json
 * alone (the page does not load tfjs).
 */
import { paramShapesFromConfig } from './arch-shapes';
import type { Objective, PretrainedConfig } from './config';
import { UserError } from './errors';

export type FineTuneMethod = NonNullable<PretrainedConfig['method']>;
export type LoraMethod = Extract<FineTuneMethod, { kind: 'lora' }>;
export type FreezeMethod = Extract<FineTuneMethod, { kind: 'freeze' }>;
/** Parameter name -> shape, keyed by the Hugging Face names. */
export type Shapes = Record<string, number[]>;

export const FULL: FineTuneMethod = { kind: 'full' };

/** peft's default targets per model_type (`TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING`). */
export const DEFAULT_LORA_TARGETS: Record<string, string> = {
	gpt2: 'c_attn',
	llama: 'q_proj,v_proj',
	qwen2: 'q_proj,v_proj',
	bert: 'query,value',
	distilbert: 'q_lin,v_lin',
	roberta: 'query,value',
	gpt_neox: 'query_key_value',
	mistral: 'q_proj,v_proj',
	gemma: 'q_proj,v_proj',
	phi3: 'qkv_proj'
};

/** r = 8 with alpha = 2r and a little dropout: the common recipe (peft's own defaults are alpha 8, dropout 0). */
export function defaultLora(modelType: string): LoraMethod {
	return { kind: 'lora', rank: 8, alpha: 16, dropout: 0.05, targetModules: DEFAULT_LORA_TARGETS[modelType] ?? 'all-linear' };
}

const BLOCK = /\.(?:layers|h|layer)\.(\d+)\./;
const EMBEDDING = /embed(?!_out\.)|\.wte\.|\.wpe\./;
const HEAD = /^(?:score|classifier|pre_classifier|lm_head|embed_out)\.|^bert\.pooler\./;
/** An untied LM head (GPT-NeoX calls it `embed_out`): frozen under LoRA, as in peft. */
export const isLmHead = (name: string) => /^(?:lm_head|embed_out)\./.test(name);
const ADAPTER = /\.lora_[AB]\.weight$/;

/** The block (transformer layer) a parameter belongs to, or null outside the blocks. */
export function blockIndex(name: string): number | null {
	const m = BLOCK.exec(name);
	return m ? Number(m[1]) : null;
}

export const loraAName = (module: string) => `${module}.lora_A.weight`;
export const loraBName = (module: string) => `${module}.lora_B.weight`;
export const isAdapterName = (name: string) => ADAPTER.test(name);
/** `model.layers.0.self_attn.q_proj.lora_A.weight` -> `model.layers.0.self_attn.q_proj`. */
export const adapterModule = (name: string) => name.replace(ADAPTER, '');

/** The linear layers of the blocks: every module there with a 2-D weight (norms are 1-D). */
export function linearModules(shapes: Shapes): string[] {
	return Object.entries(shapes)
		.filter(([n, s]) => s.length === 2 && n.endsWith('.weight') && blockIndex(n) !== null)
		.map(([n]) => n.slice(0, -'.weight'.length));
}

/** The head's parameters: a classifier's (`score`, `classifier`, BERT's pooler) or an untied LM head. */
export function headParams(shapes: Shapes): string[] {
	return Object.keys(shapes).filter((n) => HEAD.test(n));
}

/** 'q_proj, v_proj' -> ['q_proj', 'v_proj']; 'all-linear' stays the shorthand. */
export function parseTargets(s: string): string[] | 'all-linear' {
	const list = [...new Set(s.split(/[\s,]+/).filter(Boolean))];
	return list.length === 1 && list[0].toLowerCase() === 'all-linear' ? 'all-linear' : list;
}

const matches = (module: string, target: string) => module === target || module.endsWith('.' + target);

/** The short names of the blocks' linear layers ('q_proj', 'c_attn'), for a hint or an error. */
export function linearNames(shapes: Shapes): string[] {
	return [...new Set(linearModules(shapes).map((m) => m.split('.').pop()!))];
}

/** The block linear layers `targets` selects, in parameter order; a named error when an entry selects none. */
export function selectTargets(shapes: Shapes, targets: readonly string[] | 'all-linear'): string[] {
	const modules = linearModules(shapes);
	if (targets === 'all-linear') return modules;
	if (!targets.length) throw new UserError('invalid-config', `Name the layers LoRA adapts (e.g. ${linearNames(shapes).slice(0, 2).join(',')}) or 'all-linear'.`);
	const unmatched = targets.filter((t) => !modules.some((m) => matches(m, t)));
	if (unmatched.length)
		throw new UserError(
			'invalid-config',
			`LoRA target ${unmatched.map((t) => `'${t}'`).join(', ')} matches no linear layer of this model's blocks. Its linear layers are: ${linearNames(shapes).join(', ')} (or 'all-linear').`
		);
	return modules.filter((m) => targets.some((t) => matches(m, t)));
}

/** A linear layer's (in, out); GPT-2's Conv1D stores its weight [in, out] (peft's fan_in_fan_out). */
export function moduleDims(shapes: Shapes, module: string, fanInFanOut: boolean): { in: number; out: number } {
	const [a, b] = shapes[module + '.weight'];
	return fanInFanOut ? { in: a, out: b } : { in: b, out: a };
}

/** The adapter's tensors and shapes for these modules: A (r, in), B (out, r). */
export function adapterShapes(shapes: Shapes, modules: readonly string[], rank: number, fanInFanOut: boolean): Shapes {
	const out: Shapes = {};
	for (const m of modules) {
		const d = moduleDims(shapes, m, fanInFanOut);
		out[loraAName(m)] = [rank, d.in];
		out[loraBName(m)] = [d.out, rank];
	}
	return out;
}

export interface MethodPlan {
	/** Base parameters the optimizer trains in full (all of them, the upper blocks, or the head). */
	trained: string[];
	/** LoRA: the linear layers that get an adapter; empty for the other methods. */
	adapted: string[];
}

/** What the method's settings get wrong, for the form to show (empty when it is fine). */
export function methodProblems(method: FineTuneMethod, shapes?: Shapes): string[] {
	const out: string[] = [];
	if (method.kind === 'lora') {
		if (!Number.isInteger(method.rank) || method.rank < 1 || method.rank > 1024) out.push('LoRA rank must be a whole number from 1 to 1024.');
		if (!(method.alpha > 0)) out.push('LoRA alpha must be above 0.');
		if (!(method.dropout >= 0 && method.dropout < 1)) out.push('LoRA dropout must be at least 0 and below 1.');
	}
	if (method.kind === 'freeze' && method.layers !== 'all-but-head' && (!Number.isInteger(method.layers) || method.layers < 0))
		out.push('The number of frozen layers must be a whole number, 0 or more.');
	if (shapes && !out.length) {
		try {
			planMethod(shapes, method);
		} catch (e) {
			out.push((e as Error).message);
		}
	}
	return out;
}

/**
 * The parameters a method trains, from the model's parameter shapes (the engine passes
 * `spec.paramShapes(config)`; the page `hfParamShapes`). Throws a named error for settings that
 * select nothing or more layers than the model has.
 */
export function planMethod(shapes: Shapes, method: FineTuneMethod = FULL): MethodPlan {
	const names = Object.keys(shapes);
	const problems = methodProblems(method);
	if (problems.length) throw new UserError('invalid-config', problems[0]);
	if (method.kind === 'full') return { trained: names, adapted: [] };
	if (method.kind === 'lora') {
		// A causal LM's LM head stays frozen, as in peft; a classifier's new head must train.
		const head = headParams(shapes).filter((n) => !isLmHead(n));
		return { trained: head, adapted: selectTargets(shapes, parseTargets(method.targetModules)) };
	}
	if (method.layers === 'all-but-head') {
		const head = headParams(shapes);
		if (!head.length)
			throw new UserError('invalid-config', 'This model ties its LM head to the input embedding, so it has no separate head to train alone. Use LoRA or freeze the first layers instead.');
		return { trained: head, adapted: [] };
	}
	const n = method.layers;
	const layers = 1 + Math.max(-1, ...names.map((x) => blockIndex(x) ?? -1));
	if (n > layers) throw new UserError('invalid-config', `This model has ${layers} layers; it cannot freeze the first ${n}.`);
	// The embeddings sit below the first block: they freeze with it (a tied LM head with them).
	const frozen = (x: string) => (blockIndex(x) ?? Infinity) < n || (n > 0 && blockIndex(x) === null && EMBEDDING.test(x));
	return { trained: names.filter((x) => !frozen(x)), adapted: [] };
}

export interface MethodCounts {
	/** Every parameter, the adapter's included (as peft's `print_trainable_parameters` counts them). */
	total: number;
	trainable: number;
}

const size = (s: number[]) => s.reduce((a, d) => a * d, 1);

/** Trainable and total parameters of a method on a model. */
export function countMethod(shapes: Shapes, method: FineTuneMethod, fanInFanOut: boolean): MethodCounts {
	const plan = planMethod(shapes, method);
	const adapter = method.kind === 'lora' ? Object.values(adapterShapes(shapes, plan.adapted, method.rank, fanInFanOut)).reduce((a, s) => a + size(s), 0) : 0;
	const base = Object.values(shapes).reduce((a, s) => a + size(s), 0);
	return { total: base + adapter, trainable: plan.trained.reduce((a, n) => a + size(shapes[n]), 0) + adapter };
}

/** GPT-2 keeps its Conv1D layout, weights [in, out]. */
export const fanInFanOutFor = (modelType: string) => modelType === 'gpt2';

/** Every parameter's shape for config.json and objective (arch-shapes.ts), as the engine gives them. */
export const hfParamShapes = paramShapesFromConfig;
