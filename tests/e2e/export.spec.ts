/**
 * The Evaluate screen's export panel on the shared trained example (a from-scratch run): the model
 * downloads as a GPT-2 folder (config.json for GPT2ForSequenceClassification, model.safetensors with
 * score.weight, the project's BPE as tokenizer.json, a model card with YAML front matter), and the
 * reproducibility JSON with the run's config, dataset hash, seed and metrics. The GPU recipe is
 * offered only for fine-tunes of a Hugging Face model, and the panel says so.
 */
import { readFileSync } from 'node:fs';
import type { Download } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { ensureTrainedExample, expect, test } from './fixtures';
import { shot } from './helpers';

test('export panel: a from-scratch run downloads as a GPT-2 folder that opens again from disk, and its reproducibility JSON', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	const runRow = page.locator('[data-testid="run-row"][data-status="completed"][data-step="8"]').last();
	await runRow.click();
	const runName = await runRow.getAttribute('data-name');
	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-run').locator('option:checked')).toContainText(`${runName} · completed · step 8`);
	const panel = page.getByTestId('export');
	await expect(panel).toBeVisible();
	await expect(panel.getByTestId('export-recipe')).toHaveCount(0);
	await expect(panel).toContainText('GPU recipes (Axolotl, LLaMA-Factory, train.py) are for runs that fine-tune a Hugging Face model');

	const [zip] = (await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-model').click()])) as [Download, unknown];
	const files = unzipSync(new Uint8Array(readFileSync((await zip.path())!)));
	expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
	const config = JSON.parse(strFromU8(files['config.json']));
	expect(config).toMatchObject({ model_type: 'gpt2', architectures: ['GPT2ForSequenceClassification'], n_layer: 1, n_head: 2, n_embd: 32, num_labels: 5 });
	expect(Object.values(config.id2label)).toEqual(['account', 'billing', 'product_feedback', 'shipping', 'technical']);
	const header = JSON.parse(strFromU8(files['model.safetensors'].subarray(8, 8 + Number(new DataView(files['model.safetensors'].buffer, files['model.safetensors'].byteOffset).getBigUint64(0, true)))));
	expect(header['score.weight'].shape).toEqual([5, 32]);
	expect(header['classifier.bias']).toBeUndefined();
	expect(JSON.parse(strFromU8(files['tokenizer.json'])).model.type).toBe('BPE');
	const card = strFromU8(files['README.md']);
	expect(card).toMatch(/^---\nlibrary_name: transformers\n/);
	expect(card).toContain('## Training settings');
	expect(card).toContain('GPT2ForSequenceClassification reads the last real token');
	await expect(panel.getByTestId('export-note')).toContainText('no bias');

	// The exported zip opens again on Train's model picker, from disk (no Hub), as a gpt2 model.
	await page.getByTestId('nav-train').click();
	await page.getByTestId('source-pretrained').check();
	await page.getByTestId('open-local-zip').setInputFiles((await zip.path())!);
	const insp = page.getByTestId('hub-inspection');
	const picker = page.getByTestId('model-picker');
	await expect(insp.or(picker.getByRole('alert'))).toBeVisible({ timeout: 60_000 });
	await shot(page, 'open-local-zip');
	expect(await picker.getByRole('alert').allTextContents(), 'the picker shows no error').toEqual([]);
	await expect(insp).toContainText('local/');
	await expect(insp).toContainText('gpt2');
	await expect(page.getByTestId('hub-ready')).toBeVisible();
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('nav-evaluate').click();
	await expect(panel).toBeVisible();

	const [d] = (await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-repro').click()])) as [Download, unknown];
	expect(d.suggestedFilename()).toMatch(/reproducibility\.json$/);
	const r = JSON.parse(readFileSync((await d.path())!, 'utf8'));
	expect(r.format).toBe('whetstone-reproducibility');
	expect(r.run).toMatchObject({ name: runName, status: 'completed', step: 8 });
	expect(r.config.train).toMatchObject({ maxSteps: 8, batchSize: 8 });
	expect(r.config.model.nLayer).toBe(1);
	expect(r.dataset.contentHash).toMatch(/^[0-9a-f]{64}$/);
	expect(r.seed).toBe(r.config.train.seed);
	expect(r.baseModel).toBeNull();
	expect(r.backend).toMatchObject({ name: 'webgpu' });
	expect(r.metrics.test).toMatchObject({ split: 'test' });
	expect(r.metrics.test.accuracy).toBeGreaterThanOrEqual(0);
	await expect(panel.getByTestId('export-note')).toContainText('Downloaded');
	await panel.scrollIntoViewIfNeeded();
	await shot(page, 'export-panel-scratch');
});
