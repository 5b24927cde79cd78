/**
 * Compare in a language-modelling and an instruction-tuning project (issue 9, items 2, 12, 13, 16):
 * each project is made by importing a tiny file on the Data screen and fine-tuning the tiny GPT-2
 * from the fake Hub for a few steps. Language modelling: two runs, the perplexity table paired on
 * the sequences both scored, curves, the settings that differ under the Train forms' labels, and
 * both report downloads. Instruction tuning: the run answers the test prompts when it finishes; a
 * generation baseline on fewer prompts pairs with it on the shared rows ("paired on 2 of 3
 * prompts"), its form keeps the user's values, Cancel stops a second baseline, the answers show
 * side by side, and both report downloads hold the generation metrics.
 */
import { readFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

const REPO = 'whetstone-test/tiny-gpt2';

async function newProject(page: Page, name: string) {
	// Navigating to the page already shown can re-render it and drop what was typed: only go there from elsewhere.
	if (new URL(page.url()).pathname !== '/') await page.getByTestId('nav-projects').click();
	await expect(page).toHaveURL(/:\d+\/(\?.*)?$/);
	// The projects page may still be settling from a previous delete: type until the name holds.
	const input = page.getByLabel('Project name');
	await expect(async () => {
		await input.fill(name);
		await expect(input).toHaveValue(name, { timeout: 1_000 });
	}).toPass({ timeout: 30_000 });
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await expect(page.getByTitle('Current project')).toHaveText(name);
}

async function importFile(page: Page, name: string, body: string, kind: 'text' | 'pairs') {
	await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(body) });
	await page.getByTestId(`kind-${kind}`).check();
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toBeVisible({ timeout: 60_000 });
}

/** The tiny GPT-2 as the model to fine-tune (downloaded the first time). */
async function pickTinyGpt2(page: Page) {
	await page.getByTestId('nav-train').click();
	await downloadHubModel(page, REPO);
}

/** Tiny settings for a pretrained run, then Start; waits until the newest run completes. */
async function trainTiny(page: Page, lr: number, runsBefore: number, context = 32) {
	await setNumber(page, 'hf-context', context);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'epochs', 1);
	const advanced = page.getByTestId('advanced-settings');
	if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open))) await advanced.locator('summary').click();
	await setNumber(page, 'max-steps', 4);
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 4);
	await setNumber(page, 'checkpoint-every', 4);
	await setNumber(page, 'lr', lr);
	await page.getByTestId('start').click();
	await expect(page.getByTestId('run-row')).toHaveCount(runsBefore + 1, { timeout: 60_000 });
	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });
}

async function downloaded(page: Page, testId: string): Promise<string> {
	const [d] = (await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()])) as [Download, unknown];
	return readFileSync((await d.path())!, 'utf8');
}

async function removeProject(page: Page, name: string) {
	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click({ timeout: 30_000 });
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
}

