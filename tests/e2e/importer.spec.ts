/**
 * Bad input in the importer: each file gives a message naming the problem (with line numbers
 * where it applies), and nothing half-made is stored: the project keeps the dataset it had.
 */
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

	await pick(page, 'ids-as-labels.csv', files['ids-as-labels.csv']);
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
