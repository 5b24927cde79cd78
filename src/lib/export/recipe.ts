/**
 * A recipe bundle: what a team needs to rerun a browser prototype on GPUs with the tools it
 * already has, mapped field by field from the run's config, with the same base model revision,
 * data, seed and hyperparameters. The studio does not reimplement distributed training; it writes
 *
 *   data/*.jsonl           the dataset version's splits, as each target reads them
 *   axolotl.yaml           Axolotl (field names of axolotl v0.6.0, docs/config.qmd)
 *   llamafactory.yaml      LLaMA-Factory (v0.9.1, examples/train_lora/*.yaml, data/README.md)
 *   data/dataset_info.json  LLaMA-Factory's dataset registry entries
 *   train.py               transformers (≥ 4.41, TrainingArguments names) + peft (0.10) Trainer script
 *   README.md              commands, the browser run's metrics, the GPU memory estimate
 *
 * Settings a target has no field for are listed in a comment in that file (`unmapped`), never
 * dropped silently.
 */
import { stringify } from 'yaml';
import { normalizeTrainConfig, type PretrainedConfig, type TrainConfig } from '../shared/config';
import { parseTargets } from '../shared/method';
import { SPLIT_CODE, type DatasetVersion, type Run, type SplitName, type StoredRow } from '../shared/types';

export const TOOL_VERSIONS = { axolotl: '0.6.0', llamafactory: '0.9.1', transformers: '4.46.0', peft: '0.13.0' } as const;

export interface RecipeInput {
	run: Run;
	version: DatasetVersion;
	rows: StoredRow[];
	/** Training memory the studio estimates for this run in float32, in bytes (shared/memory.ts). */
	memoryBytes?: number;
}

/** The JSONL layout each objective is written in. */
export type DataFormat = 'text-label' | 'alpaca' | 'messages' | 'text';

const SPLITS: SplitName[] = ['train', 'validation', 'test'];

/** Which layout the rows take for the tools: classification as text/label (and alpaca for the causal-LM tools), instruction pairs as alpaca or chat messages, domain text as text. */
export function dataFormat(run: Run, rows: StoredRow[]): DataFormat {
	const p = pretrainedOf(run);
	if (p.objective === 'classification') return 'text-label';
	if (p.objective === 'causal-lm') return 'text';
	return rows.some((r) => r.messages?.length) ? 'messages' : 'alpaca';
}

function pretrainedOf(run: Run): PretrainedConfig {
	const p = run.config.pretrained;
	if (!p) throw new Error('A recipe reruns a fine-tune of a Hugging Face model; this run trained the studio\'s own small model.');
	return p;
}

/** One JSONL line per row of a split, in `format` (alpaca for a classifier puts the label name in `output`). */
export function jsonl(rows: StoredRow[], split: SplitName, format: DataFormat | 'alpaca-label', labels: string[]): string {
	const out: string[] = [];
	for (const r of rows) {
		if (r.split !== SPLIT_CODE[split]) continue;
		let obj: Record<string, unknown>;
		if (format === 'text-label') obj = { text: r.text, label: labels[r.label] };
		else if (format === 'alpaca-label') obj = { instruction: r.text, input: '', output: labels[r.label] };
		else if (format === 'text') obj = { text: r.text };
		else if (format === 'messages') obj = { messages: r.messages?.length ? r.messages : [{ role: 'user', content: r.text }, { role: 'assistant', content: r.response ?? '' }] };
		else obj = { instruction: r.text, input: '', output: r.response ?? '' };
		out.push(JSON.stringify(obj));
	}
	return out.length ? out.join('\n') + '\n' : '';
}

const SCHEDULER: Record<TrainConfig['schedule'], string> = { linear: 'linear', cosine: 'cosine', constant: 'constant_with_warmup' };
/** transformers' OptimizerNames; torch's Adam (L2 decay) has no Trainer name: AdamW stands in, listed as unmapped. */
const OPTIM: Record<TrainConfig['optimizer'], string> = { adamw: 'adamw_torch', adam: 'adamw_torch', sgd: 'sgd' };

