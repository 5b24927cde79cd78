/**
 * Samples of tf.memory() at named points inside a training step (the end of the forward, each
 * checkpointed block's recompute), for the memory checks and the bench: a peak that sampling
 * between steps cannot see. Nothing is sampled unless a watcher is set.
 */
import * as tf from '@tensorflow/tfjs';

export type ProbePoint = 'forward-end' | 'recompute';

let watcher: ((point: ProbePoint, m: tf.MemoryInfo) => void) | null = null;

export function watchMemory(f: ((point: ProbePoint, m: tf.MemoryInfo) => void) | null): void {
	watcher = f;
}

export function sampleMemory(point: ProbePoint): void {
	if (watcher) watcher(point, tf.memory());
}

/** Bytes in use: on WebGPU (and WebGL) the GPU's, elsewhere every tensor's. */
export function bytesInUse(m: tf.MemoryInfo): number {
	const gpu = (m as tf.MemoryInfo & { numBytesInGPU?: number }).numBytesInGPU;
	return typeof gpu === 'number' ? gpu : m.numBytes;
}
