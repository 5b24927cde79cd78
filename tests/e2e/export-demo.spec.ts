/**
 * "Share as a demo" (issue 12): the shared trained run exported as a static demo folder, unzipped
 * and served by a plain static server inside the test (node:http, nothing else), opened in a new
 * page: it loads transformers.js, ONNX Runtime's wasm and the model from that folder alone (any
 * request elsewhere fails the test), and its top class for a typed text is the Playground's.
 * Then the causal LM page, over the tiny GPT-2 fixture exported here: its greedy continuation of
 * the reference prompt is transformers' tokens.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { parseSafetensors } from '../../src/lib/engine/io';
import { resolveConfig } from '../../src/lib/engine/models/registry';
import { exportOnnx } from '../../src/lib/export/onnx';
import { demoFiles, ORT_WASM_FILE, TJS_FILE } from '../../src/lib/export/demo';
import { ensureTrainedExample, expect, test } from './fixtures';
import { openDemo, shot } from './helpers';

const TEXT = 'I was charged twice for my subscription this month, please refund me';

test('export panel: Share as a demo downloads a folder whose page runs the model and shows the Playground\'s class', async ({ studioPage: page }) => {
	const runName = await ensureTrainedExample(page);
	await page.locator(`[data-testid="run-row"][data-name="${runName}"]`).click();
	await page.getByTestId('nav-evaluate').click();
	const panel = page.getByTestId('export');
	await expect(panel.getByTestId('export-demo-box')).toContainText('every class probability');

	const [download] = (await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-demo').click()])) as [Download, unknown];
	expect(download.suggestedFilename()).toMatch(/-demo\.zip$/);
	const zipBytes = readFileSync((await download.path())!);
	const note = panel.getByTestId('export-demo-note');
	await expect(note).toContainText('Downloaded (');
	await expect(note).toContainText('http.server');
	await expect(note).toContainText(`${Math.round(zipBytes.length / 1e6)} MB`);
	await panel.getByTestId('export-demo-box').scrollIntoViewIfNeeded();
	await panel.screenshot({ path: 'screenshots/export-demo-card.png' });

	const files = unzipSync(new Uint8Array(zipBytes));
	const names = Object.keys(files);
	for (const f of ['index.html', 'app.js', 'demo.json', 'README.md', 'transformers.min.js', 'ort-wasm-simd-threaded.asyncify.wasm', 'model/config.json', 'model/onnx/model.onnx', 'model/tokenizer.json', 'model/tokenizer_config.json'])
		expect(names, f).toContain(f);
	expect(names).not.toContain('model/onnx/model_fp16.onnx');
	const readme = strFromU8(files['README.md']);
	expect(readme).toContain('python3 -m http.server');
	expect(readme).toContain('file://');
	const spec = JSON.parse(strFromU8(files['demo.json']));
	expect(spec).toMatchObject({ task: 'classify', loader: 'AutoModel', addSpecialTokens: false });
	expect(spec.labels).toHaveLength(5);

	// The studio's own prediction for the text, from the Playground.
	await page.getByTestId('predict-text').fill(TEXT);
	await page.getByTestId('predict').click();
	const studioLabel = ((await page.getByTestId('predicted-label').locator('strong').textContent()) ?? '').trim();
	expect(spec.labels).toContain(studioLabel);

	// Any static server will do.
	const { demo, elsewhere, errors, close } = await openDemo(() => page.context().newPage(), files);
	try {
		await expect(demo.locator('#status')).toHaveText('Ready.', { timeout: 30_000 });
		await demo.locator('#text').fill(TEXT);
		await demo.locator('#run').click();
		await expect(demo.locator('#result .cls')).toHaveCount(5);
		await expect(demo.locator('#status')).toHaveText('Ready.');
		await expect(demo.locator('#top .label')).toHaveText(studioLabel);
		// every class with a probability; they sum to 1
		const ps = (await demo.locator('#result .cls .p').allTextContents()).map((t) => parseFloat(t));
		expect(Math.abs(ps.reduce((a, b) => a + b, 0) - 100)).toBeLessThan(0.5);
		expect([...ps].sort((a, b) => b - a)).toEqual(ps);
		await shot(demo, 'export-demo-page');
		expect(elsewhere).toEqual([]);
		expect(errors).toEqual([]);
	} finally {
		await close();
	}
});

test("the causal LM demo page: its greedy continuation of the tiny GPT-2's reference prompt is transformers' tokens", async ({ page }) => {
	const dir = 'tests/fixtures/hf-tiny/gpt2';
	const { spec, config } = resolveConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
	const buf = readFileSync(join(dir, 'model.safetensors'));
	const tensors = parseSafetensors(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer).tensors;
	const out = exportOnnx(spec, config, Object.fromEntries([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])), {
		generationConfig: JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'))
	});
	const onnx: Record<string, Uint8Array> = Object.fromEntries(Object.entries(out.files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v]));
	// The hub fixture's byte-level GPT-2 tokenizer (99 ids, inside the tiny model's 128): each reference id is one character in it.
	for (const f of ['tokenizer.json', 'tokenizer_config.json']) onnx[f] = readFileSync(join('tests/fixtures/hub/gpt2', f));
	const vocab = JSON.parse(readFileSync('tests/fixtures/hub/gpt2/tokenizer.json', 'utf8')).model.vocab as Record<string, number>;
	const byId = Object.fromEntries(Object.entries(vocab).map(([k, v]) => [v, k]));
	const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')).generation as { prompt_ids: number[]; max_new_tokens: number; output_ids: number[] };
	const runtime = { [TJS_FILE]: readFileSync('node_modules/@huggingface/transformers/dist/transformers.min.js'), [ORT_WASM_FILE]: readFileSync(join('node_modules/onnxruntime-web/dist', ORT_WASM_FILE)) };
	const files = demoFiles(onnx, runtime, { title: 'Tiny GPT-2', task: 'generate', addSpecialTokens: true, maxLength: 64, labels: [], maxNewTokens: 40 });

	const { demo, elsewhere, errors, close } = await openDemo(() => page.context().newPage(), files);
	try {
		await expect(demo.locator('#status')).toHaveText('Ready.', { timeout: 30_000 });
		await expect(demo.locator('#max-new')).toHaveValue('40');
		await demo.locator('#max-new').fill(String(ref.max_new_tokens));
		await demo.locator('#text').fill(ref.prompt_ids.map((i) => byId[i]).join(''));
		await demo.locator('#run').click();
		await expect(demo.locator('#result')).toHaveText(ref.output_ids.map((i) => byId[i]).join(''));
		await expect(demo.locator('#status')).toHaveText('Ready.');
		await shot(demo, 'export-demo-lm-page');
		expect(elsewhere).toEqual([]);
		expect(errors).toEqual([]);
	} finally {
		await close();
	}
});
