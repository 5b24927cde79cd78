/**
 * Dropout on WebGPU by a counter-based hash (../dropout.ts): element i of x is kept, and scaled by
 * 1 / (1 − rate), when the top 24 bits of mix32(i XOR mix32(seed)) reach the rate's threshold. The
 * mask is never stored: the backward hashes the same elements again. One dispatch forward, one
 * backward, where tf.dropout draws its uniforms on the CPU, uploads them and runs four kernels.
 *
 * `HASH_WGSL` is shared with the attention kernel (fused/attention.ts), which drops attention
 * weights with the same function of their (batch, head, query, key) index.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const DROPOUT_DISPATCHES = { forward: 1, backward: 1 };

/** WGSL: the mixer (lowbias32, the JS `mix32` bit for bit) and the keep-and-scale factor of an element. */
export const HASH_WGSL = `
	fn mix32(v : u32) -> u32 {
		var x = v;
		x = x ^ (x >> 16u);
		x = x * 0x7feb352du;
		x = x ^ (x >> 15u);
		x = x * 0x846ca68bu;
		return x ^ (x >> 16u);
	}
	fn dropKeep(key : u32, at : u32, threshold : i32, inv : f32) -> f32 {
		return select(0.0, inv, i32(mix32(at ^ key) >> 8u) >= threshold);
	}`;

export interface HashDropout {
	/** Keep an element when its hash's top 24 bits are at least this (dropThreshold). */
	threshold: number;
	/** 1 / (1 − rate), in float32. */
	inv: number;
	/** mix32(seed): the call's key. */
	key: number;
}

function program(key: string, names: string[], shape: number[], body: string) {
	const p = elementwiseProgram(key, names, shape, body, 'threshold : i32, inv : f32, key : u32,');
	const user = p.getUserCode;
	p.getUserCode = () => HASH_WGSL + user();
	return p;
}

function uniforms(d: HashDropout) {
	return [
		{ type: 'int32' as const, data: [d.threshold] },
		{ type: 'float32' as const, data: [d.inv] },
		{ type: 'uint32' as const, data: [d.key >>> 0] }
	];
}

const BODY = (src: string) => `result[index] = ${src}[index] * dropKeep(uniforms.key, u32(index), uniforms.threshold, uniforms.inv);`;

/** x times the hashed mask, as a plain dispatch (no gradient of its own): for a gradient function's use. */
export function hashMask(x: tf.Tensor, d: HashDropout): tf.Tensor {
	return runProgram(program('whetstoneDropout', ['x'], x.shape, BODY('x')), [x], uniforms(d));
}

/** x (float32, any shape) with the hashed mask applied; its gradient the same mask on dy. */
export function fusedDropout(x: tf.Tensor, d: HashDropout): tf.Tensor {
	const op = tf.customGrad((...args: unknown[]) => {
		const xs = args[0] as tf.Tensor;
		const y = hashMask(xs, d);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor) => [hashMask(dy, d)]
		};
	});
	return op(x);
}
