/**
 * The example project with the default settings, in headless Chromium on WebGPU, driven through
 * the UI as a user would: open the studio, Train, Start, wait for the run to finish and be scored
 * on the test split. Prints the wall time, steps per second and test accuracy, and saves
 * screenshots of the Train and Evaluate screens to bench/out/.
 *
 *   npm run bench:example-webgpu [-- --path reference|fast|compiled]
 *
 * `--path` picks the engine's path for the run (issue 10's before and after): the composites
 * (`reference`), the fused kernels stepped by tfjs (`fast`), or those with compiled steps
 * (`compiled`, the default, as the studio runs).
 */
import { mkdirSync } from 'node:fs';
import { openStudio } from './browser';

const at = process.argv.indexOf('--path');
const path = (at >= 0 ? process.argv[at + 1] : 'compiled') as 'reference' | 'fast' | 'compiled';
if (!['reference', 'fast', 'compiled'].includes(path)) throw new Error(`--path is reference, fast or compiled (got '${path}').`);
mkdirSync('bench/out', { recursive: true });
const { page, close } = await openStudio('/train', 4393);
try {
	const backend = await page.evaluate(() => (globalThis as any).whetstone.engine.backend);
	console.log(`backend: ${backend.name} · ${backend.adapter}`);
	const paths = { reference: { fast: false, compiled: false }, fast: { fast: true, compiled: false }, compiled: { fast: true, compiled: true } }[path];
	const set = await page.evaluate((p) => (globalThis as any).whetstone.engine.bridge.call((api: any) => api.setPaths(p)), paths);
	console.log(`path: ${path} (fast kernels ${set.fast ? 'on' : 'off'}, compiled steps ${set.compiled ? 'on' : 'off'})`);
	const t0 = Date.now();
	await page.getByTestId('start').click();
	const row = page.getByTestId('run-row').first();
	await row.waitFor({ timeout: 120_000 });
	let last = '';
	for (;;) {
		const status = await row.getAttribute('data-status');
		const step = await row.getAttribute('data-step');
		const line = `${Math.round((Date.now() - t0) / 1000)} s: ${status} step ${step}`;
		if (line.split(': ')[1] !== last) console.log(line);
		last = line.split(': ')[1];
		// Scored: the test accuracy, then the backend it ran on (Automatic may take WebGL where the WebGPU adapter is software).
		if (status === 'completed' && (await row.textContent())!.match(/\d+\.\d%\s*(webgpu|webgl|cpu)/)) break;
		if (status === 'failed') throw new Error(await page.locator('[role=alert]').first().textContent() ?? 'run failed');
		// A run not scored within 20 minutes: say what the page shows.
		if (Date.now() - t0 > 20 * 60_000) throw new Error(`no scored run after 20 min: row "${(await row.textContent())?.replace(/\s+/g, ' ')}", page says: ${(await page.locator('[role=alert], [role=status]').allTextContents()).join(' / ')}`);
		await new Promise((r) => setTimeout(r, 15_000));
	}
	const seconds = (Date.now() - t0) / 1000;
	await page.screenshot({ path: 'bench/out/train-defaults.png', fullPage: true });
	const cells = await row.locator('td').allTextContents();
	await page.getByTestId('nav-evaluate').click();
	await page.getByTestId('eval-results').waitFor();
	await page.screenshot({ path: 'bench/out/evaluate-defaults.png', fullPage: true });
	const tiles = await page.getByTestId('eval-results').textContent();
	console.log(`run row: ${cells.join(' | ')}`);
	console.log(`evaluate: ${tiles?.replace(/\s+/g, ' ')}`);
	console.log(`wall time ${(seconds / 60).toFixed(1)} min from Start to scored run`);
} finally {
	await close();
}
