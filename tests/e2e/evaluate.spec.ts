/**
 * The Evaluate screen, every control on it, on the shared trained example run (WebGPU on
 * SwiftShader): the run, checkpoint and split pickers; Re-evaluate on another checkpoint and on the
 * validation split (the shown result's step and split follow); Cancel during scoring (the old result
 * stays, the page says it was cancelled); the example browser's sort, filters, search, rows and
 * "show more"; the slices table; the predict playground; and Train's "Evaluate this", which lands
 * here with that checkpoint scored. Also the screen of a project without runs.
 */
import type { Locator, Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { shot } from './helpers';

/** What the "stored result" line says is shown. */
async function shown(page: Page) {
	const line = page.getByTestId('eval-shown');
	return {
		step: Number(await line.getAttribute('data-step')),
		split: await line.getAttribute('data-split'),
		checkpoint: await line.getAttribute('data-checkpoint')
	};
}

/** Every progress label the page shows from now on (scoring can be quicker than a poll). */
async function recordProgress(page: Page): Promise<void> {
	await page.evaluate(() => {
		const w = window as unknown as { progressSeen: string[] };
		w.progressSeen = [];
		new MutationObserver(() => {
			const label = document.querySelector('[data-testid="eval-progress"] [role="progressbar"]')?.getAttribute('aria-label');
			if (label && w.progressSeen.at(-1) !== label) w.progressSeen.push(label);
		}).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
	});
}

const progressSeen = (page: Page) => page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);

async function rowsOf(table: Locator) {
	return table.getByTestId('example-row').evaluateAll((rows) =>
		rows.map((r) => ({ row: Number(r.getAttribute('data-row')), true: r.getAttribute('data-true'), pred: r.getAttribute('data-pred'), text: r.querySelector('.text')?.textContent ?? '' }))
	);
}

test('a project without runs says there is nothing to evaluate yet', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	const name = `Nothing yet ${Date.now()}`;
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('nav-evaluate').click();
	await expect(page.getByTestId('eval-empty')).toContainText('No trained run yet');
	await expect(page.getByTestId('evaluate')).toHaveCount(0);
	// Leave the suite's projects as they were.
	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
});

