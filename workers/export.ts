/**
 * A fine-tuned pretrained run as files a person takes away: the whole model as a Hugging Face
 * folder (config.json, model.safetensors with a LoRA adapter merged in, generation config, the
 * base model's tokenizer files), or a LoRA adapter alone in PEFT's format. Zipped here in the
 * worker with fflate and returned as a Blob, which postMessage passes by reference.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { exportConfig, exportHfModel } from '../src/lib/engine/io/export';
import type { PretrainedSession } from '../src/lib/engine/pretrained';
import type { HostTensor } from '../src/lib/engine/tensors';
import { exportPeftAdapter } from '../src/lib/engine/train/lora';
import type { ModelConfig, PretrainedConfig } from '../src/lib/shared/config';
import { exportScratchModel, scratchHfConfig, scratchTokenizerFiles } from '../src/lib/engine/io/scratch-export';
import { UserError } from '../src/lib/shared/errors';
import { getModelFile } from '../src/lib/storage';
import { modelCard, type ModelCardInput } from '../src/lib/export/model-card';
import { recipeFiles, type RecipeInput } from '../src/lib/export/recipe';
import { countMethod, fanInFanOutFor, hfParamShapes } from '../src/lib/shared/method';
import { estimateMethodBytes } from '../src/lib/shared/memory';
import { exportOnnx, exportScratchOnnx, onnxUsage } from '../src/lib/export/onnx';
import { referenceLogits } from '../src/lib/engine/io/onnx-reference';
import type { ClassifierSession } from '../src/lib/engine/classifier';
import { forward as scratchForward } from '../src/lib/engine/models/transformer';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import { ggufBundle } from '../src/lib/export/gguf-model';
import type { GgmlType } from '../src/lib/export/gguf';
import { bpeTokenizerConfig } from '../src/lib/data/bpe';
import { servingFiles } from '../src/lib/export/serving';

/** What the model card says about the run: the run itself, its dataset version, the project's baselines. */
export type CardContext = Omit<ModelCardInput, 'kind' | 'usage' | 'step'>;

export interface ExportedZip {
	blob: Blob;
	fileName: string;
	warnings: string[];
}

// The fast tokenizer and every slow tokenizer's files (BERT's vocab.txt, GPT-2's vocab.json + merges.txt, SentencePiece's tokenizer.model).
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'vocab.txt', 'vocab.json', 'merges.txt', 'tokenizer.model', 'added_tokens.json'];

async function zip(p: PretrainedConfig | null, files: Record<string, Uint8Array | string>, name: string, warnings: string[]): Promise<ExportedZip> {
	const all: Record<string, Uint8Array> = {};
	for (const [k, v] of Object.entries(files)) all[k] = typeof v === 'string' ? strToU8(v) : v;
	for (const f of p ? TOKENIZER_FILES : []) {
		const bytes = await getModelFile({ repo: p!.repo, revision: p!.revision }, f);
		if (bytes) all[f] = new Uint8Array(bytes);
	}
	// safetensors does not compress; storing it avoids minutes of deflate on a large model.
	const zipped = zipSync(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, [v, { level: /\.(safetensors|onnx)$/.test(k) ? 0 : 6 }]])) as Zippable);
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: name.replace(/[^\w.-]+/g, '-'), warnings };
}

export async function modelZip(card: CardContext, p: PretrainedConfig, s: PretrainedSession, step: number, labels: string[], padTokenId?: number): Promise<ExportedZip> {
	const generationConfig = await getModelFile({ repo: p.repo, revision: p.revision }, 'generation_config.json');
	// Every weight, with a LoRA adapter merged in: the export loads as a plain transformers model.
	const out = await exportHfModel(s.spec, s.hf, Object.fromEntries((await s.weights()).map((t) => [t.name, t])), {
		labels: p.objective === 'classification' ? labels : undefined,
		padTokenId,
		generationConfig: generationConfig ? JSON.parse(new TextDecoder().decode(generationConfig)) : undefined
	});
	const auto = p.objective === 'classification' ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM';
	const files: Record<string, Uint8Array | string> = { ...out.files };
	const usage = `\`\`\`python\nfrom transformers import ${auto}, AutoTokenizer\nmodel = ${auto}.from_pretrained("./this-folder")\ntokenizer = AutoTokenizer.from_pretrained("./this-folder")\n\`\`\``;
	files['README.md'] = modelCard({ ...card, kind: 'model', step, usage });
	return zip(p, files, `${p.repo.split('/').pop()}-${p.objective}-step${step}.zip`, out.warnings);
}

