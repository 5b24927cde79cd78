/**
 * The Train screen, every control on it, in the states a user meets (WebGPU on SwiftShader):
 * a project with nothing yet (a message says what to do first); the New-run form with its model
 * presets (labelled by what differs), training presets, settings folds, source radios and method
 * radios, whose defaults follow the run (learning rate and epochs by method, warmup as a ratio)
 * while a value the user typed stays; the picker's and the method form's one memory figure; the
 * Runs table and its selection, with a prompt baseline neither listed, shown nor numbered; one
 * tiny extra run (10 steps) started, paused, resumed and stopped, the Runs table's step following
 * the live bar; and on the completed shared run: Copy as new run, the checkpoint list's "keep"
 * and "Resume from here" (a 4-step branch run; "Evaluate this" is covered by evaluate.spec.ts).
 */
import type { Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

const rows = (page: Page) => page.getByTestId('run-row');
const names = (page: Page) => rows(page).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name') ?? ''));

/** What the screen should call the next training run: "run N", N counting the training runs listed, past names in use. */
function expectedName(listed: string[]): string {
	let n = listed.length + 1;
	while (listed.includes(`run ${n}`)) n++;
	return `run ${n}`;
}

/** A prompt baseline stored in the example project (the Compare screen's zero-shot baseline with the tiny GPT-2); made once if none is there yet. */
async function ensureBaseline(page: Page): Promise<string> {
	await page.getByTestId('nav-compare').click();
	const systems = page.getByTestId('compare-systems');
	await expect(systems).toContainText('Majority', { timeout: 60_000 });
	const existing = systems.locator('li').filter({ hasText: /-shot/ });
	if ((await existing.count()) === 0) {
		await page.getByTestId('nav-train').click();
		await downloadHubModel(page, 'whetstone-test/tiny-gpt2');
		await page.getByTestId('source-scratch').check();
		await page.getByTestId('nav-compare').click();
		// Pick the tiny GPT-2: other specs in this worker may have cached an encoder (tiny BERT), which a prompt baseline refuses.
		const picker = page.getByTestId('baseline-model');
		await picker.selectOption((await picker.locator('option', { hasText: 'whetstone-test/tiny-gpt2 @' }).first().getAttribute('value'))!);
		await setNumber(page, 'baseline-shots', 0);
		await page.getByTestId('run-baseline').click();
		await expect(existing).toHaveCount(1, { timeout: 400_000 });
	}
	return (await existing.first().innerText()).trim();
}

test('a project with nothing yet: Train says what to do first', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	const name = `Nothing yet ${Date.now()}`;
	await page.getByLabel('Project name').fill(name);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data/);
	await page.getByTestId('nav-train').click();
	await expect(page.locator('main')).toContainText('Import a dataset on the Data screen first.');
	await expect(page.getByTestId('start')).toHaveCount(0);
	await expect(page.getByTestId('run-list')).toHaveCount(0);
	await shot(page, 'train-0-nothing-yet');

	// Clean up: delete it (with the confirmation), the example is still there.
	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
});