/** The settings every target shares, in transformers' TrainingArguments names, and what none of them has. */
export function trainingArguments(run: Run): { args: Record<string, unknown>; unmapped: string[] } {
	const t = normalizeTrainConfig(run.config.train);
	const unmapped: string[] = [];
	const args: Record<string, unknown> = {
		per_device_train_batch_size: t.batchSize,
		per_device_eval_batch_size: t.batchSize,
		gradient_accumulation_steps: t.gradAccumSteps,
		num_train_epochs: t.epochs,
		max_steps: t.maxSteps && t.maxSteps > 0 ? t.maxSteps : -1,
		learning_rate: t.learningRate,
		lr_scheduler_type: SCHEDULER[t.schedule],
		warmup_steps: t.warmupSteps,
		warmup_ratio: t.warmupSteps > 0 ? 0 : t.warmupRatio,
		weight_decay: t.weightDecay,
		max_grad_norm: t.gradClip,
		optim: OPTIM[t.optimizer],
		adam_beta1: t.beta1,
		adam_beta2: t.beta2,
		adam_epsilon: t.eps,
		seed: t.seed,
		data_seed: t.seed,
		logging_steps: t.logEvery,
		eval_steps: t.evalEvery,
		save_steps: t.checkpointEvery,
		save_total_limit: (t.keepCheckpoints ?? 3) + 1,
		label_smoothing_factor: t.labelSmoothing
	};
	if (t.activationCheckpointing) args.gradient_checkpointing = true;
	if (t.schedule === 'cosine' && t.minLrRatio > 0) {
		args.lr_scheduler_type = 'cosine_with_min_lr';
		args.lr_scheduler_kwargs = { min_lr_rate: t.minLrRatio };
	}
	if (t.optimizer === 'adam') unmapped.push(`optimizer adam (L2 decay added to the gradient): the Trainer has AdamW only; adamw_torch with weight_decay ${t.weightDecay} stands in`);
	if (t.optimizer === 'sgd') {
		unmapped.push(`sgd momentum ${t.momentum}${t.nesterov ? ' with Nesterov' : ''}: the Trainer's 'sgd' takes no momentum field; pass optim_args="momentum=${t.momentum}${t.nesterov ? ',nesterov=True' : ''}" where the tool forwards it`);
		args.optim_args = `momentum=${t.momentum}${t.nesterov ? ',nesterov=True' : ''}`;
	}
	if (t.tokenDropout > 0) unmapped.push(`tokenDropout ${t.tokenDropout} (word dropout on training batches): no field in any target`);
	unmapped.push(`divergence guard (stop when the loss exceeds ${t.divergenceFactor}× its best for ${t.divergencePatience} logs): no field in any target`);
	if (t.earlyStopping) {
		args.early_stopping_patience = t.earlyStopping.patience;
		args.early_stopping_threshold = t.earlyStopping.minDelta;
		args.metric_for_best_model = t.earlyStopping.metric === 'loss' ? 'eval_loss' : 'eval_accuracy';
	}
	const p = run.config.pretrained;
	if (p?.dropout) unmapped.push(`dropout overrides ${JSON.stringify(p.dropout)}: set them in the model config (attention/residual/classifier dropout fields of config.json)`);
	return { args, unmapped };
}

function comment(lines: string[]): string {
	return lines.map((l) => `# ${l}`).join('\n');
}

function methodOf(p: PretrainedConfig) {
	return p.method ?? { kind: 'full' as const };
}

function decoderLayerClass(modelType: string): string {
	return ({ gpt2: 'GPT2Block', llama: 'LlamaDecoderLayer', qwen2: 'Qwen2DecoderLayer', mistral: 'MistralDecoderLayer', gemma: 'GemmaDecoderLayer', phi3: 'Phi3DecoderLayer', gpt_neox: 'GPTNeoXLayer', bert: 'BertLayer', roberta: 'RobertaLayer', distilbert: 'TransformerBlock' } as Record<string, string>)[modelType] ?? 'LlamaDecoderLayer';
}