export async function adapterZip(card: CardContext, p: PretrainedConfig, s: PretrainedSession, step: number, padTokenId?: number): Promise<ExportedZip> {
	if (!s.lora) throw new UserError('invalid-config', 'This run fine-tuned the weights themselves, not a LoRA adapter; export the model instead.');
	const out = await exportPeftAdapter({ spec: s.spec, config: s.hf, lora: s.lora, tensors: await s.adapterTensors(), baseModel: p.repo, revision: p.revision, padTokenId });
	const files: Record<string, Uint8Array | string> = { ...out };
	// lora.ts's README (with the head's num_labels, labels and pad id) is the card's usage section, kept whole.
	files['README.md'] = modelCard({ ...card, kind: 'adapter', step, usage: out['README.md'] });
	return zip(p, files, `${p.repo.split('/').pop()}-lora-step${step}.zip`, []);
}

/**
 * A run as a recipe bundle (src/lib/export/recipe.ts): its dataset version as JSONL, Axolotl and
 * LLaMA-Factory configs, a transformers + peft train.py, a README and the reproducibility JSON.
 */
export function recipeZip(input: RecipeInput): ExportedZip {
	const files = recipeFiles(input);
	const zipped = zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));
	const base = input.run.config.pretrained?.repo.split('/').pop() ?? 'run';
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: `${base}-${input.run.name}-recipe.zip`.replace(/[^\w.-]+/g, '-'), warnings: [] };
}

/** The studio's float32 training memory estimate for a pretrained run (shared/memory.ts). */
export function recipeMemory(p: PretrainedConfig, batchSize: number): number | undefined {
	const shapes = hfParamShapes(p.hfConfig, p.objective, p.numClasses);
	if (!Object.keys(shapes).length) return undefined;
	return estimateMethodBytes(countMethod(shapes, p.method ?? { kind: 'full' }, fanInFanOutFor(p.modelType)), p.hfConfig, { batchSize, seqLen: p.contextLength });
}

/**
 * A from-scratch run as a GPT-2 folder (src/lib/engine/io/scratch-export.ts): config.json,
 * model.safetensors, the project's BPE as tokenizer.json, and the model card.
 */
export async function scratchZip(
	card: CardContext,
	model: ModelConfig,
	step: number,
	weights: { name: string; shape: number[]; data: Float32Array }[],
	labels: string[],
	tokenizerJson: string,
	special: { padId?: number; eosId?: number; bosId?: number }
): Promise<ExportedZip> {
	const out = await exportScratchModel(model, Object.fromEntries(weights.map((t) => [t.name, { shape: t.shape, data: t.data }])), {
		labels: model.head === 'classification' ? labels : undefined,
		padTokenId: special.padId,
		eosTokenId: special.eosId,
		bosTokenId: special.bosId
	});
	const classify = model.head === 'classification';
	const auto = classify ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM';
	const usage =
		`\`\`\`python\nfrom transformers import ${auto}, AutoTokenizer\nmodel = ${auto}.from_pretrained("./this-folder")\ntokenizer = AutoTokenizer.from_pretrained("./this-folder")\n\`\`\`` +
		(out.warnings.length ? `\n\nHow transformers differs from the studio for this model:\n\n${out.warnings.map((w) => `- ${w}`).join('\n')}` : '');
	const files: Record<string, Uint8Array> = {};
	for (const [k, v] of Object.entries({ ...out.files, ...scratchTokenizerFiles(tokenizerJson, model.contextLength), 'README.md': modelCard({ ...card, kind: 'model', step, usage }) }))
		if (v !== undefined) files[k] = typeof v === 'string' ? strToU8(v) : v;
	const zipped = zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: k.endsWith('.safetensors') ? 0 : 6 }]])) as Zippable);
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: `${card.run.name}-gpt2-step${step}.zip`.replace(/[^\w.-]+/g, '-'), warnings: out.warnings };
}

/** Two texts, the second shorter (a padded row), whose logits the studio writes beside an ONNX export. */
const ONNX_SAMPLES = ['The quick brown fox jumps over the lazy dog.', 'Thanks for the help!'];

/**
 * A run as a transformers.js folder (src/lib/export/onnx): onnx/model.onnx and model_fp16.onnx,
 * config.json with transformers.js_config, the tokenizer (the base model's, or the project's BPE),
 * the model card, and `reference_logits.json`: the studio's own forward on the sample texts, as the
 * studio tokenizes them (special tokens for a pretrained model, the [CLS] prefix for first-token
 * pooling), one unpadded row for a language model.
 */