test('evaluate: pickers, re-evaluate on another checkpoint and split, cancel, examples, slices, predict, and Train\'s "Evaluate this"', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	// The shared run: the first completed 8-step run of the example project (the oldest such row).
	const runRow = page.locator('[data-testid="run-row"][data-status="completed"][data-step="8"]').last();
	await runRow.click();
	const runName = await runRow.getAttribute('data-name');
	await expect(page.getByTestId('checkpoint-list')).toHaveAttribute('data-count', /^[2-9]$/);

	await page.getByTestId('nav-evaluate').click();
	const runPick = page.getByTestId('eval-run');
	await expect(runPick.locator('option:checked')).toContainText(`${runName} · completed · step 8`);
	// The run picker: every run with a checkpoint is offered; picking one shows its checkpoints.
	const runOptions = await runPick.locator('option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
	const runId = await runPick.inputValue();
	for (const id of [...runOptions.filter((id) => id !== runId).slice(0, 1), runId]) {
		await runPick.selectOption(id);
		await expect(runPick).toHaveValue(id);
		await expect(page.getByTestId('eval-checkpoint').locator('option').first()).toBeAttached();
	}

	// Training scored the test split when it finished; that result matches the default selection.
	const shownLine = page.getByTestId('eval-shown');
	await expect(shownLine).toHaveAttribute('data-matches', 'true');
	const first = await shown(page);
	expect(first.split).toBe('test');
	const checkpointPick = page.getByTestId('eval-checkpoint');
	const checkpoints = await checkpointPick.locator('option').evaluateAll((o) => o.map((x) => ({ id: (x as HTMLOptionElement).value, text: x.textContent ?? '' })));
	expect(checkpoints.length).toBeGreaterThanOrEqual(2);
	const other = checkpoints.find((c) => c.id !== first.checkpoint)!;
	const otherStep = Number(/step (\d+)/.exec(other.text)![1]);

	// Another checkpoint: the page says the shown result is not the selection, until it is scored.
	await checkpointPick.selectOption(other.id);
	await expect(shownLine).toHaveAttribute('data-matches', 'false');
	await expect(shownLine).toContainText(`not your selection (step ${otherStep} on the test split)`);
	const evaluate = page.getByTestId('evaluate');
	await expect(evaluate).toHaveText('Re-evaluate');
	await recordProgress(page);
	await evaluate.click();
	await expect(page.getByTestId('eval-outcome')).toHaveAttribute('data-kind', 'scored', { timeout: 180_000 });
	await expect(page.getByTestId('eval-outcome')).toContainText(`Scored the checkpoint at step ${otherStep} on the test split.`);
	await expect(shownLine).toHaveAttribute('data-step', String(otherStep));
	await expect(shownLine).toHaveAttribute('data-checkpoint', other.id);
	await expect(shownLine).toHaveAttribute('data-matches', 'true');
	// Progress said how many examples and how long.
	expect((await progressSeen(page)).some((l) => /^scoring \d+ \/ \d+ test examples · ETA /.test(l))).toBe(true);

	// The validation split of the same checkpoint.
	await page.getByTestId('eval-split').selectOption('validation');
	await expect(shownLine).toHaveAttribute('data-matches', 'false');
	await recordProgress(page);
	await evaluate.click();
	await expect(page.getByTestId('eval-outcome')).toContainText(`step ${otherStep} on the validation split`, { timeout: 180_000 });
	await expect(shownLine).toHaveAttribute('data-split', 'validation');
	await expect(shownLine).toHaveAttribute('data-step', String(otherStep));
	await expect(shownLine).toHaveAttribute('data-matches', 'true');
	expect((await progressSeen(page)).some((l) => /^scoring \d+ \/ \d+ validation examples · ETA /.test(l))).toBe(true);
	await expect(page.getByTestId('eval-results')).toContainText('validation examples');
	await shot(page, 'evaluate-reevaluated');

	// Cancel while the first checkpoint is loading and being scored: nothing is stored, the
	// validation result stays, and the page says the job was cancelled. Both clicks happen in one
	// go in the page (Cancel as soon as it appears), so a fast scoring cannot outrun the test.
	await checkpointPick.selectOption(first.checkpoint!);
	await page.getByTestId('eval-split').selectOption('test');
	await page.evaluate(async () => {
		(document.querySelector('[data-testid="evaluate"]') as HTMLButtonElement).click();
		for (let i = 0; i < 200; i++) {
			const cancel = document.querySelector('[data-testid="eval-cancel"]') as HTMLButtonElement | null;
			if (cancel) return cancel.click();
			await new Promise((r) => requestAnimationFrame(r));
		}
		throw new Error('no Cancel button appeared');
	});
	// What the page shows while the cancel reaches the worker (gone as soon as it has).
	await page.screenshot({ path: 'screenshots/evaluate-cancelling.png' });
	const outcome = page.getByTestId('eval-outcome');
	await expect(outcome).toHaveAttribute('data-kind', 'cancelled', { timeout: 180_000 });
	await expect(outcome).toContainText(`Cancelled: the checkpoint at step ${first.step} on the test split was not scored; the stored result is as it was.`);
	await expect(shownLine).toHaveAttribute('data-split', 'validation');
	await expect(shownLine).toHaveAttribute('data-step', String(otherStep));
	await expect(shownLine).toHaveAttribute('data-matches', 'false');
	await expect(page.getByTestId('eval-progress')).toHaveCount(0);
	await shot(page, 'evaluate-cancelled');

	// The example browser (of the shown validation result).
	const table = page.getByTestId('examples');
	const count = page.getByTestId('examples-count');
	const total = Number(await count.getAttribute('data-shown'));
	expect(total).toBeGreaterThan(25);
	await expect(table.getByTestId('example-row')).toHaveCount(25);
	await page.getByTestId('examples-more').click();
	await expect(table.getByTestId('example-row')).toHaveCount(Math.min(75, total));

	await page.getByTestId('examples-sort').selectOption('row');
	const ordered = (await rowsOf(table)).map((r) => r.row);
	expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
	await page.getByTestId('examples-sort').selectOption('least-confident');
	await expect(count).toHaveAttribute('data-shown', String(total));
	await page.getByTestId('examples-sort').selectOption('confident-wrong');
	for (const r of await rowsOf(table)) expect(r.pred).not.toBe(r.true);
	await page.getByTestId('examples-sort').selectOption('loss');

	const label = (await rowsOf(table))[0].true!;
	await page.getByTestId('examples-true').selectOption({ label });
	const byTrue = Number(await count.getAttribute('data-shown'));
	expect(byTrue).toBeGreaterThan(0);
	expect(byTrue).toBeLessThan(total);
	for (const r of await rowsOf(table)) expect(r.true).toBe(label);
	await page.getByTestId('examples-true').selectOption({ label: 'any' });
	const predicted = (await rowsOf(table))[0].pred!;
	await page.getByTestId('examples-pred').selectOption({ label: predicted });
	for (const r of await rowsOf(table)) expect(r.pred).toBe(predicted);
	await page.getByTestId('examples-pred').selectOption({ label: 'any' });
	await page.getByTestId('examples-wrong').check();
	for (const r of await rowsOf(table)) expect(r.pred).not.toBe(r.true);
	await page.getByTestId('examples-wrong').uncheck();
	await expect(count).toHaveAttribute('data-shown', String(total));

	const word = (await rowsOf(table))[0].text.split(/\s+/).find((w) => w.length >= 6)!.toLowerCase();
	await page.getByTestId('examples-search').fill(word);
	await expect(count).not.toHaveAttribute('data-shown', String(total));
	const found = await rowsOf(table);
	expect(found.length).toBeGreaterThan(0);
	for (const r of found) expect(r.text.toLowerCase()).toContain(word);
	await table.getByTestId('example-row').first().click();
	await expect(page.getByTestId('example-detail')).toContainText(`Row ${found[0].row}`);
	await page.getByTestId('examples-search').fill('');

	// Slices: each metadata column of the example (channel, region) has its table.
	const sliceColumn = page.getByTestId('slice-column');
	const columns = await sliceColumn.locator('option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
	expect(columns).toEqual(expect.arrayContaining(['channel', 'region']));
	for (const column of columns) {
		await sliceColumn.selectOption(column);
		await expect(page.getByTestId('slices').locator('th').first()).toHaveText(column);
		await expect(page.getByTestId('slices').locator('tbody tr').first()).toBeVisible();
	}

	// The playground predicts with the selected checkpoint.
	await expect(page.getByText(`the checkpoint at step ${first.step} predicts`)).toBeVisible();
	await page.getByTestId('predict-text').fill('I was charged twice for my subscription this month, please refund me.');
	await page.getByTestId('predict').click();
	await expect(page.getByTestId('predicted-label')).toContainText(/billing|technical|account|shipping|product/);

	// Train's "Evaluate this" on the checkpoint not shown: Evaluate opens on it, on the test split,
	// whatever was picked here before, and scores it.
	await checkpointPick.selectOption(other.id);
	await page.getByTestId('eval-split').selectOption('validation');
	await page.getByTestId('nav-train').click();
	const row = page.locator(`[data-testid="checkpoint-row"][data-id="${first.checkpoint}"]`);
	await row.getByTestId('checkpoint-evaluate').click();
	await expect(page).toHaveURL(/\/evaluate$/);
	// The job in progress, if it is still running (a look, not an assertion: it may be done already).
	await page.screenshot({ path: 'screenshots/evaluate-scoring.png' });
	await expect(checkpointPick).toHaveValue(first.checkpoint!);
	await expect(page.getByTestId('eval-split')).toHaveValue('test');
	await expect(outcome).toHaveAttribute('data-kind', 'scored', { timeout: 180_000 });
	await expect(shownLine).toHaveAttribute('data-step', String(first.step));
	await expect(shownLine).toHaveAttribute('data-split', 'test');
	await expect(shownLine).toHaveAttribute('data-matches', 'true');
	await shot(page, 'evaluate-from-train');
});
