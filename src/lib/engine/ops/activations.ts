/**
 * The nonlinearities the supported models use, named as Hugging Face's `ACT2FN` names them so a
 * config's `hidden_act` / `activation_function` maps straight to a function. On the WebGPU fast path
 * each runs as one fused kernel with a one-kernel backward (fused/activations.ts); the composites
 * here are their reference and the WebGL/CPU path.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedActivation, fusedSiluGate, fusedSiluGatePacked } from './fused/activations';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation ("gelu_new", "gelu_pytorch_tanh"; GPT-2). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
	if (useFastPath() && x.dtype === 'float32') return fusedActivation('geluTanh', x);
	const inner = x.add(x.pow(3).mul(0.044715)).mul(SQRT_2_OVER_PI);
	return x.mul(0.5).mul(inner.tanh().add(1));
}

/** GELU with the exact erf ("gelu"; BERT). */
export function geluErf(x: tf.Tensor): tf.Tensor {
	if (useFastPath() && x.dtype === 'float32') return fusedActivation('geluErf', x);
	return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

export function silu(x: tf.Tensor): tf.Tensor {
	if (useFastPath() && x.dtype === 'float32') return fusedActivation('silu', x);
	return x.mul(x.sigmoid());
}

/** SwiGLU's gate: silu(gate) · up, for gate and up of one shape (Llama/Qwen2's MLP). */
export function siluGate(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
	if (useFastPath() && gate.dtype === 'float32' && up.dtype === 'float32' && tf.util.arraysEqual(gate.shape, up.shape)) return fusedSiluGate(gate, up);
	return up.mul(gate.mul(gate.sigmoid()));
}

/**
 * silu(gate) · up from one tensor holding [gate | up] on its last axis (a packed gate/up
 * projection). On the fast path one kernel each way, with no split; else the split and `siluGate`.
 */
export function siluGatePacked(gu: tf.Tensor): tf.Tensor {
	if (useFastPath() && gu.dtype === 'float32' && (gu.shape[gu.rank - 1] as number) % 2 === 0) return fusedSiluGatePacked(gu);
	const [gate, up] = tf.split(gu, 2, -1);
	return siluGate(gate, up);
}

export const activations: Record<string, (x: tf.Tensor) => tf.Tensor> = {
	gelu: geluErf,
	gelu_new: geluTanh,
	gelu_pytorch_tanh: geluTanh,
	gelu_fast: geluTanh,
	silu,
	swish: silu,
	relu: (x) => x.relu()
};

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
	const fn = activations[name];
	if (!fn) throw new Error(`Unsupported activation '${name}'. Supported: ${Object.keys(activations).join(', ')}.`);
	return fn;
}
