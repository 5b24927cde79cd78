/**
 * The browser's activation-checkpointing check (train/checkpoint-check.ts) on the tfjs CPU
 * backend: the same losses and weights with checkpointing on, less memory inside the step, no
 * leaked tensors. The e2e test runs it on WebGPU's fast path.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { checkpointTrainingCheck } from '../../../src/lib/engine/train/checkpoint-check';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

it('checkpointing trains the same model with a lower peak inside the step', async () => {
	const r = await checkpointTrainingCheck();
	expect(r.backend).toBe('cpu');
	expect(r.plain.losses).toHaveLength(3);
	expect(r.plain.losses.every(Number.isFinite)).toBe(true);
	expect(r.lossMaxRel).toBeLessThan(1e-6);
	expect(r.paramMaxRel).toBeLessThan(1e-6);
	expect(r.checkpointed.peakStepBytes).toBeLessThan(r.plain.peakStepBytes);
	expect(r.tensorsLeaked).toBe(0);
});
