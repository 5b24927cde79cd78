/**
 * Soak: a long run of the from-scratch classifier on the built-in example (support-tickets.csv)
 * through the engine worker's own API (train, evaluate every `every` steps, checkpoint, prune), with
 * the tensor count and bytes (tf.memory(); GPU bytes where the backend reports them) sampled at
 * every `every`-th step. After warm-up they must stay flat: a leak of one tensor per step, per
 * evaluation or per checkpoint shows up as a climb. The tfjs-examples leak test, over 1,000 steps.
 *
 *   npm run bench:soak                       Node, tfjs CPU backend, IndexedDB from fake-indexeddb
 *   npm run bench:soak -- --steps 300 --preset nano
 *   npm run build && npm run bench:soak -- --webgpu   the built studio in headless Chromium on WebGPU
 *
 * tests/unit/engine/soak.test.ts runs `soak` with a tolerance.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { api } from '../workers/engine-api';
import { importDataset, prepareTokens } from '../src/lib/data/pipeline';
import { useDatabase } from '../src/lib/storage';
import { defaultRunConfig, modelPresets, type ModelConfig, type ModelPreset } from '../src/lib/shared/config';

export interface MemorySample {
	step: number;
	numTensors: number;
	numBytes: number;
	/** GPU bytes in use, on backends that report them (WebGPU, WebGL). */
	numBytesInGPU?: number;
}

export interface SoakOptions {
	steps: number;
	/** Evaluate, checkpoint and sample every this many steps. */
	every: number;
	model: Partial<ModelConfig>;
	batchSize?: number;
	/** A CSV (text, label columns) instead of the built-in example; tokenizer vocabulary size with it. */
	data?: { csv: string; textColumn: string; labelColumn: string; vocabSize?: number };
	onSample?: (s: MemorySample) => void;
}

export interface SoakResult {
	samples: MemorySample[];
	seconds: number;
	status: string;
	checkpoints: number;
}

/** tf.memory() with the GPU figure when the backend keeps one. */
export function sampleMemory(step: number): MemorySample {
	const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
	return { step, numTensors: m.numTensors, numBytes: m.numBytes, ...(m.numBytesInGPU !== undefined ? { numBytesInGPU: m.numBytesInGPU } : {}) };
}

/**
 * After warm-up (the samples before `warmUp` steps), how far each figure moved from the first
 * sample past it: the largest rise and fall, in tensors and in bytes relative to that sample.
 */
export function drift(samples: MemorySample[], warmUp: number) {
	const after = samples.filter((s) => s.step >= warmUp);
	if (after.length < 2) throw new Error(`Too few samples after warm-up (step ${warmUp}) to judge flatness.`);
	const base = after[0];
	const tensors = after.map((s) => s.numTensors - base.numTensors);
	const bytes = after.map((s) => (s.numBytes - base.numBytes) / base.numBytes);
	const gpu = base.numBytesInGPU ? after.map((s) => ((s.numBytesInGPU ?? 0) - base.numBytesInGPU!) / base.numBytesInGPU!) : [];
	return {
		from: base.step,
		tensors: { min: Math.min(...tensors), max: Math.max(...tensors) },
		bytes: { min: Math.min(...bytes), max: Math.max(...bytes) },
		...(gpu.length ? { gpuBytes: { min: Math.min(...gpu), max: Math.max(...gpu) } } : {})
	};
}

