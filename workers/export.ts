/**
 * A fine-tuned pretrained run as files a person takes away: the whole model as a Hugging Face
 * folder (config.json, model.safetensors with a LoRA adapter merged in, generation config, the
 * base model's tokenizer files), or a LoRA adapter alone in PEFT's format. Zipped here in the
 * worker with fflate and returned as a Blob, which postMessage passes by reference.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { exportHfModel } from '../src/lib/engine/io/export';
import type { PretrainedSession } from '../src/lib/engine/pretrained';
import { exportPeftAdapter } from '../src/lib/engine/train/lora';
import type { ModelConfig, PretrainedConfig } from '../src/lib/shared/config';
import { exportScratchModel, scratchTokenizerFiles } from '../src/lib/engine/io/scratch-export';
import { UserError } from '../src/lib/shared/errors';
import { getModelFile } from '../src/lib/storage';
import { modelCard, type ModelCardInput } from '../src/lib/export/model-card';
import { recipeFiles, type RecipeInput } from '../src/lib/export/recipe';
import { countMethod, fanInFanOutFor, hfParamShapes } from '../src/lib/shared/method';
import { estimateMethodBytes } from '../src/lib/shared/memory';

/** What the model card says about the run: the run itself, its dataset version, the project's baselines. */
export type CardContext = Omit<ModelCardInput, 'kind' | 'usage' | 'step'>;

export interface ExportedZip {
	blob: Blob;
	fileName: string;
	warnings: string[];
}

// The fast tokenizer and every slow tokenizer's files (BERT's vocab.txt, GPT-2's vocab.json + merges.txt, SentencePiece's tokenizer.model).
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'vocab.txt', 'vocab.json', 'merges.txt', 'tokenizer.model', 'added_tokens.json'];

async function zip(p: PretrainedConfig, files: Record<string, Uint8Array | string>, name: string, warnings: string[]): Promise<ExportedZip> {
	const ref = { repo: p.repo, revision: p.revision };
	const all: Record<string, Uint8Array> = {};
	for (const [k, v] of Object.entries(files)) all[k] = typeof v === 'string' ? strToU8(v) : v;
	for (const f of TOKENIZER_FILES) {
		const bytes = await getModelFile(ref, f);
		if (bytes) all[f] = new Uint8Array(bytes);
	}
	// safetensors does not compress; storing it avoids minutes of deflate on a large model.
	const zipped = zipSync(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, [v, { level: k.endsWith('.safetensors') ? 0 : 6 }]])) as Zippable);
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
