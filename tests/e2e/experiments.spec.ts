/**
 * The Experiments screen on the example project (shared trained context): a 4-trial TPE study of
 * nano runs of 3 steps with the median pruner, paused, reloaded and resumed; its table, charts,
 * exports and "promote"; then a 3-fold stratified cross-validation with its interval and curves;
 * a 2-trial LoRA-rank study on the tiny BERT from the local fake Hub whose trials train the ranks
 * they sampled; and a 3-fold cross-validation grouped by an imported customer column, with no
 * customer in two folds. Every control on the screen is used once with its result checked.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { ensureTrainedExample, expect, test } from './fixtures';
import { downloadHubModel, setNumber, shot } from './helpers';

const trialRows = (page: Page) => page.getByTestId('trial-row');

async function cellValues(page: Page, column: number): Promise<number[]> {
	const texts = await trialRows(page).locator(`td:nth-child(${column})`).allInnerTexts();
	return texts.map((t) => Number(t.replace('★', '').trim())).filter((v, i) => texts[i].trim() !== '' && Number.isFinite(v));
}

test('a 4-trial study: form, pause, reload, resume, table, charts, exports, promote', async ({ studioPage: page }) => {
	test.setTimeout(12 * 60_000);
	const example = await ensureTrainedExample(page);
	await page.getByTestId('nav-experiments').click();
	await expect(page.locator('main h1')).toContainText('Experiments');
	await expect(page.getByTestId('nav-experiments')).toHaveAttribute('aria-current', 'page');

	// The estimate comes from the steps per second the trained example measured on this device.
	await expect(page.getByTestId('study-estimate')).toContainText(/Estimated time: about .* for 20 trials of 60 steps at [\d.]+ steps\/s/);

	// The form's controls, each with what it changes.
	await page.getByTestId('study-name').fill('lr and decay');
	// Other specs leave runs (some fine-tuned from pretrained models) in the example project: start from the shared run by name.
	await page.getByTestId('study-base').selectOption({ label: `${example}'s settings` });
	await page.getByTestId('study-preset').selectOption('nano');
	await page.getByTestId('study-metric').selectOption('valAccuracy');
	await page.getByTestId('study-metric').selectOption('valLoss');
	await page.getByTestId('study-sampler').selectOption('grid');
	await setNumber(page, 'study-grid-points', 2);
	await page.getByTestId('study-sampler').selectOption('random');
	await expect(page.locator('main')).toContainText('Independent uniform draws.');
	await page.getByTestId('study-sampler').selectOption('tpe');
	await setNumber(page, 'study-startup', 2);
	await page.getByTestId('study-multivariate').check();
	await page.getByTestId('study-multivariate').uncheck();
	await page.getByTestId('study-pruner').selectOption('asha');
	await setNumber(page, 'study-reduction', 2);
	await page.getByTestId('study-pruner').selectOption('none');
	await expect(page.getByTestId('study-warmup')).toHaveCount(0);
	await page.getByTestId('study-pruner').selectOption('median');
	await setNumber(page, 'study-pruner-startup', 1);
	await setNumber(page, 'study-warmup', 1);
	await setNumber(page, 'study-trials', 4);
	await setNumber(page, 'study-minutes', 0);
	await setNumber(page, 'study-steps', 3);
	await setNumber(page, 'study-seed', 7);
	await expect(page.getByTestId('study-estimate')).toContainText('for 4 trials of 3 steps');

	// The search space: nothing ticked is refused with what to do.
	for (const id of ['train-learningRate', 'train-weightDecay']) await page.getByTestId(`tune-${id}`).uncheck();
	await page.getByTestId('study-start').click();
	await expect(page.getByTestId('study-problem')).toContainText('The search space is empty');
	await expect(page.getByTestId('study-problem')).toContainText('Tick a setting to search');
	await page.getByTestId('tune-train-learningRate').check();
	await page.getByTestId('low-train-learningRate').fill('0.0005');
	await page.getByTestId('high-train-learningRate').fill('0.02');
	await page.getByTestId('log-train-learningRate').uncheck();
	await page.getByTestId('log-train-learningRate').check();
	await page.getByTestId('tune-train-batchSize').check();
	await page.getByTestId('choices-train-batchSize').fill('4, 8');
	await page.getByTestId('tune-model-dropout').check();
	await page.getByTestId('tune-model-dropout').uncheck();
	await shot(page, 'experiments-form');

	// Start, and pause during the first trial: the trial stays "running" with its run paused.
	await page.getByTestId('study-start').click();
	await expect(page.getByTestId('experiment-progress')).toBeVisible();
	await page.getByTestId('study-pause').click();
	await expect(page.getByTestId('study-status')).toHaveText('paused', { timeout: 300_000 });
	const pausedTrials = await trialRows(page).count();
	expect(pausedTrials).toBeGreaterThanOrEqual(1);
	expect(pausedTrials).toBeLessThan(4);

	// A reload finds the study where it stopped; Resume finishes it.
	await page.reload();
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu', { timeout: 180_000 });
	await expect(page.getByTestId('study-status')).toHaveText('paused', { timeout: 60_000 });
	await expect(trialRows(page)).toHaveCount(pausedTrials);
	await page.getByTestId('study-resume').click();
	await expect(page.getByTestId('study-status')).toHaveText('done', { timeout: 600_000 });

	// Four trials, each complete or pruned (a pruned one says at which step), the best marked.
	await expect(trialRows(page)).toHaveCount(4);
	const states = await trialRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
	expect(states.every((s) => s === 'complete' || s === 'pruned')).toBe(true);
	expect(states).toContain('complete');
	for (const row of await page.locator('[data-testid="trial-row"][data-state="pruned"]').all()) await expect(row.locator('td:nth-child(4)')).toHaveText(/^\d+$/);
	await expect(page.getByTestId('study-counts')).toContainText('4 of 4 trials');
	await expect(page.getByTestId('study-counts')).toContainText('done: all 4 trials have run');
	await expect(page.getByTestId('study-best')).toContainText(/Best: trial \d, validation loss \d\.\d{4}\s+with\s+learning rate/);
	await expect(page.getByTestId('study-history').locator('.uplot')).toBeVisible();
	await expect(page.getByTestId('parallel-coords').getByTestId('pc-line')).toHaveCount(4);
	await expect(page.getByTestId('slice-plots').locator('figure')).toHaveCount(2); // learning rate and batch size
	await expect(page.getByTestId('importance')).toContainText('learning rate');

	// Sorting: by value ascending, then descending; by trial number back.
	await page.getByTestId('sort-value').click();
	const up = await cellValues(page, 3);
	expect(up).toEqual([...up].sort((a, b) => a - b));
	await page.getByTestId('sort-value').click();
	const down = await cellValues(page, 3);
	expect(down).toEqual([...up].sort((a, b) => b - a));
	await page.getByTestId('sort-number').click();
	expect(await cellValues(page, 1)).toEqual([0, 1, 2, 3]);
	for (const key of ['state', 'pruned', 'train-learningRate', 'train-batchSize']) await page.getByTestId(`sort-${key}`).click();
	await expect(trialRows(page)).toHaveCount(4);
	await shot(page, 'experiments-study');

	// Exports: JSON with every trial and its run; CSV with a header and a row per trial.
	const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('study-export-json').click()]);
	const study = JSON.parse(readFileSync((await json.path())!, 'utf8'));
	expect(study.trials).toHaveLength(4);
	expect(study.trials.every((t: { runId?: string }) => t.runId)).toBe(true);
	const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('study-export-csv').click()]);
	const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
	expect(lines[0]).toBe('number,state,value,pruned_at_step,run_id,train.learningRate,train.batchSize');
	expect(lines).toHaveLength(5);

	// Each trial is a normal run on the Train screen.
	await page.getByTestId('nav-train').click();
	await expect(page.locator('[data-testid="run-row"][data-name^="lr and decay · trial "]')).toHaveCount(4);
	await page.getByTestId('nav-experiments').click();

	// Promote: the best trial's settings in the Train form, as a full run.
	const best = study.trials
		.filter((t: { state: string }) => t.state === 'complete')
		.sort((a: { value: number }, b: { value: number }) => a.value - b.value)[0];
	await page.getByTestId('study-promote').click();
	await expect(page).toHaveURL(/\/train/);
	expect(Number(await page.getByTestId('lr').inputValue())).toBeCloseTo(best.params['train.learningRate'], 10);
	await expect(page.getByTestId('max-steps')).toHaveValue('8');

	// Deleting the study keeps its runs.
	await page.getByTestId('nav-experiments').click();
	await page.getByTestId('study-open').first().click();
	await page.getByTestId('study-delete').first().click();
	await expect(page.getByTestId('no-studies')).toBeVisible();
	await page.getByTestId('nav-train').click();
	await expect(page.locator('[data-testid="run-row"][data-name^="lr and decay · trial "]')).toHaveCount(4);
});

test('a 3-fold stratified cross-validation: paused and resumed, mean ± interval, per-fold curves', async ({ studioPage: page }) => {
	test.setTimeout(10 * 60_000);
	const example = await ensureTrainedExample(page);
	await page.getByTestId('nav-experiments').click();
	await page.getByTestId('study-base').selectOption({ label: `${example}'s settings` });
	await page.getByTestId('study-preset').selectOption('nano');

	await page.getByTestId('cv-mode').selectOption('seeds');
	await expect(page.locator('main')).toContainText('Seeds (N)');
	await expect(page.getByTestId('cv-by')).toHaveCount(0);
	await page.getByTestId('cv-mode').selectOption('folds');
	await page.getByTestId('cv-by').selectOption('none');
	await page.getByTestId('cv-by').selectOption('label');
	await setNumber(page, 'cv-k', 1);
	await page.getByTestId('cv-start').click();
	await expect(page.getByTestId('cv-problem')).toContainText('Use at least 2 folds (got 1).');
	await setNumber(page, 'cv-k', 3);
	await setNumber(page, 'cv-seed', 3);
	await setNumber(page, 'cv-steps', 3);
	await expect(page.getByTestId('cv-estimate')).toContainText('for 3 runs of 3 steps');

	await page.getByTestId('cv-start').click();
	await page.getByTestId('cv-pause').click();
	await expect(page.getByTestId('cv-resume')).toBeVisible({ timeout: 300_000 });
	const done = await page.locator('[data-testid="cv-row"][data-state="complete"]').count();
	expect(done).toBeLessThan(3);
	await page.getByTestId('cv-resume').click();
	await expect(page.locator('[data-testid="cv-row"][data-state="complete"]')).toHaveCount(3, { timeout: 600_000 });

	await expect(page.getByTestId('cv-result')).toContainText('3-fold CV');
	await expect(page.getByTestId('cv-result')).toContainText('stratified');
	await expect(page.getByTestId('cv-result')).toContainText('3 of 3 done');
	await expect(page.getByTestId('cv-summary')).toContainText(/Validation accuracy \d\.\d{4} ± \d\.\d{4} · validation loss \d\.\d{4} ± \d\.\d{4}/);
	await expect(page.getByTestId('cv-curves').locator('.uplot')).toBeVisible();
	await expect(page.getByTestId('cv-row')).toHaveCount(3);
	await shot(page, 'experiments-cv');

	// The folds are dataset versions of the same rows; the runs show on the Train screen.
	await page.getByTestId('nav-train').click();
	await expect(page.locator('[data-testid="run-row"][data-name^="3-fold CV · fold "]')).toHaveCount(3);
	await page.getByTestId('nav-experiments').click();
	// Deleting the cross-validation keeps its runs.
	await page.getByTestId('cv-delete').click();
	// (other specs leave their own cross-validations in the example project: this one is gone)
	await expect(page.getByTestId('cv-result').filter({ hasText: '3-fold CV' })).toHaveCount(0);
	await expect(page.getByTestId('cv-select').locator('option', { hasText: '3-fold CV' })).toHaveCount(0);
	await page.getByTestId('nav-train').click();
	await expect(page.locator('[data-testid="run-row"][data-name^="3-fold CV · fold "]')).toHaveCount(3);

	// On a phone the six screens' links fit in the window, and the screen has no sideways scroll.
	await page.setViewportSize({ width: 390, height: 844 });
	try {
		await page.getByTestId('nav-experiments').click();
		await expect(page.locator('main h1')).toContainText('Experiments');
		for (const s of ['projects', 'data', 'train', 'evaluate', 'compare', 'experiments']) {
			const box = (await page.getByTestId(`nav-${s}`).boundingBox())!;
			expect(box.x + box.width, `${s} link`).toBeLessThanOrEqual(390);
		}
		expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
		await shot(page, 'phone-experiments');
	} finally {
		await page.setViewportSize({ width: 1280, height: 900 });
	}
});

/** Every record of an IndexedDB store of the studio's database (for what the page stored). */
async function stored<T>(page: Page, store: string): Promise<T[]> {
	return page.evaluate(async (name) => {
		const db: IDBDatabase = await new Promise((ok, err) => {
			const r = indexedDB.open('whetstone');
			r.onsuccess = () => ok(r.result);
			r.onerror = () => err(r.error);
		});
		try {
			return await new Promise<T[]>((ok, err) => {
				const req = db.transaction(name).objectStore(name).getAll();
				req.onsuccess = () => ok(req.result as T[]);
				req.onerror = () => err(req.error);
			});
		} finally {
			db.close();
		}
	}, store);
}

