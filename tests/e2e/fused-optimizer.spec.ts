/**
 * The fused WebGPU optimizer (src/lib/engine/train/fused-optimizer.ts) against the composite
 * reference path, on the studio page's engine worker (real WebGPU; SwiftShader here): AdamW, Adam
 * with L2 decay, SGD with momentum and Nesterov and plain SGD, with and without clipping that
 * acts, decay on some parameters only, gradient accumulation and the per-layer internals, and an
 * arena over a (pretended) binding limit bound in chunks; GPU
 * dispatches of clipping and the update that stay constant as the variables grow; a flat tensor
 * count; a 20-step training of the real classifier on both paths; and save → load → continue on
 * the fast path bit for bit against an uninterrupted run.
 */
import { expect, test } from './fixtures';

interface Report {
	backend: string;
	cases: { name: string; gradClip: number; norms: number[]; paramsRel: number; momentsRel: number; normsRel: number; layersRel: number; fastDispatches: number; chunks: number }[];
	dispatches: { variables: number; fast: { clip: number; optimizer: number; copies: number; submits: number }; reference: { clip: number; optimizer: number } }[];
	memory: { numTensors: number[]; numBytesInGPU: number[] };
	training: { steps: number; fast: number[]; reference: number[]; maxRel: number };
	resume: { paramsMaxAbs: number; momentsMaxAbs: number; lossesMaxAbs: number };
}

// The norm's partial sums both ways (src/lib/engine/ops/fused/reductions.ts): threads without a
// barrier, as on this software adapter, and workgroups with barriers, as on a real GPU.
for (const reduce of ['thread', 'workgroup'] as const) {
	test(`the fused optimizer matches the composites, in a constant number of dispatches, and resumes bit for bit (${reduce} reductions)`, async ({ studioPage: page }) => {
		test.setTimeout(120_000);
		const report: Report = await page.evaluate(async (m) => {
			const engine = (globalThis as any).whetstone.engine;
			await engine.init();
			return engine.bridge.call((api: any) => api.fusedOptimizerCheck(m), 120_000);
		}, reduce);
		console.log(JSON.stringify(report));
		expect(report.backend).toBe('webgpu');

		expect(report.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['adamw', 'adam (L2)', 'sgd momentum', 'sgd nesterov, clipped', 'sgd plain, clipped']));
		// An arena over the binding limit is bound in chunks (a pretended limit of 250–256 values).
		expect(report.cases.filter((c) => c.chunks > 1).map((c) => c.chunks)).toEqual([5, 5, 5]);
		for (const c of report.cases) {
			// The fast path ran: one dispatch for the norm, one for the update, per chunk.
			expect(c.fastDispatches, c.name).toBe(2 * c.chunks);
			if (c.gradClip > 0) for (const n of c.norms) expect(n, `${c.name}: the clip acts`).toBeGreaterThan(c.gradClip);
			expect(c.paramsRel, `${c.name}: parameters`).toBeLessThanOrEqual(1e-5);
			expect(c.momentsRel, `${c.name}: moments`).toBeLessThanOrEqual(1e-5);
			expect(c.normsRel, `${c.name}: gradient norms`).toBeLessThanOrEqual(1e-5);
			expect(c.layersRel, `${c.name}: per-layer update ratios`).toBeLessThanOrEqual(1e-5);
		}

		// Clipping and the update: the same two dispatches at 4, 16 and 64 variables; the composites grow.
		const fast = report.dispatches.map((d) => d.fast.clip + d.fast.optimizer);
		expect(fast).toEqual(fast.map(() => 2));
		const reference = report.dispatches.map((d) => d.reference.clip + d.reference.optimizer);
		expect(reference[2]).toBeGreaterThan(reference[0] * 4);

		// Nothing leaks across fast steps.
		expect(new Set(report.memory.numTensors).size).toBe(1);
		expect(new Set(report.memory.numBytesInGPU).size).toBe(1);

		// The real classifier's losses on the fast path track the reference path's.
		expect(report.training.fast).toHaveLength(20);
		expect(report.training.maxRel).toBeLessThanOrEqual(1e-4);

		// Save → load → continue equals the uninterrupted run exactly.
		expect(report.resume).toEqual({ paramsMaxAbs: 0, momentsMaxAbs: 0, lossesMaxAbs: 0 });
	});
}
