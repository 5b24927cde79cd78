/**
 * Issue 14, defect 3, for the data and Hub workers: a worker that dies without an error event is
 * noticed within moments by its life lock (a Web Lock it holds while it lives; here a small fake
 * LockManager, as Node 20 has none), or by the heartbeat where Web Locks are missing; every pending
 * call is rejected with the named error 'worker-crashed', the client says so and offers a restart
 * (workerAlerts), and a restart gives a working worker. A cancelled preparation is not a crash.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeChannels, connectWorker } from './fake-worker';
import { DataClient } from '../../../src/lib/client/data.svelte';
import { HubClient } from '../../../src/lib/client/hub.svelte';
import { workerAlerts } from '../../../src/lib/client/worker-alerts.svelte';
import type { WorkerBridge } from '../../../src/lib/client/bridge';

afterEach(() => {
	closeChannels();
	vi.unstubAllGlobals();
	for (const a of workerAlerts.list) workerAlerts.clear(a.label);
});

const never = () => new Promise(() => {});
const file = new File(['text,label\nhi,a\nyo,b\n'], 'tickets.csv');
const importArgs = { projectId: 'p', file, textColumn: 'text', labelColumn: 'label', split: { train: 0.8, validation: 0.1, test: 0.1, seed: 1 } as never, skipBadRows: true };
type Failure = { code?: string; message: string };
const failure = (p: Promise<unknown>) => p.then(() => ({ code: 'resolved', message: '' }) as Failure, (e: Failure) => e);

/** A client's bridge with a fast heartbeat (the fallback watch), set before the fake replaces it. */
function fastHeartbeat(client: object, timeoutMs: number): void {
	const bridge = (client as { bridge: WorkerBridge<unknown> }).bridge;
	bridge.heartbeatMs = 20;
	bridge.heartbeatTimeoutMs = timeoutMs;
}

/** Web Locks as the browser grants them (one holder per name, the others queue), enough for the life lock. */
function fakeLocks() {
	const held = new Set<string>();
	const queues = new Map<string, (() => void)[]>();
	const request = (name: string, cb: (lock: { name: string }) => unknown) =>
		new Promise((resolve, reject) => {
			const grant = () => {
				held.add(name);
				Promise.resolve()
					.then(() => cb({ name }))
					.then(resolve, reject)
					.finally(() => {
						held.delete(name);
						queues.get(name)?.shift()?.();
					});
			};
			if (held.has(name)) queues.set(name, [...(queues.get(name) ?? []), grant]);
			else grant();
		});
	return { request };
}

/** A fake worker that holds its life lock until it is killed, as a real one holds it until it ends. */
function withLifeLock(client: object, methods: Record<string, (...args: any[]) => unknown>) {
	const locks = fakeLocks();
	vi.stubGlobal('navigator', { locks });
	const releases: (() => void)[] = [];
	const holdLifeLock = (name: string) =>
		new Promise((held) => void locks.request(name, () => (held(true), new Promise<void>((release) => releases.push(release)))));
	return connectWorker(client, { ...methods, holdLifeLock }, () => releases.splice(0).forEach((r) => r()));
}

