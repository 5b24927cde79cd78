/**
 * The transformers.js export from the Evaluate screen's export panel, on the shared trained example
 * (a from-scratch classifier, exported as GPT-2): the zip has the onnx/ layout transformers.js
 * expects, and @huggingface/transformers itself, running in this Chromium on its WASM backend,
 * loads the folder and gives the studio's logits (reference_logits.json, written by the studio's
 * forward on WebGPU) within 1e-4 for fp32 and within a looser bound for the float16 weights, its
 * tokenizer gives the studio's token ids, and its top class is the Playground's prediction.
 * Then the tiny BERT, GPT-2, Llama and Qwen2 fixtures exported here: transformers.js's forward
 * equals transformers' logits, and for the causal LMs its greedy `generate`, which feeds past_key_values and position_ids
 * step by step, gives transformers' tokens.
 * transformers.js, the ONNX Runtime wasm files and the models are served from disk through
 * Playwright's routing; every other request off this origin is refused (no internet).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Download, Page } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { parseSafetensors } from '../../src/lib/engine/io';
import { resolveConfig } from '../../src/lib/engine/models/registry';
import { exportOnnx } from '../../src/lib/export/onnx';
import { ensureTrainedExample, expect, test } from './fixtures';
import { shot } from './helpers';

const TJS_DIST = 'node_modules/@huggingface/transformers/dist';
const ORT_DIST = 'node_modules/onnxruntime-web/dist';
const FIXTURES = 'tests/fixtures/hf-tiny';
const ARCHS = ['gpt2', 'llama', 'qwen2'];
const FIXTURE_ARCHS = [...ARCHS, 'bert'];
const TYPES: Record<string, string> = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm', json: 'application/json', html: 'text/html' };

/**
 * A page at `origin`/__tjs/ serving transformers.js, ORT's wasm files and each model's files
 * (`models/<name>/<path>`) from memory or disk; every other request is refused, so nothing
 * reaches the internet. Its `localOnly(T)` sets transformers.js to those local files.
 */
