/**
 * Whether the engine may use its fused WebGPU kernels (issue 10's fast path) or must run the
 * composite tfjs ops in `engine/ops/` and `engine/train/` (the reference path, and the only path on
 * WebGL and the CPU). On by default; benchmarks and parity checks turn it off to compare the two
 * paths in one run. Code that has a fused kernel asks `useFastPath()` at the point it would run it.
 */
import * as tf from '@tensorflow/tfjs';

let enabled = true;

export function setFastPath(on: boolean): void {
	enabled = on;
}

export function fastPathEnabled(): boolean {
	return enabled;
}

/** The fused kernels run: enabled, and the active backend is WebGPU. */
export function useFastPath(): boolean {
	return enabled && tf.getBackend() === 'webgpu';
}

let compiled = true;

/**
 * Whether training sessions compile whole steps on the fast path (compiled/: traced, then replayed
 * in one submit). On by default; a session may override it (`StepAccumulator.setCompiled`), as the
 * benchmark and the compiled-step check do to run both ways side by side.
 */
export function setCompiledSteps(on: boolean): void {
	compiled = on;
}

export function compiledStepsEnabled(): boolean {
	return compiled;
}
