/**
 * The transformers.js export from the Evaluate screen's export panel, on the shared trained example
 * (a from-scratch classifier, exported as GPT-2): the zip has the onnx/ layout transformers.js
 * expects, and @huggingface/transformers itself, running in this Chromium on its WASM backend,
 * loads the folder and gives the studio's logits (reference_logits.json, written by the studio's
 * forward on WebGPU) within 1e-4 for fp32 and within a looser bound for the float16 weights, its
 * tokenizer gives the studio's token ids, and its top class is the Playground's prediction.
 * transformers.js, the ONNX Runtime wasm files and the model are served from disk through
 * Playwright's routing; every other request off this origin is refused (no internet).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { ensureTrainedExample, expect, test } from './fixtures';
import { shot } from './helpers';

const TJS_DIST = 'node_modules/@huggingface/transformers/dist';
const ORT_DIST = 'node_modules/onnxruntime-web/dist';
const TYPES: Record<string, string> = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm', json: 'application/json', html: 'text/html' };

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
	const tjs = await page.context().newPage();
	const origin = new URL(page.url()).origin;
	await tjs.route('**/*', async (route) => {
		const url = new URL(route.request().url());
		if (url.origin !== origin || !url.pathname.startsWith('/__tjs/')) return route.abort();
		const path = url.pathname.slice('/__tjs/'.length);
		const body = path === 'index.html'
			? Buffer.from('<!doctype html><title>transformers.js check</title>')
			: path === 'transformers.js'
				? readFileSync(join(TJS_DIST, 'transformers.js'))
				: path.startsWith('ort/')
					? readFileSync(join(ORT_DIST, path.slice(4)))
					: path.startsWith('models/run/') && files[path.slice('models/run/'.length)]
						? Buffer.from(files[path.slice('models/run/'.length)])
						: null;
		if (!body) return route.fulfill({ status: 404, body: 'not found' });
		await route.fulfill({ status: 200, body, contentType: TYPES[path.split('.').pop()!] ?? 'application/octet-stream' });
	});
	await tjs.goto(`${origin}/__tjs/index.html`);
	const result = await tjs.evaluate(async (ref) => {
		const T = await import(/* @vite-ignore */ `${location.origin}/__tjs/transformers.js`);
		T.env.allowRemoteModels = false;
		T.env.allowLocalModels = true;
		T.env.localModelPath = '/__tjs/models/';
		T.env.useBrowserCache = false;
		T.env.backends.onnx.wasm.wasmPaths = `${location.origin}/__tjs/ort/`;
		T.env.backends.onnx.wasm.numThreads = 1;
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
