/**
 * The phases around the training steps on the Train screen (WebGPU on SwiftShader), in a tiny
 * second run of the example project: it reuses the tokens the shared example run cached (same
 * dataset version and tokenizer settings), shows the warm-up, validation, checkpoint and test
 * scoring by name with their counts, and Stop during test scoring leaves it completed and unscored
 * with an Evaluate button that scores it. Then an instruction run of the tiny GPT-2 in a project of
 * its own: its test answers are generated as a phase with a count and the time left, and Cancel
 * there leaves it completed and unscored too.
 */
import type { Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

interface SeenPhase {
	phase: string;
	name: string;
	count: string;
}

/**
 * Record every phase line the page shows from now on (a phase can be quicker than a poll), and
 * press its Cancel the moment the test split's scoring appears.
 */
async function recordPhases(page: Page, stopAt = 'scoring'): Promise<void> {
	await page.evaluate((stopAt) => {
		const w = window as unknown as { phasesSeen: SeenPhase[]; stoppedScoring: boolean; phaseObserver?: MutationObserver };
		w.phasesSeen = [];
		w.stoppedScoring = false;
		// One observer per page: an earlier test's would still press Cancel at its phase.
		w.phaseObserver?.disconnect();
		w.phaseObserver = new MutationObserver(() => {
			const el = document.querySelector('[data-testid="phase"]');
			if (!el) return;
			const seen = {
				phase: el.getAttribute('data-phase') ?? '',
				name: el.querySelector('[data-testid="phase-name"]')?.textContent?.trim() ?? '',
				count: el.querySelector('[data-testid="phase-count"]')?.textContent?.trim() ?? ''
			};
			const last = w.phasesSeen.at(-1);
			if (!last || last.phase !== seen.phase || last.count !== seen.count) w.phasesSeen.push(seen);
			if (seen.phase === stopAt && !w.stoppedScoring) {
				w.stoppedScoring = true;
				(el.querySelector('[data-testid="phase-cancel"]') as HTMLButtonElement | null)?.click();
			}
		});
		w.phaseObserver.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
	}, stopAt);
}

const phasesSeen = (page: Page) => page.evaluate(() => (window as unknown as { phasesSeen: SeenPhase[] }).phasesSeen);

test('a second run reuses the cached tokens, shows each phase with its count, and Stop during test scoring leaves it completed and unscored', async ({ studioPage: page }) => {
	test.setTimeout(600_000);
	await ensureTrainedExample(page);
	const runs = await page.getByTestId('run-row').count();

	// The shared example run's settings where they touch the tokens (nano: context 32, the default tokenizer).
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8); // the test split is scored in many small batches: Stop lands between them
	await setNumber(page, 'max-steps', 8);
	if (!(await page.getByTestId('log-every').isVisible())) await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 4);
	await setNumber(page, 'checkpoint-every', 4);

	await recordPhases(page);
	await page.getByTestId('start').click();
	await expect(page.getByTestId('prepared-note')).toContainText('reused the cached tokens', { timeout: 60_000 });

	// The first steps compile the GPU's kernels: a phase of its own, counted in steps.
	const warmUp = page.locator('[data-testid="phase"][data-phase="warm-up"]');
	await expect(warmUp).toBeVisible({ timeout: 120_000 });
	await expect(warmUp.getByTestId('phase-count')).toHaveText(/^\d+ \/ 2 steps$/);
	await shot(page, 'phases-warm-up');

	await expect(page.getByTestId('run-row')).toHaveCount(runs + 1, { timeout: 60_000 });
	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-status', 'completed', { timeout: 400_000 });

	const seen = await phasesSeen(page);
	const of = (phase: string) => seen.filter((s) => s.phase === phase);
	// No tokenizer was trained: the tokens came from the cache.
	expect(of('training-tokenizer')).toEqual([]);
	expect(of('warm-up')[0].name).toMatch(/^Warming up/);
	expect(of('validating').at(-1)).toMatchObject({ name: 'Scoring the validation split', count: expect.stringMatching(/^\d+ \/ \d+ rows$/) });
	expect(of('checkpoint').at(-1)).toMatchObject({ name: 'Writing a checkpoint', count: expect.stringMatching(/^\d+ \/ \d+ chunks$/) });
	expect(of('scoring')[0]).toMatchObject({ name: 'Scoring the test split', count: expect.stringMatching(/^\d+ \/ \d+ rows$/) });
	// Each phase line went away when its phase ended.
	await expect(page.getByTestId('phase')).toHaveCount(0);

	// Stopped while scoring: completed, without a test result, and it says how to get one.
	const unscored = page.getByTestId('unscored');
	await expect(unscored).toContainText('scoring the test split was stopped');
	await shot(page, 'phases-unscored');
	await unscored.getByTestId('unscored-evaluate').click();
	await expect(page).toHaveURL(/\/evaluate$/);
	await expect(page.getByTestId('eval-outcome')).toHaveAttribute('data-kind', 'scored', { timeout: 300_000 });
	await expect(page.getByTestId('eval-shown')).toHaveAttribute('data-split', 'test');
	await page.getByTestId('nav-train').click();
	await expect(page.getByTestId('unscored')).toHaveCount(0);
});

/** 60 prompt/response pairs (Alpaca fields): the 15% test split holds 9, answered in two batches. */
const pairs = Array.from({ length: 60 }, (_, i) => JSON.stringify({ instruction: `Which plan includes feature ${i + 1}?`, input: '', output: i % 2 ? 'The yearly plan.' : 'Every plan.' })).join('\n');

test('an instruction run generates its test answers as a phase with a count and the time left; Cancel leaves it completed and unscored', async ({ studioPage: page }) => {
	test.setTimeout(600_000);
	const name = `Phases instruction ${Date.now()}`;
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('file-input').setInputFiles({ name: 'pairs.jsonl', mimeType: 'text/plain', buffer: Buffer.from(pairs) });
	await page.getByTestId('kind-pairs').check();
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toBeVisible({ timeout: 60_000 });

	await page.getByTestId('nav-train').click();
	await downloadHubModel(page, 'whetstone-test/tiny-gpt2');
	await expect(page.getByTestId('objective')).toHaveValue('instruction');
	await setNumber(page, 'hf-context', 32);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'epochs', 1);
	const advanced = page.getByTestId('advanced-settings');
	if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open))) await advanced.locator('summary').click();
	await setNumber(page, 'max-steps', 2);
	await setNumber(page, 'log-every', 2);
	await setNumber(page, 'eval-every', 2);
	await setNumber(page, 'checkpoint-every', 2);

	await recordPhases(page, 'none');
	await page.getByTestId('start').click();
	// The answers grow token by token: the time left shows before the first answer is finished.
	const generating = page.locator('[data-testid="phase"][data-phase="generating"]');
	await expect(generating.getByTestId('phase-eta')).toBeVisible({ timeout: 400_000 });
	await expect(generating.getByTestId('phase-name')).toHaveText('Generating test answers');
	await expect(generating.getByTestId('phase-count')).toHaveText(/^\d+ \/ 9 prompts$/);
	await expect(generating.getByTestId('phase-eta')).toHaveText(/^about \d+ (s|min) left$|^less than a second left$/);
	await shot(page, 'phases-generating');
	await generating.getByTestId('phase-cancel').click();

	await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
	await expect(page.getByTestId('unscored')).toContainText('scoring the test split was stopped');
	const seen = await phasesSeen(page);
	// Before the answers, the loss on the test split was scored as its own phase.
	expect(seen.findIndex((s) => s.phase === 'scoring')).toBeLessThan(seen.findIndex((s) => s.phase === 'generating'));

	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
});
