/**
 * The memory planner (shared/planner.ts) and the checkpointed activation estimate
 * (shared/memory.ts `activationBytes`): known budgets give known plans.
 */
import { describe, expect, it } from 'vitest';
import { activationBytes, scratchMemory, trainingMemory } from '../../../src/lib/shared/memory';
import { defaultMemoryBudget, planBytes, planMemory, type PlanRequest } from '../../../src/lib/shared/planner';
import { defaultModelConfig } from '../../../src/lib/shared/config';

const MB = 1e6;
/** 100 MB fixed, 10 MB of activations per example (4 MB checkpointed). */
const memory: PlanRequest['memory'] = { weights: 25 * MB, gradients: 25 * MB, optimizer: 50 * MB, perExample: { plain: 10 * MB, checkpointed: 4 * MB }, batch: { batchSize: 16, seqLen: 512 } };
const plan = (budget: number, over: Partial<PlanRequest> = {}) => planMemory({ memory, budget, batchSize: 16, gradAccumSteps: 1, checkpointing: 'auto', ...over });

describe('activationBytes with checkpointing', () => {
	const gpt2 = { model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257 };
	const batch = { batchSize: 8, seqLen: 512 };
	it('keeps each layer input, one layer in full and the LM head', () => {
		const [b, s, h, a, L, V] = [8, 512, 768, 12, 12, 50257];
		expect(activationBytes(gpt2, batch, true)).toBe(L * 4 * b * s * h + (68 * b * s * h + 10 * a * b * s * s) + 12 * b * s * V);
		expect(activationBytes(gpt2, batch)).toBe(L * (68 * b * s * h + 10 * a * b * s * s) + 12 * b * s * V);
	});
	it('is far smaller for a deep model and linear in the batch', () => {
		expect(activationBytes(gpt2, batch, true)).toBeLessThan(0.4 * activationBytes(gpt2, batch)); // the LM head's 2.5 GB stays
		expect(activationBytes(gpt2, { ...batch, batchSize: 16 }, true)).toBe(2 * activationBytes(gpt2, batch, true));
	});
	it('trainingMemory carries both per-example figures and counts the chosen one', () => {
		const m = trainingMemory({ total: 1000, trainable: 1000 }, gpt2, batch, 2, true);
		expect(m.checkpointing).toBe(true);
		expect(m.activations).toBe(activationBytes(gpt2, batch, true));
		expect(m.perExample.plain * 8).toBe(activationBytes(gpt2, batch));
		expect(m.perExample.checkpointed * 8).toBe(activationBytes(gpt2, batch, true));
		const deep = { ...defaultModelConfig, nLayer: 6 };
		expect(scratchMemory(deep, 4, 2, true).activations).toBeLessThan(scratchMemory(deep, 4).activations);
		// one layer: its input is kept besides the recomputed layer, so checkpointing cannot help
		const one = { ...defaultModelConfig, nLayer: 1 };
		expect(scratchMemory(one, 4, 2, true).activations).toBeGreaterThan(scratchMemory(one, 4).activations);
	});
});

describe('planMemory', () => {
	it('keeps the batch whole when it fits', () => {
		const p = plan(300 * MB); // 100 + 16·10 = 260
		expect(p).toMatchObject({ fits: true, microBatch: 16, accumSteps: 1, checkpointing: false, estimate: 260 * MB });
		expect(p.reason).toBe('batch 16 in one micro-batch: about 260 MB of 300 MB');
	});
	it('splits the effective batch into the largest micro-batch that divides it and fits', () => {
		const p = plan(150 * MB, { batchSize: 8, gradAccumSteps: 2 }); // effective 16; 4 → 140 MB
		expect(p).toMatchObject({ fits: true, microBatch: 4, accumSteps: 4, checkpointing: false });
		expect(p.microBatch * p.accumSteps).toBe(16);
		expect(p.reason).toBe('batch 16 as 4 micro-batches of 4: about 140 MB of 150 MB');
		// 12 = 2·2·3: 6 does not fit 150 MB (160), 4 does
		expect(plan(150 * MB, { batchSize: 12 })).toMatchObject({ microBatch: 4, accumSteps: 3 });
	});
	it('turns checkpointing on only when one example does not fit without it', () => {
		expect(plan(111 * MB)).toMatchObject({ microBatch: 1, accumSteps: 16, checkpointing: false });
		const p = plan(109 * MB); // 1 plain = 110 > 109; checkpointed: 100 + 2·4 = 108
		expect(p).toMatchObject({ fits: true, microBatch: 2, accumSteps: 8, checkpointing: true, estimate: 108 * MB });
		expect(p.reason).toBe('batch 16 as 8 micro-batches of 2 with activation checkpointing: about 108 MB of 109 MB');
		expect(planBytes(memory, 2, true)).toBe(p.estimate);
	});
	it('respects a checkpointing setting the user fixed', () => {
		expect(plan(109 * MB, { checkpointing: 'off' }).fits).toBe(false);
		expect(plan(109 * MB, { checkpointing: 'off' }).reason).toContain('turn on activation checkpointing');
		expect(plan(300 * MB, { checkpointing: 'on' })).toMatchObject({ microBatch: 16, checkpointing: true, estimate: 164 * MB });
	});
	it('never plans a micro-batch above the form limit', () => {
		expect(plan(1e12, { batchSize: 512, gradAccumSteps: 4, maxMicroBatch: 512 })).toMatchObject({ microBatch: 512, accumSteps: 4 });
	});
	it('says what to change when nothing fits', () => {
		const weights = plan(90 * MB);
		expect(weights.fits).toBe(false);
		expect(weights.reason).toMatch(/weights, gradients and optimizer state alone need about 100 MB of 90 MB: pick a smaller model, or LoRA/);
		const acts = plan(103 * MB);
		expect(acts).toMatchObject({ fits: false, microBatch: 1, checkpointing: true, estimate: 104 * MB });
		expect(acts.reason).toMatch(/one example per micro-batch needs about 104 MB of 103 MB .*512 tokens.*shorten the context/);
	});
});

describe('defaultMemoryBudget', () => {
	it('is half the reported device memory, 4 GB assumed when unreported', () => {
		expect(defaultMemoryBudget(8)).toBe(4 * 2 ** 30);
		expect(defaultMemoryBudget(undefined)).toBe(2 * 2 ** 30);
	});
});