describe('the data worker is watched', () => {
	it('a silent death during an import is noticed by the life lock at once: pending calls rejected by name, a restart offered', async () => {
		const data = new DataClient();
		fastHeartbeat(data, 60_000); // far beyond this test: the life lock must be what notices
		const { received, kill } = withLifeLock(data, { importDataset: never, datasetSummary: never });
		const importing = failure(data.importDataset(importArgs));
		const summary = failure(data.datasetSummary('ds_1'));
		await vi.waitFor(() => expect(received.map((r) => r.method)).toEqual(expect.arrayContaining(['holdLifeLock', 'importDataset', 'datasetSummary'])));
		expect(data.busy).toBe('Importing…');
		const killedAt = Date.now();
		kill();
		const [a, b] = await Promise.all([importing, summary]);
		expect(Date.now() - killedAt).toBeLessThan(1000);
		for (const e of [a, b]) {
			expect(e.code).toBe('worker-crashed');
			expect(e.message).toBe('The data worker stopped (it ended without an error; the browser may have closed it to free memory). Restart it, then do that again; nothing half-made was stored.');
		}
		expect(data.busy).toBeNull();
		expect(data.crashed).toBe(a.message);
		expect(workerAlerts.list.map((x) => [x.label, x.message])).toEqual([['data worker', a.message]]);

		// Restart (the alert's button): a new worker answers, the alert is gone.
		workerAlerts.list[0].restart();
		expect(data.crashed).toBeNull();
		expect(workerAlerts.list).toEqual([]);
		await data.inspectFile(file);
		expect(received.filter((r) => r.method === 'inspectSource')).toHaveLength(1);
	});

	it('where Web Locks are missing, the heartbeat notices a worker that answers nothing', async () => {
		const data = new DataClient();
		fastHeartbeat(data, 150);
		const { received, kill } = connectWorker(data, { prepareTokens: never });
		const preparing = failure(data.prepareTokens('ds_1', { kind: 'bpe', vocabSize: 256 } as never, 32));
		await vi.waitFor(() => expect(received.some((r) => r.method === 'prepareTokens')).toBe(true));
		kill();
		const e = await preparing;
		expect(e.code).toBe('worker-crashed');
		expect(e.message).toMatch(/^The data worker stopped \(it answered no heartbeat for \d+ s\)\. Restart it/);
		expect(data.phase).toBeNull();
		expect(workerAlerts.list.map((x) => x.label)).toEqual(['data worker']);
		// Doing it again without the button starts a new worker too, and the alert goes.
		await data.inspectFile(file);
		expect(workerAlerts.list).toEqual([]);
		expect(data.crashed).toBeNull();
	});

	it('cancelling a preparation ends the worker but is not a crash', async () => {
		const data = new DataClient();
		const { received } = connectWorker(data, { prepareTokens: never });
		const preparing = failure(data.prepareTokens('ds_1', { kind: 'bpe', vocabSize: 256 } as never, 32));
		await vi.waitFor(() => expect(received.some((r) => r.method === 'prepareTokens')).toBe(true));
		data.cancelPreparing();
		expect((await preparing).code).toBe('cancelled');
		expect(data.crashed).toBeNull();
		expect(workerAlerts.list).toEqual([]);
	});
});

describe('the Hub worker is watched', () => {
	it('a silent death during a download rejects it by name, says so, and a restart sweeps on a new worker', async () => {
		const hub = new HubClient();
		fastHeartbeat(hub, 60_000);
		const { received, kill } = withLifeLock(hub, {
			inspect: () => ({ repo: 'whetstone-test/tiny-bert', revision: 'abc', cached: false, files: [] }),
			download: never,
			listCached: never
		});
		await hub.inspect('whetstone-test/tiny-bert');
		const downloading = hub.download();
		const listing = failure(hub.refreshCached());
		await vi.waitFor(() => expect(received.some((r) => r.method === 'download')).toBe(true));
		expect(hub.busy).toBe('downloading');
		kill();
		expect(await downloading).toBeNull(); // download() answers null and sets the error
		const e = await listing;
		expect(e.code).toBe('worker-crashed');
		expect(e.message).toBe(
			'The download worker stopped (it ended without an error; the browser may have closed it to free memory). Restart it, then look up or download the model again; models already in the cache are kept; a download it cut off starts again.'
		);
		expect(hub.error).toBe(e.message);
		expect(hub.busy).toBeNull();
		expect(hub.crashed).toBe(e.message);
		expect(workerAlerts.list.map((x) => x.label)).toEqual(['download worker']);

		const sweeps = received.filter((r) => r.method === 'sweep').length;
		hub.restart();
		expect(hub.crashed).toBeNull();
		expect(hub.error).toBeNull();
		expect(workerAlerts.list).toEqual([]);
		await vi.waitFor(() => expect(received.filter((r) => r.method === 'sweep').length).toBe(sweeps + 1));
		expect(await hub.inspect('whetstone-test/tiny-bert')).toMatchObject({ revision: 'abc' });
	});

	it('a live Hub worker that answers its pings is left alone while a call is pending', async () => {
		const hub = new HubClient();
		fastHeartbeat(hub, 100);
		let finish!: (v: unknown) => void;
		connectWorker(hub, { listCached: () => new Promise((r) => (finish = r)) });
		const listing = hub.refreshCached();
		await new Promise((r) => setTimeout(r, 350));
		finish([]);
		await listing;
		expect(hub.crashed).toBeNull();
		expect(workerAlerts.list).toEqual([]);
	});
});
