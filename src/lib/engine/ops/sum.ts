/**
 * Adding many tensors of the same shape. tfjs-webgpu's AddN binds every input as a storage
 * buffer of one shader; past the adapter's maxStorageBuffersPerShaderStage (8 by default) the
 * pipeline is invalid and the result is garbage (found as a gradient norm that differed from the
 * CPU's). Adding in chunks of at most six inputs stays within every adapter's limit.
 */
import * as tf from '@tensorflow/tfjs';

const MAX_INPUTS = 6;

export function addMany(tensors: tf.Tensor[]): tf.Tensor {
	if (tensors.length === 0) throw new Error('addMany needs at least one tensor.');
	let level = tensors;
	while (level.length > 1) {
		const next: tf.Tensor[] = [];
		for (let i = 0; i < level.length; i += MAX_INPUTS) {
			const chunk = level.slice(i, i + MAX_INPUTS);
			next.push(chunk.length === 1 ? chunk[0] : tf.addN(chunk));
		}
		level = next;
	}
	return level[0];
}
