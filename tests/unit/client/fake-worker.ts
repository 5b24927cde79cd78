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
	const received: Received[] = [];
	const channel = new MessageChannel();
	channels.push(channel);
	const fake = new Proxy(
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
	expose(fake, channel.port2 as unknown as Endpoint);
	const bridge = new WorkerBridge<unknown>(() => Object.assign(channel.port1, { terminate: () => channel.port1.close() }) as unknown as Worker, 'test worker');
	(client as { bridge: WorkerBridge<unknown> }).bridge = bridge;
	return received;
}

export function closeChannels(): void {
	for (const c of channels) {
		c.port1.close();
		c.port2.close();
	}
	channels = [];
}

