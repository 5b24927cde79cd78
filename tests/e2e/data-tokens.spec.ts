/**
 * The token view on the example project's dataset: the project BPE picked (trained here with the
 * default settings when the shown version has none yet), an example's tokens coloured with their
 * ids, a typed text, the length histogram per split, the truncated-row count following the
 * context length, and the tiny GPT-2's tokenizer from the model cache (downloaded from the fake
 * Hub when no spec before this one did) side by side with tokens per word and its unknown tokens.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { downloadHubModel, shot } from './helpers';

const GPT2 = 'whetstone-test/tiny-gpt2';

async function openExampleData(page: Page) {
	await page.getByTestId('nav-projects').click();
	const card = page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first();
	await expect(card).toBeVisible({ timeout: 30_000 });
	await card.getByRole('button', { name: 'Open' }).click();
	await page.getByTestId('nav-data').click();
	await expect(page.getByTestId('dataset-overview')).toBeVisible();
	await page.getByTestId('token-view').locator('summary').click();
	await expect(page.getByTestId('token-example')).toBeVisible();
}

/** The value of the first option of `select` whose text matches. */
async function optionValue(page: Page, testId: string, text: RegExp): Promise<string | null> {
	const values = await page.getByTestId(testId).locator('option').evaluateAll(
		(os, src) => os.filter((o) => new RegExp(src).test(o.textContent ?? '')).map((o) => (o as HTMLOptionElement).value),
		text.source
	);
	return values[0] ?? null;
}

/** The number of rows the truncation line says are truncated. */
async function truncated(page: Page): Promise<number> {
	const text = (await page.getByTestId('token-truncated').textContent()) ?? '';
	return Number(/^([\d,]+) of/.exec(text)![1].replace(/,/g, ''));
}

test('data screen: token view with the project BPE and the tiny GPT-2 side by side', async ({ studioPage: page }) => {
	test.setTimeout(60_000);
	await openExampleData(page);

	// The project BPE: trained with the default settings when this version has none yet.
	const train = page.getByTestId('token-train-bpe');
	const tokenizer = page.getByTestId('token-tokenizer');
	await expect(train.or(tokenizer.locator('option', { hasText: 'Project BPE' })).first()).toBeAttached();
	if (await train.isVisible()) {
		await expect(train).toHaveText('Train it (vocabulary 512, lowercased)');
		await train.click();
		await expect(page.getByTestId('token-no-bpe')).toHaveCount(0, { timeout: 30_000 });
	}
	// A run with other tokenizer settings may have trained this version's BPE: any project BPE will do.
	await tokenizer.selectOption((await optionValue(page, 'token-tokenizer', /Project BPE/))!);

	// The first row's tokens, coloured by id, none unknown in a byte-level BPE.
	const chips = page.getByTestId('token-example-tokens').getByTestId('token');
	await expect(chips.first()).toBeVisible();
	expect(await chips.count()).toBeGreaterThan(3);
	await expect(page.getByTestId('token-example-tokens').locator('[data-kind="unknown"]')).toHaveCount(0);
	const first = chips.first();
	expect(Number(await first.getAttribute('data-id'))).toBeGreaterThanOrEqual(0);
	expect(await first.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
	await expect(page.getByTestId('token-example-tokens-count')).toContainText('tokens per word');

	// Another of the first rows shows other tokens.
	const row1 = await page.getByTestId('token-example-tokens').textContent();
	await page.getByTestId('token-example').selectOption('1');
	await expect(page.getByTestId('token-example-tokens')).not.toHaveText(row1!);

	// The histogram per split and the rows a context length truncates.
	await expect(page.getByTestId('token-histogram').getByTestId('count-label').first()).toBeVisible();
	await expect(page.getByTestId('token-unknown')).toContainText('Unknown tokens: 0.00%');
	await page.getByTestId('token-context').fill('4');
	await expect(page.getByTestId('token-truncated')).toContainText('longer than 4 tokens');
	const short = await truncated(page);
	expect(short).toBeGreaterThan(0);
	await page.getByTestId('token-context').fill('1000');
	await expect(page.getByTestId('token-truncated')).toContainText('longer than 1,000 tokens');
	expect(await truncated(page)).toBe(0);
	await page.getByTestId('token-context').fill('30');
	await expect(page.getByTestId('token-truncated')).toContainText('longer than 30 tokens');
	const middle = await truncated(page);
	expect(middle).toBeLessThan(short);
	// A length that is no length is named.
	await page.getByTestId('token-context').fill('0');
	await expect(page.getByTestId('token-view').getByRole('alert')).toContainText('positive whole number');
	await page.getByTestId('token-view').getByRole('alert').getByRole('button').click();
	await page.getByTestId('token-context').fill('30');

	// A typed text.
	await page.getByTestId('token-example').selectOption('text');
	await page.getByTestId('token-text').fill('My café order never arrived');
	await expect(page.getByTestId('token-example-tokens-count')).toContainText('5 words');
	await shot(page, 'data-tokens-bpe');

	// The tiny GPT-2's tokenizer from the model cache (downloaded once if no spec did yet).
	if (!(await optionValue(page, 'token-tokenizer', new RegExp(GPT2)))) {
		await page.getByTestId('nav-train').click();
		await downloadHubModel(page, GPT2, { inspect: 20_000, download: 30_000 });
		await page.getByTestId('source-scratch').check();
		await openExampleData(page);
		await page.getByTestId('token-tokenizer').selectOption((await optionValue(page, 'token-tokenizer', /Project BPE/))!);
		await page.getByTestId('token-example').selectOption('text');
		await page.getByTestId('token-text').fill('My café order never arrived');
	}
	await page.getByTestId('token-compare-with').selectOption((await optionValue(page, 'token-compare-with', new RegExp(GPT2)))!);
	const sides = page.getByTestId('token-compare-side');
	await expect(sides).toHaveCount(2);
	await expect(sides.nth(1)).toContainText(GPT2);
	// One id per character in the tiny GPT-2: 27 characters over 5 words; é is its one unknown.
	await expect(page.getByTestId('token-compare-tokens-1-count')).toContainText('27 tokens · 5 words · 5.40 tokens per word · 1 unknown');
	await expect(page.getByTestId('token-compare-tokens-1').locator('[data-kind="unknown"]')).toHaveCount(1);
	await expect(sides.nth(0).getByTestId('token-compare-per-word')).toContainText('over the version');
	await expect(sides.nth(1).getByTestId('token-compare-per-word')).toContainText('over the version');
	// The BPE packs the same words into fewer tokens.
	const perWord = async (i: number) => Number(/([\d.]+) tokens per word/.exec((await sides.nth(i).getByTestId('token-compare-per-word').textContent())!)![1]);
	expect(await perWord(0)).toBeLessThan(await perWord(1));
	await shot(page, 'data-tokens-compare');
});