interface StoredTrial {
	number: number;
	params: Record<string, number | string>;
	state: string;
	runId?: string;
}

test('a 2-trial LoRA-rank study on the tiny BERT: each trial trains the rank it sampled', async ({ studioPage: page }) => {
	test.setTimeout(8 * 60_000);
	await ensureTrainedExample(page);

	// The study starts from a LoRA fine-tune of the tiny BERT (1 step).
	await downloadHubModel(page, 'whetstone-test/tiny-bert');
	await page.getByTestId('objective').selectOption('classification');
	await page.getByTestId('method-lora').check();
	await setNumber(page, 'lora-rank', 8);
	await setNumber(page, 'hf-context', 32);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'epochs', 1);
	const advanced = page.getByTestId('advanced-settings');
	if (!(await advanced.evaluate((d) => (d as HTMLDetailsElement).open))) await advanced.locator('summary').click();
	await setNumber(page, 'max-steps', 1);
	await setNumber(page, 'log-every', 1);
	await setNumber(page, 'eval-every', 1);
	await setNumber(page, 'checkpoint-every', 1);
	const rows = page.getByTestId('run-row');
	const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))));
	await page.getByTestId('start').click();
	await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).filter((n) => !before.has(n)).length, { timeout: 120_000 }).toBe(1);
	const baseName = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).find((n) => !before.has(n))!;
	await expect(page.locator(`[data-testid="run-row"][data-name="${baseName}"]`)).toHaveAttribute('data-status', 'completed', { timeout: 300_000 });
	await page.getByTestId('source-scratch').check();

	await page.getByTestId('nav-experiments').click();
	const base = page.getByTestId('study-base');
	// The newest run first: the LoRA run just trained.
	const option = base.locator('option', { hasText: 'tiny-bert, LoRA rank 8' }).first();
	await expect(option).toBeAttached();
	await base.selectOption((await option.getAttribute('value'))!);
	await expect(base.locator('option:checked')).toContainText('tiny-bert, LoRA rank 8');
	// A pretrained base: no from-scratch model size or dropout; its method and LoRA's settings instead.
	await expect(page.getByTestId('study-preset')).toHaveCount(0);
	await expect(page.getByTestId('tune-model-dropout')).toHaveCount(0);
	await expect(page.getByTestId('space-editor')).toContainText('LoRA rank (only when fine-tuning method is lora)');
	await expect(page.getByTestId('low-train-learningRate')).toHaveValue('0.00001');

	await page.getByTestId('study-name').fill('lora rank');
	await page.getByTestId('study-sampler').selectOption('random');
	await page.getByTestId('study-pruner').selectOption('none');
	await setNumber(page, 'study-trials', 2);
	await setNumber(page, 'study-steps', 1);
	await setNumber(page, 'study-seed', 11);
	for (const id of ['train-learningRate', 'train-weightDecay']) await page.getByTestId(`tune-${id}`).uncheck();
	await page.getByTestId('tune-pretrained-method-kind').check();
	await page.getByTestId('choices-pretrained-method-kind').fill('lora, qlora');
	await page.getByTestId('tune-pretrained-method-rank').check();
	await page.getByTestId('low-pretrained-method-rank').fill('2');
	await page.getByTestId('high-pretrained-method-rank').fill('6');
	await page.getByTestId('study-start').click();
	await expect(page.getByTestId('study-problem')).toContainText('Unknown fine-tuning method "qlora": the choices are full and lora.');
	await page.getByTestId('choices-pretrained-method-kind').fill('lora');
	await shot(page, 'experiments-lora-form');
	await page.getByTestId('study-start').click();
	await expect(page.getByTestId('study-status').first()).toHaveText('done', { timeout: 300_000 });
	await expect(trialRows(page)).toHaveCount(2);
	await expect(page.getByTestId('sort-pretrained-method-rank')).toBeVisible();
	await shot(page, 'experiments-lora-study');

	// What the page stored: each trial's run has the sampled rank, and its checkpoint's adapters are that wide.
	const study = (await stored<{ kind: string; config: { name: string }; trials: StoredTrial[] }>(page, 'experiments')).find((r) => r.kind === 'study' && r.config.name === 'lora rank')!;
	expect(study.trials.map((t) => t.state)).toEqual(['complete', 'complete']);
	const runs = await stored<{ id: string; config: { pretrained?: { repo: string; method?: { kind: string; rank?: number } } } }>(page, 'runs');
	const checkpoints = await stored<{ runId: string; tensors: { name: string; shape: number[] }[] }>(page, 'checkpoints');
	for (const t of study.trials) {
		const rank = t.params['pretrained.method.rank'] as number;
		expect(Number.isInteger(rank) && rank >= 2 && rank <= 6).toBe(true);
		expect(t.params['pretrained.method.kind']).toBe('lora');
		const run = runs.find((r) => r.id === t.runId)!;
		expect(run.config.pretrained!.repo).toBe('whetstone-test/tiny-bert');
		expect(run.config.pretrained!.method).toMatchObject({ kind: 'lora', rank });
		const adapters = checkpoints.filter((c) => c.runId === t.runId).flatMap((c) => c.tensors.filter((x) => x.name.endsWith('lora_A.weight')));
		expect(adapters.length).toBeGreaterThan(0);
		for (const a of adapters) expect(a.shape[0]).toBe(rank);
	}
});

