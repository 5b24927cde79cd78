/**
 * Two tabs of the studio share one truth (issue 14, defect 2): a run that tab A trains shows in
 * tab B as "training in another tab", is not settled as paused at B's load, offers no Resume and
 * cannot be resumed from B; a run started in B while A trains says it waits for the other tab,
 * then trains once A's lock is gone. Defect 3 in the same flow: A's engine worker ends without an
 * error event; A says so within seconds and restarts and resumes. Defect 7 last: deleting the
 * project while A trains stops the run first, says so, and leaves no record behind. Two pages in
 * one browser context (one origin, one IndexedDB).
 */
import { test, expect } from '@playwright/test';
import { openStudio, setNumber, shot } from './helpers';

test('two tabs: a run trained in one is "training in another tab" in the other; a second start waits for it', async ({ browser }) => {
	test.setTimeout(600_000);
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const a = await context.newPage();
	await openStudio(a);
	await a.getByTestId('nav-train').click();
	await a.getByTestId('source-scratch').check();
	await a.getByTestId('model-preset').selectOption('nano');
	await setNumber(a, 'epochs', 20);
	await setNumber(a, 'batch-size', 8);
	await setNumber(a, 'max-steps', 400);
	await a.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(a, 'log-every', 1);
	await setNumber(a, 'eval-every', 400);
	await setNumber(a, 'checkpoint-every', 2);
	await a.getByTestId('start').click();
	const rowA = a.getByTestId('run-row').first();
	await expect(rowA).toHaveAttribute('data-status', 'running', { timeout: 180_000 });
	// A checkpoint exists: the old start-up settle would have paused the run at it.
	await expect.poll(async () => Number(await rowA.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(3);
	const runName = (await rowA.getAttribute('data-name'))!;
	// Rows by name from here on: the newest row will be B's run.
	const mineA = a.locator(`[data-testid="run-row"][data-name="${runName}"]`);

	// Tab B opens while A trains.
	const b = await context.newPage();
	await openStudio(b);
	await b.getByTestId('nav-train').click();
	const inB = b.locator(`[data-testid="run-row"][data-name="${runName}"]`);
	await expect(inB).toHaveAttribute('data-status', 'running');
	await expect(inB.getByTestId('run-status')).toHaveText('training in another tab');
	await expect(inB.getByTestId('run-status')).toHaveAttribute('data-elsewhere', 'true');
	await inB.click();
	await expect(b.getByTestId('resume')).toBeDisabled();
	// Even called directly, B's engine refuses to train the run A trains: it cannot be resumed twice.
	const refused = await b.evaluate(async (name) => {
		const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
		const runs = await new Promise<{ id: string; name: string }[]>((ok) => Object.assign(db.transaction('runs').objectStore('runs').getAll(), { onsuccess: (e: Event) => ok((e.target as IDBRequest).result) }));
		db.close();
		const id = runs.find((r) => r.name === name)!.id;
		const engine = (window as unknown as { whetstone: { engine: { train(id: string): Promise<string> } } }).whetstone.engine;
		return engine.train(id).then((s) => `trained: ${s}`, (e: Error) => e.message);
	}, runName);
	expect(refused).toContain('training in another tab');
	// A's own list still says running, its bar still moves.
	await expect(mineA).toHaveAttribute('data-status', 'running');
	await expect(mineA.getByTestId('run-status')).toHaveText('running');
	const stepA = Number(await mineA.getAttribute('data-step'));
	await expect.poll(async () => Number(await mineA.getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThan(stepA);
	await shot(b, 'tabs-1-training-in-another-tab');

	// B starts its own run: it waits for A's, and says so.
	await b.getByTestId('source-scratch').check();
	await b.getByTestId('model-preset').selectOption('nano');
	await setNumber(b, 'epochs', 1);
	await setNumber(b, 'batch-size', 8);
	await setNumber(b, 'max-steps', 2);
	await b.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(b, 'log-every', 1);
	await setNumber(b, 'eval-every', 2);
	await setNumber(b, 'checkpoint-every', 2);
	await b.getByTestId('start').click();
	await expect(b.getByTestId('phase')).toHaveAttribute('data-phase', 'waiting', { timeout: 120_000 });
	await expect(b.getByTestId('phase-name')).toHaveText('Waiting for another tab');
	await expect(b.getByTestId('phase-note')).toContainText('another tab of the studio is training');
	await shot(b, 'tabs-2-waiting-for-another-tab');

	// A's engine worker dies without an error event (as when the browser ends it): A notices at
	// once through the worker's life lock (the heartbeat's 180 s fallback is far beyond this
	// expectation's bound), says so and offers Restart-and-resume; its run row no longer says "running".
	await a.evaluate(() => (window as unknown as { whetstone: { engine: { killSilentlyForTest(): void } } }).whetstone.engine.killSilentlyForTest());
	await expect(a.getByText('The training engine stopped', { exact: true })).toBeVisible({ timeout: 20_000 });
	await expect(a.getByText(/ended without an error/)).toBeVisible();
	await expect.poll(async () => mineA.getByTestId('run-status').textContent(), { timeout: 20_000 }).toMatch(/^(interrupted: the engine stopped|paused)$/);
	await shot(a, 'tabs-3-engine-died');

	// A's lock went with its worker: B's waiting run trains to the end, and B settles A's run as paused.
	await expect(b.getByTestId('run-row').first()).toHaveAttribute('data-status', 'completed', { timeout: 300_000 });
	await expect(inB).toHaveAttribute('data-status', 'paused', { timeout: 30_000 });
	await expect(inB.getByTestId('run-status')).toHaveText('paused');

	// Restart and resume in A continues A's run from its last checkpoint; B sees it training elsewhere again.
	await mineA.click();
	await a.getByRole('button', { name: 'Restart and resume from the last checkpoint' }).click();
	await expect(mineA).toHaveAttribute('data-status', 'running', { timeout: 180_000 });
	await expect(inB.getByTestId('run-status')).toHaveText('training in another tab', { timeout: 30_000 });
	const resumedAt = Number(await mineA.getAttribute('data-step'));
	await expect.poll(async () => Number(await mineA.getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThan(resumedAt);

	// Defect 7: deleting the project while A trains it stops the training first, says so, and
	// leaves no record of its runs behind (no metric point, no checkpoint, no chunk).
	await a.getByTestId('nav-projects').click();
	a.once('dialog', (d) => {
		expect(d.message()).toContain('is training: it is stopped first');
		void d.accept();
	});
	await a.getByTestId('project-card').filter({ hasText: 'Support ticket routing' }).first().getByRole('button', { name: 'Delete' }).click();
	await expect(a.getByTestId('delete-notice')).toContainText(/Training of “\u2068?.+\u2069?” was stopped first/, { timeout: 180_000 });
	expect(await a.getByTestId('delete-notice').textContent()).toContain(runName);
	await shot(a, 'tabs-4-deleted-while-training');
	const left = await a.evaluate(async () => {
		const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
		const all = (store: string) => new Promise<{ projectId?: string; runId?: string; id?: string }[]>((ok) => Object.assign(db.transaction(store).objectStore(store).getAll(), { onsuccess: (e: Event) => ok((e.target as IDBRequest).result) }));
		const projects = new Set((await all('projects')).map((p) => p.id));
		const runs = await all('runs');
		const live = new Set(runs.filter((r) => projects.has(r.projectId!)).map((r) => r.id));
		const orphanRuns = runs.filter((r) => !projects.has(r.projectId!)).length;
		const orphanMetrics = (await all('metrics')).filter((m) => !live.has(m.runId!)).length;
		const manifests = await all('checkpoints');
		const orphanCheckpoints = manifests.filter((c) => !live.has(c.runId!)).length;
		const chunkKeys = await new Promise<IDBValidKey[]>((ok) => Object.assign(db.transaction('checkpointChunks').objectStore('checkpointChunks').getAllKeys(), { onsuccess: (e: Event) => ok((e.target as IDBRequest).result) }));
		const ids = new Set(manifests.map((c) => c.id));
		const orphanChunks = chunkKeys.filter((k) => !ids.has((k as [string, number])[0])).length;
		db.close();
		return { orphanRuns, orphanMetrics, orphanCheckpoints, orphanChunks };
	});
	expect(left).toEqual({ orphanRuns: 0, orphanMetrics: 0, orphanCheckpoints: 0, orphanChunks: 0 });
	await context.close();
});
