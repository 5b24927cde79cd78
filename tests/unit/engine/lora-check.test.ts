/**
 * train/lora-check.ts on the CPU backend, where both paths are the composites: the check runs the
 * real session with adapter dropout, a replay is exact, and dropout changes the curve (the masks
 * act). On WebGPU the same check compares the fused kernels (tests/e2e/fused-kernels.spec.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { loraTrainingCheck } from '../../../src/lib/engine/train/lora-check';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

it('LoRA with dropout trains, replays exactly, and differs from dropout off', async () => {
	const cases = await loraTrainingCheck(4, 0.2);
	expect(cases.map((c) => c.targets)).toEqual(['q_proj,v_proj', 'all-linear']);
	for (const c of cases) {
		expect(c.fast.every(Number.isFinite)).toBe(true);
		expect(c.fast.length).toBe(4);
		expect(c.replayMaxAbs).toBe(0);
		expect(c.maxRel).toBe(0); // one path on the CPU
		expect(c.noDropoutMaxAbs).toBeGreaterThan(0);
		expect(c.tensorsLeaked).toBe(0);
	}
}, 60_000);
