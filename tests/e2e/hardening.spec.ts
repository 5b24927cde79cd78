/**
 * Issue 14, defects 8 and 9 and the XSS tests, on the shared studio page (no training needed):
 * every page carries SvelteKit's hash-based CSP and reports no violation; script payloads in a
 * project name run nowhere (no dialog, no injected element); a name with U+202E and the dataset's
 * labels are bidi-isolated.
 */
import { test, expect } from './fixtures';
import { shot } from './helpers';

const PAYLOAD = `\u202Egnp.exe <img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>`;

test('CSP on every page, script payloads inert, user text bidi-isolated', async ({ studioPage: page }) => {
	const dialogs: string[] = [];
	const onDialog = (d: import('@playwright/test').Dialog) => {
		if (d.type() === 'confirm') return void d.accept();
		dialogs.push(d.message());
		void d.dismiss();
	};
	page.on('dialog', onDialog);
	const cspConsole: string[] = [];
	page.on('console', (m) => /Content Security Policy/i.test(m.text()) && cspConsole.push(m.text()));
	await page.evaluate(() => {
		const w = window as unknown as { __csp: string[] };
		w.__csp = [];
		document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
	});

	// The policy: hash-based scripts, no eval, the Hub hosts and loopback for connect-src.
	const policy = await page.locator('meta[http-equiv="content-security-policy"]').getAttribute('content');
	expect(policy).toMatch(/default-src 'self'/);
	expect(policy).toMatch(/script-src 'self' 'sha256-[^']+'/);
	expect(policy).not.toMatch(/unsafe-eval/);
	expect(policy).toMatch(/connect-src 'self' https:\/\/huggingface\.co https:\/\/\*\.huggingface\.co https:\/\/\*\.hf\.co http:\/\/127\.0\.0\.1:\* http:\/\/localhost:\*/);
	expect(policy).toMatch(/object-src 'none'/);
	expect(policy).toMatch(/base-uri 'none'/);

	// A project named with a bidi override and script payloads.
	await page.getByTestId('nav-projects').click();
	await page.getByLabel('Project name').fill(PAYLOAD);
	await page.getByRole('button', { name: 'Create' }).click();
	await expect(page).toHaveURL(/\/data/);
	await page.getByTestId('nav-projects').click();
	const card = page.getByTestId('project-card').filter({ hasText: 'gnp.exe' });
	await expect(card).toHaveCount(1);
	const name = card.getByTestId('project-name');
	await expect(name).toHaveText(PAYLOAD);
	expect(await name.evaluate((el) => getComputedStyle(el).unicodeBidi)).toBe('isolate');
	// The header names the open project (this one) isolated too.
	await expect(page.getByTestId('current-project')).toHaveText(PAYLOAD);
	expect(await page.getByTestId('current-project').evaluate((el) => getComputedStyle(el).unicodeBidi)).toBe('isolate');
	expect(await page.locator('img[src="x"]').count()).toBe(0);
	expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
	await shot(page, 'hardening-1-payload-project');

	// The example's labels on the Data screen are isolated too.
	await page.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first().getByRole('button', { name: 'Open' }).click();
	await page.getByTestId('nav-data').click();
	const label = page.getByTestId('count-label').first();
	await expect(label).toBeVisible();
	expect(await label.evaluate((el) => getComputedStyle(el).unicodeBidi)).toBe('isolate');

	// Every screen under the CSP: no violation reported.
	for (const screen of ['data', 'train', 'evaluate', 'compare', 'projects']) {
		await page.getByTestId(`nav-${screen}`).click();
		await page.waitForLoadState('networkidle');
	}
	await page.getByTestId('project-card').filter({ hasText: 'gnp.exe' }).getByRole('button', { name: 'Delete' }).click();
	await expect(page.getByTestId('project-card').filter({ hasText: 'gnp.exe' })).toHaveCount(0);
	await expect(page.getByTestId('delete-notice')).toContainText('was deleted');
	expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
	expect(cspConsole).toEqual([]);
	expect(dialogs).toEqual([]);
	expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
	page.off('dialog', onDialog);
});
