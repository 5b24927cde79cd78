/**
 * A trained model as a folder transformers.js (v4) loads with `from_pretrained`: `onnx/model.onnx`
 * (float32) and `onnx/model_fp16.onnx` (float16 weights, picked with `dtype: 'fp16'`) written by
 * this folder's graph builders, and `config.json` with a `transformers.js_config` (the default
 * dtype, no external data), plus `generation_config.json` for a language model. The tokenizer
 * files are the caller's (the base model's, or the project's BPE). The layout and input/output
 * names are those of the Optimum exports on the Hub that transformers.js runs (e.g.
 * Xenova/bert-base-uncased, onnx-community/Qwen2.5-0.5B-Instruct).
 *
 * Covered: BERT sequence classification; GPT-2, Llama and Qwen2 causal LMs with a KV cache, and
 * their sequence classifiers (transformers.js has no *ForSequenceClassification class for these
 * decoders: load them with AutoModel, which runs the graph and returns its logits); the studio's
 * from-scratch model as GPT-2, computing exactly what the studio computes (its attention, pooling
 * and classifier bias), so its logits match the studio's where the safetensors export's do not.
 */
import type { BertConfig } from '../../engine/models/bert';
import type { Gpt2Config } from '../../engine/models/gpt2';
import type { LlamaConfig } from '../../engine/models/llama';
import { resolveConfig } from '../../engine/models/registry';
import type { ArchSpec, HfConfigBase } from '../../engine/models/spec';
import { exportConfig, withPad, type ExportOptions } from '../../engine/io/export';
import { scratchHfConfig, type ScratchExportOptions } from '../../engine/io/scratch-export';
import type { ModelConfig } from '../../shared/config';
import { UserError } from '../../shared/errors';
import { bertGraph } from './bert';
import type { Graph, WeightDtype } from './graph';
import { gpt2Graph } from './gpt2';
import type { HostWeights } from './layers';
import { llamaGraph } from './llama';

export type { HostWeights } from './layers';

/** The studio's logits for a few inputs, written beside the model so any runtime can be checked against them. */
export interface ReferenceLogits {
	input_ids: number[][];
	attention_mask: number[][];
	/** (B, num_labels) for a classifier, (B, T, V) for a language model, nested arrays. */
	logits: number[][] | number[][][];
}

export interface OnnxFiles {
	'onnx/model.onnx': Uint8Array;
	'onnx/model_fp16.onnx': Uint8Array;
	'config.json': string;
	'generation_config.json'?: string;
	'reference_logits.json'?: string;
}

export interface OnnxExport {
	files: OnnxFiles;
	warnings: string[];
}

/** protobuf's 2 GiB message limit: a larger model would need ONNX's external data files. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;

/** The graph of a Hugging Face architecture the studio fine-tunes. */
export function onnxGraph(spec: ArchSpec, config: HfConfigBase, weights: HostWeights, dtype: WeightDtype): Graph {
	switch (spec.modelType) {
		case 'bert':
			return bertGraph(config as BertConfig, weights, dtype);
		case 'gpt2':
			return gpt2Graph(config as Gpt2Config, weights, dtype);
		case 'llama':
		case 'qwen2':
			return llamaGraph(config as LlamaConfig, weights, dtype);
		default:
			throw new UserError('invalid-config', `${spec.modelType} models have no ONNX export yet (BERT, GPT-2, Llama and Qwen2 do); export the Hugging Face folder instead.`);
	}
}

/** Both .onnx files of a graph builder, with the size checked first. */
function encodeBoth(build: (dtype: WeightDtype) => Graph, name: string, weights: HostWeights): Pick<OnnxFiles, 'onnx/model.onnx' | 'onnx/model_fp16.onnx'> {
	const bytes = Object.values(weights).reduce((s, p) => s + 4 * p.data.length, 0);
	if (bytes > MAX_ONNX_BYTES)
		throw new UserError('model-too-large', `This model's float32 weights are ${(bytes / 2 ** 30).toFixed(1)} GiB; one .onnx file holds at most 2 GiB. Export the Hugging Face folder and convert it with Optimum instead.`);
	return { 'onnx/model.onnx': build('fp32').encode(name), 'onnx/model_fp16.onnx': build('fp16').encode(name) };
}

