/**
 * The engine on WebGPU computes what tfjs's CPU backend computes: the forward pass, every
 * gradient, and whole optimizer steps (forward, backward, clipping, AdamW). This caught tfjs-webgpu's
 * AddN failing past 8 inputs, which silently broke the gradient norm and slowed learning.
 */
import { expect, test } from '@playwright/test';
import { defaultRunConfig, modelPresets } from '../../src/lib/shared/config';

test('WebGPU forward, gradients and optimizer steps match the CPU backend', async ({ page }) => {
	await page.goto('/train');
	await page.waitForFunction(() => (globalThis as any).whetstone?.engine?.status === 'ready', null, { timeout: 180_000 });
	const cfg = defaultRunConfig(5);
	Object.assign(cfg.model, modelPresets.nano, { nLayer: 2, vocabSize: 300 });
	const r = await page.evaluate((c) => (globalThis as any).whetstone.engine.checkBackend(c, true), cfg);
	expect(r.gradients.backend).toBe('webgpu');
	expect(r.gradients.logitsMaxDiff).toBeLessThan(1e-5);
	expect(r.gradients.lossDiff).toBeLessThan(1e-5);
	expect(r.gradients.gradMaxRelDiff).toBeLessThan(1e-4);
	expect(Math.abs(r.steps.lossHere - r.steps.lossCpu)).toBeLessThan(1e-4);
	expect(r.steps.weightMaxRelDiff).toBeLessThan(1e-2);
});
