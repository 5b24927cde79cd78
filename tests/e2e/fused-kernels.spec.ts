/**
 * The fused WebGPU kernels of the fast path (issue 10; src/lib/engine/ops/fused/) against their
 * composite references in the engine worker on WebGPU (SwiftShader): softmax cross-entropy (with
 * ignored rows and label smoothing; and the causal-LM loss reading the next position's label),
 * a classifier's loss with its hits, LayerNorm and RMSNorm (also as a residual block's norm, a
 * post-norm block's norm given twice, both with the residual branch's dropout, and with x not
 * differentiated), the
 * embedding gather with ids outside the table, rotary positions (both head layouts, partial, one position), learned positions added (a table longer than the
 * sequence), masked mean pooling (a row with no position left), GELU (tanh and erf), SiLU, the SiLU gate and
 * the linear map with and without its bias (both weight layouts, and frozen; scalar and vec4 matmuls), on odd shapes (rows 1, 7, 33; widths 5, 63, 130;
 * and multiples of 4 with odd vec4 counts: 8, 12, 20, 36, 64, 128; vocabularies 17 and 513), and
 * LoRA's low-rank path on projections side by side (adapters on some, hashed dropout on the same
 * elements on both paths), and scaled dot-product attention with heads first, side by side and packed in one q/k/v projection
 * (causal or not, padding masks, grouped-query heads, a sliding window; sequence lengths 6 to 65,
 * head sizes 8 to 32). No GPU error may be reported during the check. Every value and every
 * gradient within 1e-5 relative, each op taking the dispatches its file claims (counted by wrapping
 * the compute pass's dispatchWorkgroups in the worker), and no tensor left behind by repeated checks.
 * Rows are reduced both ways: a thread per row (software adapters) and a workgroup per row (GPUs).
 * Then LoRA training with adapter dropout through the real session on both paths (the fused
 * kernels hash the same masks as the composite), replayed bit for bit, against dropout off, and
 * with the embedding, LM head and larger frozen weights read in parts under a pretended 4 KiB
 * binding limit.
 */
import { expect, test } from './fixtures';

interface Count {
	forward: number;
	backward: number;
}
interface FusedCase {
	kernel: string;
	shape: string;
	errors: Record<string, number>;
	fused: Count;
	composite: Count;
	claimed: Count;
}
interface FusedCheck {
	cases: FusedCase[];
	maxError: number;
	tensorsLeaked: number;
	gpuErrors: string[];
}

