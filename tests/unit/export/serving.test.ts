/**
 * The serving recipe: the files are there for a classifier and a LoRA causal LM, the app has the
 * endpoints and metrics asked for, the vLLM command names the base revision and the adapter, and
 * app.py compiles with `python3 -m py_compile` (only that check is skipped, and says so, when the
 * machine has no python3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { servingFiles, vllmCommand } from '../../../src/lib/export/serving';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { fakeRun, loraClassifierConfig } from './fixtures';

const python = spawnSync('python3', ['--version']).status === 0;

function compiles(source: string): string {
	const dir = mkdtempSync(join(tmpdir(), 'serving-'));
	writeFileSync(join(dir, 'app.py'), source);
	const r = spawnSync('python3', ['-m', 'py_compile', join(dir, 'app.py')], { encoding: 'utf8' });
	return r.status === 0 ? 'ok' : r.stderr;
}

function loraLm() {
	const c = loraClassifierConfig('llama');
	c.pretrained = { ...c.pretrained!, objective: 'causal-lm', contextLength: 32, method: { kind: 'lora', rank: 4, alpha: 8, dropout: 0, targetModules: 'q_proj,v_proj' } };
	return fakeRun(c, { name: "Tickets LM 'v2'" });
}

describe('serving recipe', () => {
	it('a classifier: /predict, /metrics with requests, latency histogram and label counts; no vLLM', () => {
		const run = fakeRun(loraClassifierConfig('gpt2'));
		const files = servingFiles({ run, labels: ['billing', 'shipping', 'account'] });
		expect(Object.keys(files).sort()).toEqual(['Dockerfile', 'README.md', 'app.py', 'requirements.txt']);
		const app = files['app.py'];
		expect(app).toContain('@app.post("/predict")');
		expect(app).toContain('@app.get("/metrics")');
		expect(app).toMatch(/Counter\("whetstone_requests_total"/);
		expect(app).toMatch(/Histogram\(\s*"whetstone_request_latency_seconds"/);
		expect(app).toMatch(/Counter\("whetstone_predicted_label_total", "Predictions by label", \["label"\]\)/);
		expect(app).toContain('"labels": [\n        "billing"');
		expect(files['requirements.txt']).toMatch(/^fastapi>=/m);
		expect(files['requirements.txt']).toMatch(/^prometheus-client>=/m);
		expect(files['Dockerfile']).toMatch(/^CMD \["uvicorn", "app:app"/m);
		expect(files['README.md']).toContain('curl -s localhost:8000/predict');
		expect(vllmCommand(run)).toBeNull();
		if (python) expect(compiles(app)).toBe('ok');
		else console.warn('python3 is not on this machine: app.py was not compiled (py_compile skipped)');
	});

	it("a multi-label classifier: /predict answers every label with a sigmoid at or above the run's threshold", () => {
		const c = loraClassifierConfig('gpt2');
		c.pretrained = { ...c.pretrained!, multiLabel: true };
		const saved = servingFiles({ run: fakeRun(c, { multiLabelThreshold: 0.3 }), labels: ['billing', 'urgent', 'tech'] })['app.py'];
		expect(saved).toContain('"multi_label": true');
		expect(saved).toContain('"threshold": 0.3');
		expect(saved).toContain('probs = torch.sigmoid(logits).tolist()');
		expect(saved).toContain('if p >= SETTINGS["threshold"]');
		expect(saved).toContain('-> {"labels": [...], "threshold": 0.3');
		if (python) expect(compiles(saved)).toBe('ok');
		// never chosen: 0.5, as the studio's Predict
		expect(servingFiles({ run: fakeRun(c), labels: ['billing', 'urgent', 'tech'] })['app.py']).toContain('"threshold": 0.5');
		// a single-label classifier: no threshold, the softmax's top class
		const single = servingFiles({ run: fakeRun(loraClassifierConfig('gpt2')), labels: ['billing', 'shipping'] })['app.py'];
		expect(single).toContain('"multi_label": false');
		expect(single).toContain('"threshold": null');
	});

	it('a LoRA causal LM: /generate and the vllm serve command with the adapter as a LoRA module', () => {
		const run = loraLm();
		const files = servingFiles({ run, labels: [] });
		expect(Object.keys(files).sort()).toEqual(['Dockerfile', 'README.md', 'app.py', 'requirements.txt', 'vllm.sh']);
		expect(files['app.py']).toContain('@app.post("/generate")');
		const cmd = vllmCommand(run)!;
		expect(cmd).toBe(`vllm serve whetstone-test/tiny-llama --revision ${'f'.repeat(40)} --enable-lora --lora-modules tickets-lm-v2=./adapter --max-lora-rank 8 --max-model-len 32`);
		expect(files['vllm.sh']).toContain(cmd);
		expect(files['README.md']).toContain(cmd);
		expect(files['README.md']).toContain('"model": "tickets-lm-v2"');
		if (python) expect(compiles(files['app.py'])).toBe('ok');
		else console.warn('python3 is not on this machine: app.py was not compiled (py_compile skipped)');
	});

	it('a from-scratch language model serves the exported GPT-2 folder, with vLLM on the folder', () => {
		const c = defaultRunConfig(0);
		c.model = { ...c.model, head: 'lm' };
		const run = fakeRun(c, { name: 'scratch lm' });
		const files = servingFiles({ run, labels: [] });
		expect(files['app.py']).toContain('"task": "generation"');
		expect(vllmCommand(run)).toBe(`vllm serve ./model --served-model-name scratch-lm --max-model-len ${c.model.contextLength}`);
	});
});
