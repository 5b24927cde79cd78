// The row kernels' two shapes (src/lib/engine/ops/fused/reductions.ts): a workgroup per row with
// barriers on a real GPU, a thread per row with none on a software adapter. The WGSL itself runs
// in the e2e fused-kernels check, in both shapes; here, what each program asks the GPU for.
import { afterEach, describe, expect, it } from 'vitest';
import { rowProgram } from '../../../src/lib/engine/ops/fused/program';
import { reductions, reductionsFor, setReductions } from '../../../src/lib/engine/ops/fused/reductions';

const body = 'for (var c = tid; c < 32; c += WG) { result[row * 32 + c] = wgSum(x[row * 32 + c], tid); }';

afterEach(() => setReductions('workgroup'));

describe('row programs', () => {
	it('a software adapter gets a thread per row, a real GPU a workgroup per row', () => {
		expect(reductionsFor(true)).toBe('thread');
		expect(reductionsFor(false)).toBe('workgroup');
		expect(reductions()).toBe('workgroup');
	});

	it('with workgroup reductions: one 64-thread workgroup per row, reducing through barriers', () => {
		const p = rowProgram('k', ['x'], [300, 32], 300, 32, body);
		expect(p.dispatch).toEqual([300, 1, 1]);
		expect(p.workgroupSize).toEqual([64, 1, 1]);
		expect(p.getUserCode()).toContain('workgroupBarrier()');
		expect(p.shaderKey).toBe('k_64');
	});

	it('with thread reductions: a thread per row, 64 rows a workgroup, no barrier, its own pipeline', () => {
		setReductions('thread');
		const p = rowProgram('k', ['x'], [300, 32], 300, 32, body);
		expect(p.dispatch).toEqual([5, 1, 1]);
		expect(p.workgroupSize).toEqual([64, 1, 1]);
		const code = p.getUserCode();
		expect(code).not.toContain('workgroupBarrier');
		expect(code).not.toContain('var<workgroup>');
		expect(code).toMatch(/const WG = 1;/);
		expect(code).toMatch(/let row = index;/);
		expect(p.shaderKey).toBe('k_thread');
	});
});
