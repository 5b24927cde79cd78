/**
 * The curve check (src/lib/engine/train/curve-check.ts) on the CPU, where both paths are the
 * composites: every kind of model trains through its session with dropout on, the two curves are
 * equal, and nothing is left behind. The WebGPU comparison is the browser tier's (curves.spec.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { curveCheck } from '../../../src/lib/engine/train/curve-check';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

it('trains each kind of model a few steps on both paths, alike on the CPU', async () => {
	const cases = await curveCheck(4);
	expect(cases.map((c) => c.model)).toEqual(['scratch', 'gpt2', 'bert', 'llama-lora']);
	for (const c of cases) {
		expect(c.fast).toHaveLength(4);
		expect(c.fast.every(Number.isFinite)).toBe(true);
		expect(c.fast).toEqual(c.reference);
		expect(c.maxRel).toBe(0);
		expect(c.tensorsLeaked).toBe(0);
		// No WebGPU here: nothing dispatched.
		expect(c.fastDispatches).toBe(0);
	}
}, 60_000);
