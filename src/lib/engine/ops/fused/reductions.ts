/**
 * How the fast path's kernels sum or take the max along a row (issue 10), chosen for the adapter
 * when WebGPU starts (backend.ts):
 *
 * - 'workgroup': the threads of one workgroup share a row and combine their partial results in
 *   workgroup memory between barriers. Real GPUs, where a barrier is cheap and a long row (a
 *   vocabulary of 50,000 logits) needs many threads.
 * - 'thread': one thread takes a whole row, with no barrier. Software adapters (SwiftShader),
 *   which run a workgroup's threads as coroutines, so every barrier switches every thread: a
 *   LayerNorm over 256 rows of width 32 took 27 ms with a 64-thread workgroup per row and 0.3 ms
 *   with a thread per row there (headless Chromium, 2 cores). Rows are many (batch × context),
 *   so a software adapter's few cores stay busy.
 *
 * Both give the same values to rounding (the order of the sums differs); the e2e fused-kernel and
 * fused-optimizer checks run each against the composites.
 */
export type Reductions = 'workgroup' | 'thread';

let mode: Reductions = 'workgroup';

export function reductions(): Reductions {
	return mode;
}

export function setReductions(next: Reductions): void {
	mode = next;
}

/** The reductions for an adapter: one thread per row on a software adapter. */
export function reductionsFor(isFallbackAdapter: boolean): Reductions {
	return isFallbackAdapter ? 'thread' : 'workgroup';
}
