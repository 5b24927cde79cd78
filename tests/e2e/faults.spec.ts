/**
 * Fault injection that counts (issue 14, "Tests that count"): the engine worker is terminated at
 * seeded random instants inside a training step, during an evaluation (the run's validation, and
 * an Evaluate call on a stopped run) and during a checkpoint write; the data worker during an
 * import; and tabs are closed at random instants while they train. Every trial ends in a consistent state, checked in the page and in IndexedDB:
 * - the run row says what happened ("interrupted: the engine stopped", then "paused"), never "running";
 * - every stored checkpoint is whole (its manifest and all its chunks); a half-written one is never
 *   listed, and its chunks are swept when an engine starts;
 * - Restart-and-resume (or Resume in another tab) continues from the newest whole checkpoint: the
 *   first step trained is the one after it, the metric series runs step by step with no gap, and
 *   the steps trained again give the same training loss as the first time (a checkpoint resumes
 *   exactly);
 * - an interrupted Evaluate call fails at once by name and leaves the previous result stored (or a
 *   whole new one), the run still "stopped";
 * - an interrupted import leaves the whole dataset version or none of it, and the data worker's
 *   death is said with a restart.
 * Also issue 14's "Stop while waiting for another tab": a start that waits for another tab's lock
 * offers "Cancel waiting", which cancels it and leaves the other tab's run training.
 *
 * The seed is printed (FAULT_SEED=<seed> repeats a sequence) with a table of trials: where the kill
 * was aimed, the instant, where it landed and the outcome. One browser context; one page for the
 * engine and data trials (the worker is restarted, not the browser). These trials run the engine
 * on the CPU backend in a browser of their own without a GPU: a new WebGPU worker compiles its
 * ~100 pipelines again on SwiftShader (minutes under load), which 20 restarts cannot afford; the
 * fault paths (workers, locks, IndexedDB) are the same on every backend, and checkpoints.spec and
 * tabs.spec kill WebGPU workers. The nano model, batch 8.
 */
