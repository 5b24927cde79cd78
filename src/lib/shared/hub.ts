/**
 * What the studio knows about a model on the Hugging Face Hub, as plain data shared by the data
 * worker (which downloads), the engine (which loads) and the page (which shows it). The Hub's URL
 * layout: `{endpoint}/{repo}/resolve/{revision}/{file}` for files and
 * `{endpoint}/api/models/{repo}/revision/{revision}` for the commit hash and file list.
 */

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Where to download from, and the user's access token (kept only in this browser). */
export interface HubSettings {
	/** No trailing slash. The tests point it at a local server that serves fixtures in the Hub's layout. */
	endpoint: string;
	token?: string;
}

export interface HubFile {
	file: string;
	/** Bytes, when the Hub listed it. */
	size?: number;
}

/** What a model costs in memory (bytes, float32 on the device), estimated before downloading. */
export interface MemoryEstimate {
	/** Weights only (inference). */
	weights: number;
	/** Weights, gradients and two Adam moments plus activations for one batch. */
	fullFineTune: number;
	/** Frozen weights plus a rank-8 adapter on the attention projections, plus activations. */
	lora: number;
	/** The largest single tensor in float32; tensors above the adapter's max storage binding must be split. */
	largestTensor: { name: string; bytes: number };
}

/** A model looked at before downloading it: config, files and size from the safetensors headers. */
export interface ModelInspection {
	repo: string;
	/** What the user asked for ('main', a tag, a branch or a hash). */
	requestedRevision: string;
	/** The commit hash it resolved to; recorded with every run. */
	revision: string;
	modelType: string;
	/** Whether an architecture file handles this model_type. */
	supported: boolean;
	config: Record<string, unknown>;
	files: HubFile[];
	/** The safetensors files to download (one, or the shards of model.safetensors.index.json). */
	weightFiles: string[];
	/** Bytes the download will fetch (weights plus tokenizer and config files). */
	downloadBytes: number;
	/** Parameter count, from the safetensors headers (a tied head is counted once). */
	params: number;
	/** Tensors per stored dtype, e.g. { BF16: 272 }. */
	dtypes: Record<string, number>;
	hasTokenizer: boolean;
	hasChatTemplate: boolean;
	memory: MemoryEstimate;
	/** Every file is already in the browser's model cache (a load works offline). */
	cached: boolean;
}

/** Progress of a download, reported through a comlink proxy callback. */
export interface DownloadProgress {
	file: string;
	/** Bytes of all files so far, and in all. */
	loaded: number;
	total: number;
	filesDone: number;
	filesTotal: number;
	bytesPerSec: number;
	etaSec: number;
	/** The file came from the cache, not the network. */
	fromCache: boolean;
}

/** The files of a downloaded model as the engine and the data worker read them from the cache. */
export interface ModelRef {
	repo: string;
	revision: string;
}

/** A short, curated list for the model picker; anything else can be typed as a Hub id. */
export interface CuratedModel {
	repo: string;
	/** What it is good for, in a few words. */
	note: string;
	/** Approximate parameter count, for the list before the headers are read. */
	params: number;
	modelType: string;
}

/**
 * Chosen for having safetensors weights and a tokenizer.json on their main branch (the loader reads
 * nothing else); checked from what we know of the Hub, not live: the picker's look-up says so
 * before any download if one has changed.
 */
export const CURATED_MODELS: CuratedModel[] = [
	{ repo: 'sentence-transformers/paraphrase-MiniLM-L3-v2', note: 'MiniLM encoder, 3 layers: fast text classification', params: 17.4e6, modelType: 'bert' },
	{ repo: 'sentence-transformers/all-MiniLM-L6-v2', note: 'MiniLM sentence encoder: strong classifier base', params: 22.7e6, modelType: 'bert' },
	{ repo: 'BAAI/bge-small-en-v1.5', note: 'BGE small encoder, 12 layers', params: 33.4e6, modelType: 'bert' },
	{ repo: 'google-bert/bert-base-uncased', note: 'BERT base (110M)', params: 109.5e6, modelType: 'bert' },
	{ repo: 'distilbert/distilbert-base-uncased', note: "DistilBERT: 6 layers, the HF classification tutorial's model", params: 66.4e6, modelType: 'distilbert' },
	{ repo: 'FacebookAI/roberta-base', note: 'RoBERTa base: a stronger encoder for classification', params: 124.6e6, modelType: 'roberta' },
	{ repo: 'EleutherAI/pythia-70m', note: 'Pythia (GPT-NeoX) 70M: tiny causal LM, every training checkpoint public', params: 70.4e6, modelType: 'gpt_neox' },
	{ repo: 'EleutherAI/pythia-160m', note: 'Pythia (GPT-NeoX) 160M', params: 162.3e6, modelType: 'gpt_neox' },
	{ repo: 'distilbert/distilgpt2', note: 'DistilGPT-2: small causal LM', params: 81.9e6, modelType: 'gpt2' },
	{ repo: 'openai-community/gpt2', note: 'GPT-2 small (124M)', params: 124.4e6, modelType: 'gpt2' },
	{ repo: 'HuggingFaceTB/SmolLM2-135M', note: 'SmolLM2 base: Llama-style, 135M', params: 134.5e6, modelType: 'llama' },
	{ repo: 'HuggingFaceTB/SmolLM2-135M-Instruct', note: 'SmolLM2 instruct, with a chat template', params: 134.5e6, modelType: 'llama' },
	{ repo: 'HuggingFaceTB/SmolLM2-360M-Instruct', note: 'SmolLM2 instruct, 360M', params: 361.8e6, modelType: 'llama' },
	{ repo: 'Qwen/Qwen2.5-0.5B-Instruct', note: 'Qwen2.5 instruct, 0.5B: needs a real GPU', params: 494e6, modelType: 'qwen2' }
];