/** The Axolotl config as an object (the YAML's mapped fields) plus what it cannot say. */
export function axolotlConfig(run: Run, format: DataFormat): { config: Record<string, unknown>; unmapped: string[] } {
	const p = pretrainedOf(run);
	const t = normalizeTrainConfig(run.config.train);
	const { args, unmapped: shared } = trainingArguments(run);
	const unmapped = [...shared];
	const ds = (split: SplitName) => {
		const path = `data/${split}.${format === 'text-label' ? 'alpaca' : format}.jsonl`;
		if (format === 'text') return { path, ds_type: 'json', type: 'completion', field: 'text' };
		if (format === 'messages') return { path, ds_type: 'json', type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } };
		return { path, ds_type: 'json', type: 'alpaca' };
	};
	const m = methodOf(p);
	const config: Record<string, unknown> = {
		base_model: p.repo,
		revision_of_model: p.revision,
		datasets: [ds('train')],
		test_datasets: [{ ...ds('validation'), split: 'train' }],
		val_set_size: 0,
		dataset_prepared_path: 'last_run_prepared',
		output_dir: './outputs/axolotl',
		sequence_len: p.contextLength,
		sample_packing: p.objective === 'causal-lm',
		train_on_inputs: false,
		micro_batch_size: t.batchSize,
		gradient_accumulation_steps: t.gradAccumSteps,
		...(t.activationCheckpointing ? { gradient_checkpointing: true } : {}),
		num_epochs: t.epochs,
		optimizer: args.optim,
		lr_scheduler: args.lr_scheduler_type === 'constant_with_warmup' ? 'constant_with_warmup' : t.schedule,
		learning_rate: t.learningRate,
		warmup_steps: t.warmupSteps,
		weight_decay: t.weightDecay,
		max_grad_norm: t.gradClip,
		adam_beta1: t.beta1,
		adam_beta2: t.beta2,
		adam_epsilon: t.eps,
		seed: t.seed,
		logging_steps: t.logEvery,
		eval_steps: t.evalEvery,
		save_steps: t.checkpointEvery,
		save_total_limit: args.save_total_limit,
		bf16: 'auto',
		tf32: false
	};
	if (t.maxSteps && t.maxSteps > 0) config.max_steps = t.maxSteps;
	if (t.warmupSteps === 0 && t.warmupRatio > 0) {
		delete config.warmup_steps;
		config.warmup_ratio = t.warmupRatio;
	}
	if (t.schedule === 'cosine' && t.minLrRatio > 0) config.cosine_min_lr_ratio = t.minLrRatio;
	if (t.earlyStopping) config.early_stopping_patience = t.earlyStopping.patience;
	if (t.labelSmoothing > 0) unmapped.push(`labelSmoothing ${t.labelSmoothing}: Axolotl has no label smoothing field`);
	if (args.optim_args) config.optim_args = args.optim_args;
	if (m.kind === 'lora') {
		config.adapter = 'lora';
		config.lora_r = m.rank;
		config.lora_alpha = m.alpha;
		config.lora_dropout = m.dropout;
		const targets = parseTargets(m.targetModules);
		if (targets === 'all-linear') config.lora_target_linear = true;
		else config.lora_target_modules = [...targets];
	} else if (m.kind === 'freeze') {
		const layers = Number(p.hfConfig.num_hidden_layers ?? p.hfConfig.n_layer ?? 0);
		if (m.layers === 'all-but-head') config.unfrozen_parameters = ['^lm_head.weight$', '^score.weight$'];
		else config.unfrozen_parameters = [`^model.layers.(${range(m.layers, layers).join('|')}).*`, '^model.norm.*', '^lm_head.*', '^score.*'];
		unmapped.push(`freezing the first ${m.layers === 'all-but-head' ? 'all' : m.layers} blocks: written as unfrozen_parameters patterns for Llama-style names; check them against the model's parameter names`);
	}
	if (p.objective === 'classification')
		unmapped.push(
			'objective classification: Axolotl trains causal LMs, so the classifier is rerun as instruction tuning (text in, label name out); train.py reruns the classifier itself (AutoModelForSequenceClassification)'
		);
	return { config, unmapped };
}

