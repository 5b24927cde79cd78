/**
 * Every client method's call really crosses to a worker: the client classes talk through comlink
 * over a MessageChannel to a fake worker API that records what arrived. postMessage structured-clones
 * the arguments, so a function nested in an object argument (the Evaluate screen's old
 * `{ shouldStop: proxy(fn) }`, "could not be cloned") fails here as it failed in the browser; a
 * callback must arrive as a top-level proxy the worker can call back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answers, closeChannels, connect, type Received } from './fake-worker';
import { EngineClient } from '../../../src/lib/client/engine.svelte';
import { DataClient } from '../../../src/lib/client/data.svelte';
import { HubClient } from '../../../src/lib/client/hub.svelte';
import { defaultRunConfig } from '../../../src/lib/shared/config';

afterEach(closeChannels);

/** The arguments of the first call of `method` the fake worker received. */
async function argsOf(received: Received[], method: string): Promise<unknown[]> {
	const call = received.find((r) => r.method === method);
	expect(call, `${method} reached the worker`).toBeDefined();
	return call!.args;
}

/** Nothing in a value is a function (what arrived was cloned; a proxy arrives as a callable). */
function hasFunction(v: unknown): boolean {
	if (typeof v === 'function') return true;
	if (v && typeof v === 'object') return Object.values(v).some(hasFunction);
	return false;
}

describe('EngineClient calls cross to the worker', () => {
	it('evaluate sends the stop flag and progress as top-level proxies, the options as plain data', async () => {
		const engine = new EngineClient();
		const received = connect(engine);
		let asked = 0;
		const progress: [number, number][] = [];
		await engine.evaluate('run_1', 'ckpt_1', 'validation', (d, t) => progress.push([d, t]), { resamples: 10, generationRows: 3 }, () => ++asked > 0);
		const args = await argsOf(received, 'evaluate');
		expect(args.slice(0, 3)).toEqual(['run_1', 'ckpt_1', 'validation']);
		expect(args[4]).toEqual({ resamples: 10, generationRows: 3 });
		expect(hasFunction(args[4])).toBe(false);
		// The worker can ask the page and report progress.
		expect(await (args[5] as () => Promise<boolean>)()).toBe(true);
		expect(asked).toBe(1);
		await (args[3] as (d: number, t: number) => Promise<void>)(4, 120);
		expect(progress).toEqual([[4, 120]]);
	});

	it('evaluate without callbacks sends none', async () => {
		const engine = new EngineClient();
		const received = connect(engine);
		await engine.evaluate('run_1');
		const args = await argsOf(received, 'evaluate');
		expect(args[3]).toBeUndefined();
		expect(args[5]).toBeUndefined();
	});

	it('every other method with an object or callback argument arrives whole', async () => {
		const engine = new EngineClient();
		const received = connect(engine);
		const config = defaultRunConfig(3);
		const calls: [string, () => Promise<unknown>][] = [
			['createRun', () => engine.createRun({ projectId: 'p', datasetVersionId: 'd', datasetHash: 'h', tokenizerHash: 't', config, name: 'run 1' })],
			['train', () => engine.train('run_1')],
			['predict', () => engine.predict('run_1', 'my invoice is wrong', 'ckpt_1')],
			['generate', () => engine.generate({ runId: 'run_1' }, 'hi', { maxNewTokens: 4, doSample: false }, () => {})],
			['runBaseline', () => engine.runBaseline({ projectId: 'p', datasetVersionId: 'd', model: { repo: 'r', revision: 'x' }, shots: 0, seed: 1, template: '{text}', labelWords: ['a'] } as never, () => {}, () => false)],
			['runGenerationBaseline', () => engine.runGenerationBaseline({ projectId: 'p', datasetVersionId: 'd', model: { repo: 'r', revision: 'x' }, shots: 0, seed: 1 }, () => {}, () => false)],
			['forgettingCheck', () => engine.forgettingCheck('run_1', 'text')],
			['benchmark', () => engine.benchmark(config, 16, 1)],
			['checkBackend', () => engine.checkBackend(config, true)],
			['benchmarkModel', () => engine.benchmarkModel({ repo: 'r', revision: 'x' }, { batchSize: 1, seqLen: 8, steps: 1 })],
			['branchRun', () => engine.branchRun('run_1', 'ckpt_1', 'branch')],
			['setKeepCheckpoints', () => engine.setKeepCheckpoints('run_1', 3)],
			['checkpointAsBase', () => engine.checkpointAsBase('run_1', 'ckpt_1', 'classification')],
			['settleInterrupted', () => engine.settleInterrupted(['run_1'])]
		];
		for (const [method, call] of calls) {
			await expect(call(), method).resolves.not.toThrow();
			const args = await argsOf(received, method);
			// Callbacks are top-level proxies; no argument carries a function inside it.
			for (const a of args) if (typeof a !== 'function') expect(hasFunction(a), `${method}: a function inside an argument`).toBe(false);
		}
		const [, , , onText] = await argsOf(received, 'generate');
		expect(typeof onText).toBe('function');
		const [, onProgress, shouldStop] = await argsOf(received, 'runBaseline');
		expect(await (shouldStop as () => Promise<boolean>)()).toBe(false);
		expect(typeof onProgress).toBe('function');
		engine.pause();
		engine.stop();
		engine.stopGeneration();
	});
});

describe('DataClient and HubClient calls cross to their workers', () => {
	it('data: file bytes and plain arguments', async () => {
		const data = new DataClient();
		const received = connect(data);
		const file = new File(['text,label\nhi,a\n'], 'tickets.csv');
		await data.inspectFile(file);
		await data.importDataset({ projectId: 'p', file, textColumn: 'text', labelColumn: 'label', split: { train: 0.8, validation: 0.1, test: 0.1, seed: 1 } as never, skipBadRows: true });
		await data.prepareTokens('d', { kind: 'bpe', vocabSize: 256 } as never, 32);
		await data.prepareHubTokens('d', { repo: 'r', revision: 'x' }, 'classification', 32);
		// The reading, importing and tokenizing calls: plain data (the file crosses as a File, never
		// read on the page), then their progress callback as a top-level proxy.
		const [name, source] = await argsOf(received, 'inspectSource');
		expect(name).toBe('tickets.csv');
		const files = (source as { files: Blob[] }).files;
		expect(files).toHaveLength(1);
		expect(await files[0].text()).toBe('text,label\nhi,a\n');
		for (const m of ['inspectSource', 'importDataset', 'prepareTokens', 'prepareHubTokens']) {
			const args = await argsOf(received, m);
			for (const a of args.slice(0, -1)) expect(hasFunction(a)).toBe(false);
			await (args.at(-1) as (p: unknown) => Promise<void>)({ phase: 'tokenizing', done: 3, total: 9, unit: 'rows' });
		}
		expect(data.phase).toBeNull(); // cleared when the call returned
		const [args] = await argsOf(received, 'importDataset');
		expect((args as { fileName: string }).fileName).toBe('tickets.csv');
	});

	it('hub: inspect and a download with its progress proxy', async () => {
		const hub = new HubClient();
		const received = connect(hub);
		answers.inspect = { repo: 'whetstone-test/tiny-bert', revision: 'abc', cached: false, files: [] };
		await hub.inspect('whetstone-test/tiny-bert');
		await hub.download();
		expect(hub.error).toBeNull();
		const [inspection, settings, onProgress] = await argsOf(received, 'download');
		expect(hasFunction(inspection) || hasFunction(settings)).toBe(false);
		expect(typeof onProgress).toBe('function');
	});
});