test('the New-run form: presets, folds, source and method radios, defaults that follow the run, one memory figure', async ({ studioPage: page }) => {
	await ensureTrainedExample(page);
	await page.getByTestId('source-scratch').check();

	// Model presets are told apart by what differs, with "1 layer".
	const preset = page.getByTestId('model-preset');
	const labels = await preset.locator('option:not([disabled])').allInnerTexts();
	expect(new Set(labels).size).toBe(labels.length);
	expect(labels).toContain('nano · 1 layer · width 32 · context 32');
	expect(labels).toContain('micro · 1 layer · width 32 · context 64');
	expect(labels.join(' ')).not.toContain('1 layers');

	// The settings fold opens on the model's shape, which the presets set.
	const folds = page.getByTestId('advanced-settings');
	if (!(await folds.evaluate((d) => (d as HTMLDetailsElement).open))) await folds.locator('summary').click();
	await expect(page.getByTestId('layers')).toBeVisible();
	await preset.selectOption('tiny');
	await expect(page.getByTestId('layers')).toHaveValue('2');
	await expect(page.getByTestId('width')).toHaveValue('64');
	await preset.selectOption('nano');
	await expect(page.getByTestId('layers')).toHaveValue('1');
	await expect(page.getByTestId('context')).toHaveValue('32');
	const memory = page.getByTestId('scratch-memory');
	await expect(memory).toContainText(/about \d+(\.\d)? [kM]B to train/);
	await expect(page.getByTestId('scratch-memory-parts')).toContainText(/weights .* gradients .* optimizer state .* activations .* \(batch \d+ × 32 tokens\)/);

	// Warmup is a ratio of the run, not 20 steps of a 10-step run; the learning rate suits a tiny model from scratch.
	await expect(page.getByTestId('warmup-steps')).toHaveValue('0');
	await expect(page.getByTestId('warmup-ratio')).toHaveValue('0.1');
	await expect(page.getByTestId('lr')).toHaveValue('0.003');

	// Training presets scale the suggestion; a typed value makes it custom.
	const trainPreset = page.getByTestId('train-preset');
	await trainPreset.selectOption('quick');
	await expect(page.getByTestId('epochs')).toHaveValue('3');
	await trainPreset.selectOption('thorough');
	await expect(page.getByTestId('epochs')).toHaveValue('30');
	await expect(page.getByTestId('lr')).toHaveValue('0.002');
	await trainPreset.selectOption('default');
	await expect(page.getByTestId('epochs')).toHaveValue('12');
	await expect(page.getByTestId('lr')).toHaveValue('0.003');
	await setNumber(page, 'epochs', 5);
	await expect(trainPreset).toHaveValue('custom');
	await shot(page, 'train-1-presets');

	// Pretrained: the defaults the user did not touch follow (rate, schedule, batch); the typed epochs stay.
	await page.getByTestId('source-pretrained').check();
	await expect(page.getByTestId('method-form')).toBeVisible();
	await expect(page.getByTestId('lr')).toHaveValue('0.00005');
	await expect(page.getByTestId('epochs')).toHaveValue('5');
	await expect(page.getByTestId('schedule')).toHaveValue('linear');
	await expect(page.getByTestId('batch-size')).toHaveValue('8');
	for (const [method, lr] of [['lora', '0.0003'], ['probe', '0.001'], ['freeze', '0.00005'], ['full', '0.00005']] as const) {
		await page.getByTestId(`method-${method}`).check();
		await expect(page.getByTestId('lr')).toHaveValue(lr);
	}
	// A typed learning rate is kept across methods.
	await setNumber(page, 'lr', 0.0001);
	await page.getByTestId('method-lora').check();
	await expect(page.getByTestId('lr')).toHaveValue('0.0001');
	await page.getByTestId('method-full').check();

	// The tiny Qwen2 looked up: the picker and the method form show one memory figure, explained, at the run's batch and context.
	await page.getByTestId('hub-repo').fill('whetstone-test/tiny-qwen2');
	await page.getByTestId('hub-inspect').click();
	const picker = page.getByTestId('picker-memory');
	const form = page.getByTestId('method-memory');
	await expect(picker).toHaveText(/\d+(\.\d)? [kMG]?B/, { timeout: 60_000 });
	await expect(form).toHaveText((await picker.innerText()).trim());
	const before = (await form.innerText()).trim();
	await setNumber(page, 'batch-size', 32);
	await expect(form).not.toHaveText(before);
	await expect(form).toHaveText((await picker.innerText()).trim());
	await expect(page.getByTestId('picker-memory-parts')).toContainText('(batch 32 × 128 tokens)');
	await expect(page.getByTestId('method-memory-parts')).toContainText('(batch 32 × 128 tokens)');
	await page.getByTestId('method-lora').check();
	await expect(page.getByTestId('method-summary')).toContainText('full fine-tuning: ' + (await picker.innerText()).trim());
	await page.getByTestId('method-full').check();
	await page.getByTestId('method-form').scrollIntoViewIfNeeded();
	await shot(page, 'train-2-method-memory');

	// Back to scratch: the untouched schedule is the scratch one again; the typed rate, epochs and batch stay.
	await page.getByTestId('source-scratch').check();
	await expect(page.getByTestId('schedule')).toHaveValue('cosine');
	await expect(page.getByTestId('lr')).toHaveValue('0.0001');
	await expect(page.getByTestId('epochs')).toHaveValue('5');
	await expect(page.getByTestId('batch-size')).toHaveValue('32');
});