test('compare in a language-modelling project: paired perplexity, curves, labelled settings diff, report', async ({ studioPage: page }) => {
	const name = `LM compare ${Date.now()}`;
	await newProject(page, name);
	await importFile(page, 'notes.jsonl', readFileSync('tests/fixtures/data/domain-text.jsonl', 'utf8'), 'text');

	// Nothing scored yet: Compare says what to do instead of failing on classes.
	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('compare-empty')).toContainText('language-modelling run');
	await expect(page.getByText('Something went wrong')).toHaveCount(0);

	await pickTinyGpt2(page);
	await trainTiny(page, 0.003, 0);
	await trainTiny(page, 0.0005, 1);
	const names = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')!));

	await page.getByTestId('nav-compare').click();
	const table = page.getByTestId('lm-table');
	await expect(table).toContainText('perplexity');
	for (const n of names) await expect(table).toContainText(n);
	// Both runs kept per-sequence sums, use the same tokenizer and context: paired on every test sequence.
	await expect(page.getByTestId('lm-paired')).toHaveText(/^paired on \d+ sequences$/);
	await expect(page.getByTestId('compare-curves')).toBeVisible();
	const diff = page.getByTestId('config-diff');
	await expect(diff).toContainText('Learning rate');
	await expect(diff).not.toContainText('train.learningRate');
	await expect(page.getByTestId('verdict')).toContainText('perplexity');
	await shot(page, 'compare-kinds-lm');

	// The reference picker: the other run becomes the reference and the first one the candidate.
	const refPick = page.getByTestId('compare-reference');
	const before = await refPick.inputValue();
	const other = await refPick.locator('option').evaluateAll((o, b) => o.map((x) => (x as HTMLOptionElement).value).find((v) => v !== b)!, before);
	await refPick.selectOption(other);
	await expect(table.locator('tr.ref')).toContainText(await refPick.locator('option:checked').innerText());
	await expect(page.getByTestId('report-candidate')).not.toHaveValue(other);
	await page.getByTestId('report-candidate').selectOption(before);

	const html = await downloaded(page, 'download-html');
	expect(html).toContain('<html');
	expect(html).toContain('perplexity (lower is better)');
	expect(html).toContain('next-token accuracy');
	expect(html).toMatch(/paired on \d+ sequences/);
	expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
	const json = JSON.parse(await downloaded(page, 'download-json'));
	expect(json.kind).toBe('language-modelling');
	expect(json.results.map((m: { metric: string }) => m.metric)).toEqual(expect.arrayContaining(['perplexity', 'next-token accuracy']));
	expect(json.difference.n).toBeGreaterThan(0);

	await removeProject(page, name);
});

/** 20 prompt/response pairs (Alpaca fields): the 15% test split holds 3. */
const pairs = Array.from({ length: 20 }, (_, i) =>
	// Three lines (and long enough to wrap to three): more than the two a prompt cell shows before its "more" toggle.
	JSON.stringify({ instruction: `Feature ${i + 1}:\nwhich of our plans includes it,\nand since when?`, input: '', output: i % 2 ? 'The yearly plan.' : 'Every plan.' })
).join('\n');

