/**
 * Soak on the CPU backend (issue 14): a long run through the engine worker's API, evaluating and
 * checkpointing (with pruning) every 100 steps to IndexedDB (fake-indexeddb); after warm-up the
 * tensor count and bytes stay flat. The tfjs-examples leak test stretched over a run: a tensor
 * leaked per step, per evaluation or per checkpoint would climb by at least one per sample.
 * `npm run bench:soak` prints the same figures for the tiny model (and on WebGPU with --webgpu).
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { drift, soak } from '../../../bench/soak';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

/** 60 short tickets of 3 classes: a 6-row validation split keeps each evaluation quick. */
function tickets(): string {
	const words = [['refund', 'invoice', 'charged'], ['parcel', 'courier', 'tracking'], ['crash', 'error', 'sync']];
	const lines = ['text,label'];
	for (let i = 0; i < 60; i++) lines.push(`ticket ${i} ${words[i % 3][i % 2]} ${words[i % 3][(i * 7) % 3]},${['billing', 'shipping', 'technical'][i % 3]}`);
	return lines.join('\n');
}

/**
 * 300 steps of a 1-layer model of width 8 over contexts of 8 tokens, batch 4, sampled every 30:
 * ten samples, eight past warm-up, and from the fourth checkpoint on each one prunes (three kept
 * besides the best), so a tensor leaked per step, evaluation or checkpoint still climbs past the
 * tolerance of 2 (by 30, 1 or 1 per sample). `npm run bench:soak` runs the full 1,000 steps. About
 * 7 s on this 2-core machine; the timeout leaves room for a loaded machine.
 */
const STEPS = 300;
const EVERY = 30;

it(`tensor count and bytes stay flat after warm-up over ${STEPS} steps with evaluation and checkpoints every ${EVERY}`, { timeout: 600_000 }, async () => {
	const r = await soak({
		steps: STEPS,
		every: EVERY,
		model: { nLayer: 1, nHead: 1, dModel: 8, contextLength: 8, dropout: 0.1 },
		batchSize: 4,
		data: { csv: tickets(), textColumn: 'text', labelColumn: 'label', vocabSize: 260 }
	});
	expect(r.status).toBe('completed');
	expect(r.samples.map((s) => s.step)).toEqual(Array.from({ length: STEPS / EVERY }, (_, i) => (i + 1) * EVERY));
	expect(r.checkpoints).toBeGreaterThanOrEqual(STEPS / EVERY);
	// Warm-up: the first two samples (optimizer moments and the evaluation's buffers appear early).
	const d = drift(r.samples, 2 * EVERY);
	expect(d.tensors.max - d.tensors.min, JSON.stringify(r.samples)).toBeLessThanOrEqual(2);
	expect(d.bytes.max - d.bytes.min, JSON.stringify(r.samples)).toBeLessThanOrEqual(0.01);
	console.log(`soak: ${STEPS} steps in ${r.seconds.toFixed(1)} s; ${r.samples[r.samples.length - 1].numTensors} tensors, ${r.samples[r.samples.length - 1].numBytes} bytes`);
});
