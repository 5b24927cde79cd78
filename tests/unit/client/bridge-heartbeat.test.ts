/**
 * Issue 14, defect 3: a worker that dies without an error event. The bridge pings while any call
 * is pending (not only during training): a worker that answers no ping within the timeout is
 * treated as dead and every pending call is rejected with a named error ('worker-crashed'); a
 * worker that is busy but answers pings is left alone, and nothing pings while no call is pending.
 * (The life lock, which notices a death at once in a browser, needs Web Locks: the e2e covers it.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expose, type Endpoint } from 'comlink';
import { WorkerBridge } from '../../../src/lib/client/bridge';

const ports: MessagePort[] = [];
afterEach(() => {
	for (const p of ports.splice(0)) p.close();
});

/** A bridge over a real comlink channel to `api`, watched, with a fast heartbeat. */
function bridgeTo(api: object, timeoutMs = 150) {
	const channel = new MessageChannel();
	ports.push(channel.port1, channel.port2);
	expose(api, channel.port2 as unknown as Endpoint);
	const bridge = new WorkerBridge<any>(() => Object.assign(channel.port1, { terminate: () => channel.port1.close() }) as unknown as Worker, 'test worker', true);
	bridge.heartbeatMs = 20;
	bridge.heartbeatTimeoutMs = timeoutMs;
	const crashes: string[] = [];
	bridge.onCrash = (m) => crashes.push(m);
	return { bridge, crashes };
}

const never = () => new Promise(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the bridge heartbeat', () => {
	it('a worker that stops answering rejects every pending call with a named error', async () => {
		let pings = 0;
		const { bridge, crashes } = bridgeTo({ evaluate: never, predict: never, ping: () => (++pings > 1 ? never() : Date.now()) });
		const calls = [bridge.call((api) => api.evaluate()), bridge.call((api) => api.predict(), 120_000)].map((p) => p.catch((e: { code: string; message: string }) => e));
		const [a, b] = (await Promise.all(calls)) as { code: string; message: string }[];
		expect(a.code).toBe('worker-crashed');
		expect(b.code).toBe('worker-crashed');
		expect(a.message).toMatch(/The test worker stopped \(it answered no heartbeat for 0 s\)\. Restart it/);
		expect(crashes).toHaveLength(1);
		expect(pings).toBeGreaterThanOrEqual(2);
	});

	it('a busy worker that answers pings is not dead; nothing pings while no call is pending', async () => {
		let pings = 0;
		let finish!: (v: string) => void;
		const { bridge, crashes } = bridgeTo({ train: () => new Promise((r) => (finish = r)), ping: () => ++pings });
		const call = bridge.call((api) => api.train());
		await sleep(400); // more than twice the timeout, answering every ping
		expect(pings).toBeGreaterThan(3);
		finish('completed');
		expect(await call).toBe('completed');
		expect(crashes).toEqual([]);
		await sleep(30); // a ping sent just before the answer may still arrive
		const after = pings;
		await sleep(200);
		expect(pings).toBe(after);
		expect(bridge.pendingCount).toBe(0);
	});
});