test('compare in an instruction project: a smaller baseline pairs on shared prompts, answers side by side, report', async ({ studioPage: page }) => {
	const name = `Instruction compare ${Date.now()}`;
	await newProject(page, name);
	await importFile(page, 'pairs.jsonl', pairs, 'pairs');

	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('compare-empty')).toContainText('No generation results yet');
	await expect(page.getByText('Something went wrong')).toHaveCount(0);

	await pickTinyGpt2(page);
	await trainTiny(page, 0.003, 0, 64);
	const runName = (await page.getByTestId('run-row').first().getAttribute('data-name'))!;

	await page.getByTestId('nav-compare').click();
	const table = page.getByTestId('generation-table');
	await expect(table).toContainText(runName);
	const answered = Number(await table.locator('tbody tr').first().locator('td').nth(1).innerText());
	expect(answered).toBeGreaterThanOrEqual(2);

	// The baseline form starts from the run's settings; answer fewer prompts than the run did.
	const rows = page.getByTestId('generation-baseline-rows');
	await expect(rows).toHaveValue(String(answered));
	await expect(page.getByTestId('generation-baseline-max-tokens')).toHaveValue('48');
	const model = page.getByTestId('generation-baseline-model');
	await expect(model).toContainText('tiny-gpt2');
	await model.selectOption({ index: 0 });
	await setNumber(page, 'generation-baseline-max-tokens', 48);
	await setNumber(page, 'generation-baseline-shots', 0);
	await setNumber(page, 'generation-baseline-seed', 3);
	await setNumber(page, 'generation-baseline-rows', answered - 1);
	await page.getByTestId('run-generation-baseline').click();
	await expect(table).toContainText('zero-shot', { timeout: 400_000 });
	// The form kept the user's values after the run (it used to reset to 20 / 48).
	await expect(rows).toHaveValue(String(answered - 1));
	await expect(page.getByTestId('generation-baseline-seed')).toHaveValue('3');
	// The baseline answered a subset of the run's prompts: paired on the shared rows, and says how many.
	await expect(page.getByTestId('generation-paired')).toHaveText(`paired on ${answered - 1} of ${answered} prompts`);
	await expect(table).toContainText('BLEU');

	// Cancel a second baseline: it stops, says so, and stores nothing.
	const before = await table.locator('tbody tr').count();
	await page.getByTestId('run-generation-baseline').click();
	await page.getByTestId('cancel-generation-baseline').click();
	await expect(page.getByTestId('generation-baseline-cancelled')).toContainText('nothing was stored', { timeout: 120_000 });
	await expect(table.locator('tbody tr')).toHaveCount(before);

	// Answers side by side: the prompts both answered, whitespace-only answers drawn visibly.
	const side = page.getByTestId('generation-pairs');
	await expect(side.locator('tbody tr')).toHaveCount(answered - 1);
	await page.getByTestId('generation-pairs-system').selectOption({ index: 0 });
	const outputs = await side.getByTestId('pair-output').allInnerTexts();
	expect(outputs.every((t) => t.trim().length > 0)).toBe(true);
	// A three-line prompt is clamped to two lines with a toggle that shows it whole and back.
	const prompt = side.locator('tbody tr').first().locator('td').nth(1);
	const clamped = (await prompt.boundingBox())!.height;
	const toggle = prompt.getByTestId('answer-toggle');
	await toggle.click();
	await expect(toggle).toHaveText('less');
	expect((await prompt.boundingBox())!.height).toBeGreaterThan(clamped);
	await toggle.click();
	await expect(toggle).toHaveText('more');
	await shot(page, 'compare-kinds-instruction');
	if (await side.getByTestId('answer-blank').count()) await shot(page, 'compare-kinds-whitespace-answer');

	// The reference picker: the run as the reference, then back to the baseline.
	const refPick = page.getByTestId('generation-reference');
	await refPick.selectOption({ label: runName });
	await expect(table.locator('tr.ref')).toContainText(runName);
	const baselineValue = await refPick.locator('option').evaluateAll((o) => (o as HTMLOptionElement[]).find((x) => x.text.includes('zero-shot'))!.value);
	await refPick.selectOption(baselineValue);
	await expect(table.locator('tr.ref')).toContainText('zero-shot');

	await expect(page.getByTestId('report-candidate')).toContainText(runName);
	await page.getByTestId('report-candidate').selectOption({ label: runName });
	await expect(page.getByTestId('verdict')).toContainText('ROUGE-L');
	const html = await downloaded(page, 'download-html');
	for (const m of ['BLEU', 'ROUGE-L', 'exact match', `paired on ${answered - 1} of ${answered} prompts`, 'Answers side by side']) expect(html).toContain(m);
	expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
	const json = JSON.parse(await downloaded(page, 'download-json'));
	expect(json.kind).toBe('generation');
	expect(json.difference.paired).toBe(`paired on ${answered - 1} of ${answered} prompts`);
	expect(json.results.map((m: { metric: string }) => m.metric)).toEqual(expect.arrayContaining(['BLEU', 'ROUGE-L', 'exact match']));

	// Curves of the instruction run; one trained run has no settings to diff yet.
	await expect(page.getByTestId('compare-curves')).toBeVisible();
	await expect(page.getByText('Pick two or more runs to see how their settings differ.')).toBeVisible();

	// Evaluate shows the same answers, clamped, with whitespace drawn.
	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('generation-results')).toBeVisible({ timeout: 60_000 });
	const evalOutputs = await page.getByTestId('generation-output').allInnerTexts();
	expect(evalOutputs.length).toBe(answered);
	expect(evalOutputs.every((t) => t.trim().length > 0)).toBe(true);
	await shot(page, 'compare-kinds-evaluate-answers');

	await removeProject(page, name);
});
