/**
 * A serving recipe for a run: a small FastAPI app over the exported Hugging Face model folder
 * (`POST /predict` for a classifier, `POST /generate` for a causal LM, `GET /metrics` in the
 * Prometheus text exposition format through prometheus_client: request count, a latency histogram,
 * predicted-label counts), its requirements.txt and Dockerfile, and for causal LMs the `vllm serve`
 * command, with the LoRA adapter as a named module (`--enable-lora --lora-modules name=path`,
 * vLLM's OpenAI-compatible server docs). Written, documented and compiled by the tests; not run here.
 */
import type { Run } from '../shared/types';
import { isMultiLabelRun } from '../shared/config';
import { runThreshold } from '../engine/eval/multilabel';

export const SERVING_VERSIONS = { fastapi: '0.115', uvicorn: '0.30', transformers: '4.46', prometheusClient: '0.20', vllm: '0.6' } as const;

export interface ServingInput {
	run: Run;
	/** Class names by id for a classifier. */
	labels: string[];
}

function kind(run: Run): { classify: boolean; lora: boolean; chat: boolean; base?: string; revision?: string; context: number } {
	const p = run.config.pretrained;
	if (p) return { classify: p.objective === 'classification', lora: p.method?.kind === 'lora', chat: p.objective === 'instruction', base: p.repo, revision: p.revision, context: p.contextLength };
	return { classify: run.config.model.head !== 'lm', lora: false, chat: false, context: run.config.model.contextLength };
}

/** A Python identifier-safe LoRA module name for vLLM. */
export function loraName(run: Run): string {
	return run.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'adapter';
}