import { test, expect, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { openStudio, setNumber, shot } from './helpers';

const SEED = Number(process.env.FAULT_SEED) || Math.floor(Math.random() * 2 ** 31);
/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed. */
function prng(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const random = prng(SEED);

interface Trial {
	trial: number;
	where: string;
	instant: string;
	landed: string;
	outcome: string;
}
const trials: Trial[] = [];

const MAX_STEPS = 2000;
const CHECKPOINT_EVERY = 2;
const EVAL_EVERY = 4;
const IMPORT_ROWS = 6000;

type W = { whetstone: { engine: any; data: any }; __faults: Faults };
interface Faults {
	/** When the current phase began, by name ('step' between phases). */
	phase: string;
	since: number;
	/** How long each phase took, the last few times. */
	took: Record<string, number[]>;
	listeners: ((e: { type: string; phase?: { phase: string } | null; point?: { step: number } }) => void)[];
}

/**
 * In a page: follow the engine's events (its `onEvent`, wrapped), so a kill can be timed from the
 * start of a phase and the phases' lengths are known.
 */
async function trackPhases(page: Page) {
	await page.evaluate(() => {
		const w = window as unknown as W;
		const engine = w.whetstone.engine;
		const f: Faults = (w.__faults = { phase: 'idle', since: performance.now(), took: {}, listeners: [] });
		const enter = (name: string) => {
			if (name === f.phase) return;
			const now = performance.now();
			if (f.phase !== 'idle') (f.took[f.phase] ??= []).push(now - f.since);
			f.phase = name;
			f.since = now;
		};
		const orig = engine.onEvent.bind(engine);
		let lastMetric = -1;
		engine.onEvent = (e: { type: string; phase?: { phase: string } | null; point?: { step: number }; step?: number }) => {
			orig(e);
			if (e.type === 'phase') enter(e.phase?.phase ?? 'step');
			else if (e.type === 'started') enter('step');
			else if (e.type === 'metrics' && e.step !== undefined) {
				// A step from one metric point to the next, counted where no evaluation or save came between (steps 4k+1 → 4k+2).
				if (lastMetric % 4 === 1 && e.step === lastMetric + 1) (f.took.stepToStep ??= []).push(performance.now() - f.since);
				lastMetric = e.step;
				if (f.phase === 'step') f.since = performance.now();
			}
			for (const l of [...f.listeners]) l(e);
		};
	});
}

/** What IndexedDB holds for a run: its record, the manifests with whether all their chunks are stored, chunks with no manifest, its metric series. */
function stored(page: Page, runName: string) {
	return page.evaluate(async (name) => {
		const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
		const req = <T,>(r: IDBRequest<T>) => new Promise<T>((ok, ko) => Object.assign(r, { onsuccess: () => ok(r.result), onerror: () => ko(r.error) }));
		const tx = db.transaction(['runs', 'checkpoints', 'checkpointChunks', 'metrics']);
		const run = ((await req(tx.objectStore('runs').getAll())) as { id: string; name: string; status: string; step: number }[]).find((r) => r.name === name)!;
		const manifests = ((await req(tx.objectStore('checkpoints').index('byRun').getAll(run.id))) as { id: string; step: number; chunkCount: number }[]).sort((a, b) => a.step - b.step);
		const keys = (await req(tx.objectStore('checkpointChunks').getAllKeys())) as [string, number][];
		const ids = new Set((await req(tx.objectStore('checkpoints').getAllKeys())) as string[]);
		const chunks = new Map<string, number>();
		for (const [id] of keys) chunks.set(id, (chunks.get(id) ?? 0) + 1);
		const metrics = ((await req(tx.objectStore('metrics').index('byRun').getAll(run.id))) as { step: number; trainLoss?: number }[]).sort((a, b) => a.step - b.step);
		db.close();
		return {
			run: { id: run.id, status: run.status, step: run.step },
			checkpoints: manifests.map((m) => ({ id: m.id, step: m.step, whole: chunks.get(m.id) === m.chunkCount })),
			orphanChunks: [...chunks.keys()].filter((id) => !ids.has(id)),
			metrics: metrics.map((m) => ({ step: m.step, loss: m.trainLoss ?? null }))
		};
	}, runName);
}
type Stored = Awaited<ReturnType<typeof stored>>;

/**
 * In the page: wait for the start of `aim` (a step after a metric point at step 4k+1, an
 * evaluation, a checkpoint save), then `fraction` of its usual length, and end the engine worker
 * with no error event (as the browser ends one). Resolves with the instant and where it landed.
 */
function killEngineAt(page: Page, aim: 'step' | 'validating' | 'checkpoint', fraction: number) {
	return page.evaluate(
		async ({ aim, fraction }) => {
			const w = window as unknown as W;
			const f = w.__faults;
			const median = (xs: number[] = []) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 50;
			const usual = median(f.took[aim === 'step' ? 'stepToStep' : aim]);
			await new Promise<void>((resolve) => {
				const l = (e: { type: string; phase?: { phase: string } | null; step?: number }) => {
					const begins = aim === 'step' ? e.type === 'metrics' && (e.step ?? 0) % 4 === 1 : e.type === 'phase' && e.phase?.phase === aim;
					if (!begins) return;
					f.listeners = f.listeners.filter((x) => x !== l);
					resolve();
				};
				f.listeners.push(l);
			});
			const delay = Math.round(fraction * usual);
			const t0 = performance.now();
			while (performance.now() - t0 < delay) await new Promise((r) => setTimeout(r, 0));
			const engine = w.whetstone.engine;
			const landed = f.phase;
			const step = engine.live?.step ?? null;
			engine.killSilentlyForTest();
			return { instant: `+${Math.round(performance.now() - t0)} ms of ~${Math.round(usual)} ms, after step ${step}`, landed };
		},
		{ aim, fraction }
	);
}

/** In the page: the step the engine reports when the run starts training again (its checkpoint's). */
function armStarted(page: Page) {
	return page.evaluate(() => {
		const w = window as unknown as W & { __started: Promise<number> };
		w.__started = new Promise<number>((resolve) => {
			const l = (e: { type: string; step?: number }) => {
				if (e.type !== 'started') return;
				w.__faults.listeners = w.__faults.listeners.filter((x) => x !== l);
				resolve(e.step!);
			};
			w.__faults.listeners.push(l);
		});
	});
}

test('fault injection: killed workers and closed tabs always leave a consistent state', async ({ playwright }) => {
	test.setTimeout(360_000);
	console.log(`fault injection seed ${SEED} (FAULT_SEED=${SEED} repeats it)`);
	const t0 = Date.now();
	const browser = await playwright.chromium.launch({
		executablePath: process.env.CHROMIUM_PATH || (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
		// No GPU, no software rasterizer: no WebGPU and no WebGL, so the engine runs on the CPU.
		args: ['--disable-gpu', '--disable-software-rasterizer', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
	});
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	let page = await context.newPage();
	await openStudio(page);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'cpu');
	await trackPhases(page);
	await page.getByTestId('nav-train').click();
	await page.getByTestId('source-scratch').check();
	await page.getByTestId('model-preset').selectOption('nano');
	await setNumber(page, 'epochs', 40);
	await setNumber(page, 'batch-size', 8);
	await setNumber(page, 'max-steps', MAX_STEPS);
	await page.locator('summary', { hasText: 'Model shape' }).click();
	await setNumber(page, 'log-every', 1);
	await setNumber(page, 'eval-every', EVAL_EVERY);
	await setNumber(page, 'checkpoint-every', CHECKPOINT_EVERY);
	const rows = page.getByTestId('run-row');
	const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name'))));
	await page.getByTestId('start').click();
	await expect.poll(async () => (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).filter((n) => !before.has(n)).length, { timeout: 120_000 }).toBe(1);
	const runName = (await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).find((n) => !before.has(n))!;
	const rowIn = (p: Page) => p.locator(`[data-testid="run-row"][data-name="${runName}"]`);
	// A few of each phase first, so a kill can be timed inside one.
	await expect.poll(async () => (await stored(page, runName)).metrics.length, { timeout: 120_000 }).toBeGreaterThanOrEqual(10);

	/** After a death: the row is honest, every checkpoint whole; the stored state the resume must continue. */
	async function afterDeath(how: RegExp): Promise<Stored> {
		await expect(page.getByText('The training engine stopped', { exact: true })).toBeVisible({ timeout: 10_000 });
		await expect(page.getByRole('alert').filter({ hasText: how })).toBeVisible();
		await expect(rowIn(page).getByTestId('run-status')).toHaveText(/^(interrupted: the engine stopped|paused)$/);
		const s = await stored(page, runName);
		expect(s.checkpoints.length).toBeGreaterThan(0);
		expect(s.checkpoints.filter((c) => !c.whole)).toEqual([]);
		return s;
	}

	/** Resume through `click` in `p`: from the newest whole checkpoint, the series continuous, the re-trained steps' losses as before. */
	async function resumeChecked(p: Page, dead: Stored, click: () => Promise<void>): Promise<string> {
		const from = dead.checkpoints.at(-1)!.step;
		await armStarted(p);
		await rowIn(p).click();
		await click();
		const started = await p.evaluate(() => (window as unknown as { __started: Promise<number> }).__started);
		expect(started, 'the step training resumed from').toBe(from);
		await expect(rowIn(p).getByTestId('run-status')).toHaveText('running');
		// Trained again past the point of death.
		const redo = Math.max(from + 1, ...dead.metrics.map((m) => m.step));
		await expect.poll(async () => (await stored(p, runName)).metrics.at(-1)?.step ?? 0, { timeout: 60_000 }).toBeGreaterThanOrEqual(redo);
		const now = await stored(p, runName);
		expect(now.metrics.map((m) => m.step)).toEqual(now.metrics.map((_, i) => i + 1));
		let same = 0;
		for (const m of now.metrics) {
			const was = dead.metrics.find((d) => d.step === m.step);
			if (!was || m.step <= from || was.loss === null || m.loss === null) continue;
			expect(m.loss, `training loss at step ${m.step} after resuming from step ${from}`).toBeCloseTo(was.loss, 4);
			same++;
		}
		return `resumed at step ${from}; ${same} step${same === 1 ? '' : 's'} re-trained with the same loss`;
	}
	const restartAndResume = (dead: Stored) => resumeChecked(page, dead, () => page.getByRole('button', { name: 'Restart and resume from the last checkpoint' }).click());

	// 1. The engine worker, in a seeded order: in a step, in an evaluation, in a checkpoint write.
	const plan: ('step' | 'validating' | 'checkpoint' | 'checkpoint-held')[] = [...Array(6).fill('step'), ...Array(6).fill('validating'), ...Array(5).fill('checkpoint'), ...Array(2).fill('checkpoint-held')];
	for (let i = plan.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[plan[i], plan[j]] = [plan[j], plan[i]];
	}
	for (const aim of plan) {
		const n = trials.length + 1;
		if (aim === 'checkpoint-held') {
			// checkpoints.spec's hook: the save stops after its chunks, before its manifest, and the page terminates the worker there.
			const held: { id: string; step: number } = await page.evaluate(() => (window as unknown as W).whetstone.engine.crashDuringNextSaveForTest());
			const dead = await afterDeath(/terminated by a test/);
			expect(dead.checkpoints.some((c) => c.id === held.id)).toBe(false);
			expect(dead.orphanChunks).toContain(held.id);
			const outcome = await restartAndResume(dead);
			expect((await stored(page, runName)).orphanChunks).not.toContain(held.id);
			trials.push({ trial: n, where: 'checkpoint write (held)', instant: `step ${held.step}: chunks written, no manifest`, landed: 'checkpoint', outcome: `half-written checkpoint swept; ${outcome}` });
		} else {
			const fraction = random() * 0.9;
			const { instant, landed } = await killEngineAt(page, aim, fraction);
			const dead = await afterDeath(/ended without an error/);
			const outcome = await restartAndResume(dead);
			// The restarted engine's start-up sweep took any chunks the kill left (chunks of a save under way now may be listed).
			const left = (await stored(page, runName)).orphanChunks;
			expect(dead.orphanChunks.filter((id) => left.includes(id))).toEqual([]);
			trials.push({ trial: n, where: aim === 'step' ? 'training step' : aim === 'validating' ? 'evaluation' : 'checkpoint write', instant, landed, outcome });
		}
	}
	await shot(page, 'faults-1-engine-resumed');

	// 2. The data worker during an import: the whole version or none, the death said with a restart.
	const importing = (name: string, killAfterMs: number | null) =>
		page.evaluate(
			async ({ rows, name, killAfterMs }) => {
				const w = window as unknown as W;
				const labels = ['billing', 'technical', 'account', 'shipping'];
				const csv = ['text,label', ...Array.from({ length: rows }, (_, i) => `ticket ${i} about order ${(i * 7919) % 100003} and its invoice,${labels[i % 4]}`)].join('\n');
				const file = new File([csv], 'faults.csv', { type: 'text/csv' });
				const projectId = localStorage.getItem('whetstone.currentProject');
				const t0 = performance.now();
				const call = w.whetstone.data
					.importDataset({ projectId, file, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name })
					.then((v: { rowCount: number }) => `stored ${v.rowCount} rows`, (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
				if (killAfterMs !== null) {
					while (performance.now() - t0 < killAfterMs) await new Promise((r) => setTimeout(r, 0));
					w.whetstone.data.killSilentlyForTest();
				}
				const answer = await call;
				return { answer, ms: performance.now() - t0 };
			},
			{ rows: IMPORT_ROWS, name, killAfterMs }
		);
	const versions = (name: string) =>
		page.evaluate(async (name) => {
			const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
			const req = <T,>(r: IDBRequest<T>) => new Promise<T>((ok, ko) => Object.assign(r, { onsuccess: () => ok(r.result), onerror: () => ko(r.error) }));
			const tx = db.transaction(['datasets', 'rows']);
			const all = (await req(tx.objectStore('datasets').getAll())) as { id: string; name: string; rowCount: number; chunkCount: number }[];
			const chunks = (await req(tx.objectStore('rows').getAll())) as { versionId: string; rows: unknown[] }[];
			db.close();
			const ids = new Set(all.map((v) => v.id));
			return {
				named: all.filter((v) => v.name === name).map((v) => {
					const own = chunks.filter((c) => c.versionId === v.id);
					return { rowCount: v.rowCount, chunks: own.length, chunkCount: v.chunkCount, rows: own.reduce((n, c) => n + c.rows.length, 0) };
				}),
				orphanRows: chunks.filter((c) => !ids.has(c.versionId)).length
			};
		}, name);
	// One whole import first: its length and its row count.
	const whole = await importing('faults whole', null);
	expect(whole.answer).toMatch(/^stored \d+ rows$/);
	const rowCount = Number(whole.answer.match(/\d+/)![0]);
	for (let k = 0; k < 5; k++) {
		const name = `faults import ${k}`;
		// The (re)started data worker is up and holds its life lock (client/bridge.ts); one that died
		// before it held it would be noticed only by the heartbeat's fallback.
		await expect.poll(() => page.evaluate(async () => (await navigator.locks.query()).held?.some((l) => l.name?.startsWith('whetstone-worker-alive:data worker')) ?? false), { timeout: 30_000 }).toBe(true);
		const after = Math.round(random() * 0.95 * whole.ms);
		const { answer } = await importing(name, after);
		const alert = page.locator('[data-testid="worker-alert"][data-worker="data worker"]');
		await expect(alert).toBeVisible({ timeout: 10_000 });
		await expect(alert).toContainText('The data worker stopped');
		const v = await versions(name);
		expect(v.orphanRows).toBe(0);
		if (answer.startsWith('stored')) expect(v.named).toEqual([{ rowCount, chunks: v.named[0].chunkCount, chunkCount: v.named[0].chunkCount, rows: rowCount }]);
		else {
			expect(answer).toMatch(/^worker-crashed: The data worker stopped \(it ended without an error/);
			// Killed before its save committed: nothing; killed after the commit but before the answer
			// reached the page: the whole version. Never a part of one.
			if (v.named.length) expect(v.named).toEqual([{ rowCount, chunks: v.named[0].chunkCount, chunkCount: v.named[0].chunkCount, rows: rowCount }]);
			else expect(v.named).toEqual([]);
		}
		if (k === 0) await shot(page, 'faults-2-data-worker-stopped');
		await alert.getByTestId('worker-restart').click();
		await expect(alert).toHaveCount(0);
		trials.push({ trial: trials.length + 1, where: 'import (data worker)', instant: `+${after} ms of ~${Math.round(whole.ms)} ms`, landed: answer.startsWith('stored') ? 'after the import' : 'import', outcome: v.named.length ? `whole version (${rowCount} rows)` : 'no version, no rows' });
	}
	// The restarted data worker imports again.
	expect((await importing('faults after restart', null)).answer).toBe(`stored ${rowCount} rows`);

	// 3. Another tab starts a run while this one trains: it waits, and "Cancel waiting" cancels only the wait.
	const other = await context.newPage();
	await openStudio(other);
	await other.getByTestId('nav-train').click();
	await expect(rowIn(other).getByTestId('run-status')).toHaveText('training in another tab');
	await other.getByTestId('source-scratch').check();
	await other.getByTestId('model-preset').selectOption('nano');
	await setNumber(other, 'max-steps', 2);
	await other.getByTestId('start').click();
	await expect(other.getByTestId('phase')).toHaveAttribute('data-phase', 'waiting', { timeout: 60_000 });
	const stop = other.getByTestId('stop');
	await expect(stop).toHaveText('Cancel waiting');
	await expect(stop).toBeEnabled();
	await expect(other.getByTestId('pause')).toBeDisabled();
	await shot(other, 'faults-3-cancel-waiting');
	await stop.click();
	await expect(other.getByTestId('phase')).toHaveCount(0, { timeout: 10_000 });
	await expect(other.getByTestId('train-notice')).toContainText('did not start: it was stopped while it waited for the other tab. It is removed from the list; nothing was stored.');
	await expect(other.getByRole('alert')).toHaveCount(0);
	await expect(stop).toHaveText('Stop');
	await expect(stop).toBeDisabled();
	await expect(rowIn(page).getByTestId('run-status')).toHaveText('running');
	await expect(rowIn(other).getByTestId('run-status')).toHaveText('training in another tab');
	await other.close();

	// 4. Tabs closed at random instants while they train: the next tab finds the run paused at its
	// newest whole checkpoint and resumes it from there.
	for (let k = 0; k < 3; k++) {
		const after = Math.round(random() * 1500);
		const at = await page.evaluate(async (ms) => {
			const w = window as unknown as W;
			const t0 = performance.now();
			while (performance.now() - t0 < ms) await new Promise((r) => setTimeout(r, 0));
			return { step: w.whetstone.engine.live?.step ?? null, phase: w.__faults.phase };
		}, after);
		await page.close();
		page = await context.newPage();
		await openStudio(page);
		await trackPhases(page);
		await page.getByTestId('nav-train').click();
		await expect(rowIn(page).getByTestId('run-status')).toHaveText('paused', { timeout: 30_000 });
		const dead = await stored(page, runName);
		expect(dead.run.status).toBe('paused');
		expect(dead.checkpoints.filter((c) => !c.whole)).toEqual([]);
		expect(Number(await rowIn(page).getAttribute('data-step'))).toBe(dead.checkpoints.at(-1)!.step);
		const outcome = await resumeChecked(page, dead, () => page.getByTestId('resume').click());
		trials.push({ trial: trials.length + 1, where: 'tab closed while training', instant: `+${after} ms`, landed: `${at.phase}, step ${at.step}`, outcome });
	}
	await shot(page, 'faults-4-after-tab-closes');
	await page.getByTestId('stop').click();
	await expect(rowIn(page)).toHaveAttribute('data-status', 'stopped', { timeout: 30_000 });

	// 5. The engine worker during an Evaluate call on the stopped run: the call fails by name at once,
	// the run stays "stopped", the stored result is the previous one or a whole new one.
	const runId = (await stored(page, runName)).run.id;
	const evaluating = (killAfterMs: number | null) =>
		page.evaluate(
			async ({ runId, killAfterMs }) => {
				const engine = (window as unknown as W).whetstone.engine;
				const t0 = performance.now();
				const call = engine.evaluate(runId, undefined, 'test').then(
					(r: { count: number; createdAt: number }) => ({ stored: r.createdAt, count: r.count, error: null }),
					(e: { code?: string; message: string }) => ({ stored: null, count: 0, error: `${e.code}: ${e.message}` })
				);
				if (killAfterMs !== null) {
					while (performance.now() - t0 < killAfterMs) await new Promise((r) => setTimeout(r, 0));
					engine.killSilentlyForTest();
				}
				return { ...(await call), ms: performance.now() - t0 };
			},
			{ runId, killAfterMs }
		);
	const storedEvaluation = () =>
		page.evaluate(async (runId) => {
			const db = await new Promise<IDBDatabase>((ok, ko) => Object.assign(indexedDB.open('whetstone'), { onsuccess: (e: Event) => ok((e.target as IDBOpenDBRequest).result), onerror: ko }));
			const run = await new Promise<{ evaluation?: { createdAt: number; count: number } }>((ok) => Object.assign(db.transaction('runs').objectStore('runs').get(runId), { onsuccess: (e: Event) => ok((e.target as IDBRequest).result) }));
			db.close();
			return run.evaluation ? { createdAt: run.evaluation.createdAt, count: run.evaluation.count } : null;
		}, runId);
	const full = await evaluating(null);
	expect(full.error).toBeNull();
	for (let k = 0; k < 3; k++) {
		// The (re)started engine is up and holds its life lock: a worker killed while it still loads is
		// noticed only by the heartbeat (a gap this spec does not aim at; see client/bridge.ts).
		await expect.poll(() => page.evaluate(async () => (await navigator.locks.query()).held?.some((l) => l.name?.startsWith('whetstone-worker-alive:training engine')) ?? false), { timeout: 60_000 }).toBe(true);
		const previous = await storedEvaluation();
		expect(previous?.count).toBe(full.count);
		const after = Math.round(random() * 0.9 * full.ms);
		const r = await evaluating(after);
		await expect(page.getByText('The training engine stopped', { exact: true })).toBeVisible({ timeout: 10_000 });
		await expect(rowIn(page).getByTestId('run-status')).toHaveText('stopped');
		const now = await storedEvaluation();
		if (r.error) {
			expect(r.error).toMatch(/^worker-crashed: The training engine stopped \(it ended without an error/);
			expect(now).toEqual(previous);
		} else expect(now).toEqual({ createdAt: r.stored, count: full.count });
		if (k === 0) await shot(page, 'faults-5-evaluate-killed');
		await page.getByRole('button', { name: 'Restart the engine', exact: true }).click();
		await expect(page.getByText('The training engine stopped', { exact: true })).toHaveCount(0, { timeout: 30_000 });
		trials.push({ trial: trials.length + 1, where: 'evaluation (Evaluate call)', instant: `+${after} ms of ~${Math.round(full.ms)} ms`, landed: r.error ? 'evaluation' : 'after the evaluation', outcome: r.error ? 'rejected by name; previous result kept' : 'whole new result stored' });
	}
	// The restarted engine scores the run again; nothing trains, so its start-up sweep left no chunk without a manifest.
	expect((await evaluating(null)).error).toBeNull();
	expect((await stored(page, runName)).orphanChunks).toEqual([]);

	console.log(`fault injection seed ${SEED}: ${trials.length} trials in ${Math.round((Date.now() - t0) / 1000)} s`);
	console.table(trials);
	const counts = trials.reduce<Record<string, number>>((c, t) => ((c[t.where] = (c[t.where] ?? 0) + 1), c), {});
	console.log('trials by where:', JSON.stringify(counts), '· by where they landed:', JSON.stringify(trials.reduce<Record<string, number>>((c, t) => ((c[t.landed.split(',')[0]] = (c[t.landed.split(',')[0]] ?? 0) + 1), c), {})));
	expect(trials.length).toBeGreaterThanOrEqual(30);
	await context.close();
	await browser.close();
});
