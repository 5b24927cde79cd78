/**
 * GELU (erf and tanh forms), SiLU and the SiLU gate of SwiGLU (silu(gate) · up) on WebGPU: one
 * elementwise dispatch forward, and the backward from the closed-form derivative in one dispatch
 * per gradient (SiLU gate: one for the gate, one for up, since a tfjs program has one output).
 * Reference: ../activations.ts. The formulas mirror tfjs's own WGSL so the two paths agree to
 * rounding: its tanh (sign · (1 − e^{−2|a|}) / (1 + e^{−2|a|})), its erf (Abramowitz and Stegun
 * 7.1.26, whose gradient tfjs takes as the exact 2/√π · e^{−a²}), its sigmoid 1 / (1 + e^{−a}).
 *
 * Dispatches: forward 1; backward 1 (GELU, SiLU) or 2 (SiLU gate).
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram } from './program';

export const ACTIVATION_DISPATCHES = { forward: 1, backward: 1 };
export const SILU_GATE_DISPATCHES = { forward: 1, backward: 2 };
/** The gate and up side by side in one tensor: its gradient is one tensor too, so one kernel back. */
export const SILU_GATE_PACKED_DISPATCHES = { forward: 1, backward: 1 };

const helpers = `
	fn tanhT(a : f32) -> f32 {
		let e2x = exp(-2.0 * abs(a));
		return sign(a) * (1.0 - e2x) / (1.0 + e2x);
	}
	fn erfT(a : f32) -> f32 {
		let p = 0.3275911;
		let a1 = 0.254829592;
		let a2 = -0.284496736;
		let a3 = 1.421413741;
		let a4 = -1.453152027;
		let a5 = 1.061405429;
		let absA = abs(a);
		let t = 1.0 / (1.0 + p * absA);
		return sign(a) * (1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * exp(-absA * absA));
	}
	fn sigmoidT(a : f32) -> f32 {
		return 1.0 / (1.0 + exp(-1.0 * a));
	}`;

type Kind = 'geluTanh' | 'geluErf' | 'silu';

/** WGSL: `y` (the activation of `v`) and `dydx`, for the forward and backward bodies. */
const formulas: Record<Kind, { y: string; dydx: string }> = {
	geluTanh: {
		y: `let t = tanhT((v + 0.044715 * v * v * v) * ${Math.sqrt(2 / Math.PI)});
		let y = 0.5 * v * (1.0 + t);`,
		dydx: `let t = tanhT((v + 0.044715 * v * v * v) * ${Math.sqrt(2 / Math.PI)});
		let dydx = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * ${Math.sqrt(2 / Math.PI)} * (1.0 + 3.0 * 0.044715 * v * v);`
	},
	geluErf: {
		y: `let y = 0.5 * v * (1.0 + erfT(v * ${Math.SQRT1_2}));`,
		dydx: `let dydx = 0.5 * (1.0 + erfT(v * ${Math.SQRT1_2})) + v * exp(-0.5 * v * v) * ${1 / Math.sqrt(2 * Math.PI)};`
	},
	silu: {
		y: `let y = v * sigmoidT(v);`,
		dydx: `let s = sigmoidT(v);
		let dydx = s + v * s * (1.0 - s);`
	}
};

function program(key: string, names: string[], shape: number[], body: string) {
	const p = elementwiseProgram(key, names, shape, body);
	const user = p.getUserCode;
	p.getUserCode = () => helpers + user();
	return p;
}

/** x of any shape, float32; the activation, with its one-dispatch backward. */
export function fusedActivation(kind: Kind, x: tf.Tensor): tf.Tensor {
	const f = formulas[kind];
	const op = tf.customGrad((...args: unknown[]) => {
		const xs = args[0] as tf.Tensor;
		const save = args[1] as tf.GradSaveFunc;
		save([xs]);
		const y = runProgram(program(`whetstone_${kind}`, ['x'], xs.shape, `let v = x[index];\n${f.y}\nresult[index] = y;`), [xs]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
				runProgram(program(`whetstone_${kind}Grad`, ['x', 'dy'], xs.shape, `let v = x[index];\n${f.dydx}\nresult[index] = dy[index] * dydx;`), [saved[0], dy])
			]
		};
	});
	return op(x);
}

/** silu(gate) · up for gate and up of one shape (SwiGLU's MLP). */
export function fusedSiluGate(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
	const op = tf.customGrad((...args: unknown[]) => {
		const [g, u] = args as tf.Tensor[];
		const save = args[2] as tf.GradSaveFunc;
		save([g, u]);
		const y = runProgram(program('whetstoneSiluGate', ['gate', 'up'], g.shape, `let v = gate[index];\nresult[index] = v * sigmoidT(v) * up[index];`), [g, u]);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
				const [sg, su] = saved;
				const dGate = runProgram(program('whetstoneSiluGateDGate', ['gate', 'up', 'dy'], g.shape, `let v = gate[index];\n${formulas.silu.dydx}\nresult[index] = dy[index] * up[index] * dydx;`), [sg, su, dy]);
				const dUp = runProgram(program('whetstoneSiluGateDUp', ['gate', 'dy'], g.shape, `let v = gate[index];\nresult[index] = dy[index] * v * sigmoidT(v);`), [sg, dy]);
				return [dGate, dUp];
			}
		};
	});
	return op(gate, up);
}

/**
 * silu(gate) · up from gu (..., 2f) holding [gate | up] on its last axis (a packed gate/up
 * projection: Phi-3's gate_up_proj, Llama's gate and up on the fast path) -> (..., f). The gradient
 * is gu's shape, [dgate | dup], written by one kernel: each thread computes whichever half its
 * element is in.
 */
export function fusedSiluGatePacked(gu: tf.Tensor): tf.Tensor {
	const width = gu.shape[gu.rank - 1] as number;
	const f = width / 2;
	// As (rows, 2f): the kernels read the width from the shapes' uniforms (one compiled pipeline
	// serves every width).
	const op = tf.customGrad((...args: unknown[]) => {
		const x = args[0] as tf.Tensor2D;
		const save = args[1] as tf.GradSaveFunc;
		save([x]);
		const y = runProgram(
			program('whetstoneSiluGatePacked', ['gu'], [x.shape[0], f], `let F = uniforms.guShape[1] / 2;\nlet at = (index / F) * 2 * F + index % F;\nlet v = gu[at];\nresult[index] = v * sigmoidT(v) * gu[at + F];`),
			[x]
		);
		return {
			value: y,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
				runProgram(
					program(
						'whetstoneSiluGatePackedGrad',
						['gu', 'dy'],
						saved[0].shape,
						`let F = uniforms.guShape[1] / 2;
						let row = index / (2 * F);
						let c = index % (2 * F);
						let g = row * 2 * F + c % F;
						let v = gu[g];
						let d = dy[row * F + c % F];
						if (c < F) {
							${formulas.silu.dydx}
							result[index] = d * gu[g + F] * dydx;
						} else {
							result[index] = d * v * sigmoidT(v);
						}`
					),
					[saved[0], dy]
				)
			]
		};
	});
	return op(gu.reshape([-1, width])).reshape([...gu.shape.slice(0, -1), f]);
}