export function appPy(input: ServingInput): string {
	const k = kind(input.run);
	// A multi-label run: a sigmoid per label, every label at or above the run's threshold (Evaluate's "Decide at").
	const multi = k.classify && isMultiLabelRun(input.run.config);
	const threshold = runThreshold(input.run);
	const settings = JSON.stringify({ run: input.run.name, task: k.classify ? 'classification' : 'generation', labels: k.classify ? input.labels : [], max_length: k.context, chat: k.chat, multi_label: multi, threshold: multi ? threshold : null }, null, 4).replace(/'/g, '\\u0027');
	return `"""Serves Whetstone run ${JSON.stringify(input.run.name).replace(/"""/g, '')} over HTTP.

    MODEL_DIR=./model uvicorn app:app --host 0.0.0.0 --port 8000

MODEL_DIR is the unzipped model export (config.json, model.safetensors, tokenizer files).
${k.classify ? (multi ? `POST /predict {"text": "..."} -> {"labels": [...], "threshold": ${threshold}, "scores": {...}} (multi-label: a sigmoid per label, every label at or above the threshold)` : 'POST /predict {"text": "..."} -> {"label": ..., "scores": {...}}') : 'POST /generate {"prompt": "...", "max_new_tokens": 64} -> {"text": ...}'}
GET /metrics: Prometheus text format (requests, latency histogram, ${k.classify ? 'predicted labels' : 'generated tokens'}).
"""
import json
import os
import time

import torch
from fastapi import FastAPI, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

SETTINGS = json.loads(r'''${settings}''')
MODEL_DIR = os.environ.get("MODEL_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "model"))

REQUESTS = Counter("whetstone_requests_total", "HTTP requests served", ["endpoint", "status"])
LATENCY = Histogram(
    "whetstone_request_latency_seconds", "Time to answer a request", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PREDICTED = Counter("whetstone_predicted_label_total", "Predictions by label", ["label"])
GENERATED = Counter("whetstone_generated_tokens_total", "Tokens generated")

tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
if SETTINGS["task"] == "classification":
    model = AutoModelForSequenceClassification.from_pretrained(MODEL_DIR)
else:
    model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)
model.eval()
app = FastAPI(title="Whetstone: " + SETTINGS["run"])


class PredictIn(BaseModel):
    text: str


class GenerateIn(BaseModel):
    prompt: str
    max_new_tokens: int = 64
    temperature: float = 0.0


def labels():
    id2label = getattr(model.config, "id2label", None) or {}
    return [id2label.get(i, SETTINGS["labels"][i] if i < len(SETTINGS["labels"]) else str(i)) for i in range(model.config.num_labels)]


@app.post("/predict")
def predict(body: PredictIn):
    start = time.perf_counter()
    if SETTINGS["task"] != "classification":
        REQUESTS.labels("/predict", "400").inc()
        raise HTTPException(400, "This model generates text; use POST /generate.")
    with torch.no_grad():
        enc = tokenizer(body.text, truncation=True, max_length=SETTINGS["max_length"], return_tensors="pt")
        logits = model(**enc).logits[0]
    names = labels()
    if SETTINGS["multi_label"]:
        # A sigmoid per label; every label at or above the run's threshold is predicted.
        probs = torch.sigmoid(logits).tolist()
        chosen = [name for name, p in zip(names, probs) if p >= SETTINGS["threshold"]]
        for name in chosen:
            PREDICTED.labels(name).inc()
        REQUESTS.labels("/predict", "200").inc()
        LATENCY.labels("/predict").observe(time.perf_counter() - start)
        return {"labels": chosen, "threshold": SETTINGS["threshold"], "scores": dict(zip(names, probs))}
    probs = torch.softmax(logits, dim=-1).tolist()
    best = max(range(len(probs)), key=probs.__getitem__)
    PREDICTED.labels(names[best]).inc()
    REQUESTS.labels("/predict", "200").inc()
    LATENCY.labels("/predict").observe(time.perf_counter() - start)
    return {"label": names[best], "scores": dict(zip(names, probs))}


@app.post("/generate")
def generate(body: GenerateIn):
    start = time.perf_counter()
    if SETTINGS["task"] == "classification":
        REQUESTS.labels("/generate", "400").inc()
        raise HTTPException(400, "This model is a classifier; use POST /predict.")
    prompt = body.prompt
    if SETTINGS["chat"] and tokenizer.chat_template:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    enc = tokenizer(prompt, return_tensors="pt")
    sample = body.temperature > 0
    with torch.no_grad():
        out = model.generate(
            **enc, max_new_tokens=body.max_new_tokens, do_sample=sample,
            temperature=body.temperature if sample else None, pad_token_id=tokenizer.pad_token_id,
        )
    new = out[0][enc["input_ids"].shape[1]:]
    GENERATED.inc(len(new))
    REQUESTS.labels("/generate", "200").inc()
    LATENCY.labels("/generate").observe(time.perf_counter() - start)
    return {"text": tokenizer.decode(new, skip_special_tokens=True), "tokens": len(new)}


@app.get("/metrics")
def metrics():
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@app.get("/health")
def health():
    return {"ok": True, "run": SETTINGS["run"], "task": SETTINGS["task"]}
`;
}

export function requirementsTxt(): string {
	const v = SERVING_VERSIONS;
	return [`fastapi>=${v.fastapi}`, `uvicorn[standard]>=${v.uvicorn}`, `transformers>=${v.transformers}`, 'torch', 'safetensors', `prometheus-client>=${v.prometheusClient}`, ''].join('\n');
}

export function dockerfile(): string {
	return [
		'# Build from this folder with the unzipped model export in ./model:',
		'#   docker build -t whetstone-serve . && docker run -p 8000:8000 whetstone-serve',
		'FROM python:3.11-slim',
		'WORKDIR /app',
		'COPY requirements.txt .',
		'RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt',
		'COPY app.py .',
		'COPY model/ ./model/',
		'ENV MODEL_DIR=/app/model',
		'EXPOSE 8000',
		'CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]',
		''
	].join('\n');
}

/** The `vllm serve` command for a causal LM: the base model with the adapter as a LoRA module, or the exported folder. */
export function vllmCommand(run: Run): string | null {
	const k = kind(run);
	if (k.classify) return null;
	if (k.lora && k.base) {
		const p = run.config.pretrained!;
		const rank = p.method?.kind === 'lora' ? p.method.rank : 8;
		return `vllm serve ${k.base} --revision ${k.revision} --enable-lora --lora-modules ${loraName(run)}=./adapter --max-lora-rank ${Math.max(8, 2 ** Math.ceil(Math.log2(rank)))} --max-model-len ${k.context}`;
	}
	return `vllm serve ./model --served-model-name ${loraName(run)} --max-model-len ${k.context}`;
}

export function servingReadme(input: ServingInput): string {
	const k = kind(input.run);
	const vllm = vllmCommand(input.run);
	const lines = [
		`# Serving: ${input.run.name}`,
		'',
		`A FastAPI app for this ${k.classify ? 'classifier' : 'language model'}, with Prometheus metrics, a Dockerfile${vllm ? ' and the vLLM command' : ''}. Written by Whetstone; not run by it.`,
		'',
		'## 1. The model',
		'',
		`Download the model zip from the studio's export panel (${k.lora ? 'the merged model; the LoRA adapter zip is for vLLM below' : 'Download model (zip)'}) and unzip it into \`./model\` beside \`app.py\`.`,
		'',
		'## 2. FastAPI',
		'',
		'```sh',
		'pip install -r requirements.txt',
		'MODEL_DIR=./model uvicorn app:app --host 0.0.0.0 --port 8000',
		k.classify
			? `curl -s localhost:8000/predict -H 'content-type: application/json' -d '{"text": "my order never arrived"}'`
			: `curl -s localhost:8000/generate -H 'content-type: application/json' -d '{"prompt": "Hello", "max_new_tokens": 32}'`,
		'curl -s localhost:8000/metrics',
		'```',
		'',
		k.classify
			? `\`POST /predict\` answers \`{"label": ..., "scores": {label: probability}}\` over ${input.labels.length} labels (${input.labels.join(', ')}).`
			: '`POST /generate` answers `{"text": ..., "tokens": n}` (greedy unless `temperature` > 0).',
		'',
		'`GET /metrics` (Prometheus text format):',
		'',
		'- `whetstone_requests_total{endpoint, status}`: requests served',
		'- `whetstone_request_latency_seconds{endpoint}`: latency histogram (buckets 5 ms to 30 s)',
		k.classify ? '- `whetstone_predicted_label_total{label}`: predictions by label, to watch for drift' : '- `whetstone_generated_tokens_total`: tokens generated',
		'',
		'## 3. Docker',
		'',
		'```sh',
		'docker build -t whetstone-serve .',
		'docker run -p 8000:8000 whetstone-serve',
		'```',
		''
	];
	if (vllm)
		lines.push(
			'## 4. vLLM (OpenAI-compatible server, GPU)',
			'',
			k.lora ? 'Unzip the LoRA adapter export (PEFT format) into `./adapter`; vLLM loads the base model at the run\'s revision and applies the adapter per request.' : 'vLLM serves the unzipped model folder.',
			'',
			'```sh',
			`pip install "vllm>=${SERVING_VERSIONS.vllm}"`,
			vllm,
			`curl -s localhost:8000/v1/completions -H 'content-type: application/json' -d '{"model": "${loraName(input.run)}", "prompt": "Hello", "max_tokens": 32}'`,
			'```',
			'',
			'vLLM exposes its own Prometheus metrics at `/metrics`.',
			''
		);
	return lines.join('\n');
}

/** Every file of the serving recipe, by path. */
export function servingFiles(input: ServingInput): Record<string, string> {
	const files: Record<string, string> = {
		'app.py': appPy(input),
		'requirements.txt': requirementsTxt(),
		Dockerfile: dockerfile(),
		'README.md': servingReadme(input)
	};
	const vllm = vllmCommand(input.run);
	if (vllm) files['vllm.sh'] = `#!/bin/sh\n# vLLM's OpenAI-compatible server for this run (see README.md)\n${vllm}\n`;
	return files;
}
