/**
 * Moving named tensors between the GPU and plain arrays (for checkpoints and exports). Reads use
 * `await data()`, which does not block a worker the way `dataSync` does.
 */
import * as tf from '@tensorflow/tfjs';

export interface HostTensor {
	name: string;
	shape: number[];
	data: Float32Array;
}

export async function readTensors(entries: [string, tf.Tensor][]): Promise<HostTensor[]> {
	const out: HostTensor[] = [];
	for (const [name, t] of entries) {
		const data = (await t.data()) as Float32Array;
		out.push({ name, shape: t.shape.slice(), data: new Float32Array(data) });
	}
	return out;
}

// Variables are left unnamed: tfjs registers names globally, and a second session would clash.
export function toVariables(records: Record<string, { shape: number[]; data: Float32Array }>, trainable = true): Map<string, tf.Variable> {
	const vars = new Map<string, tf.Variable>();
	for (const [name, r] of Object.entries(records)) {
		vars.set(name, tf.tidy(() => tf.variable(tf.tensor(r.data, r.shape, "float32"), trainable)));
	}
	return vars;
}

/** Plain tensors (not variables): weights a session reads but never trains. */
export function toTensors(records: Record<string, { shape: number[]; data: Float32Array }>): Map<string, tf.Tensor> {
	const out = new Map<string, tf.Tensor>();
	for (const [name, r] of Object.entries(records)) out.set(name, tf.tensor(r.data, r.shape, 'float32'));
	return out;
}

export function memoryInfo(): { numTensors: number; numBytes: number } {
	const m = tf.memory();
	return { numTensors: m.numTensors, numBytes: m.numBytes };
}
