import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadModel, fileUrl, HUB_MODEL_TYPES, inspectModel, resolveRevision } from '../../../src/lib/engine/io/hub';
import { readSafetensorsHeader } from '../../../src/lib/engine/io/safetensors';
import { SUPPORTED_MODEL_TYPES } from '../../../src/lib/engine/models/registry';
import type { DownloadProgress, HubSettings } from '../../../src/lib/shared/hub';
import { checkFits, estimateMemory } from '../../../src/lib/shared/memory';
import { getModelFile, hasModelFile, listCachedModels, modelCache, useDatabase } from '../../../src/lib/storage';
import { HUB_SHAS, HUB_TEST_TOKEN, HUB_UNACCEPTED_TOKEN, startHubServer, type HubServer } from '../../support/hub-server';
import { freshDatabase } from '../storage/fixtures';

let hub: HubServer;
let settings: HubSettings;

beforeAll(async () => {
	hub = await startHubServer();
	settings = { endpoint: hub.url };
});
afterAll(() => hub.close());
beforeEach(() => {
	useDatabase(freshDatabase());
	hub.resetStats();
});
afterEach(() => {
	for (const key of Object.keys(hub.options)) delete hub.options[key as keyof typeof hub.options];
});

const GPT2 = 'whetstone-test/tiny-gpt2';
const fixture = (name: string, file: string) => readFileSync(new URL(`../../fixtures/hf-tiny/${name}/${file}`, import.meta.url));

/** Parameters and the largest tensor, straight from a fixture file's header. */
function fixtureParams(name: string): { params: number; largest: number; tensors: number } {
	const header = readSafetensorsHeader(fixture(name, 'model.safetensors'));
	const sizes = [...header.entries.values()].map((e) => e.shape.reduce((a, d) => a * d, 1));
	return { params: sizes.reduce((a, b) => a + b, 0), largest: 4 * Math.max(...sizes), tensors: sizes.length };
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
	const e = await promise.then(
		() => undefined,
		(e: unknown) => e
	);
	expect(e, 'expected a rejection').toBeInstanceOf(Error);
	return e as { code?: string; message: string };
}

function path(repo: string, file: string, revision: string = HUB_SHAS[repo as keyof typeof HUB_SHAS]): string {
	return new URL(fileUrl(settings, repo, revision, file)).pathname;
}

describe('resolveRevision', () => {
	it('resolves main to the commit hash, with file sizes; a hash resolves to itself', async () => {
		const main = await resolveRevision(GPT2, 'main', settings);
		expect(main.sha).toBe(HUB_SHAS[GPT2]);
		expect(main.files.find((f) => f.file === 'model.safetensors')?.size).toBe(fixture('gpt2', 'model.safetensors').byteLength);
		expect((await resolveRevision(GPT2, HUB_SHAS[GPT2], settings)).sha).toBe(HUB_SHAS[GPT2]);
	});

	it('builds resolve URLs in the Hub layout', () => {
		expect(fileUrl({ endpoint: 'https://huggingface.co/' }, 'a/b', 'refs/pr/1', 'onnx/model.onnx')).toBe(
			'https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/onnx/model.onnx'
		);
	});

	it('names what is wrong: no such repo, no such revision, a malformed id, no connection', async () => {
		const missing = await failure(resolveRevision('whetstone-test/nope', 'main', settings));
		expect(missing.code).toBe('not-found');
		expect(missing.message).toMatch(/HuggingFaceTB\/SmolLM2-135M.*private/);
		const revision = await failure(resolveRevision(GPT2, 'v9', settings));
		expect(revision).toMatchObject({ code: 'not-found', message: expect.stringContaining('no revision "v9"') });
		expect(await failure(resolveRevision('not a repo!', 'main', settings))).toMatchObject({ code: 'not-found' });
		const offline = await failure(resolveRevision(GPT2, 'main', { endpoint: 'http://127.0.0.1:1' }));
		expect(offline.code).toBe('network');
		expect(offline.message).toMatch(/already downloaded still load offline/);
	});
});

