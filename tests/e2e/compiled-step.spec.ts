/**
 * Issue 10: the compiled training step (src/lib/engine/compiled/) replays a traced step's dispatch
 * list in one submit, and must train exactly as the step it replaces: for the from-scratch
 * classifier, GPT-2, BERT and a Llama with LoRA, with dropout, a changing learning rate and batches
 * of changing padding, every window's loss and every weight are bit-equal to the plain fast path.
 */
import { expect, test } from './fixtures';
import type { CompiledCase as Case } from '../../src/lib/engine/compiled/check';

test('compiled steps replay bit for bit what the fast path computes, in one submit', async ({ studioPage: page }) => {
	test.setTimeout(300_000);
	const cases: Case[] = await page.evaluate(async () => {
		const engine = (globalThis as any).whetstone.engine;
		await engine.init();
		return engine.bridge.call((api: any) => api.compiledCheck(12), 280_000);
	});
	for (const c of cases) {
		const s = c.summary;
		console.log(
			`${c.label}: ${s?.replays ?? 0} of ${c.steps} steps replayed (${s?.compiled ?? 0} of ${s?.kinds ?? 0} kinds compiled${s?.refused.length ? `; refused: ${s.refused.join('; ')}` : ''}); ` +
				`windows differing ${c.windowsDiffering} of ${c.windows}; max weight difference ${c.maxWeightDiff} over ${c.weightsCompared} values; ` +
				`last step: ${c.compiledDispatches} dispatches in ${c.compiledSubmits} submit(s) compiled, ${c.plainDispatches} in ${c.plainSubmits} plain`
		);
	}
	expect(cases.map((c) => c.model)).toEqual(['scratch', 'gpt2', 'bert', 'llama-lora']);
	for (const c of cases) {
		const s = c.summary!;
		expect(s.refused, c.label).toEqual([]);
		// Two traces per kind, the rest replayed.
		expect(s.replays, c.label).toBeGreaterThanOrEqual(c.steps - 2 * s.kinds - 1);
		expect(c.windowsDiffering, c.label).toBe(0);
		expect(c.maxWeightDiff, c.label).toBe(0);
		expect(c.weightsCompared, c.label).toBeGreaterThan(0);
		// A replay is one submit with the same dispatches.
		expect(c.compiledSubmits, c.label).toBe(1);
		expect(c.compiledDispatches, c.label).toBe(c.plainDispatches);
		expect(c.tensorsLeaked, c.label).toBe(0);
	}
});