function range(from: number, to: number): number[] {
	return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

export function axolotlYaml(run: Run, format: DataFormat): string {
	const { config, unmapped } = axolotlConfig(run, format);
	const p = pretrainedOf(run);
	return [
		comment([`Axolotl config (field names of axolotl v${TOOL_VERSIONS.axolotl}, docs/config.qmd) reproducing Whetstone run "${run.name}".`, 'One GPU:   axolotl train axolotl.yaml   (older releases: accelerate launch -m axolotl.cli.train axolotl.yaml)', '']),
		stringify(config).trimEnd(),
		'',
		comment([
			'Several GPUs: uncomment ONE of these and launch with `accelerate launch -m axolotl.cli.train axolotl.yaml`',
			'(micro_batch_size is per GPU; divide gradient_accumulation_steps by the GPU count to keep the effective batch).',
			'DeepSpeed ZeRO-2 (optimizer state and gradients sharded):',
			'deepspeed: deepspeed_configs/zero2.json',
			'DeepSpeed ZeRO-3 (weights sharded too, for models that do not fit one GPU):',
			'deepspeed: deepspeed_configs/zero3_bf16.json',
			'FSDP:',
			'fsdp:',
			'  - full_shard',
			'  - auto_wrap',
			'fsdp_config:',
			'  fsdp_offload_params: false',
			'  fsdp_state_dict_type: FULL_STATE_DICT',
			`  fsdp_transformer_layer_cls_to_wrap: ${decoderLayerClass(p.modelType)}`
		]),
		'',
		comment(['Settings of the browser run with no Axolotl equivalent:', ...unmapped.map((u) => `- ${u}`)]),
		''
	].join('\n');
}

/** LLaMA-Factory's training YAML (as an object) and its dataset_info.json entries. */
export function llamaFactoryConfig(run: Run, format: DataFormat): { config: Record<string, unknown>; datasetInfo: Record<string, unknown>; unmapped: string[] } {
	const p = pretrainedOf(run);
	const t = normalizeTrainConfig(run.config.train);
	const { args, unmapped: shared } = trainingArguments(run);
	const unmapped = [...shared];
	const m = methodOf(p);
	const entry = (split: SplitName): Record<string, unknown> => {
		const file_name = `${split}.${format === 'text-label' ? 'alpaca' : format}.jsonl`;
		if (format === 'text') return { file_name, columns: { prompt: 'text' } };
		if (format === 'messages')
			return { file_name, formatting: 'sharegpt', columns: { messages: 'messages' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' } };
		return { file_name, formatting: 'alpaca', columns: { prompt: 'instruction', query: 'input', response: 'output' } };
	};
	const datasetInfo = { whetstone_train: entry('train'), whetstone_validation: entry('validation'), whetstone_test: entry('test') };
	const config: Record<string, unknown> = {
		model_name_or_path: p.repo,
		model_revision: p.revision,
		stage: p.objective === 'causal-lm' ? 'pt' : 'sft',
		do_train: true,
		finetuning_type: m.kind,
		dataset_dir: 'data',
		dataset: 'whetstone_train',
		eval_dataset: 'whetstone_validation',
		template: 'default',
		cutoff_len: p.contextLength,
		overwrite_cache: true,
		output_dir: 'outputs/llamafactory',
		per_device_train_batch_size: t.batchSize,
		per_device_eval_batch_size: t.batchSize,
		gradient_accumulation_steps: t.gradAccumSteps,
		learning_rate: t.learningRate,
		num_train_epochs: t.epochs,
		lr_scheduler_type: args.lr_scheduler_type,
		warmup_steps: t.warmupSteps,
		weight_decay: t.weightDecay,
		max_grad_norm: t.gradClip,
		optim: args.optim,
		adam_beta1: t.beta1,
		adam_beta2: t.beta2,
		adam_epsilon: t.eps,
		seed: t.seed,
		logging_steps: t.logEvery,
		save_steps: t.checkpointEvery,
		eval_strategy: 'steps',
		eval_steps: t.evalEvery,
		plot_loss: true,
		report_to: 'none'
	};
	if (t.maxSteps && t.maxSteps > 0) config.max_steps = t.maxSteps;
	if (t.warmupSteps === 0 && t.warmupRatio > 0) config.warmup_ratio = t.warmupRatio;
	if (args.lr_scheduler_kwargs) config.lr_scheduler_kwargs = args.lr_scheduler_kwargs;
	if (args.optim_args) config.optim_args = args.optim_args;
	if (t.labelSmoothing > 0) config.label_smoothing_factor = t.labelSmoothing;
	if (t.earlyStopping) unmapped.push(`early stopping (patience ${t.earlyStopping.patience}): LLaMA-Factory's YAML has no callback field; train.py adds EarlyStoppingCallback`);
	if (m.kind === 'lora') {
		config.lora_rank = m.rank;
		config.lora_alpha = m.alpha;
		config.lora_dropout = m.dropout;
		const targets = parseTargets(m.targetModules);
		config.lora_target = targets === 'all-linear' ? 'all' : targets.join(',');
	} else if (m.kind === 'freeze') {
		const layers = Number(p.hfConfig.num_hidden_layers ?? p.hfConfig.n_layer ?? 0);
		config.freeze_trainable_layers = m.layers === 'all-but-head' ? 0 : layers - m.layers;
		if (m.layers === 'all-but-head') unmapped.push('training only the head: LLaMA-Factory trains at least one block in freeze mode');
	}
	if (p.objective === 'classification')
		unmapped.push('objective classification: LLaMA-Factory trains causal LMs, so the classifier is rerun as SFT (text in, label name out); train.py reruns the classifier itself');
	return { config, datasetInfo, unmapped };
}

export function llamaFactoryYaml(run: Run, format: DataFormat): string {
	const { config, unmapped } = llamaFactoryConfig(run, format);
	return [
		comment([`LLaMA-Factory config (field names of LLaMA-Factory v${TOOL_VERSIONS.llamafactory}) reproducing Whetstone run "${run.name}".`, 'One GPU:   llamafactory-cli train llamafactory.yaml', 'Several:   FORCE_TORCHRUN=1 llamafactory-cli train llamafactory.yaml', '']),
		stringify(config).trimEnd(),
		'',
		comment(['Several GPUs with DeepSpeed: uncomment one (files from the LLaMA-Factory repository).', 'deepspeed: examples/deepspeed/ds_z2_config.json', 'deepspeed: examples/deepspeed/ds_z3_config.json']),
		'',
		comment(['Settings of the browser run with no LLaMA-Factory equivalent:', ...unmapped.map((u) => `- ${u}`)]),
		''
	].join('\n');
}

/** What train.py reads: everything it needs, in one JSON object embedded in the script. */
export function scriptConfig(run: Run, version: DatasetVersion, format: DataFormat): Record<string, unknown> {
	const p = pretrainedOf(run);
	const { args, unmapped } = trainingArguments(run);
	const m = methodOf(p);
	return {
		run_name: run.name,
		base_model: p.repo,
		revision: p.revision,
		objective: p.objective,
		data_format: format,
		labels: p.objective === 'classification' ? version.labels : [],
		context_length: p.contextLength,
		method: m.kind === 'lora' ? { ...m, target_modules: parseTargets(m.targetModules) } : m,
		training_arguments: args,
		unmapped
	};
}

export function trainPy(run: Run, version: DatasetVersion, format: DataFormat): string {
	const cfg = scriptConfig(run, version, format);
	// JSON inside a raw triple-quoted string: only a quote could end it early, so quotes are \u escapes (JSON reads them back).
	const json = JSON.stringify(cfg, null, 2).replace(/'/g, '\\u0027');
	return `"""Reruns Whetstone run ${JSON.stringify(run.name).replace(/"""/g, '')} with transformers + peft on GPUs.

Field names of transformers ${TOOL_VERSIONS.transformers} (TrainingArguments; eval_strategy needs >= 4.41) and peft ${TOOL_VERSIONS.peft} (LoraConfig).
The data is read from data/*.jsonl with the standard library (no \`datasets\` dependency).

    pip install "transformers>=4.41" "peft>=0.10" torch accelerate
    python train.py                                   # one GPU (or CPU)
    accelerate launch train.py                        # every GPU of this machine
    torchrun --nproc_per_node=8 train.py              # the same with torchrun

Evaluates on data/validation.*.jsonl while training and on data/test.*.jsonl at the end, with the
metrics the studio shows (accuracy and macro F1 for a classifier, perplexity for a language model),
and writes outputs/train-py/test_metrics.json.
"""
import dataclasses
import json
import math
import os
import re

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

CONFIG = json.loads(r'''${json}''')
HERE = os.path.dirname(os.path.abspath(__file__))


def read_jsonl(split):
    path = os.path.join(HERE, "data", "%s.%s.jsonl" % (split, CONFIG["data_format"]))
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def encode_classification(tok, rows, label2id):
    out = []
    for r in rows:
        enc = tok(r["text"], truncation=True, max_length=CONFIG["context_length"])
        enc["labels"] = label2id[r["label"]]
        out.append(dict(enc))
    return out


def encode_text(tok, rows):
    # Packed blocks of context_length tokens, as the studio trains a language model.
    ids = []
    for r in rows:
        ids.extend(tok(r["text"])["input_ids"] + ([tok.eos_token_id] if tok.eos_token_id is not None else []))
    n = CONFIG["context_length"]
    return [{"input_ids": ids[i:i + n], "attention_mask": [1] * n, "labels": ids[i:i + n]} for i in range(0, len(ids) - n + 1, n)]


def encode_pairs(tok, rows):
    # Loss on the response only: prompt tokens are labelled -100.
    out = []
    for r in rows:
        if "messages" in r:
            msgs = r["messages"]
            if tok.chat_template:
                prompt = tok.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True)
            else:
                prompt = "".join("%s: %s\\n" % (m["role"], m["content"]) for m in msgs[:-1]) + "assistant: "
            response = msgs[-1]["content"]
        else:
            prompt = r["instruction"] + ("\\n" + r["input"] if r.get("input") else "") + "\\n"
            response = r["output"]
        p = tok(prompt, add_special_tokens=True)["input_ids"]
        a = tok(response, add_special_tokens=False)["input_ids"] + ([tok.eos_token_id] if tok.eos_token_id is not None else [])
        ids = (p + a)[: CONFIG["context_length"]]
        labels = ([-100] * len(p) + a)[: CONFIG["context_length"]]
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return out


def classification_metrics(pred):
    logits, labels = pred
    preds = logits.argmax(-1)
    n = len(CONFIG["labels"])
    acc = float((preds == labels).mean())
    f1s = []
    for k in range(n):
        tp = int(((preds == k) & (labels == k)).sum())
        fp = int(((preds == k) & (labels != k)).sum())
        fn = int(((preds != k) & (labels == k)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": acc, "macro_f1": sum(f1s) / n}


def freeze_first_layers(model, layers):
    pattern = re.compile(r"\\.(h|layers|layer)\\.(\\d+)\\.")
    for name, param in model.named_parameters():
        m = pattern.search(name)
        if layers == "all-but-head":
            param.requires_grad = name.startswith(("score", "classifier", "lm_head"))
        elif "embed" in name or "wte" in name or "wpe" in name or (m and int(m.group(2)) < layers):
            param.requires_grad = False


def main():
    set_seed(CONFIG["training_arguments"]["seed"])
    base, revision = CONFIG["base_model"], CONFIG["revision"]
    tok = AutoTokenizer.from_pretrained(base, revision=revision)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    classify = CONFIG["objective"] == "classification"
    if classify:
        labels = CONFIG["labels"]
        label2id = {l: i for i, l in enumerate(labels)}
        model = AutoModelForSequenceClassification.from_pretrained(
            base, revision=revision, num_labels=len(labels),
            id2label={i: l for i, l in enumerate(labels)}, label2id=label2id, pad_token_id=tok.pad_token_id,
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(base, revision=revision)
        model.config.pad_token_id = tok.pad_token_id
    method = CONFIG["method"]
    if method["kind"] == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        lora = LoraConfig(
            r=method["rank"], lora_alpha=method["alpha"], lora_dropout=method["dropout"],
            target_modules=method["target_modules"],
            task_type=TaskType.SEQ_CLS if classify else TaskType.CAUSAL_LM,
        )
        model = get_peft_model(model, lora)
        model.print_trainable_parameters()
    elif method["kind"] == "freeze":
        freeze_first_layers(model, method["layers"])

    def encode(split):
        rows = read_jsonl(split)
        if classify:
            return ListDataset(encode_classification(tok, rows, label2id))
        if CONFIG["objective"] == "causal-lm":
            return ListDataset(encode_text(tok, rows))
        return ListDataset(encode_pairs(tok, rows))

    train, val, test = encode("train"), encode("validation"), encode("test")
    ta = dict(CONFIG["training_arguments"])
    patience = ta.pop("early_stopping_patience", None)
    threshold = ta.pop("early_stopping_threshold", 0.0)
    if patience is not None:
        # load_best_model_at_end needs a checkpoint at every evaluation
        ta["save_steps"] = ta["eval_steps"]
    # Field names follow transformers 4.46; newer releases renamed or dropped a few (5.x: warmup_ratio
    # became a float warmup_steps). Say what this version cannot take instead of failing or hiding it.
    known = {f.name for f in dataclasses.fields(TrainingArguments)}
    if "warmup_ratio" not in known:
        ratio = ta.pop("warmup_ratio", 0)
        if ratio and not ta.get("warmup_steps"):
            ta["warmup_steps"] = ratio
    dropped = sorted(k for k in ta if k not in known)
    if dropped:
        print("This transformers version has no TrainingArguments field for %s; they are not applied." % ", ".join(dropped))
    ta = {k: v for k, v in ta.items() if k in known}
    args = TrainingArguments(
        output_dir=os.path.join(HERE, "outputs", "train-py"),
        eval_strategy="steps",
        save_strategy="steps",
        report_to="none",
        load_best_model_at_end=patience is not None,
        **ta,
    )
    if classify:
        collator = DataCollatorWithPadding(tok)
    elif CONFIG["objective"] == "causal-lm":
        collator = default_data_collator
    else:
        collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = Trainer(
        model=model, args=args, train_dataset=train, eval_dataset=val, data_collator=collator,
        compute_metrics=classification_metrics if classify else None,
        callbacks=[EarlyStoppingCallback(patience, threshold)] if patience is not None else [],
    )
    trainer.train()
    metrics = trainer.evaluate(test, metric_key_prefix="test")
    if not classify:
        metrics["test_perplexity"] = math.exp(metrics["test_loss"])
    print(json.dumps(metrics, indent=2))
    if trainer.is_world_process_zero():
        with open(os.path.join(args.output_dir, "test_metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        trainer.save_model(os.path.join(args.output_dir, "final"))
        tok.save_pretrained(os.path.join(args.output_dir, "final"))


if __name__ == "__main__":
    main()
`;
}

function gib(bytes: number): string {
	return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

export function recipeReadme(input: RecipeInput, format: DataFormat): string {
	const { run, version } = input;
	const p = pretrainedOf(run);
	const ev = run.evaluation;
	const metrics = !ev
		? ['The browser run has not been scored on its test split; evaluate it in the studio to have numbers to compare with.']
		: ev.lm
			? [`- test perplexity ${ev.lm.perplexity.toFixed(3)}, next-token accuracy ${(100 * ev.lm.tokenAccuracy).toFixed(1)}% (${ev.count} examples, step ${ev.step})`]
			: [
					`- test accuracy ${(100 * ev.accuracy).toFixed(1)}%${ev.intervals ? ` [${(100 * ev.intervals.accuracy.low).toFixed(1)}, ${(100 * ev.intervals.accuracy.high).toFixed(1)}]` : ''}`,
					`- test macro F1 ${(100 * ev.macroF1).toFixed(1)}%${ev.intervals ? ` [${(100 * ev.intervals.macroF1.low).toFixed(1)}, ${(100 * ev.intervals.macroF1.high).toFixed(1)}]` : ''}`,
					`- ${ev.count} test examples, checkpoint step ${ev.step}`
				];
	return [
		`# Recipe: ${run.name}`,
		'',
		`Reruns the Whetstone run on GPUs: base model \`${p.repo}\` at revision \`${p.revision}\`, objective ${p.objective}, method ${methodOf(p).kind}, seed ${normalizeTrainConfig(run.config.train).seed}.`,
		`Data: dataset version **${version.name}** (content hash \`${version.contentHash}\`), ${version.rowCount} rows as JSONL in \`data/\` (${format === 'text-label' ? 'text/label for train.py, alpaca for Axolotl and LLaMA-Factory' : format}).`,
		'',
		'## Commands',
		'',
		'```sh',
		'# transformers + peft (one GPU, then every GPU of the machine)',
		'pip install "transformers>=4.41" "peft>=0.10" torch accelerate',
		'python train.py',
		'accelerate launch train.py        # or: torchrun --nproc_per_node=8 train.py',
		'',
		`# Axolotl v${TOOL_VERSIONS.axolotl}`,
		'axolotl train axolotl.yaml        # DeepSpeed / FSDP: see the commented block in the file',
		'',
		`# LLaMA-Factory v${TOOL_VERSIONS.llamafactory} (reads data/dataset_info.json)`,
		'llamafactory-cli train llamafactory.yaml',
		'```',
		'',
		'## Expected metrics (from the browser run)',
		'',
		...metrics,
		'',
		'The GPU rerun uses the same data, seed and hyperparameters but different kernels and, in the tools, mixed precision; expect the numbers within the intervals above, not bit-equal.',
		'',
		'## GPU memory',
		'',
		input.memoryBytes
			? `The studio estimates ${gib(input.memoryBytes)} for training this run in float32 (weights, gradients and Adam state of what trains, one micro-batch of ${normalizeTrainConfig(run.config.train).batchSize} × ${p.contextLength} tokens of activations); bf16 roughly halves the weights and activations.`
			: 'No estimate was stored for this run.',
		'',
		'## What does not carry over',
		'',
		...trainingArguments(run).unmapped.map((u) => `- ${u}`),
		'',
		'Each config file lists, in a comment at its end, the settings it has no field for.',
		''
	].join('\n');
}

/** Every file of the recipe bundle, by path. */
export function recipeFiles(input: RecipeInput): Record<string, string> {
	const { run, version, rows } = input;
	const format = dataFormat(run, rows);
	const files: Record<string, string> = {};
	for (const split of SPLITS) {
		files[`data/${split}.${format}.jsonl`] = jsonl(rows, split, format, version.labels);
		if (format === 'text-label') files[`data/${split}.alpaca.jsonl`] = jsonl(rows, split, 'alpaca-label', version.labels);
	}
	files['axolotl.yaml'] = axolotlYaml(run, format);
	files['llamafactory.yaml'] = llamaFactoryYaml(run, format);
	files['data/dataset_info.json'] = JSON.stringify(llamaFactoryConfig(run, format).datasetInfo, null, 2) + '\n';
	files['train.py'] = trainPy(run, version, format);
	files['README.md'] = recipeReadme(input, format);
	files['reproducibility.json'] = JSON.stringify(reproducibility(run, version), null, 2) + '\n';
	return files;
}

/** The run's lineage in one JSON: config, data hash, base revision, seed, metrics, backend and adapter. */
export function reproducibility(run: Run, version?: DatasetVersion | null): Record<string, unknown> {
	const p = run.config.pretrained;
	const ev = run.evaluation;
	return {
		format: 'whetstone-reproducibility',
		formatVersion: 1,
		run: { id: run.id, name: run.name, createdAt: new Date(run.createdAt).toISOString(), status: run.status, step: run.step, totalSteps: run.totalSteps, trainMs: run.trainMs },
		config: run.config,
		dataset: {
			versionId: run.datasetVersionId,
			contentHash: run.datasetHash,
			...(version ? { name: version.name, rows: version.rowCount, split: version.split, labels: version.labels, source: version.source } : {})
		},
		baseModel: p ? { repo: p.repo, revision: p.revision, modelType: p.modelType } : null,
		seed: normalizeTrainConfig(run.config.train).seed,
		tokenizerHash: run.tokenizerHash ?? null,
		adapter: p ? (p.method ?? { kind: 'full' }) : null,
		backend: run.backend ?? null,
		browser: typeof navigator !== 'undefined' ? navigator.userAgent : null,
		metrics: {
			bestValAccuracy: run.bestValAccuracy ?? null,
			test: ev ? { split: ev.split, step: ev.step, count: ev.count, accuracy: ev.accuracy, macroF1: ev.macroF1, loss: ev.loss, intervals: ev.intervals ?? null, lm: ev.lm ? { perplexity: ev.lm.perplexity, tokenAccuracy: ev.lm.tokenAccuracy } : null } : null
		}
	};
}
