/**
 * Bad input in the importer: each file gives a message naming the problem (with line numbers
 * where it applies), and nothing half-made is stored: the project keeps the dataset it had.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { openStudio, shot } from './helpers';

const files = {
	'empty.csv': '',
	'ragged.csv': 'text,label\n"fine row",a\nsecond row,b,EXTRA\nthird,a\nfourth,b,,\n',
	'broken.jsonl': '{"text":"one","label":"a"}\n{"text":"two","label":"b"}\n{"text": "three", "label": \n{"text":"four","label":"a"}\n',
	'ids-as-labels.csv': 'text,id\n' + Array.from({ length: 200 }, (_, i) => `some text number ${i},row-${i}`).join('\n'),
	'one-class.csv': 'text,label\n' + Array.from({ length: 30 }, (_, i) => `ticket ${i} about billing,billing`).join('\n')
};

async function pick(page: Page, name: string, body: string | Buffer) {
	await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'text/plain', buffer: typeof body === 'string' ? Buffer.from(body) : body });
}

test('the importer names each problem and stores nothing half-made', async ({ page }) => {
	await openStudio(page, '/');
	await page.getByTestId('nav-data').click();
	const overview = page.getByTestId('dataset-overview');
	await expect(overview).toContainText('support tickets');
	const before = await overview.textContent();
	const alert = page.getByRole('alert');

	await pick(page, 'empty.csv', files['empty.csv']);
	await expect(alert).toContainText(/empty/i);

	const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.alloc(600, 7)]);
	await pick(page, 'picture.csv', png);
	await expect(alert).toContainText(/binary/i);

	await pick(page, 'ragged.csv', files['ragged.csv']);
	await expect(page.getByTestId('inspection')).toContainText('line 3');
	await expect(page.getByTestId('inspection')).toContainText('line 5');
	await page.getByTestId('import-button').click();
	await expect(alert).toContainText(/line 3/);
	await shot(page, 'import-ragged');

	await pick(page, 'broken.jsonl', files['broken.jsonl']);
	await expect(page.getByTestId('inspection')).toContainText('line 3');

	// A column of ids is not guessed as a label (the guess is text alone); chosen as one anyway, it is refused.
	await pick(page, 'ids-as-labels.csv', files['ids-as-labels.csv']);
	await expect(page.getByTestId('kind-text')).toBeChecked();
	await expect(page.getByTestId('kind-why')).toContainText('a different value in almost every row');
	await page.getByTestId('kind-classification').check();
	await page.getByTestId('label-column').selectOption('id');
	await page.getByTestId('import-button').click();
	await expect(alert).toContainText(/label/i);

	await pick(page, 'one-class.csv', files['one-class.csv']);
	await page.getByTestId('text-column').selectOption('text');
	await page.getByTestId('label-column').selectOption('label');
	await page.getByTestId('import-button').click();
	await expect(alert).toContainText(/billing/);
	await expect(alert).toContainText(/two classes|2 classes|at least two/i);

	// Nothing was stored: the project still shows the example dataset, unchanged.
	await page.reload();
	await page.getByTestId('nav-data').click();
	await expect(page.getByTestId('dataset-overview')).toHaveText(before!);

	// A good file with bad rows imports when the user chooses to skip them.
	await pick(page, 'ragged.csv', files['ragged.csv'].replace('third,a', Array.from({ length: 12 }, (_, i) => `row ${i},${i % 2 ? 'a' : 'b'}`).join('\n')));
	await page.getByTestId('skip-bad-rows').check();
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported');
	await expect(overview).toContainText('ragged.csv');
});

/** Files from tests/fixtures/data. */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/data/${name}`, import.meta.url));

/** Starts collecting main-thread long tasks (PerformanceObserver 'longtask'); the returned function reads them. */
async function watchLongTasks(page: Page): Promise<() => Promise<number[]>> {
	await page.evaluate(() => {
		const w = window as unknown as { __longTasks: number[]; __longObserver?: PerformanceObserver };
		w.__longObserver?.disconnect();
		w.__longTasks = [];
		w.__longObserver = new PerformanceObserver((list) => {
			for (const e of list.getEntries()) w.__longTasks.push(Math.round(e.duration));
		});
		w.__longObserver.observe({ type: 'longtask' });
	});
	return () => page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());
}

/** The preview of a file is shown and its import counted (both happen in the data worker). */
async function previewed(page: Page) {
	await expect(page.getByTestId('inspection')).toBeVisible({ timeout: 60_000 });
	await expect(page.getByTestId('import-button')).toBeEnabled({ timeout: 60_000 });
}

test('the importer reads any file without freezing the page, says the encoding, and finds the rows in {"data": [...]}', async ({ page }, testInfo) => {
	const errors: string[] = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await openStudio(page, '/');
	await page.getByTestId('nav-data').click();
	const inspection = page.getByTestId('inspection');

	// Issue 14 defect 6: 10,002 columns froze the page for 5.7 s, one 5 MB line for 1.1 s.
	const wide = ['text,label,' + Array.from({ length: 10_000 }, (_, i) => `c${i + 3}`).join(',')];
	for (let r = 0; r < 20; r++) wide.push(`row ${r} text,${r % 2 ? 'a' : 'b'},` + Array.from({ length: 10_000 }, (_, i) => String((i * 7 + r) % 100)).join(','));
	const oneLine = JSON.stringify(Array.from({ length: 90_000 }, (_, i) => ({ text: `message number ${i} about the order`, label: i % 2 ? 'a' : 'b' })));
	expect(oneLine.length).toBeGreaterThan(5_000_000);
	const hugeField = ['{"text":"' + 'lorem ipsum '.repeat(440_000) + '","label":"a"}', ...Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `short ${i}`, label: i % 2 ? 'a' : 'b' }))].join('\n');
	const heavy: [string, string, RegExp][] = [
		['wide.csv', wide.join('\n'), /10,002 columns/],
		['one-line.json', oneLine, /90,000 readable rows/],
		['huge-field.jsonl', hugeField, /13 readable rows/]
	];
	for (const [name, body, what] of heavy) {
		// From a path on disk: a buffer would be copied into the page by Playwright's own script,
		// a long task of the test harness, not of the studio.
		const path = testInfo.outputPath(name);
		writeFileSync(path, body);
		const longTasks = await watchLongTasks(page);
		await page.getByTestId('file-input').setInputFiles(path);
		// Waited for in the page with a cheap query: a polling `expect` that misses runs Playwright's
		// aria snapshot of the whole page on its main thread (190 ms here), a long task of the harness.
		await page.waitForFunction(
			(file) =>
				!!document.querySelector('[data-testid="inspection"]')?.textContent?.includes(file) &&
				document.querySelector<HTMLButtonElement>('[data-testid="import-button"]')?.disabled === false,
			name,
			{ polling: 100, timeout: 60_000 }
		);
		// Let a last frame be laid out and reported before reading the tasks.
		await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 300))));
		const tasks = await longTasks();
		await previewed(page);
		await expect(inspection).toContainText(what);
		console.log(`${name}: ${(body.length / 1e6).toFixed(1)} MB, main-thread long tasks during the preview (ms): [${tasks.join(', ')}]`);
		expect(tasks.filter((d) => d > 200), `${name}: main-thread tasks over 200 ms`).toEqual([]);
	}
	await expect(page.getByTestId('preview-columns')).toHaveCount(0); // the last file is narrow
	await pick(page, 'wide.csv', wide.join('\n'));
	await previewed(page);
	await expect(page.getByTestId('preview-columns')).toContainText('Showing 40 of 10,002 columns');
	await page.getByTestId('column-filter').fill('c9999');
	await page.getByTestId('label-column').selectOption('c9999');
	await expect(page.getByTestId('label-column')).toHaveValue('c9999');

	// Defect 5: UTF-16 and Windows-1252 are read, and the preview says how.
	await pick(page, 'reviews-utf16le.csv', fixture('reviews-utf16le.csv'));
	await previewed(page);
	await expect(page.getByTestId('import-encoding')).toContainText('UTF-16 LE (from its byte order mark)');
	await expect(inspection).toContainText('Müller’s order is missing');
	await expect(inspection).toContainText('12 readable rows');
	await shot(page, 'import-utf16');
	await pick(page, 'reviews-latin1.csv', fixture('reviews-latin1.csv'));
	await previewed(page);
	await expect(page.getByTestId('import-encoding')).toContainText('Windows-1252 (Latin-1) (the file is not valid UTF-8)');
	await expect(inspection).toContainText('Müller’s order is missing');
	await expect(inspection).toContainText('12 readable rows');

	// Defect 4: non-object items get a named error; prototype-named columns are ordinary columns.
	await pick(page, 'numbers.json', '[1, 2, 3, 4]');
	await expect(page.getByRole('alert')).toContainText('line 1, item 1: expected a JSON object');
	const proto = ['text,__proto__,constructor', ...Array.from({ length: 12 }, (_, i) => `text ${i},${i % 2 ? 'x' : 'y'},c`)].join('\n');
	await pick(page, 'proto.csv', proto);
	await previewed(page);
	await page.getByTestId('label-column').selectOption('__proto__');
	await expect(page.getByTestId('import-button')).toHaveText('Import 12 rows');
	await pick(page, 'keys.jsonl', Array.from({ length: 12 }, (_, i) => JSON.stringify(i % 3 ? { text: `t ${i}`, label: i % 2 ? 'a' : 'b' } : { text: `t ${i}`, label: 'a', toString: 'x', constructor: 'y' })).join('\n'));
	await previewed(page);
	await expect(inspection).toContainText('4 columns');

	// Defect 5: {"data": [...]} offers the array inside, says which, and imports it.
	await pick(page, 'reviews-wrapped.json', fixture('reviews-wrapped.json'));
	await previewed(page);
	await expect(page.getByTestId('import-source')).toHaveText('The file is one JSON object; its "data" property holds an array of 12 items, read as 12 rows (2 other properties left out).');
	await shot(page, 'import-wrapped-json');
	await page.getByTestId('import-button').click();
	await expect(page.getByTestId('import-done')).toContainText('Imported');
	await expect(page.getByTestId('dataset-overview')).toContainText('reviews-wrapped.json');
	expect(errors).toEqual([]);
});