/** Train `steps` steps of the example through `api.train` on the current tfjs backend, sampling memory. */
export async function soak(opts: SoakOptions): Promise<SoakResult> {
	useDatabase(`soak-${Date.now()}-${Math.random()}`);
	const bytes = opts.data ? new TextEncoder().encode(opts.data.csv) : readFileSync(new URL('../static/examples/support-tickets.csv', import.meta.url));
	const version = await importDataset({
		projectId: 'soak',
		fileName: opts.data ? 'soak.csv' : 'support-tickets.csv',
		bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
		textColumn: opts.data?.textColumn ?? 'text',
		labelColumn: opts.data?.labelColumn ?? 'team',
		split: { seed: 1, validation: 0.15, test: 0.15 },
		skipBadRows: true
	});
	const config = defaultRunConfig(version.labels.length);
	config.model = { ...config.model, ...opts.model };
	if (opts.data?.vocabSize) config.tokenizer.vocabSize = opts.data.vocabSize;
	config.train = {
		...config.train,
		batchSize: opts.batchSize ?? 8,
		epochs: 1000,
		maxSteps: opts.steps,
		logEvery: Math.min(10, opts.every),
		evalEvery: opts.every,
		checkpointEvery: opts.every,
		warmupSteps: Math.min(20, Math.floor(opts.steps / 10))
	};
	const prep = await prepareTokens(version.id, config.tokenizer, config.model.contextLength);
	config.model.vocabSize = prep.vocabSize;
	config.model.numClasses = version.labels.length;
	const run = await api.createRun({ projectId: 'soak', datasetVersionId: version.id, datasetHash: version.contentHash, tokenizerHash: prep.tokenizerHash, config, name: 'soak' });
	const samples: MemorySample[] = [];
	let checkpoints = 0;
	const t0 = performance.now();
	const status = await api.train(run.id, (e) => {
		if (e.type === 'checkpoint') checkpoints++;
		// At a metrics event the step's tidy has ended and the evaluation is done: a steady point of the loop.
		if (e.type === 'metrics' && e.step % opts.every === 0) {
			const s = sampleMemory(e.step);
			samples.push(s);
			opts.onSample?.(s);
		}
	});
	return { samples, seconds: (performance.now() - t0) / 1000, status, checkpoints };
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function report(samples: MemorySample[], every: number): void {
	const d = drift(samples, 2 * every);
	console.log(
		`after warm-up (from step ${d.from}): tensors ${d.tensors.min >= 0 ? '+' : ''}${d.tensors.min}…+${d.tensors.max}, bytes ${pct(d.bytes.min)}…${pct(d.bytes.max)}` +
			(d.gpuBytes ? `, GPU bytes ${pct(d.gpuBytes.min)}…${pct(d.gpuBytes.max)}` : '')
	);
	const flat = d.tensors.max - d.tensors.min <= 2 && d.bytes.max - d.bytes.min <= 0.01;
	console.log(flat ? 'tensor count and bytes flat after warm-up' : 'tensor count or bytes NOT flat after warm-up: something leaks');
	// In the browser the page asks the worker for memory when a step is logged; the answer comes when
	// the worker next yields, which may be inside a checkpoint write or an evaluation.
	if (d.gpuBytes) console.log(d.gpuBytes.max - d.gpuBytes.min <= 0.05 ? 'GPU bytes flat after warm-up' : 'GPU bytes moved after warm-up (sampled when the worker yields; a climb over every sample is a leak, a swing is not)');
}

const started = performance.now();
const line = (s: MemorySample) => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  step ${String(s.step).padStart(5)}: ${s.numTensors} tensors, ${mib(s.numBytes)}${s.numBytesInGPU !== undefined ? `, GPU ${mib(s.numBytesInGPU)}` : ''}`;

/**
 * The same soak in the built studio on WebGPU (SwiftShader without a GPU): the Train screen with the
 * chosen preset, a run of `steps` steps evaluated and checkpointed every `every`; memory is read in
 * the engine worker (`engine.memory()`) whenever the run logs a multiple of `every`.
 */
async function soakWebGpu(steps: number, every: number, preset: string): Promise<MemorySample[]> {
	const { openStudio } = await import('./browser');
	const { page, close } = await openStudio('/train', 4394);
	try {
		const backend = await page.evaluate(() => (globalThis as any).whetstone.engine.backend);
		console.log(`backend: ${backend.name} · ${backend.adapter}`);
		const set = async (id: string, v: number) => {
			await page.getByTestId(id).fill(String(v));
			await page.getByTestId(id).blur();
		};
		await page.getByTestId('model-preset').selectOption(preset);
		await set('epochs', 1000);
		await set('batch-size', 8);
		await set('max-steps', steps);
		await page.locator('summary', { hasText: 'Model shape' }).click();
		await set('log-every', Math.min(10, every));
		await set('eval-every', every);
		await set('checkpoint-every', every);
		await page.evaluate((every) => {
			const w = globalThis as any;
			w.soakSamples = [];
			w.whetstone.engine.onMetrics = (p: { step: number }) => {
				if (p.step % every === 0) void w.whetstone.engine.memory().then((m: object) => w.soakSamples.push({ step: p.step, ...m }));
			};
		}, every);
		await page.getByTestId('start').click();
		const row = page.getByTestId('run-row').first();
		let seen = 0;
		for (;;) {
			const samples: MemorySample[] = await page.evaluate(() => (globalThis as any).soakSamples);
			for (const s of samples.slice(seen)) console.log(line(s));
			seen = samples.length;
			const status = await row.getAttribute('data-status');
			if (status === 'completed' && seen >= Math.floor(steps / every)) return samples;
			if (status === 'failed' || status === 'paused') throw new Error((await page.locator('[role=alert]').first().textContent()) ?? `run ${status}`);
			await new Promise((r) => setTimeout(r, 5_000));
		}
	} finally {
		await close();
	}
}

if (process.argv[1]?.endsWith('soak.ts')) {
	const arg = (name: string) => {
		const i = process.argv.indexOf(`--${name}`);
		return i > 0 ? process.argv[i + 1] : undefined;
	};
	const steps = Number(arg('steps') ?? 1000);
	const every = Number(arg('every') ?? 100);
	const preset = (arg('preset') ?? 'tiny') as ModelPreset;
	if (process.argv.includes('--webgpu')) {
		report(await soakWebGpu(steps, every, preset), every);
	} else {
		await tf.setBackend('cpu');
		console.log(`backend: ${tf.getBackend()}, model ${preset} ${JSON.stringify(modelPresets[preset])}, ${steps} steps, evaluation and checkpoint every ${every}`);
		const r = await soak({ steps, every, model: modelPresets[preset], onSample: (s) => console.log(line(s)) });
		console.log(`${r.status} in ${r.seconds.toFixed(1)} s (${(steps / r.seconds).toFixed(1)} steps/s), ${r.checkpoints} checkpoints written`);
		report(r.samples, every);
	}
}