function transformersJsConfig(json: Record<string, unknown>): string {
	json['transformers.js_config'] = { dtype: 'fp32', use_external_data_format: false };
	return JSON.stringify(json, null, 2) + '\n';
}

/** A fine-tuned Hugging Face model (its merged weights, keyed by transformers' names) as a transformers.js folder. */
export function exportOnnx(spec: ArchSpec, config: HfConfigBase, weights: HostWeights, opts: ExportOptions & { reference?: ReferenceLogits } = {}): OnnxExport {
	const warnings: string[] = [];
	const json = exportConfig(spec, config, opts, warnings);
	const files: OnnxFiles = { ...encodeBoth((dtype) => onnxGraph(spec, config, weights, dtype), spec.modelType, weights), 'config.json': transformersJsConfig(json) };
	if (config.task === 'causal-lm') files['generation_config.json'] = JSON.stringify(withPad(opts.generationConfig ?? generationConfig(config), json.pad_token_id), null, 2) + '\n';
	if (opts.reference) files['reference_logits.json'] = JSON.stringify(opts.reference) + '\n';
	return { files, warnings };
}

/** The studio's from-scratch model as a GPT-2 transformers.js folder (tokenizer: scratchTokenizerFiles). */
export function exportScratchOnnx(m: ModelConfig, weights: HostWeights, opts: ScratchExportOptions & { reference?: ReferenceLogits } = {}): OnnxExport {
	const json = scratchHfConfig(m, opts);
	const config = resolveConfig(json).config as Gpt2Config;
	const classify = m.head === 'classification';
	const scratch = classify ? { causal: m.causal, pooling: m.pooling } : undefined;
	const files: OnnxFiles = { ...encodeBoth((dtype) => gpt2Graph(config, weights, dtype, { scratch }), 'gpt2', weights), 'config.json': transformersJsConfig(json) };
	if (!classify) files['generation_config.json'] = JSON.stringify(generationConfig(config), null, 2) + '\n';
	if (opts.reference) files['reference_logits.json'] = JSON.stringify(opts.reference) + '\n';
	const warnings = classify
		? ["transformers.js has no GPT2ForSequenceClassification: load this folder with AutoModel; the graph computes the studio's own classifier (its attention, pooling and bias) and returns its logits."]
		: [];
	return { files, warnings };
}

function generationConfig(c: HfConfigBase): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	if (c.bosTokenId !== null) out.bos_token_id = c.bosTokenId;
	if (c.eosTokenIds.length) out.eos_token_id = c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds;
	if (c.padTokenId !== null) out.pad_token_id = c.padTokenId;
	return out;
}

/**
 * The model card's load code for transformers.js: a pipeline for what transformers.js has a class
 * for (BERT classification, the causal LMs), AutoModel and the raw logits for the decoders'
 * classifiers; the reference check either way.
 */
export function onnxUsage(kind: 'bert-classifier' | 'decoder-classifier' | 'causal-lm'): string {
	const load =
		kind === 'bert-classifier'
			? `const classify = await pipeline('text-classification', 'this-folder');\nconsole.log(await classify('a text to label', { top_k: null }));`
			: kind === 'causal-lm'
				? `const generate = await pipeline('text-generation', 'this-folder');\nconsole.log(await generate('Once upon a time', { max_new_tokens: 20 }));`
				: `// transformers.js has no *ForSequenceClassification class for this decoder: AutoModel runs the graph and returns its logits\nconst tokenizer = await AutoTokenizer.from_pretrained('this-folder');\nconst model = await AutoModel.from_pretrained('this-folder');\nconst { logits } = await model(tokenizer(['a text to label'], { padding: true }));`;
	const imports = kind === 'decoder-classifier' ? 'AutoModel, AutoTokenizer, env' : 'pipeline, env';
	return [
		'```js',
		`import { ${imports} } from '@huggingface/transformers';`,
		"env.allowRemoteModels = false;",
		"env.localModelPath = '/path/to/the/parent/folder/';",
		load,
		'```',
		'',
		"`onnx/model.onnx` is float32; `onnx/model_fp16.onnx` (pass `{ dtype: 'fp16' }`) stores the weights in float16 and computes in float32.",
		"`reference_logits.json` holds the studio's logits for a few token rows: feed its `input_ids` and `attention_mask` to check a runtime gives the same numbers."
	].join('\n');
}