/** Dispatches per op on the fast path, forward and backward (a tfjs program has one output). */
const EXPECTED: Record<string, Count> = {
	crossEntropy: { forward: 2, backward: 1 },
	// A gather forward, a scatter (per table element) backward, where the composite multiplies a one-hot matrix.
	embedding: { forward: 1, backward: 1 },
	// One kernel forward where the composite takes five (multiply, two sums, maximum, divide), one backward.
	meanPool: { forward: 1, backward: 1 },
	// One kernel forward (no slice), one backward where the composite transposes, sums and pads.
	addPositions: { forward: 1, backward: 1 },
	// The same kernels reading the next position's label: no slice forward, no pad backward.
	causalLmLoss: { forward: 2, backward: 1 },
	// The same two kernels also count the positions whose argmax is the next token (the case stacks
	// loss and count: one more dispatch forward; the count takes no gradient on the fast path).
	causalLmLossAndCorrect: { forward: 3, backward: 1 },
	// A classifier's loss and hits from the same two kernels (filler rows, label -1, ignored).
	singleLabelLossAndCorrect: { forward: 3, backward: 1 },
	// dx (recomputing the row statistics, kept for dγ), then dγ with dβ.
	layerNorm: { forward: 1, backward: 2 },
	rmsNorm: { forward: 1, backward: 2 },
	// Frozen γ and β (LoRA): dx only.
	layerNormFrozen: { forward: 1, backward: 1 },
	// x + 2·… (a residual block): the norm's 1 / 2 (its dx adds the stream's gradient) and the case's ×2 and add.
	layerNormResidual: { forward: 3, backward: 3 },
	rmsNormResidual: { forward: 3, backward: 3 },
	// (x + δ) + 2·… with the add inside the norm's forward kernel: the same counts, one add fewer than the composite.
	layerNormAddResidual: { forward: 3, backward: 3 },
	rmsNormAddResidual: { forward: 3, backward: 3 },
	// With δ's dropout read through its mask in the forward kernel; δ's gradient takes the mask in one more dispatch.
	layerNormAddResidualDropout: { forward: 3, backward: 4 },
	rmsNormAddResidualDropout: { forward: 3, backward: 4 },
	// A post-norm block's LN(x + δ) given twice (BERT): the add in the forward kernel, the two uses'
	// gradients added inside the backward's kernels (the case's ×2 and add as above).
	layerNormPost: { forward: 3, backward: 3 },
	// With δ's dropout read through its mask in the forward kernel and the backward's; δ's gradient
	// takes the mask in one more dispatch (with γ and β frozen: dx, the mask, and the case's ×2).
	layerNormPostDropout: { forward: 3, backward: 4 },
	layerNormPostDropoutFrozen: { forward: 3, backward: 3 },
	// x not differentiated: the row statistics, then dγ with dβ.
	layerNormParamsOnly: { forward: 1, backward: 2 },
	// Hashed dropout: one kernel each way (the mask hashed again, never stored).
	dropout: { forward: 1, backward: 1 },
	geluTanh: { forward: 1, backward: 1 },
	geluErf: { forward: 1, backward: 1 },
	silu: { forward: 1, backward: 1 },
	siluGate: { forward: 1, backward: 2 },
	// [gate | up] in one tensor: its gradient is one tensor, so one kernel back.
	siluGatePacked: { forward: 1, backward: 1 },
	// dx, then dW with the bias gradient in one kernel.
	linear: { forward: 1, backward: 2 },
	// Rotary positions: one elementwise kernel each way.
	rope: { forward: 1, backward: 1 },
	// The same kernel turning only q's and k's heads of a packed q | k | v.
	ropeHeads: { forward: 1, backward: 1 },
	// Weights joined by buffer copies (no dispatch), then one linear: dx, then dW with the biases'.
	linearSideBySide: { forward: 1, backward: 2 },
	// No bias (Llama's projections, a tied LM head, LoRA's A and B): dx, then dW.
	linearNoBias: { forward: 1, backward: 2 },
	// A frozen weight and bias (LoRA's base layers): only dx is computed.
	linearFrozen: { forward: 1, backward: 1 },
	linearFrozenNoBias: { forward: 1, backward: 1 },
	// LoRA on projections side by side (frozen base): the base, the down kernel (hashed dropout
	// inside) and the up kernel forward; base dx, dh, dB, the down kernel's dx and dA, and the add
	// summing x's two gradients back, however many projections and adapters.
	loraSideBySide: { forward: 3, backward: 6 },
	// One pass forward (keeping the logsumexp); dQ (with D = rowsum(dO ∘ O)), then dK and dV.
	attention: { forward: 1, backward: 2 }
};

// The composite dropout multiplies by a mask hashed on the CPU and uploaded (a transfer, not a
// dispatch): one multiply each way, as the kernel; the kernel saves the CPU's hashing and the upload.
const SAME_COUNT = new Set(['linearNoBias', 'linearFrozenNoBias', 'dropout']);

