/**
 * A fake worker behind a real comlink channel (Node's MessageChannel structured-clones like the
 * browser's postMessage), put in place of a client's Worker; it records every call it receives.
 */
import { expose, type Endpoint } from 'comlink';
import { WorkerBridge } from '../../../src/lib/client/bridge';

export interface Received {
	method: string;
	args: unknown[];
}

/** Canned answers, just enough for the client code after the call to run. */
export const answers: Record<string, unknown> = {
	init: { backend: { name: 'cpu' }, swept: 0 },
	createRun: { id: 'run_1' },
	branchRun: { id: 'run_2' },
	setKeepCheckpoints: { id: 'run_1' },
	train: 'completed',
	evaluate: { split: 'test' },
	listCached: []
};

let channels: MessageChannel[] = [];

/** Replace a client's worker with a fake one behind a real comlink channel; returns what the fake received. */
export function connect(client: object, methods: Record<string, (...args: any[]) => unknown> = {}): Received[] {
	return connectWorker(client, methods).received;
}

/**
 * As `connect`, keeping the client's own bridge settings (its label, whether it is watched, its
 * heartbeat, what it does on a crash), and with `kill`: the fake worker ends silently, as a
 * browser ends a worker (no error event; its port closes, so no call or ping is answered, and
 * `onKill` runs, e.g. to release the life lock it held). Every `start` of the bridge (a restart)
 * opens a new channel to the same fake.
 */
export function connectWorker(client: object, methods: Record<string, (...args: any[]) => unknown> = {}, onKill?: () => void) {
	const received: Received[] = [];
	const old = (client as { bridge: WorkerBridge<unknown> }).bridge;
	const fake = fakeApi(received, methods);
	let current: MessageChannel | null = null;
	const bridge = new WorkerBridge<unknown>(
		() => {
			const channel = (current = new MessageChannel());
			channels.push(channel);
			expose(fake, channel.port2 as unknown as Endpoint);
			return Object.assign(channel.port1, { terminate: () => channel.port1.close() }) as unknown as Worker;
		},
		old?.label ?? 'test worker',
		(old as unknown as { watched?: boolean })?.watched ?? false
	);
	if (old) Object.assign(bridge, { onCrash: old.onCrash, crashAdvice: old.crashAdvice, heartbeatMs: old.heartbeatMs, heartbeatTimeoutMs: old.heartbeatTimeoutMs });
	(client as { bridge: WorkerBridge<unknown> }).bridge = bridge;
	const kill = () => {
		current?.port2.close();
		onKill?.();
	};
	return { received, bridge, kill };
}

function fakeApi(received: Received[], methods: Record<string, (...args: any[]) => unknown>): object {
	return new Proxy(
		{},
		{
			get: (_, method) =>
				typeof method === 'string' && method !== 'then'
					? (...args: unknown[]) => {
							received.push({ method, args });
							return method in methods ? methods[method](...args) : answers[method];
						}
					: undefined
		}
	);
}

export function closeChannels(): void {
	for (const c of channels) {
		c.port1.close();
		c.port2.close();
	}
	channels = [];
}