export async function onnxZip(
	card: CardContext,
	step: number,
	tokenizer: TextTokenizer,
	model: { pretrained: PretrainedConfig; session: PretrainedSession; labels: string[] } | { scratch: ModelConfig; session: ClassifierSession; labels: string[]; tokenizerJson: string }
): Promise<ExportedZip> {
	const host = (ts: HostTensor[]) => Object.fromEntries(ts.map((t) => [t.name, { shape: t.shape, data: t.data }]));
	const asCard = (usage: string) => modelCard({ ...card, kind: 'model', step, usage }).replace(/^---\nlibrary_name: transformers\n/, '---\nlibrary_name: transformers.js\n');
	const p = 'pretrained' in model ? model.pretrained : undefined;
	const m = 'scratch' in model ? model.scratch : undefined;
	const classify = p ? p.objective === 'classification' : m!.head === 'classification';
	const context = p?.contextLength ?? m!.contextLength;
	const cls = m?.pooling === 'cls' && classify ? tokenizer.clsId : undefined;
	const rows = (classify ? ONNX_SAMPLES : ONNX_SAMPLES.slice(0, 1)).map((t) => {
		const ids = tokenizer.encode(t, { addSpecialTokens: !!p, maxLength: context });
		return (cls === undefined ? ids : [cls, ...ids]).slice(0, context);
	});
	if ('scratch' in model) {
		const s = model.session;
		const reference = await referenceLogits((b) => scratchForward(Object.fromEntries(s.params), model.scratch, b), rows, tokenizer.padId);
		const special = { labels: classify ? model.labels : undefined, padTokenId: tokenizer.padId, eosTokenId: tokenizer.eosId, bosTokenId: tokenizer.bosId, reference };
		const out = exportScratchOnnx(model.scratch, host(await s.weights()), special);
		const files = { ...out.files, ...scratchTokenizerFiles(model.tokenizerJson, context), 'README.md': asCard(onnxUsage(classify ? 'decoder-classifier' : 'causal-lm')) };
		return zip(null, files, `${card.run.name}-gpt2-step${step}-onnx.zip`, out.warnings);
	}
	const s = model.session;
	const reference = await referenceLogits((b) => s.spec.forward(s.modelParams, s.hf, b), rows, tokenizer.padId);
	const gen = await getModelFile({ repo: p!.repo, revision: p!.revision }, 'generation_config.json');
	const out = exportOnnx(s.spec, s.hf, host(await s.weights()), {
		labels: classify ? model.labels : undefined,
		padTokenId: tokenizer.padId,
		generationConfig: gen ? JSON.parse(new TextDecoder().decode(gen)) : undefined,
		reference
	});
	const usage = onnxUsage(!classify ? 'causal-lm' : s.spec.modelType === 'bert' ? 'bert-classifier' : 'decoder-classifier');
	return zip(p!, { ...out.files, 'README.md': asCard(usage) }, `${p!.repo.split('/').pop()}-${p!.objective}-step${step}-onnx.zip`, out.warnings);
}

/**
 * A causal LM run as GGUF for llama.cpp / Ollama / LM Studio (src/lib/export/gguf-model.ts): the
 * .gguf (a LoRA adapter merged in; the studio's own model as GPT-2), an Ollama Modelfile, the card.
 */
export async function ggufZip(
	card: CardContext,
	step: number,
	type: GgmlType,
	model: { pretrained: PretrainedConfig; session: PretrainedSession; tokenizerJson: string; tokenizerConfig?: Record<string, unknown>; chatTemplate?: string } | { scratch: ModelConfig; session: ClassifierSession; tokenizerJson: string; tokenizer: TextTokenizer }
): Promise<ExportedZip> {
	const weights = Object.fromEntries((await model.session.weights()).map((t) => [t.name, { shape: t.shape, data: t.data }]));
	const m =
		'pretrained' in model
			? { hfConfig: exportConfig(model.session.spec, model.session.hf), context: model.pretrained.contextLength, name: `${model.pretrained.repo.split('/').pop()}-${card.run.name}`, tokenizerConfig: model.tokenizerConfig, chatTemplate: model.chatTemplate }
			: { hfConfig: scratchHfConfig(model.scratch, { eosTokenId: model.tokenizer.eosId, bosTokenId: model.tokenizer.bosId, padTokenId: model.tokenizer.padId }), context: model.scratch.contextLength, name: `${card.run.name}-gpt2`, tokenizerConfig: bpeTokenizerConfig(), chatTemplate: undefined };
	const { files, warnings } = ggufBundle(
		{ hfConfig: m.hfConfig, weights, tokenizer: { tokenizerJson: model.tokenizerJson, tokenizerConfig: m.tokenizerConfig, chatTemplate: m.chatTemplate }, type, name: m.name },
		m.context,
		(usage) => modelCard({ ...card, kind: 'model', step, usage })
	);
	const all = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [typeof v === 'string' ? strToU8(v) : v, { level: k.endsWith('.gguf') ? 0 : 6 }]]));
	const zipped = zipSync(all as Zippable);
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: `${m.name}-step${step}-${type}-gguf.zip`.replace(/[^\w.-]+/g, '-'), warnings };
}

/** The serving recipe (src/lib/export/serving.ts): FastAPI app with /metrics, requirements, Dockerfile, vLLM command, README. */
export function servingZip(input: Parameters<typeof servingFiles>[0]): ExportedZip {
	const zipped = zipSync(Object.fromEntries(Object.entries(servingFiles(input)).map(([k, v]) => [k, strToU8(v)])));
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: `${input.run.name}-serving.zip`.replace(/[^\w.-]+/g, '-'), warnings: [] };
}