async function transformersJsPage(context: BrowserContext, origin: string, models: Record<string, Record<string, Uint8Array>>): Promise<Page> {
	const page = await context.newPage();
	await page.route('**/*', async (route) => {
		const url = new URL(route.request().url());
		if (url.origin !== origin || !url.pathname.startsWith('/__tjs/')) return route.abort();
		const path = url.pathname.slice('/__tjs/'.length);
		const [, name, file] = path.match(/^models\/([^/]+)\/(.+)$/) ?? [];
		const body =
			path === 'index.html'
				? Buffer.from(`<!doctype html><title>transformers.js check</title><script>window.localOnly = (T) => {
					T.env.allowRemoteModels = false;
					T.env.allowLocalModels = true;
					T.env.localModelPath = '/__tjs/models/';
					T.env.useBrowserCache = false;
					T.env.backends.onnx.wasm.wasmPaths = location.origin + '/__tjs/ort/';
					T.env.backends.onnx.wasm.numThreads = 1;
				};</script>`)
				: path === 'transformers.js'
					? readFileSync(join(TJS_DIST, 'transformers.js'))
					: path.startsWith('ort/')
						? readFileSync(join(ORT_DIST, path.slice(4)))
						: name && models[name]?.[file]
							? Buffer.from(models[name][file])
							: null;
		if (!body) return route.fulfill({ status: 404, body: 'not found' });
		await route.fulfill({ status: 200, body, contentType: TYPES[path.split('.').pop()!] ?? 'application/octet-stream' });
	});
	await page.goto(`${origin}/__tjs/index.html`);
	return page;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare function localOnly(T: any): void;

test('export panel: ONNX (transformers.js) loads in @huggingface/transformers and gives the studio logits', async ({ studioPage: page }) => {
	const runName = await ensureTrainedExample(page);
	await page.locator(`[data-testid="run-row"][data-name="${runName}"]`).click();
	await page.getByTestId('nav-evaluate').click();
	const panel = page.getByTestId('export');
	await expect(panel).toBeVisible();

	const [download] = (await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-onnx').click()])) as [Download, unknown];
	expect(download.suggestedFilename()).toMatch(/-onnx\.zip$/);
	await expect(panel.getByTestId('export-onnx-note')).toContainText('Downloaded');
	await expect(panel.getByTestId('export-onnx-note')).toContainText('AutoModel');
	await panel.scrollIntoViewIfNeeded();
	await shot(page, 'export-onnx-panel');
	await panel.screenshot({ path: 'screenshots/export-onnx-card.png' });
	const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
	expect(Object.keys(files).sort()).toEqual(
		['README.md', 'config.json', 'onnx/model.onnx', 'onnx/model_fp16.onnx', 'reference_logits.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'].sort()
	);
	const config = JSON.parse(strFromU8(files['config.json']));
	expect(config).toMatchObject({ model_type: 'gpt2', num_labels: 5, 'transformers.js_config': { dtype: 'fp32' } });
	expect(strFromU8(files['README.md'])).toMatch(/^---\nlibrary_name: transformers\.js\n/);
	const reference = JSON.parse(strFromU8(files['reference_logits.json'])) as { input_ids: number[][]; attention_mask: number[][]; logits: number[][] };
	expect(reference.logits.length).toBe(2);
	expect(reference.attention_mask[1]).toContain(0); // the second row is padded

	// The studio's own prediction for the second sample text, from the Playground.
	await page.getByTestId('predict-text').fill('Thanks for the help!');
	await page.getByTestId('predict').click();
	const studioLabel = ((await page.getByTestId('predicted-label').locator('strong').textContent()) ?? '').trim();
	expect(Object.values(config.id2label)).toContain(studioLabel);

	// A page on the studio's origin that serves transformers.js, ORT's wasm and the export from disk.
	const tjs = await transformersJsPage(page.context(), new URL(page.url()).origin, { run: files });
	const result = await tjs.evaluate(async (ref) => {
		const T = await import(/* @vite-ignore */ `${location.origin}/__tjs/transformers.js`);
		localOnly(T);
		const feeds = () => ({
			input_ids: new T.Tensor('int64', BigInt64Array.from(ref.input_ids.flat().map(BigInt)), [ref.input_ids.length, ref.input_ids[0].length]),
			attention_mask: new T.Tensor('int64', BigInt64Array.from(ref.attention_mask.flat().map(BigInt)), [ref.attention_mask.length, ref.attention_mask[0].length])
		});
		const logits: Record<string, number[]> = {};
		for (const dtype of ['fp32', 'fp16']) {
			const model = await T.AutoModel.from_pretrained('run', { device: 'wasm', dtype });
			logits[dtype] = Array.from((await model(feeds())).logits.data as Float32Array);
		}
		const tokenizer = await T.AutoTokenizer.from_pretrained('run');
		const ids = Array.from(tokenizer('Thanks for the help!', { add_special_tokens: false }).input_ids.data as BigInt64Array, Number);
		return { logits, ids };
	}, reference);

	const expected = reference.logits.flat();
	const maxDiff = (got: number[]) => Math.max(...got.map((x, i) => Math.abs(x - expected[i])));
	expect(result.logits.fp32).toHaveLength(expected.length);
	expect(maxDiff(result.logits.fp32)).toBeLessThanOrEqual(1e-4);
	expect(maxDiff(result.logits.fp16)).toBeLessThanOrEqual(2e-2);
	// transformers.js tokenizes as the studio does (the padded row's real tokens)
	expect(result.ids).toEqual(reference.input_ids[1].filter((_, j) => reference.attention_mask[1][j] === 1));
	const row = result.logits.fp32.slice(5, 10);
	expect(config.id2label[String(row.indexOf(Math.max(...row)))]).toBe(studioLabel);
	await tjs.close();
});

test("the tiny BERT, GPT-2, Llama and Qwen2 exports: transformers.js's logits equal transformers', and its greedy generation with the KV cache gives transformers' tokens", async ({ page, baseURL }) => {
	const models: Record<string, Record<string, Uint8Array>> = {};
	for (const arch of FIXTURE_ARCHS) {
		const dir = join(FIXTURES, arch);
		const { spec, config } = resolveConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
		const buf = readFileSync(join(dir, 'model.safetensors'));
		const tensors = parseSafetensors(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer).tensors;
		const weights = Object.fromEntries([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
		const gen = join(dir, 'generation_config.json');
		const out = exportOnnx(spec, config, weights, { generationConfig: existsSync(gen) ? JSON.parse(readFileSync(gen, 'utf8')) : undefined });
		models[arch] = Object.fromEntries(Object.entries(out.files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]));
	}
	const refs = Object.fromEntries(FIXTURE_ARCHS.map((a) => [a, JSON.parse(readFileSync(join(FIXTURES, a, 'reference.json'), 'utf8'))]));
	const tjs = await transformersJsPage(page.context(), baseURL!, models);
	const results = await tjs.evaluate(async (refs) => {
		const T = await import(/* @vite-ignore */ `${location.origin}/__tjs/transformers.js`);
		localOnly(T);
		const int64 = (rows: number[][]) => new T.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
		const out: Record<string, { logits: number[]; tokens: number[] }> = {};
		// BERT: transformers.js's classifier, fed no token_type_ids (it fills the zeros the reference used)
		const bert = await T.AutoModelForSequenceClassification.from_pretrained('bert', { device: 'wasm', dtype: 'fp32' });
		const { logits: bertLogits } = await bert({ input_ids: int64(refs.bert.input_ids), attention_mask: int64(refs.bert.attention_mask) });
		out.bert = { logits: Array.from(bertLogits.data as Float32Array), tokens: [] };
		for (const [arch, ref] of Object.entries(refs).filter(([a]) => a !== 'bert') as [string, { input_ids: number[][]; generation: { prompt_ids: number[]; max_new_tokens: number } }][]) {
			const model = await T.AutoModelForCausalLM.from_pretrained(arch, { device: 'wasm', dtype: 'fp32' });
			const row = [ref.input_ids[0]];
			const { logits } = await model({ input_ids: int64(row), attention_mask: int64([row[0].map(() => 1)]) });
			const prompt = [ref.generation.prompt_ids];
			const tokens = await model.generate({ input_ids: int64(prompt), attention_mask: int64([prompt[0].map(() => 1)]), max_new_tokens: ref.generation.max_new_tokens, do_sample: false });
			out[arch] = { logits: Array.from(logits.data as Float32Array), tokens: Array.from(tokens.data as BigInt64Array, Number) };
		}
		return out;
	}, refs);
	for (const arch of ARCHS) {
		const expected = (refs[arch].logits as number[][][])[0].flat();
		const got = results[arch].logits;
		expect(got, arch).toHaveLength(expected.length);
		expect(Math.max(...got.map((x, i) => Math.abs(x - expected[i]))), arch).toBeLessThanOrEqual(1e-4);
		expect(results[arch].tokens, arch).toEqual(refs[arch].generation.output_ids);
	}
	const bert = (refs.bert.logits as number[][]).flat();
	expect(results.bert.logits).toHaveLength(bert.length);
	expect(Math.max(...results.bert.logits.map((x, i) => Math.abs(x - bert[i])))).toBeLessThanOrEqual(1e-4);
	await tjs.close();
});
