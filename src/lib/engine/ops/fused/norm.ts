/**
 * LayerNorm and RMSNorm on WebGPU, fused: one workgroup per row computes the statistics and writes
 * the normalised row in one dispatch; the backward computes the row statistics once, then dx row by
 * row (dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dy · γ; RMSNorm drops the mean(g)
 * term), then dγ and dβ as column sums over rows, one dispatch each (a tfjs program has one
 * output, and slicing one buffer in two would cost two more). Reference: `layerNorm` and
 * `rmsNorm` in ../norm.ts (biased variance, eps inside the square root, as torch does).
 *
 * Dispatches: forward 1; backward 4 for LayerNorm (row statistics, dx, dγ, dβ), 3 for RMSNorm, 2
 * (statistics, dx) when γ and β are frozen.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, rowProgram, runProgram, runProgramInfo } from './program';
import { columnSum } from './linear';

export const LAYER_NORM_DISPATCHES = { forward: 1, backward: 4 };
export const RMS_NORM_DISPATCHES = { forward: 1, backward: 3 };
export const FROZEN_NORM_DISPATCHES = { forward: 1, backward: 2 };

/** WGSL computing `mean` (0 for RMSNorm) and `rstd` of this workgroup's row of x. */
function statsSnippet(rms: boolean): string {
	const mean = rms
		? 'let mean = 0.0;'
		: `var s = 0.0;
		for (var c = tid; c < n; c += WG) { s += x[base + c]; }
		let mean = wgSum(s, tid) / f32(D);`;
	return `
	let N = uniforms.xShape[0];
	let D = uniforms.xShape[1];
	let ok = row < N;
	let n = select(0, D, ok);
	let base = row * D;
	${mean}
	var q = 0.0;
	for (var c = tid; c < n; c += WG) {
		let d = x[base + c] - mean;
		q += d * d;
	}
	let rstd = inverseSqrt(wgSum(q, tid) / f32(D) + uniforms.eps);`;
}

function forwardBody(rms: boolean): string {
	const shift = rms ? '' : ' + beta[c]';
	return `${statsSnippet(rms)}
	for (var c = tid; c < n; c += WG) {
		result[base + c] = (x[base + c] - mean) * rstd * gamma[c]${shift};
	}`;
}

function statsBody(rms: boolean): string {
	return `${statsSnippet(rms)}
	if (ok && tid == 0) {
		result[row * 2] = mean;
		result[row * 2 + 1] = rstd;
	}`;
}

function dxBody(rms: boolean): string {
	return `
	let N = uniforms.xShape[0];
	let D = uniforms.xShape[1];
	let ok = row < N;
	let n = select(0, D, ok);
	let base = row * D;
	let r = min(row, N - 1);
	let mean = stats[r * 2];
	let rstd = stats[r * 2 + 1];
	var a = 0.0;
	var b = 0.0;
	for (var c = tid; c < n; c += WG) {
		let g = dy[base + c] * gamma[c];
		a += g;
		b += g * (x[base + c] - mean) * rstd;
	}
	${rms ? 'let meanG = 0.0;' : 'let meanG = wgSum(a, tid) / f32(D);'}
	let meanGX = wgSum(b, tid) / f32(D);
	for (var c = tid; c < n; c += WG) {
		let g = dy[base + c] * gamma[c];
		let xhat = (x[base + c] - mean) * rstd;
		result[base + c] = rstd * (g - meanG - xhat * meanGX);
	}`;
}

/** dγ = Σ_rows dy · x̂: one thread per column. */
const dGammaBody = `
	let N = uniforms.xShape[0];
	let D = uniforms.xShape[1];
	var acc = 0.0;
	for (var i = 0; i < N; i++) { acc += dy[i * D + index] * (x[i * D + index] - stats[i * 2]) * stats[i * 2 + 1]; }
	result[index] = acc;`;

interface NormAttrs {
	eps: number;
	rms: boolean;
}

const KERNELS = { layer: 'WhetstoneLayerNorm', rms: 'WhetstoneRmsNorm' };
let registered = false;

/**
 * A registered kernel and gradient for each norm rather than tf.customGrad: the backward computes
 * the row statistics (which dx and dγ share) at once, then each gradient only if something needs
 * it, so a frozen γ and β (LoRA) cost the statistics and dx alone.
 */
function register(): void {
	if (registered) return;
	registered = true;
	for (const rms of [false, true]) {
		const kind = rms ? 'Rms' : 'Layer';
		const kernelName = rms ? KERNELS.rms : KERNELS.layer;
		tf.registerKernel({
			kernelName,
			backendName: 'webgpu',
			kernelFunc: ({ inputs, backend, attrs }) => {
				const { eps } = attrs as unknown as NormAttrs;
				const names = rms ? ['x', 'gamma'] : ['x', 'gamma', 'beta'];
				const infos = names.map((k) => inputs[k] as tf.TensorInfo);
				const [n, d] = infos[0].shape;
				return runProgramInfo(backend, rowProgram(`whetstone${kind}Norm`, names, [n, d], n, d, forwardBody(rms), 'eps : f32,'), infos, [{ type: 'float32', data: [eps] }]);
			}
		});
		tf.registerGradient({
			kernelName,
			inputsToSave: ['x', 'gamma'],
			gradFunc: (dyIn, saved, attrs) => {
				const { eps } = attrs as unknown as NormAttrs;
				const [x, gamma] = saved;
				const dy = dyIn as tf.Tensor;
				const [n, d] = x.shape;
				const stats = runProgram(rowProgram(`whetstone${kind}NormStats`, ['x'], [n, 2], n, d, statsBody(rms), 'eps : f32,'), [x], [{ type: 'float32', data: [eps] }]);
				const grads: Record<string, () => tf.Tensor> = {
					x: () => runProgram(rowProgram(`whetstone${kind}NormDx`, ['x', 'gamma', 'dy', 'stats'], [n, d], n, d, dxBody(rms)), [x, gamma, dy, stats]),
					gamma: () => runProgram(elementwiseProgram('whetstoneNormDGamma', ['x', 'dy', 'stats'], [d], dGammaBody), [x, dy, stats])
				};
				if (!rms) grads.beta = () => columnSum(dy);
				return grads;
			}
		});
	}
}

function normOp(rms: boolean, x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
	register();
	const inputs = rms ? { x, gamma } : { x, gamma, beta: beta as tf.Tensor1D };
	return tf.engine().runKernel(rms ? KERNELS.rms : KERNELS.layer, inputs as unknown as tf.NamedTensorMap, { eps, rms } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** x (N, D), γ and β (D); LayerNorm over the last axis. */
export function fusedLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
	return normOp(false, x, gamma, beta, eps);
}

/** x (N, D), γ (D); RMSNorm over the last axis. */
export function fusedRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
	return normOp(true, x, gamma, null, eps);
}
