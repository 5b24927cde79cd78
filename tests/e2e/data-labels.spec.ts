/**
 * Labels on the Data screen, in a new project, with tests/fixtures/data/tickets-labels.csv (60
 * tickets: `team` imbalanced 30/14/9/5/2, `tags` multi-label separated by ";", 32 rows with two):
 * the multi-label column found and offered by the importer (first label, one row per label, the
 * delimiter, or read as single labels) and imported one row per label; then the team import's class
 * balance per split; rename, merge and drop rare previewed (a refused rename and a removed step on
 * the way) and applied as a new version with its recipe; training oversampled, the validation and
 * test bars unchanged. Last, `tags` imported keeping all labels: the label steps say they are for
 * single-label data, a nano multi-label classifier trains three steps, Evaluate shows micro/macro
 * F1, Hamming loss, subset accuracy and per-label scores, and Predict lists the labels above 0.5;
 * a threshold saved for the run, then "Share as a demo": the demo page, served from the unzipped
 * folder, chooses the same labels at that threshold with a sigmoid per label. Last, a zero-shot
 * prompt baseline on the multi-label dataset (the tiny GPT-2 from the local Hub), listed on Compare
 * with its subset accuracy and paired with the run on the same test rows: the four figures with
 * their intervals, their differences with intervals and p-values, and the decision report on micro F1.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import { expect, test } from './fixtures';
import { downloadHubModel, openDemo, setNumber, shot } from './helpers';
import type { Page } from '@playwright/test';

const FILE = fileURLToPath(new URL('../fixtures/data/tickets-labels.csv', import.meta.url));

/** The bars of one split's balance chart as "label count" strings. */
async function bars(page: Page, split: string): Promise<string[]> {
	const items = page.getByTestId(`balance-${split}`).locator('li');
	return (await items.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}
const total = (b: string[]) => b.reduce((n, t) => n + Number(t.split(' ').at(-1)), 0);

test('data screen: labels — multi-label column, class balance, rename/merge/drop rare and training-only oversampling as versions', async ({ studioPage: page }) => {
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(`Labels ${Date.now()}`);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data$/);

	// The importer guesses `team` and points at `tags`, which holds several labels per row.
	await page.getByTestId('file-input').setInputFiles(FILE);
	await expect(page.getByTestId('label-column')).toHaveValue('team');
	await expect(page.getByTestId('multilabel-hint')).toContainText('“tags” holds several labels per row (labels separated by “;”)');
	await expect(page.getByTestId('multilabel')).toHaveCount(0);
	await page.getByTestId('multilabel-use').click();
	await expect(page.getByTestId('label-column')).toHaveValue('tags');
	const box = page.getByTestId('multilabel');
	await expect(box).toContainText('32 of the first 60 rows have more than one, 7 labels in all');
	await expect(box).toContainText('keep all labels: train a multi-label classifier');
	await expect(page.getByTestId('multilabel-delimiter')).toHaveValue(';');
	await expect(page.getByTestId('multilabel-first')).toBeChecked();
	await expect(page.getByTestId('import-button')).toHaveText('Import 60 rows');
	await page.getByTestId('multilabel-explode').check();
	await expect(page.getByTestId('import-button')).toHaveText('Import 92 rows');
	// Another delimiter reads each cell as one label: one row each again.
	await page.getByTestId('multilabel-delimiter').selectOption('|');
	await expect(page.getByTestId('import-button')).toHaveText('Import 60 rows');
	await page.getByTestId('multilabel-delimiter').selectOption(';');
	await expect(page.getByTestId('import-button')).toHaveText('Import 92 rows');
	await page.getByTestId('multilabel-on').uncheck();
	await expect(page.getByTestId('multilabel-delimiter')).toHaveCount(0);
	await expect(page.getByTestId('import-button')).toHaveText('Import 60 rows');
	await page.getByTestId('multilabel-on').check();
	await page.getByTestId('multilabel-explode').check();
	await expect(page.getByTestId('import-button')).toHaveText('Import 92 rows');
	await shot(page, 'data-labels-multilabel');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('labels-multilabel')).toContainText('32 rows had several labels, imported as one row per label');
	await expect(page.getByTestId('balance-train').getByTestId('count-label')).toHaveText(['bug', 'delivery', 'invoice', 'login', 'privacy', 'refund', 'urgent']);

	// The imbalanced team column, single-label.
	await page.getByTestId('file-input').setInputFiles(FILE);
	await expect(page.getByTestId('label-column')).toHaveValue('team');
	await expect(page.getByTestId('import-button')).toHaveText('Import 60 rows');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('labels-multilabel')).toHaveCount(0);
	await expect(page.getByTestId('balance-train').getByTestId('count-label')).toHaveText(['account', 'billing', 'legal', 'shipping', 'tech']);
	const sizes = (await page.locator('[data-testid="version-row"][data-active="true"] td.num').nth(1).innerText()).split('\n')[0].split('/').map((s) => Number(s.trim()));
	expect([total(await bars(page, 'train')), total(await bars(page, 'validation')), total(await bars(page, 'test'))]).toEqual(sizes);
	expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);

	// Steps: a rename onto an existing class is refused and left out; a resampling added and removed.
	await page.getByTestId('label-steps').locator('summary').click();
	await expect(page.getByTestId('labels-apply')).toBeDisabled();
	await page.getByTestId('rename-from').selectOption('account');
	await page.getByTestId('rename-to').fill('billing');
	await page.getByTestId('rename-add').click();
	await expect(page.getByTestId('label-steps').getByRole('alert')).toContainText('“billing” is already a class');
	await expect(page.getByTestId('label-step')).toHaveCount(0);
	await page.getByTestId('rename-from').selectOption('account');
	await page.getByTestId('rename-to').fill('accounts');
	await page.getByTestId('rename-add').click();
	await expect(page.getByTestId('label-preview-summary')).toHaveText('5 rows relabelled · 0 removed · 0 added: 60 → 60 rows, 5 → 5 classes');
	const merge = page.getByTestId('merge-from');
	await merge.getByLabel('shipping').check();
	await merge.getByLabel('tech').check();
	await page.getByTestId('merge-to').fill('product');
	await page.getByTestId('merge-add').click();
	await expect(page.getByTestId('label-preview-summary')).toHaveText('28 rows relabelled · 0 removed · 0 added: 60 → 60 rows, 5 → 4 classes');
	await page.getByTestId('resample-method').selectOption('undersample');
	await page.getByTestId('resample-target').fill('3');
	await page.getByTestId('resample-add').click();
	await expect(page.getByTestId('label-step')).toHaveCount(3);
	await expect(page.getByTestId('label-step').nth(2)).toContainText('training undersampled to 3');
	await expect(page.getByTestId('label-preview-summary')).toContainText(/28 rows relabelled · [1-9]\d* removed/);
	await page.getByTestId('label-step-remove').nth(2).click();
	await expect(page.getByTestId('label-step')).toHaveCount(2);
	await page.getByTestId('rare-min').fill('3');
	await page.getByTestId('rare-add').click();
	await expect(page.getByTestId('label-preview-summary')).toHaveText('28 rows relabelled · 2 removed · 0 added: 60 → 58 rows, 5 → 3 classes');
	await expect(page.getByTestId('label-preview-dropped')).toHaveText('Dropped: legal (2)');
	await expect(page.getByTestId('label-preview-after').locator('tbody tr')).toHaveCount(3);
	await expect(page.getByTestId('label-preview-after')).toContainText('product');
	await shot(page, 'data-labels-preview');
	await page.getByTestId('labels-apply').click();
	await expect(page.getByTestId('labels-done')).toContainText('58 rows in 3 classes');
	const active = page.locator('[data-testid="version-row"][data-active="true"]');
	await expect(active.getByTestId('version-name')).toContainText('labels: account renamed accounts, shipping + tech merged as product, classes under 3 rows dropped');
	await expect(active).toContainText('cleaned from “tickets-labels.csv”');
	await expect(page.getByTestId('version-row')).toHaveCount(3);
	await expect(page.getByTestId('balance-train').getByTestId('count-label')).toHaveText(['accounts', 'billing', 'product']);
	await expect(page.getByTestId('label-step')).toHaveCount(0);

	// Oversampling: every training class as large as the largest; validation and test as they were.
	const validation = await bars(page, 'validation');
	const test_ = await bars(page, 'test');
	const train = await bars(page, 'train');
	const largest = Math.max(...train.map((t) => Number(t.split(' ').at(-1))));
	await page.getByTestId('resample-method').selectOption('oversample');
	await page.getByTestId('resample-target').fill('');
	await page.getByTestId('resample-seed').fill('5');
	await page.getByTestId('resample-add').click();
	await expect(page.getByTestId('label-step')).toHaveText([/training oversampled to the largest class \(seed 5\)/]);
	await expect(page.getByTestId('label-preview-summary')).toContainText(`0 rows relabelled · 0 removed · ${3 * largest - total(train)} added`);
	await page.getByTestId('labels-apply').click();
	await expect(page.getByTestId('labels-done')).toContainText(`${58 + 3 * largest - total(train)} rows in 3 classes`);
	await expect.poll(() => bars(page, 'train')).toEqual(['accounts', 'billing', 'product'].map((l) => `${l} ${largest}`));
	expect(await bars(page, 'validation')).toEqual(validation);
	expect(await bars(page, 'test')).toEqual(test_);
	await shot(page, 'data-labels-oversampled');

	// Keep all labels: each row with its label set, trained as a multi-label classifier.
	await page.getByTestId('file-input').setInputFiles(FILE);
	await page.getByTestId('multilabel-use').click();
	await page.getByTestId('multilabel-all').check();
	await expect(page.getByTestId('import-button')).toHaveText('Import 60 rows');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('labels-multilabel')).toContainText('32 rows had several labels, imported as each row with all its labels');
	await expect(page.getByTestId('label-steps-multilabel')).toContainText('the label steps (rename, merge, drop rare classes, resample) are for single-label data');
	await expect(page.getByTestId('label-steps')).toHaveCount(0);
	await expect(page.getByTestId('balance-train').getByTestId('count-label')).toHaveText(['bug', 'delivery', 'invoice', 'login', 'privacy', 'refund', 'urgent']);
	// 60 rows, 92 labels: each row counts once per label in the bars
	await expect.poll(async () => total(await bars(page, 'train')) + total(await bars(page, 'validation')) + total(await bars(page, 'test'))).toBe(92);

	await page.getByTestId('nav-train').click();
	await expect(page.getByTestId('train-multilabel')).toContainText('a sigmoid per label trained with binary cross-entropy');
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 1);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', 3);
	await page.getByTestId('start').click();
	const run = page.getByTestId('run-row').first();
	await expect(run).toHaveAttribute('data-status', 'completed', { timeout: 240_000 });

	await page.getByTestId('nav-evaluate').click();
	const scores = page.getByTestId('multilabel-results');
	for (const metric of ['micro F1', 'macro F1', 'Hamming loss', 'subset accuracy']) await expect(scores).toContainText(metric);
	// Each headline figure with its 95% bootstrap interval over the test rows.
	await expect(page.getByTestId('multilabel-intervals-note')).toContainText('95% bootstrap intervals over the');
	for (const metric of ['micro F1', 'macro F1', 'Hamming loss']) await expect(scores.locator('.tile', { hasText: metric }).locator('.range')).toHaveText(/\[\d\.\d{3}–\d\.\d{3}\]/);
	await expect(scores.locator('.tile', { hasText: 'subset accuracy' }).locator('.range')).toHaveText(/\[\d+\.\d–\d+\.\d\]/);
	await expect(page.getByTestId('multilabel-threshold')).toContainText('a label is predicted when its probability is at least 0.5');
	await expect(page.getByTestId('multilabel-per-label').locator('tbody tr')).toHaveCount(7);
	// Another threshold, read from the stored scores: every figure follows it; the run keeps 0.5.
	const value = page.getByTestId('multilabel-threshold-value');
	await expect(value).toHaveText('0.50');
	await expect(page.getByTestId('multilabel-reset-threshold')).toBeDisabled();
	const sweep = page.getByTestId('multilabel-sweep-row');
	await expect(sweep).toHaveCount(19);
	await expect(page.getByTestId('multilabel-threshold-advice')).toContainText('A threshold chosen on the test split flatters the run');
	const microAt = async (t: string) => (await page.locator(`[data-testid="multilabel-sweep-row"][data-threshold="${t}"] td`).nth(3).innerText()).trim();
	// The slider to a threshold that is not the best one, so "best" has somewhere to go.
	const best = (await page.locator('[data-testid="multilabel-sweep-row"].best').getAttribute('data-threshold'))!;
	const other = best === '0.95' ? '0.05' : '0.95';
	await page.getByTestId('multilabel-threshold-input').fill(other);
	await expect(value).toHaveText(other);
	await expect(page.locator(`[data-testid="multilabel-sweep-row"][data-threshold="${other}"]`)).toHaveClass(/current/);
	await expect(page.getByTestId('multilabel-threshold')).toContainText(`at least ${other} (chosen here; the run decides at 0.5)`);
	await expect(scores).toContainText(await microAt(other));
	// Back to the run's threshold, then from the other one to the best.
	await page.getByTestId('multilabel-reset-threshold').click();
	await expect(value).toHaveText('0.50');
	await expect(page.getByTestId('multilabel-threshold')).toContainText('a label is predicted when its probability is at least 0.5.');
	await expect(page.getByTestId('multilabel-reset-threshold')).toBeDisabled();
	await page.getByTestId('multilabel-threshold-input').fill(other);
	await expect(value).toHaveText(other);
	await page.getByTestId('multilabel-best-threshold').click();
	await expect(value).toHaveText(Number(best).toFixed(2));
	await expect(page.getByTestId('multilabel-best-threshold')).toBeDisabled();
	await expect(scores).toContainText(await microAt(best));
	await shot(page, 'data-labels-multilabel-threshold');

	const examples = page.getByTestId('multilabel-example');
	await expect(examples.first()).toBeVisible();
	await page.getByTestId('multilabel-only-wrong').check();
	await expect.poll(async () => (await examples.count()) === (await page.locator('[data-testid="multilabel-example"].wrong').count())).toBe(true);
	await page.getByTestId('predict-text').fill('The parcel never arrived and I want a refund');
	await page.getByTestId('predict').click();
	await expect(page.getByTestId('predicted-multilabel-note')).toContainText('the labels at or above 0.5 are predicted');
	await expect(page.getByTestId('predicted-labels')).toBeVisible();
	await expect(page.getByTestId('predicted-label')).toHaveCount(0);
	await shot(page, 'data-labels-multilabel-evaluate');

	// A threshold made the run's own: saved, the stored evaluation read again at it (no scoring),
	// and Predict decides at it.
	await page.getByTestId('multilabel-threshold-input').fill(other);
	const save = page.getByTestId('multilabel-save-threshold');
	await expect(save).toHaveText(`Decide at ${other} for this run`);
	const microOther = await microAt(other);
	await save.click();
	await expect(page.getByTestId('multilabel-threshold-saved')).toContainText(`this run now predicts every label with probability at least ${Number(other)}`);
	await expect(page.getByTestId('multilabel-threshold')).toContainText(`a label is predicted when its probability is at least ${Number(other)}.`);
	await expect(save).toBeDisabled();
	await expect(page.getByTestId('multilabel-reset-threshold')).toHaveText(`Back to ${Number(other)}`);
	await expect(page.getByTestId('multilabel-reset-threshold')).toBeDisabled();
	await expect(scores).toContainText(microOther);
	await page.getByTestId('predict').click();
	await expect(page.getByTestId('predicted-multilabel-note')).toContainText(`the labels at or above ${Number(other)} are predicted`);
	await shot(page, 'data-labels-multilabel-threshold-saved');
	const studioLabels = ((await page.getByTestId('predicted-labels').locator('strong').textContent()) ?? '').trim();

	// Share as a demo: the page draws a sigmoid per label and chooses at the run's saved threshold, as Predict does.
	const exportPanel = page.getByTestId('export');
	await expect(exportPanel.getByTestId('export-demo-what')).toContainText(`each label's probability, and the labels at or above ${Number(other)}`);
	const [download] = await Promise.all([page.waitForEvent('download'), exportPanel.getByTestId('export-demo').click()]);
	await expect(exportPanel.getByTestId('export-demo-note')).toContainText('Downloaded (');
	const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
	const demoSpec = JSON.parse(strFromU8(files['demo.json']));
	expect(demoSpec).toMatchObject({ task: 'classify', multiLabel: { threshold: Number(other) } });
	expect(strFromU8(files['README.md'])).toContain(`at or above ${Number(other)} (the run's threshold)`);
	const { demo, elsewhere, errors, close } = await openDemo(() => page.context().newPage(), files);
	try {
		await expect(demo.locator('#status')).toHaveText('Ready.', { timeout: 30_000 });
		await expect(demo.locator('p.muted').first()).toContainText('A multi-label text classifier');
		await demo.locator('#text').fill('The parcel never arrived and I want a refund');
		await demo.locator('#run').click();
		await expect(demo.locator('#result .cls')).toHaveCount(demoSpec.labels.length);
		await expect(demo.locator('#status')).toHaveText('Ready.');
		// Each label on its own: chosen exactly when its probability reaches the threshold (the
		// probabilities need not sum to 1), and the chosen ones are the Playground's.
		const rows = await demo.locator('#result .cls').evaluateAll((els) => els.map((e) => ({ label: (e as HTMLElement).dataset.label!, chosen: (e as HTMLElement).dataset.chosen === 'true', p: parseFloat(e.querySelector('.p')!.textContent!) })));
		for (const r of rows) if (Math.abs(r.p - 100 * Number(other)) > 0.1) expect(r.chosen, `${r.label} at ${r.p}%`).toBe(r.p >= 100 * Number(other));
		const chosen = rows.filter((r) => r.chosen).map((r) => r.label);
		await expect(demo.locator('#chosen')).toHaveText(chosen.length ? `Labels at or above ${Number(other)}: ${chosen.join(', ')}` : new RegExp(`^No label reaches ${Number(other)}`));
		// (ONNX Runtime in wasm and the studio on WebGPU round differently: a label within 0.1% of the threshold may fall either way.)
		if (!rows.some((r) => Math.abs(r.p - 100 * Number(other)) <= 0.1))
			expect(chosen.length ? [...chosen].sort().join(', ') : 'no label').toBe(studioLabels === 'no label' ? 'no label' : studioLabels.split(', ').sort().join(', '));
		await shot(demo, 'data-labels-multilabel-demo-page');
		expect(elsewhere).toEqual([]);
		expect(errors).toEqual([]);
	} finally {
		await close();
	}
	// The README's way to decide elsewhere: demo.json's threshold, here 0.01, which every label reaches.
	files['demo.json'] = new TextEncoder().encode(JSON.stringify({ ...demoSpec, multiLabel: { threshold: 0.01 } }));
	const low = await openDemo(() => page.context().newPage(), files);
	try {
		await expect(low.demo.locator('#status')).toHaveText('Ready.', { timeout: 30_000 });
		await low.demo.locator('#text').fill('The parcel never arrived and I want a refund');
		await low.demo.locator('#run').click();
		await expect(low.demo.locator('#result .cls.chosen')).toHaveCount(demoSpec.labels.length);
		await expect(low.demo.locator('#chosen')).toHaveText(/^Labels at or above 0\.01: /);
		expect((await low.demo.locator('#chosen').textContent())!.replace(/^.*: /, '').split(', ').sort()).toEqual([...demoSpec.labels].sort());
		await shot(low.demo, 'data-labels-multilabel-demo-page-low');
		expect(low.errors).toEqual([]);
	} finally {
		await low.close();
	}

	// Inside, Embeddings: coloured by whether each example has a chosen label, or whether that label was decided right.
	await page.getByTestId('eval-tab-inside').click();
	await expect(page.getByTestId('inside-info')).toHaveAttribute('data-task', 'classification', { timeout: 60_000 });
	await page.getByTestId('embeddings-project').click();
	const panels = page.getByTestId('embeddings-panel');
	await expect(panels).toHaveCount(2, { timeout: 60_000 });
	await expect(panels.first()).toContainText('whole set right');
	const legend = page.getByTestId('embeddings-legend');
	await expect(page.getByTestId('embeddings-color').locator('option').first()).toHaveText('has the label');
	await page.getByTestId('embeddings-label').selectOption({ label: 'refund' });
	await expect(legend).toContainText('has “refund”');
	await page.getByTestId('embeddings-color').selectOption('correct');
	await expect(legend).toContainText('“refund” decided right');
	await panels.nth(1).getByTestId('embedding-point').first().hover();
	await expect(page.getByTestId('embedding-hover')).toContainText(/· predicted .* \(after\): “/);
	await shot(page, 'data-labels-multilabel-embeddings');

	// A prompt-only baseline on the multi-label dataset: the tiny GPT-2 from the local Hub scores
	// each label word, and the run it stores is a multi-label one that Compare lists.
	await page.getByTestId('nav-train').click();
	await downloadHubModel(page, 'whetstone-test/tiny-gpt2');
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('nav-compare').click();
	await expect(page.getByTestId('baseline-multilabel')).toContainText("each label word's probability");
	await expect(page.getByTestId('baseline-multilabel')).toContainText('(1/7 here)');
	await expect(page.getByTestId('baseline-model')).toContainText('tiny-gpt2');
	await expect(page.getByTestId('baseline-word')).toHaveCount(7);
	const systems = page.getByTestId('compare-systems');
	await expect(systems.getByText('zero-shot')).toHaveCount(0);
	await page.getByTestId('run-baseline').click();
	await expect(systems.getByText('zero-shot')).toHaveCount(1, { timeout: 300_000 });
	await shot(page, 'data-labels-multilabel-baseline');
	// Scored as a multi-label run: subset accuracy on the test rows, chosen at an even split's share.
	await expect(systems.locator('li', { hasText: 'zero-shot' })).toContainText(/\d+(\.\d+)?% on \d+ test rows/);
	await expect(systems.locator('li', { hasText: 'zero-shot' })).toContainText('at least 1/7');

	// Paired with the run on the same test rows (the baseline is the reference): both systems'
	// figures with intervals, each at its own threshold, and the run's four differences with their
	// intervals and p-values.
	await expect(page.getByTestId('compare-reference').locator('option:checked')).toHaveText(/^zero-shot/);
	const table = page.getByTestId('compare-multilabel-table');
	await expect(table.locator('thead')).toContainText('Δ Hamming loss');
	const [refRow, runRow] = [table.locator('tbody tr').nth(0), table.locator('tbody tr').nth(1)];
	await expect(table.locator('tbody tr')).toHaveCount(2);
	await expect(refRow).toContainText('zero-shot');
	await expect(refRow.locator('td').last()).toHaveText('reference');
	await expect(refRow.getByTestId('ml-threshold')).toHaveText('decides at ≥ 0.143');
	await expect(runRow.getByTestId('ml-threshold')).toHaveText(`decides at ≥ ${Number(other)}`);
	const p = '\\s*p (< 0\\.001|\\d\\.\\d{3}|\\d\\.\\de-\\d)';
	const f1 = '[+-]?\\d\\.\\d{3}';
	for (const m of ['microF1', 'macroF1', 'hammingLoss']) await expect(runRow.getByTestId(`ml-diff-${m}`)).toHaveText(new RegExp(`^\\s*${f1}\\s*${f1} to ${f1}${p}\\s*$`));
	const ptsRe = '[+±-]?\\d+\\.\\d pts';
	await expect(runRow.getByTestId('ml-diff-subsetAccuracy')).toHaveText(new RegExp(`^\\s*${ptsRe}\\s*${ptsRe} to ${ptsRe}${p}\\s*$`));
	await expect(runRow.getByTestId('ml-not-better')).toHaveText(/^(< 0\.001|\d\.\d{3}|\d\.\de-\d)$/);
	for (const row of [refRow, runRow]) {
		await expect(row.locator('td').nth(2)).toHaveText(/^\d+\.\d%\d+\.\d–\d+\.\d$/);
		for (const i of [3, 4, 5]) await expect(row.locator('td').nth(i)).toHaveText(/^\d\.\d{3}\d\.\d{3}–\d\.\d{3}$/);
	}
	// The differences are the figures shown: run minus baseline.
	// (A zero difference reads "±0.0 pts".)
	const lead = async (cell: typeof refRow) => parseFloat((await cell.innerText()).replace('±', ''));
	const diffOf = (m: string) => lead(runRow.getByTestId(`ml-diff-${m}`));
	const gap = async (i: number) => (await lead(runRow.locator('td').nth(i))) - (await lead(refRow.locator('td').nth(i)));
	expect(await diffOf('subsetAccuracy')).toBeCloseTo(await gap(2), 0);
	expect(await diffOf('microF1')).toBeCloseTo(await gap(3), 2);
	expect(await diffOf('macroF1')).toBeCloseTo(await gap(4), 2);
	expect(await diffOf('hammingLoss')).toBeCloseTo(await gap(5), 2);
	await expect(page.getByTestId('compare-multilabel-note')).toContainText('each drawn with its whole label set');
	// The decision report reads the paired micro F1, and its page lists all four differences.
	await expect(page.getByTestId('verdict')).toContainText(/micro F1 \(95% CI .* paired on the same \d+ test rows\)/);
	const [report] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-html').click()]);
	const html = readFileSync((await report.path())!, 'utf8');
	for (const text of ['Multi-label classification', 'two-sided p', 'Hamming loss (lower is better)', 'subset accuracy']) expect(html).toContain(text);
	// The same report as JSON: the four paired differences, the first (micro F1) the one the verdict reads.
	const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
	const data = JSON.parse(readFileSync((await json.path())!, 'utf8'));
	expect(data.kind).toBe('multi-label');
	expect(data.difference.metrics.map((m: { metric: string }) => m.metric)).toEqual(['micro F1', 'macro F1', 'subset accuracy', 'Hamming loss']);
	expect(data.difference.metrics[0].diff).toBeCloseTo(await diffOf('microF1'), 2);
	// From the top: the page's sticky bar would otherwise sit over the table in a full-page shot.
	await page.evaluate(() => window.scrollTo(0, 0));
	await shot(page, 'data-labels-multilabel-compare');
});
