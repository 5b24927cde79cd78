/**
 * "Is fine-tuning worth it over prompting?" on screen, in the page on WebGPU: on the shared trained
 * example (fixtures.ts), score a zero-shot prompt baseline with an unmodified causal LM (the tiny
 * GPT-2 from the local fake Hub), compare the run against it with paired bootstrap, and download
 * the decision report as HTML and JSON; every control of the classification Compare screen is
 * used once: the baseline's fields and Cancel, the reference picker, the system checkboxes, the
 * report's run picker and both downloads. Then runs from repeated seeds: each configuration's mean
 * and interval over its seeds, a difference against the seed spread in the table, the "Across folds
 * and seeds" card and both report formats.
 */
import { readFileSync } from 'node:fs';
import type { Download, Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

async function downloaded(page: Page, testId: string): Promise<string> {
	const [d] = (await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()])) as [Download, unknown];
	return readFileSync((await d.path())!, 'utf8');
}

test('example: fine-tuned run vs zero-shot baseline, comparison and decision report', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	const runName = (await page.locator('[data-testid="run-row"][data-status="completed"][data-step="8"]').last().getAttribute('data-name'))!;

	// Put a causal LM in the browser's cache for the baseline.
	await downloadHubModel(page, 'whetstone-test/tiny-gpt2');
	await page.getByTestId('source-scratch').check();

	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('baseline-model')).toContainText('tiny-gpt2');
	const systems = page.getByTestId('compare-systems');
	await expect(systems).toContainText('Majority');
	const baselinesBefore = await systems.getByText('zero-shot').count();

	// Cancel a baseline: it stops and says so; nothing is stored.
	await page.getByTestId('run-baseline').click();
	await page.getByTestId('cancel-baseline').click();
	await expect(page.getByTestId('baseline-cancelled')).toContainText('nothing was stored', { timeout: 120_000 });
	await expect(systems.getByText('zero-shot')).toHaveCount(baselinesBefore);

	// The baseline's fields, edited; they stay as typed after the run.
	await page.getByTestId('baseline-model').selectOption({ index: 0 });
	const word = page.getByTestId('baseline-word').first();
	await word.fill(await word.inputValue());
	await setNumber(page, 'baseline-shots', 0);
	await setNumber(page, 'baseline-seed', 2);
	const template = page.getByTestId('baseline-template');
	const edited = `${await template.inputValue()}`.replace('Text:', 'Ticket:');
	await template.fill(edited);
	await page.getByTestId('run-baseline').click();
	await expect(systems.getByText('zero-shot')).toHaveCount(baselinesBefore + 1, { timeout: 400_000 });
	await expect(template).toHaveValue(edited);
	await expect(page.getByTestId('baseline-seed')).toHaveValue('2');

	// The reference picker and the systems' checkboxes.
	const reference = page.getByTestId('compare-reference');
	const zeroShot = await reference.locator('option').evaluateAll((o) => (o as HTMLOptionElement[]).filter((x) => x.text.includes('zero-shot')).map((x) => x.value).at(-1)!);
	await reference.selectOption(zeroShot);
	const table = page.getByTestId('compare-table');
	await expect(table.locator('tr.ref')).toContainText('zero-shot');
	await expect(table).toContainText(runName);
	await expect(table).toContainText('Majority');
	const majority = systems.locator('li').filter({ hasText: 'Majority' }).getByRole('checkbox');
	await majority.uncheck();
	await expect(table).not.toContainText('Majority');
	await majority.check();
	await expect(table).toContainText('Majority');
	await shot(page, 'compare-1');

	await expect(page.getByTestId('compare-curves')).toBeVisible();
	// Settings that differ, under the forms' labels, when two trained runs are selected.
	const diff = page.getByTestId('config-diff');
	if (await diff.count()) await expect(diff).not.toContainText(/\b(model|train)\.[a-z]/);

	const candidate = page.getByTestId('report-candidate');
	await candidate.selectOption({ label: runName });
	await expect(page.getByTestId('verdict')).toContainText(runName);
	const report = await downloaded(page, 'download-html');
	expect(report).toContain('<html');
	expect(report).toContain('zero-shot');
	expect(report).toContain('macro F1');
	expect(report).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
	// The example has no metadata columns with repeated values: no identifier or date offered as a slice.
	expect(report).not.toMatch(/<td>(ticket_id|created)<\/td>/);
	const parsed = JSON.parse(await downloaded(page, 'download-json'));
	expect(parsed.reference.name).toContain('zero-shot');
	expect(parsed.candidate.name).toBe(runName);
	expect(parsed.difference.n).toBe(parsed.candidate.count);
});