describe('inspectModel', () => {
	it.each([
		['gpt2', 'tiny-gpt2'],
		['llama', 'tiny-llama'],
		['qwen2', 'tiny-qwen2'],
		['bert', 'tiny-bert']
	])('%s: counts parameters from the headers by range requests, without downloading weights', async (name, repo) => {
		const id = `whetstone-test/${repo}`;
		const inspection = await inspectModel(id, 'main', settings, { cache: modelCache });
		const expected = fixtureParams(name);
		expect(inspection).toMatchObject({ repo: id, requestedRevision: 'main', revision: HUB_SHAS[id as keyof typeof HUB_SHAS] });
		expect(inspection).toMatchObject({ modelType: name, supported: true, hasTokenizer: true, cached: false });
		expect(inspection.params).toBe(expected.params);
		expect(inspection.dtypes).toEqual({ F32: expected.tensors });
		expect(inspection.weightFiles).toEqual(['model.safetensors']);
		expect(inspection.hasChatTemplate).toBe(name === 'llama');
		const { memory } = inspection;
		expect(memory.weights).toBe(4 * expected.params);
		expect(memory.largestTensor.bytes).toBe(expected.largest);
		expect(memory.fullFineTune).toBeGreaterThan(memory.lora);
		expect(memory.lora).toBeGreaterThan(memory.weights);

		const weights = path(id, 'model.safetensors');
		const stats = hub.stats();
		expect(stats.ranges[weights]).toBe(2);
		expect(stats.fullBodies[weights]).toBeUndefined();
		const sizes = new Map(inspection.files.map((f) => [f.file, f.size ?? 0]));
		const side = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
		const expectedBytes = [...side, 'model.safetensors'].reduce((sum, f) => sum + (sizes.get(f) ?? 0), 0);
		expect(inspection.downloadBytes).toBe(expectedBytes);
	});

	it('a tied lm_head that is not stored is not counted', async () => {
		const inspection = await inspectModel('whetstone-test/tiny-llama', 'main', settings);
		expect(readSafetensorsHeader(fixture('llama', 'model.safetensors')).entries.has('lm_head.weight')).toBe(false);
		expect(inspection.params).toBe(fixtureParams('llama').params);
	});

	it('still inspects when the server ignores Range and sends whole files', async () => {
		hub.options.ignoreRange = true;
		const inspection = await inspectModel(GPT2, 'main', settings);
		expect(inspection.params).toBe(fixtureParams('gpt2').params);
		expect(hub.stats().ranges[path(GPT2, 'model.safetensors')]).toBeUndefined();
	});

	it('reads a sharded model through its index, each tensor once', async () => {
		const inspection = await inspectModel('whetstone-test/sharded-gpt2', 'main', settings);
		expect(inspection.weightFiles).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
		expect(inspection.params).toBe(fixtureParams('gpt2').params);
	});

	it('refuses a model_type it has no architecture for, naming those it has', async () => {
		const e = await failure(inspectModel('whetstone-test/unsupported', 'main', settings));
		expect(e.code).toBe('invalid-config');
		expect(e.message).toContain('"t5"');
		for (const type of HUB_MODEL_TYPES) expect(e.message).toContain(type);
		const shown = await inspectModel('whetstone-test/unsupported', 'main', settings, { allowUnsupported: true });
		expect(shown).toMatchObject({ modelType: 't5', supported: false });
	});

	it('refuses pytorch_model.bin, saying only safetensors are read', async () => {
		const e = await failure(inspectModel('whetstone-test/pytorch-only', 'main', settings));
		expect(e.code).toBe('invalid-config');
		expect(e.message).toMatch(/safetensors only/);
	});

	it('a gated model needs a token whose account accepted the license', async () => {
		const id = 'whetstone-test/gated-model';
		expect(await failure(inspectModel(id, 'main', settings))).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/token/) });
		const unaccepted = await failure(inspectModel(id, 'main', { ...settings, token: HUB_UNACCEPTED_TOKEN }));
		expect(unaccepted).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/accept its license/) });
		expect(await failure(inspectModel(id, 'main', { ...settings, token: 'hf_wrong' }))).toMatchObject({ code: 'unauthorized' });
		const withToken = { ...settings, token: HUB_TEST_TOKEN };
		const inspection = await inspectModel(id, 'main', withToken);
		expect(inspection.params).toBe(fixtureParams('gpt2').params);
		await downloadModel(inspection, withToken, modelCache);
		expect(await hasModelFile({ repo: id, revision: inspection.revision }, 'model.safetensors')).toBe(true);
	});
});

