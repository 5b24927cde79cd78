/**
 * Issue 10: a 100-step loss curve on the fast path tracks the reference path within float32
 * noise, for the from-scratch classifier, GPT-2 (full), BERT (full) and a Llama with LoRA, each
 * with its dropout on (hashed masks, the same on both paths), on the studio page's engine worker
 * (WebGPU on SwiftShader here). Source: src/lib/engine/train/curve-check.ts.
 */
import { expect, test } from './fixtures';
import type { CurveCase as Case } from '../../src/lib/engine/train/curve-check';

test('100-step loss curves with dropout: the fast path tracks the reference path for every kind of model', async ({ studioPage: page }) => {
	test.setTimeout(480_000);
	const cases: Case[] = await page.evaluate(async () => {
		const engine = (globalThis as any).whetstone.engine;
		await engine.init();
		return engine.bridge.call((api: any) => api.curveCheck(100), 460_000);
	});
	for (const c of cases) {
		const first = c.fast.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
		const last = c.fast.slice(-10).reduce((a, b) => a + b, 0) / 10;
		console.log(`${c.label}: loss ${first.toFixed(4)} → ${last.toFixed(4)} (means of the first and last 10 steps); max |fast − reference| / max |reference| ${c.maxRel.toExponential(2)}; relative at step 1 ${c.firstRel.toExponential(2)}, at step 100 ${c.lastRel.toExponential(2)}; fast-path dispatches per step ${c.fastDispatches}`);
	}
	expect(cases.map((c) => c.model)).toEqual(['scratch', 'gpt2', 'bert', 'llama-lora']);
	for (const c of cases) {
		expect(c.fast, c.label).toHaveLength(100);
		expect(c.reference, c.label).toHaveLength(100);
		// One step from equal weights: rounding only.
		expect(c.firstRel, c.label).toBeLessThanOrEqual(1e-5);
		// Over a hundred steps: still float32 noise on the curve's scale (a different mask or a missed
		// term shows at once, at 1e-2 or more).
		expect(c.maxRel, c.label).toBeLessThanOrEqual(1e-4);
		// The curve moves down: the model learns the (fixed) rows.
		const first = c.fast.slice(0, 10).reduce((a, b) => a + b, 0);
		const last = c.fast.slice(-10).reduce((a, b) => a + b, 0);
		expect(last, c.label).toBeLessThan(first);
		expect(c.tensorsLeaked, c.label).toBe(0);
	}
});