test('repeated seeds: each configuration over its seeds, differences weighed against the seed spread in Compare and the report', async ({ studioPage: page }) => {
	test.setTimeout(8 * 60_000);
	await ensureTrainedExample(page);

	// Two configurations, each repeated with 2 seeds (nano, 1 and 2 steps) on the Experiments screen.
	await page.getByTestId('nav-experiments').click();
	await page.getByTestId('study-base').selectOption({ index: 0 });
	await page.getByTestId('study-preset').selectOption('nano');
	await page.getByTestId('cv-mode').selectOption('seeds');
	await setNumber(page, 'cv-k', 2);
	const stamp = Date.now().toString(36);
	for (const [name, steps] of [[`A ${stamp}`, 1], [`B ${stamp}`, 2]] as const) {
		await page.getByTestId('cv-name').fill(name);
		await setNumber(page, 'cv-steps', steps);
		await page.getByTestId('cv-start').click();
		await expect(page.getByTestId('cv-result')).toContainText(`${name} (same split, different seeds, ${steps} steps each) · 2 of 2 done`, { timeout: 300_000 });
	}

	// Score one of B's runs on the test split (experiment runs are chosen on validation and leave it unscored).
	const bRun = `B ${stamp} · seed 42`;
	await page.getByTestId('nav-evaluate').click();
	const runPick = page.getByTestId('eval-run');
	await expect(runPick.locator('option', { hasText: bRun })).toBeAttached();
	const runValue = await runPick.locator('option').evaluateAll((o, n) => (o as HTMLOptionElement[]).find((x) => x.text.startsWith(n))!.value, bRun);
	await runPick.selectOption(runValue);
	await page.getByTestId('evaluate').click();
	await expect(page.getByTestId('eval-outcome')).toHaveAttribute('data-kind', 'scored', { timeout: 180_000 });

	await page.getByTestId('nav-compare').click();
	const reference = page.getByTestId('compare-reference');
	// The majority baseline is computed from the stored rows after the page opens.
	await expect(reference.locator('option', { hasText: 'Majority class' }).first()).toBeAttached();
	const majority = await reference.locator('option').evaluateAll((o) => (o as HTMLOptionElement[]).find((x) => x.text.startsWith('Majority class'))!.value);
	await reference.selectOption(majority);
	const pick = page.getByTestId('compare-systems').locator('li').filter({ hasText: bRun }).getByRole('checkbox');
	await pick.check();
	const row = page.getByTestId('compare-table').locator('tr').filter({ hasText: bRun });
	await expect(row.getByTestId('compare-group')).toContainText(new RegExp(`seed 1 of B ${stamp}: validation accuracy \\d+\\.\\d% ± \\d+\\.\\d pts \\(95% t interval over 2 seeds, sd \\d+\\.\\d pts\\)`));
	const note = page.getByTestId('compare-spread').locator('li').filter({ hasText: bRun });
	await expect(note).toContainText(/The test accuracy difference, .* is (within|larger than) the seed spread of validation accuracy/);
	const within = await note.getAttribute('data-within');

	// The two configurations side by side: means, intervals and the pooled seed spread.
	const card = page.getByTestId('spread-card');
	await expect(card.getByTestId('spread-group').filter({ hasText: `A ${stamp}` })).toHaveAttribute('data-n', '2');
	const a = await page.getByTestId('spread-a').locator('option').evaluateAll((o, n) => (o as HTMLOptionElement[]).find((x) => x.text === n)!.value, `B ${stamp}`);
	await page.getByTestId('spread-a').selectOption(a);
	const b = await page.getByTestId('spread-b').locator('option').evaluateAll((o, n) => (o as HTMLOptionElement[]).find((x) => x.text === n)!.value, `A ${stamp}`);
	await page.getByTestId('spread-b').selectOption(b);
	const verdicts = page.getByTestId('spread-verdict').locator('li');
	await expect(verdicts).toHaveCount(2);
	await expect(verdicts.first()).toContainText(new RegExp(`^validation accuracy B ${stamp} .* vs A ${stamp} .*: a difference of .*, (within|larger than) the seed spread \\(sd \\d+\\.\\d pts\\)`));
	await expect(verdicts.nth(1)).toContainText('validation loss');
	await shot(page, 'compare-seeds');

	// Both report formats carry the groups and the same call.
	await page.getByTestId('report-candidate').selectOption({ label: bRun });
	const json = JSON.parse(await downloaded(page, 'download-json'));
	expect(json.spread.candidate).toMatchObject({ name: `B ${stamp}`, kind: 'seeds', k: 2, n: 2, member: 1 });
	expect(json.spread.reference).toBeNull();
	const v = json.spread.verdict;
	expect(v.within).toBe(Math.abs(v.diff) <= v.spread);
	expect(String(v.within)).toBe(within);
	expect(v.spread).toBeCloseTo(json.spread.candidate.accuracy.std, 12);
	if (v.within) expect(json.verdict.text).toMatch(/^No real difference between the configurations: /);
	const html = await downloaded(page, 'download-html');
	expect(html).toContain('<h2>Fold and seed spread</h2>');
	expect(html).toContain(`B ${stamp}, seed 1`);
	expect(html).toContain(v.within ? 'is within the seed spread' : 'is larger than the seed spread');
});
