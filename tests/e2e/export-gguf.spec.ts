/**
 * GGUF, serving and reproducibility from the page. The shared from-scratch classifier: the panel
 * says GGUF is for language models, its serving recipe zip has the /predict app, and its
 * reproducibility JSON opens in a fresh browser profile as the Train form's settings on the
 * example dataset found by content hash (a record of data this browser lacks says which file to
 * import). A 2-step LoRA fine-tune of the tiny Llama as a language model: its GGUF F16 and Q8_0
 * downloads are read back with @huggingface/gguf (architecture, types, merged tensors, tokenizer,
 * Modelfile) and its serving recipe has /generate and `vllm serve --enable-lora`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Download, Page } from '@playwright/test';
import { gguf, GGMLQuantizationType } from '@huggingface/gguf';
import { strFromU8, unzipSync } from 'fflate';
import { ensureTrainedExample, expect, HUB_URL, test } from './fixtures';
import { openStudio, setNumber, shot } from './helpers';

async function download(page: Page, click: () => Promise<void>): Promise<Download> {
	const [d] = (await Promise.all([page.waitForEvent('download'), click()])) as [Download, unknown];
	return d;
}

async function unzip(d: Download) {
	return unzipSync(new Uint8Array(readFileSync((await d.path())!)));
}

test('the shared classifier: no GGUF, a serving recipe with /predict, and its reproducibility JSON opened in another profile', async ({ studioPage: page, browser }) => {
	const name = await ensureTrainedExample(page);
	await page.locator(`[data-testid="run-row"][data-name="${name}"]`).click();
	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-run').locator('option:checked')).toContainText(name);
	const panel = page.getByTestId('export');
	await expect(panel.getByTestId('gguf-unavailable')).toContainText('GGUF (llama.cpp, Ollama, LM Studio) is for language models');
	await expect(panel.getByTestId('export-gguf')).toHaveCount(0);

	const serving = await unzip(await download(page, () => panel.getByTestId('export-serving').click()));
	expect(Object.keys(serving).sort()).toEqual(['Dockerfile', 'README.md', 'app.py', 'requirements.txt']);
	expect(strFromU8(serving['app.py'])).toContain('@app.post("/predict")');
	expect(strFromU8(serving['app.py'])).toContain('"billing"');
	expect(strFromU8(serving['README.md'])).toContain('whetstone_predicted_label_total');
	await expect(panel.getByTestId('export-gguf-note')).toContainText('Unzip the model export into model/');
	await panel.scrollIntoViewIfNeeded();
	await shot(page, 'export-gguf-1-classifier');

	const repro = await download(page, () => panel.getByTestId('export-repro').click());
	const text = readFileSync((await repro.path())!, 'utf8');
	const record = JSON.parse(text);
	const dir = mkdtempSync(join(tmpdir(), 'repro-'));
	writeFileSync(join(dir, 'run-reproducibility.json'), text);
	writeFileSync(join(dir, 'other-reproducibility.json'), JSON.stringify({ ...record, dataset: { ...record.dataset, contentHash: '0'.repeat(64), name: 'tickets elsewhere' } }));

	// Another browser profile: the example project is there with the same data, so the hash matches.
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const fresh = await context.newPage();
	try {
		await openStudio(fresh, `/?hub=${encodeURIComponent(HUB_URL)}`);
		await fresh.getByTestId('nav-train').click();
		await fresh.getByTestId('repro-open').setInputFiles(join(dir, 'other-reproducibility.json'));
		const missing = fresh.getByRole('alert').filter({ hasText: 'is not in this browser' });
		await expect(missing).toContainText("The dataset this run was trained on ('tickets elsewhere'");
		await expect(missing).toContainText(`Import ${record.dataset.source.fileName} on the Data screen`);
		await shot(fresh, 'export-gguf-2a-repro-missing');
		await fresh.getByTestId('repro-open').setInputFiles(join(dir, 'run-reproducibility.json'));
		await expect(fresh.getByTestId('repro-note')).toContainText(`Loaded the settings of run ${name}: seed ${record.seed}, the small model from scratch`);
		await expect(fresh.getByTestId('max-steps')).toHaveValue(String(record.config.train.maxSteps));
		await expect(fresh.getByTestId('batch-size')).toHaveValue(String(record.config.train.batchSize));
		await expect(fresh.getByTestId('source-scratch')).toBeChecked();
		await shot(fresh, 'export-gguf-2-repro-import');
	} finally {
		await context.close();
	}
});

test('a LoRA-tuned tiny Llama language model: GGUF F16 and Q8_0 with a Modelfile, and a serving recipe with vllm serve --enable-lora', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('hub-repo').fill('whetstone-test/tiny-llama');
	await page.getByTestId('hub-inspect').click();
	await expect(page.getByTestId('hub-inspection')).toContainText('llama');
	// another spec in this context may have downloaded it already
	await expect(page.getByTestId('hub-download').or(page.getByTestId('hub-ready'))).toBeVisible();
	if (await page.getByTestId('hub-download').isVisible()) await page.getByTestId('hub-download').click();
	await expect(page.getByTestId('hub-ready')).toBeVisible({ timeout: 120_000 });
	await page.getByTestId('objective').selectOption('causal-lm');
	await page.getByTestId('method-lora').check();
	await setNumber(page, 'lora-rank', 4);
	await setNumber(page, 'hf-context', 16);
	await setNumber(page, 'batch-size', 4);
	await setNumber(page, 'epochs', 1);
	await page.locator('summary', { hasText: 'Optimizer' }).click();
	await setNumber(page, 'max-steps', 2);
	await setNumber(page, 'log-every', 1);
	await setNumber(page, 'eval-every', 2);
	await setNumber(page, 'checkpoint-every', 2);
	await setNumber(page, 'lr', 0.01);
	const rows = page.getByTestId('run-row');
	const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))));
	await page.getByTestId('start').click();
	await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).filter((n) => !before.has(n)).length, { timeout: 120_000 }).toBe(1);
	const name = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).find((n) => !before.has(n))!;
	// The exports need no test score: cancel the scoring of the 718 test blocks (the run stays completed, unscored).
	await expect(page.locator('[data-testid="phase"][data-phase="scoring"]')).toBeVisible({ timeout: 300_000 });
	await page.getByTestId('phase-cancel').click();
	await expect(page.locator(`[data-testid="run-row"][data-name="${name}"]`)).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
	await page.locator(`[data-testid="run-row"][data-name="${name}"]`).click();
	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-run').locator('option:checked')).toContainText(name);
	const panel = page.getByTestId('export');
	const dir = mkdtempSync(join(tmpdir(), 'gguf-e2e-'));

	for (const [type, code, fileType] of [['F16', GGMLQuantizationType.F16, 1], ['Q8_0', GGMLQuantizationType.Q8_0, 7]] as const) {
		await panel.getByTestId('gguf-type').selectOption(type);
		const d = await download(page, () => panel.getByTestId('export-gguf').click());
		expect(d.suggestedFilename()).toMatch(new RegExp(`-${type}-gguf\\.zip$`));
		const files = await unzip(d);
		const ggufName = Object.keys(files).find((f) => f.endsWith('.gguf'))!;
		expect(Object.keys(files).sort()).toEqual(['Modelfile', 'README.md', ggufName].sort());
		expect(ggufName).toMatch(new RegExp(`-${type}\\.gguf$`));
		const path = join(dir, ggufName);
		writeFileSync(path, files[ggufName]);
		const { metadata, tensorInfos } = await gguf(path, { allowLocalFile: true });
		const md = metadata as Record<string, unknown>;
		expect(md).toMatchObject({ 'general.architecture': 'llama', 'general.file_type': fileType, 'llama.block_count': 2, 'llama.embedding_length': 32, 'llama.attention.head_count_kv': 2, 'llama.context_length': 64, 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.eos_token_id': 2 });
		expect(md['tokenizer.chat_template']).toContain('<|im_start|>');
		expect((md['tokenizer.ggml.tokens'] as string[]).length).toBe(128);
		// 1 embedding + 2 × 9 block tensors + the final norm; tied head: no output.weight; no LoRA tensors
		expect(tensorInfos.map((t) => t.name).sort()).toHaveLength(20);
		expect(tensorInfos.some((t) => t.name.includes('lora'))).toBe(false);
		expect(tensorInfos.find((t) => t.name === 'blk.0.attn_q.weight')!.dtype).toBe(code);
		expect(tensorInfos.find((t) => t.name === 'blk.0.attn_norm.weight')!.dtype).toBe(GGMLQuantizationType.F32);
		const modelfile = strFromU8(files['Modelfile']);
		expect(modelfile).toContain(`FROM ./${ggufName}`);
		expect(modelfile).toContain('PARAMETER stop "<|im_end|>"');
		expect(strFromU8(files['README.md'])).toMatch(/^---\nlibrary_name: gguf\n/);
		await expect(panel.getByTestId('export-gguf-note')).toContainText('Downloaded. Run it with llama-cli');
	}
	await panel.scrollIntoViewIfNeeded();
	await shot(page, 'export-gguf-3-llama-lm');

	const serving = await unzip(await download(page, () => panel.getByTestId('export-serving').click()));
	expect(Object.keys(serving).sort()).toEqual(['Dockerfile', 'README.md', 'app.py', 'requirements.txt', 'vllm.sh']);
	expect(strFromU8(serving['app.py'])).toContain('@app.post("/generate")');
	expect(strFromU8(serving['vllm.sh'])).toMatch(/vllm serve whetstone-test\/tiny-llama --revision [0-9a-f]{40} --enable-lora --lora-modules [a-z0-9-]+=\.\/adapter/);
});