describe('downloadModel', () => {
	it('downloads every file with progress, then serves a second download from the cache', async () => {
		const inspection = await inspectModel(GPT2, 'main', settings);
		const events: DownloadProgress[] = [];
		const result = await downloadModel(inspection, settings, modelCache, { onProgress: (p) => events.push({ ...p }) });
		const ref = { repo: GPT2, revision: HUB_SHAS[GPT2] };
		expect(result.ref).toEqual(ref);
		expect(result.files).toEqual(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']);
		const last = events.at(-1)!;
		expect(last.loaded).toBe(last.total);
		expect(last.total).toBe(inspection.downloadBytes);
		expect(last).toMatchObject({ filesDone: 5, filesTotal: 5 });
		for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
		// Buffer.equals, not toEqual: a deep compare of 129k elements takes a second.
		expect(Buffer.from((await getModelFile(ref, 'model.safetensors'))!).equals(fixture('gpt2', 'model.safetensors'))).toBe(true);
		// Pinned: every file came from the commit hash, never from 'main'.
		expect(Object.keys(hub.stats().requests).filter((p) => p.includes('/resolve/main/'))).toEqual([]);
		expect((await listCachedModels())[0]).toMatchObject({ repo: GPT2, revision: ref.revision, bytes: inspection.downloadBytes });

		hub.resetStats();
		const again: DownloadProgress[] = [];
		const second = await downloadModel(inspection, settings, modelCache, { onProgress: (p) => again.push(p) });
		expect(hub.stats().total).toBe(0);
		expect(second.networkBytes).toBe(0);
		expect(again.filter((p) => p.file !== '').every((p) => p.fromCache || p.loaded === p.total)).toBe(true);
		expect((await inspectModel(GPT2, 'main', settings, { cache: modelCache })).cached).toBe(true);
	});

	it('downloads a sharded model: the index and both shards', async () => {
		const id = 'whetstone-test/sharded-gpt2';
		const inspection = await inspectModel(id, 'main', settings);
		const result = await downloadModel(inspection, settings, modelCache);
		expect(result.files.slice(-3)).toEqual([
			'model.safetensors.index.json',
			'model-00001-of-00002.safetensors',
			'model-00002-of-00002.safetensors'
		]);
		const ref = { repo: id, revision: HUB_SHAS[id] };
		const index = JSON.parse(new TextDecoder().decode((await getModelFile(ref, 'model.safetensors.index.json'))!));
		for (const shard of inspection.weightFiles) {
			const header = readSafetensorsHeader((await getModelFile(ref, shard))!);
			for (const name of header.entries.keys()) expect(index.weight_map[name]).toBe(shard);
		}
	});

	it('cancelling mid-file keeps finished files and stores nothing of the interrupted one', async () => {
		const id = 'whetstone-test/tiny-qwen2';
		const inspection = await inspectModel(id, 'main', settings);
		hub.options.slowBytesPerSec = 100_000;
		const controller = new AbortController();
		const onProgress = (p: DownloadProgress) => {
			if (p.file === 'model.safetensors' && p.loaded < p.total) controller.abort();
		};
		const e = await failure(downloadModel(inspection, settings, modelCache, { signal: controller.signal, onProgress }));
		expect(e.code).toBe('cancelled');
		expect(controller.signal.aborted).toBe(true);
		const ref = { repo: id, revision: inspection.revision };
		expect(await hasModelFile(ref, 'config.json')).toBe(true);
		expect(await hasModelFile(ref, 'model.safetensors')).toBe(false);
	});

	it.each(['drop', 'short'] as const)('a truncated body (%s) is an error and is not cached', async (truncate) => {
		const inspection = await inspectModel(GPT2, 'main', settings);
		hub.options.truncate = truncate;
		const e = await failure(downloadModel(inspection, settings, modelCache));
		expect(e.code).toBe('network');
		expect(e.message).toMatch(/model\.safetensors.*(broke off|arrived with)/);
		expect(await hasModelFile({ repo: GPT2, revision: inspection.revision }, 'model.safetensors')).toBe(false);
	});

	it('fails before downloading when browser storage cannot hold the model', async () => {
		const inspection = await inspectModel(GPT2, 'main', settings);
		hub.resetStats();
		const quota = async () => ({ usage: 990_000, quota: 1_000_000 });
		const e = await failure(downloadModel(inspection, settings, modelCache, { quota }));
		expect(e.code).toBe('quota-exceeded');
		expect(hub.stats().total).toBe(0);
	});

	it('refuses an unpinned revision', async () => {
		const inspection = await inspectModel(GPT2, 'main', settings);
		await expect(downloadModel({ ...inspection, revision: 'main' }, settings, modelCache)).rejects.toThrow(/commit hash/);
	});
});

describe('memory estimate', () => {
	const config = { model_type: 'llama', hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, vocab_size: 49152 };
	const largest = { name: 'model.embed_tokens.weight', bytes: 49152 * 576 * 4 };

	it('follows the documented formula', () => {
		const P = 134.5e6;
		const [b, s, h, L, a, V] = [8, 256, 576, 30, 9, 49152];
		const activations = L * (68 * b * s * h + 10 * a * b * s * s) + 12 * b * s * V;
		const m = estimateMemory(P, config, largest, { batchSize: b, seqLen: s });
		expect(m.weights).toBe(4 * P);
		expect(m.fullFineTune).toBe(16 * P + activations);
		expect(m.lora).toBe(4 * P + 16 * (L * 4 * 8 * 2 * h) + activations);
		expect(m.largestTensor).toEqual(largest);
		// GPT-2 names: n_embd, n_layer, n_head.
		const g = estimateMemory(P, { n_embd: 576, n_layer: 30, n_head: 9, vocab_size: 49152 }, largest, { batchSize: b, seqLen: s });
		expect(g.fullFineTune).toBe(m.fullFineTune);
	});

	it('checkFits says the estimate, the budget and what to change', () => {
		const m = estimateMemory(134.5e6, config, largest, { batchSize: 8, seqLen: 256 });
		expect(checkFits(m, 1e12)).toBeNull();
		const e = checkFits(m, m.lora + 1)!;
		expect(e.code).toBe('model-too-large');
		expect(e.message).toMatch(/needs about .* GB .* about .* available\. Switch to LoRA/);
		expect(checkFits(m, 1e6, 'lora')!.message).toMatch(/smaller model, a shorter context or a smaller batch/);
	});
});

describe('boundaries', () => {
	it('knows the same model types as the engine registry', () => {
		expect([...HUB_MODEL_TYPES].sort()).toEqual([...SUPPORTED_MODEL_TYPES].sort());
	});

	it('hub.ts imports no tfjs, directly or through its imports (it runs in the data worker)', () => {
		const seen = new Set<string>();
		const visit = (url: URL) => {
			if (seen.has(url.href)) return;
			seen.add(url.href);
			const source = readFileSync(url, 'utf8');
			for (const [, spec] of source.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)) {
				expect(spec, `${url.pathname} imports ${spec}`).not.toMatch(/tensorflow|storage/);
				if (spec.startsWith('.')) visit(new URL(spec.endsWith('.ts') ? spec : `${spec}.ts`, url));
			}
		};
		visit(new URL('../../../src/lib/engine/io/hub.ts', import.meta.url));
		expect(seen.size).toBeGreaterThan(3);
	});
});