test('each fused WebGPU kernel matches its composite forward and backward, with the dispatches it claims and no leaked tensors', async ({ studioPage: page }) => {
	test.setTimeout(90_000);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	// Both ways of reducing a row (src/lib/engine/ops/fused/reductions.ts): a thread per row, as on
	// this software adapter, and a workgroup per row with barriers, as on a real GPU.
	for (const [seed, reduce] of [
		[1, 'thread'],
		[2, 'workgroup']
	] as const) {
		const r: FusedCheck = await page.evaluate(([s, m]) => (globalThis as any).whetstone.engine.fusedKernelCheck(s, m), [seed, reduce] as const);
		console.log(`seed ${seed}, ${reduce} reductions: max relative error ${r.maxError.toExponential(2)}, tensors leaked ${r.tensorsLeaked}`);
		expect(r.gpuErrors).toEqual([]);
		expect(new Set(r.cases.map((c) => c.kernel))).toEqual(new Set(Object.keys(EXPECTED)));
		for (const c of r.cases) {
			const what = `${c.kernel} ${c.shape}`;
			for (const [name, err] of Object.entries(c.errors)) expect(err, `${what}: ${name}`).toBeLessThanOrEqual(1e-5);
			expect(c.claimed, what).toEqual(EXPECTED[c.kernel]);
			expect(c.fused, what).toEqual(c.claimed);
			// The composite (the WebGL/CPU path) takes more: the fused kernel really replaced it. A
			// linear map without a bias is the same matmuls either way (the fast path's are shaped for
			// the adapter, not fewer), so it takes as many.
			if (SAME_COUNT.has(c.kernel)) expect(c.composite.forward + c.composite.backward, what).toBe(c.fused.forward + c.fused.backward);
			else expect(c.composite.forward + c.composite.backward, what).toBeGreaterThan(c.fused.forward + c.fused.backward);
		}
		expect(r.cases.find((c) => c.kernel === 'crossEntropy')?.errors).toHaveProperty('dlogits');
		expect(r.tensorsLeaked).toBe(0);
		// An invalid pipeline (a device limit passed) dispatches nothing and would leave stale outputs.
		expect(r.gpuErrors).toEqual([]);
	}
});

interface LoraCase {
	targets: string;
	fast: number[];
	replay: number[];
	reference: number[];
	noDropout: number[];
	maxRel: number;
	replayMaxAbs: number;
	noDropoutMaxAbs: number;
	inPartsMaxRel: number;
	tensorsLeaked: number;
}

test('LoRA with adapter dropout trains on the fast path as on the reference path, replays bit for bit, and the masks act', async ({ studioPage: page }) => {
	test.setTimeout(120_000);
	await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
	const cases: LoraCase[] = await page.evaluate(async () => {
		const engine = (globalThis as any).whetstone.engine;
		await engine.init();
		return engine.bridge.call((api: any) => api.loraTrainingCheck(8, 0.1), 110_000);
	});
	for (const c of cases) console.log(`LoRA ${c.targets}: fast ${c.fast.map((l) => l.toFixed(4)).join(' ')}; max rel vs reference ${c.maxRel.toExponential(2)}; replay ${c.replayMaxAbs}; vs no dropout ${c.noDropoutMaxAbs.toExponential(2)}; in parts ${c.inPartsMaxRel.toExponential(2)}`);
	expect(cases.map((c) => c.targets)).toEqual(['q_proj,v_proj', 'all-linear']);
	for (const c of cases) {
		expect(c.fast.every(Number.isFinite), c.targets).toBe(true);
		// The curve moves (the adapters train), and tracks the composite within float32 noise.
		expect(c.fast[c.fast.length - 1], c.targets).toBeLessThan(c.fast[0]);
		expect(c.maxRel, c.targets).toBeLessThanOrEqual(1e-5);
		// The same seeds replay the same steps exactly: what resuming relies on.
		expect(c.replayMaxAbs, c.targets).toBe(0);
		// Dropout changed the steps (from the second step on: B starts at zero).
		expect(c.noDropoutMaxAbs, c.targets).toBeGreaterThan(1e-6);
		// Tables over a (pretended) 4 KiB binding limit read in parts give the same steps.
		expect(c.inPartsMaxRel, c.targets).toBeLessThanOrEqual(1e-5);
		expect(c.tensorsLeaked, c.targets).toBe(0);
	}
});