test('a 3-fold cross-validation grouped by an imported column: no customer in two folds', async ({ studioPage: page }) => {
	test.setTimeout(6 * 60_000);
	const name = `Grouped CV ${Date.now()}`;
	if (new URL(page.url()).pathname !== '/') await page.getByTestId('nav-projects').click();
	const input = page.getByLabel('Project name');
	await expect(async () => {
		await input.fill(name);
		await expect(input).toHaveValue(name, { timeout: 1_000 });
	}).toPass({ timeout: 30_000 });
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);
	await page.getByTestId('file-input').setInputFiles('tests/fixtures/data/tickets-grouped.csv');
	await page.getByTestId('text-column').selectOption('text');
	await page.getByTestId('label-column').selectOption('label');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toBeVisible({ timeout: 60_000 });

	await page.getByTestId('nav-experiments').click();
	await page.getByTestId('study-preset').selectOption('nano');
	await expect(page.getByTestId('cv-by').locator('option')).toContainText(['the label balance (stratified)', 'nothing (shuffled)', 'groups of "customer" whole']);
	await page.getByTestId('cv-by').selectOption('customer');
	await page.getByTestId('cv-name').fill('by customer');
	await setNumber(page, 'cv-k', 3);
	await setNumber(page, 'cv-steps', 2);
	await page.getByTestId('cv-start').click();
	await expect(page.locator('[data-testid="cv-row"][data-state="complete"]')).toHaveCount(3, { timeout: 300_000 });
	await expect(page.getByTestId('cv-result')).toContainText('by customer (grouped by customer, 2 steps each) · 3 of 3 done');
	await expect(page.getByTestId('cv-summary')).toContainText(/Validation accuracy \d\.\d{4} ± \d\.\d{4}/);

	// The page: each fold validates whole customers, no customer in two folds.
	const validates = page.getByTestId('cv-validates');
	await expect(validates.first()).toHaveAttribute('data-groups', /\[/);
	const shown: string[][] = await validates.evaluateAll((els) => els.map((e) => JSON.parse(e.getAttribute('data-groups')!)));
	expect(shown).toHaveLength(3);
	for (const g of shown) expect(g.length).toBeGreaterThan(0);
	expect(new Set(shown.flat()).size).toBe(shown.flat().length);
	await shot(page, 'experiments-grouped-cv');

	// The stored fold versions: every non-test row's customer validates in exactly one fold, and every customer does in one.
	const cv = (await stored<{ name: string; kind: string; folds: { datasetVersionId: string }[] }>(page, 'experiments')).find((r) => r.kind === 'folds' && r.name === 'by customer')!;
	const chunks = await stored<{ versionId: string; index: number; rows: { split: number; meta?: Record<string, string> }[] }>(page, 'rows');
	const rowsOf = (id: string) => chunks.filter((c) => c.versionId === id).sort((a, b) => a.index - b.index).flatMap((c) => c.rows);
	const folds = cv.folds.map((f) => rowsOf(f.datasetVersionId));
	const customers = new Set(folds[0].filter((r) => r.split !== 2).map((r) => r.meta!.customer));
	expect(customers.size).toBeGreaterThanOrEqual(3);
	for (const c of customers) {
		const foldsValidating = folds.filter((rows) => rows.some((r) => r.split === 1 && r.meta!.customer === c));
		expect(foldsValidating, c).toHaveLength(1);
		// Within its fold, all of the customer's non-test rows validate.
		expect(foldsValidating[0].filter((r) => r.meta!.customer === c && r.split !== 2).every((r) => r.split === 1)).toBe(true);
	}
	expect(new Set(shown.flat())).toEqual(customers);

	await page.getByTestId('nav-projects').click();
	page.once('dialog', (d) => void d.accept());
	await page.getByTestId('project-card').filter({ hasText: name }).getByRole('button', { name: 'Delete' }).click({ timeout: 30_000 });
	await expect(page.getByTestId('project-card').filter({ hasText: name })).toHaveCount(0);
});
