/**
 * What the code that builds a training step tells a compiled step's trace (step-plan.ts) about the
 * values that change from one step to the next, so a replay can write them again: the key of each
 * dropout mask (derived from the step's seed) and the uniforms of the fused optimizer (from the
 * learning rate and the step count). Nothing is noted while no trace listens.
 */

/** The values a replayed step is made from. */
export interface StepContext {
	/**
	 * The host arrays the step uploads, by name: the batch's (`ids`, `mask`, …) and the step's
	 * scalars (`weight`). A trace recognises an upload by the identity of its array.
	 */
	arrays: Record<string, ArrayBufferView>;
	/** The forward pass's dropout seed. */
	seed: number;
	lr: number;
	/** The optimizer step this update is (Adam's bias correction). */
	optimizerStep: number;
}

/** A program-defined uniform list, as tfjs's `makeUniforms` takes it. */
export type UniformList = { type: 'float32' | 'uint32' | 'int32'; data: number[] }[];

export interface TraceListener {
	/** A dropout mask's key, made from `seed` (the step's seed plus the site's offset) and `stream`. */
	dropKey(key: number, seed: number, stream: number): void;
	/** A dropout seed a kernel hashes itself (LoRA's, per adapter): the step's seed plus the site's offset. */
	dropSeed(seed: number): void;
	/** The uniform buffer a kernel's dispatch reads was written from `build`'s list for this step. */
	uniforms(buffer: GPUBuffer, build: (ctx: StepContext) => UniformList): void;
}

let listener: TraceListener | null = null;

export function setTraceListener(l: TraceListener | null): void {
	listener = l;
}

export function noteDropKey(key: number, seed: number, stream: number): void {
	listener?.dropKey(key, seed, stream);
}

export function noteDropSeed(seed: number): void {
	listener?.dropSeed(seed);
}

export function noteUniforms(buffer: GPUBuffer, build: (ctx: StepContext) => UniformList): void {
	listener?.uniforms(buffer, build);
}

/** Whether a trace listens (callers skip building what they would note). */
export function tracing(): boolean {
	return listener !== null;
}