test('runs: a baseline is not a training run; start, pause, resume, stop; copy; checkpoints', async ({ studioPage: page }) => {
	test.setTimeout(15 * 60_000);
	const exampleRun = await ensureTrainedExample(page);
	const baseline = await ensureBaseline(page);

	// Open the project afresh (nothing selected): Train shows a training run, never the baseline.
	await page.getByTestId('nav-projects').click();
	await page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first().getByRole('button', { name: 'Open' }).click();
	await expect(page).toHaveURL(/\/train/);
	await expect(rows(page).first()).toBeVisible();
	const listed = await names(page);
	expect(listed.some((n) => n.includes('-shot'))).toBe(false);
	expect(listed).not.toContain(baseline);
	await expect(page.getByTestId('run-settings').locator('summary').first()).toHaveText(`Settings of ${listed[0]}`);
	const numbered = (all: string[]) => all.filter((n) => /^run \d+$/.test(n));
	expect(new Set(numbered(listed)).size).toBe(numbered(listed).length);

	// The run list selects: the details follow the clicked row.
	// The shared example run (other specs add runs of other models to the example project).
	const completed = page.locator(`[data-testid="run-row"][data-status="completed"][data-name="${exampleRun}"]`);
	const completedName = (await completed.getAttribute('data-name'))!;
	await completed.click();
	await expect(completed).toHaveClass(/selected/);
	await expect(page.getByTestId('run-settings').locator('summary').first()).toHaveText(`Settings of ${completedName}`);

	// Completed: Copy as new run loads its settings into the form.
	await page.getByTestId('run-settings').locator('summary').first().click();
	await page.getByTestId('copy-run').click();
	await expect(page.getByTestId('model-preset')).toHaveValue('nano');
	await expect(page.getByTestId('max-steps')).toHaveValue('8');
	await expect(page.getByTestId('epochs')).toHaveValue('1');

	// Checkpoints: keep fewer (the setting sticks); Resume from here continues the run from that
	// checkpoint as a new branch run (4 nano steps) and leaves this one as it was.
	const keep = page.getByTestId('keep-checkpoints');
	await keep.fill('2');
	await keep.blur();
	await expect(keep).toHaveValue('2');
	const oldest = page.getByTestId('checkpoint-row').last();
	const oldestStep = Number(await oldest.getAttribute('data-step'));
	const rowsBefore = await rows(page).count();
	await oldest.getByTestId('checkpoint-resume').click();
	await expect(rows(page)).toHaveCount(rowsBefore + 1);
	const branch = page.locator(`[data-testid="run-row"][data-name="${completedName} · from step ${oldestStep}"]`).first();
	await expect(branch).toHaveAttribute('data-status', 'completed', { timeout: 300_000 });
	await expect(branch).toHaveAttribute('data-step', '8');
	await expect(branch.getByTestId('run-lineage-line')).toContainText(`from ${completedName} @ step ${oldestStep}`);
	await expect(page.locator(`[data-testid="run-row"][data-name="${completedName}"]`)).toHaveAttribute('data-status', 'completed');
	await branch.click();
	await expect(page.getByTestId('resume')).toBeDisabled();
	await expect(page.getByTestId('pause')).toBeDisabled();
	await expect(page.getByTestId('stop')).toBeDisabled();
	await expect(page.getByTestId('start')).toBeEnabled();
	await shot(page, 'train-3-completed-and-branch');

	// One extra tiny run (10 steps, the copied nano settings), named by counting training runs only.
	const expected = expectedName(await names(page));
	await page.getByTestId('model-preset').selectOption('tiny');
	await setNumber(page, 'max-steps', 10);
	const folds = page.getByTestId('advanced-settings');
	if (!(await folds.evaluate((d) => (d as HTMLDetailsElement).open))) await folds.locator('summary').click();
	await setNumber(page, 'log-every', 1);
	await setNumber(page, 'eval-every', 10);
	await setNumber(page, 'checkpoint-every', 10);
	await page.getByTestId('start').click();
	const mine = page.locator(`[data-testid="run-row"][data-name="${expected}"]`);
	await expect(mine).toHaveCount(1, { timeout: 120_000 });

	// Running: Pause and Stop are offered; the Runs table's step follows the live bar although
	// nothing is stored before the checkpoint at step 10 (the stored step is still 0).
	await expect(mine).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
	const progress = page.getByTestId('progress');
	await expect.poll(async () => Number(await mine.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(1);
	await expect(page.getByTestId('pause')).toBeEnabled();
	await expect(page.getByTestId('stop')).toBeEnabled();
	await expect(page.getByTestId('start')).toBeDisabled();
	await expect(page.getByTestId('resume')).toBeDisabled();
	const seen = await page.evaluate(() => [document.querySelector('[data-testid="progress"]')?.getAttribute('data-step'), document.querySelector('[data-testid="run-row"].selected')?.getAttribute('data-step')]);
	await page.getByTestId('pause').click();
	expect(Number(seen[0])).toBeGreaterThanOrEqual(1);
	expect(seen[1]).toBe(seen[0]);

	// Paused: Resume is offered, Pause and Stop are not.
	await expect(mine).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
	const pausedAt = Number(await mine.getAttribute('data-step'));
	expect(pausedAt).toBeGreaterThanOrEqual(1);
	expect(pausedAt).toBeLessThan(10);
	await mine.click();
	await expect(page.getByTestId('resume')).toBeEnabled();
	await expect(page.getByTestId('pause')).toBeDisabled();
	await expect(page.getByTestId('stop')).toBeDisabled();
	await expect(mine.getByTestId('run-progress')).toHaveText(`${pausedAt} / 10`);

	// Resume, then Stop: the run is stopped and cannot be resumed; a new run can start.
	await page.getByTestId('resume').click();
	await expect(mine).toHaveAttribute('data-status', 'running', { timeout: 120_000 });
	await page.getByTestId('stop').click({ timeout: 120_000 });
	await expect(mine).toHaveAttribute('data-status', 'stopped', { timeout: 120_000 });
	await expect(page.getByTestId('resume')).toBeDisabled();
	await expect(page.getByTestId('start')).toBeEnabled();
	expect(Number(await mine.getAttribute('data-step'))).toBeLessThan(10);
	await shot(page, 'train-4-stopped');

	// Numbered names stay unique; the baseline is still not listed.
	const after = await names(page);
	expect(new Set(numbered(after)).size).toBe(numbered(after).length);
	expect(after).not.toContain(baseline);
	await expect(progress).toHaveCount(0);
});
