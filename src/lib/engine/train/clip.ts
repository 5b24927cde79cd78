/**
 * Global-norm gradient clipping (Pascanu et al. 2013), as torch.nn.utils.clip_grad_norm_ does:
 * scale every gradient by min(1, maxNorm / (norm + 1e-6)). The norm stays on the GPU; nothing is
 * read back unless the caller logs it. This is the reference and the path on WebGL and the CPU; on
 * WebGPU the step clips inside the fused update instead (fused-optimizer.ts: one reduction for the
 * norm over every gradient, the scale applied in the update kernel).
 */
import * as tf from '@tensorflow/tfjs';
import { addMany } from '../ops';

export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
	const squares = Object.values(grads).map((g) => g.square().sum());
	return addMany(squares).sqrt() as tf.Scalar;
}

export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
	const norm = globalNorm(grads);
	if (!(maxNorm > 0)) return { grads, norm };
	const scale = tf.minimum(1, tf.div(maxNorm, norm.add(1e-6)));
	const clipped: Record<string, tf.Tensor> = {};
	for (const [k, g] of Object.entries(grads)) clipped[k] = g.mul(scale);
	return { grads: clipped, norm };
}
