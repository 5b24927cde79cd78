/**
 * The affine map with its bias on WebGPU: the forward is tfjs-webgpu's own matmul with the bias
 * added in its epilogue (one dispatch instead of a matmul and an add). The backward takes dx as
 * the matmul tfjs's MatMul gradient runs, and dW and the bias gradient in one kernel: each thread
 * accumulates a 4 × 4 block of dW = Σ_rows xᵀ·dy over the rows, and the threads on the block
 * row (or column) that the bias runs along also sum dy's columns there, written as the kernel's
 * second output; the composite's `sum` over rows makes tfjs transpose dy first (two dispatches,
 * and the `Sum` reductions that showed up as a fifth of a step's GPU time in issue 10).
 * Reference: `linear` in ../linear.ts.
 *
 * A registered kernel with a registered gradient rather than tf.customGrad: each input's gradient
 * is computed only if something needs it, so a frozen base weight (LoRA) costs no dW kernel.
 *
 * Dispatches: forward 1; backward 2 (dx; dW with db) when all three are needed. tfjs runs a
 * matmul with a long inner dimension as split-K, which adds a zero fill, on either path.
 *
 * With 'thread' reductions (software adapters, reductions.ts) the forward and dx are this file's
 * own matmul, which has no barrier: same dispatches, no split-K.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, emptyTensor, runIntoWritable, runProgram, runProgramInfo, type WebGPUProgram } from './program';
import { reductions } from './reductions';

export const LINEAR_DISPATCHES = { forward: 1, backward: 2 };
/** Only dx is needed when the weight and bias are frozen (a LoRA base layer). */
export const FROZEN_LINEAR_DISPATCHES = { forward: 1, backward: 1 };

const KERNEL = 'WhetstoneLinearBias';
const KERNEL_NO_BIAS = 'WhetstoneLinear';

/** Σ over rows of a (N, D) tensor: one thread per column. */
const columnSumBody = `
	let N = uniforms.dyShape[0];
	let D = uniforms.dyShape[1];
	var acc = 0.0;
	for (var i = 0; i < N; i++) { acc += dy[i * D + index]; }
	result[index] = acc;`;

/** The column sums of dy (N, D), as (D): a bias gradient in one dispatch. */
export function columnSum(dy: tf.Tensor): tf.Tensor1D {
	return runProgram(elementwiseProgram('whetstoneColumnSum', ['dy'], [dy.shape[1] as number], columnSumBody), [dy]) as tf.Tensor1D;
}

/**
 * dW (R, C) = Σ_n lhs[n, r] · rhs[n, c] for lhs (N, R) and rhs (N, C), 4 × 4 outputs per thread,
 * and the bias gradient (the column sums of whichever of the two is dy, `biasOn`) into `dBias`.
 */
function weightGradProgram(r: number, c: number, biasOn: 'lhs' | 'rhs' | 'none'): WebGPUProgram {
	const threads = Math.ceil(r / 4) * Math.ceil(c / 4);
	const [lane, origin] = biasOn === 'lhs' ? ['i', 'r0'] : ['j', 'c0'];
	const wg = 64;
	return {
		variableNames: biasOn === 'none' ? ['lhs', 'rhs'] : ['lhs', 'rhs', 'dBias'],
		outputShape: [r, c],
		shaderKey: `whetstoneLinearDW_${biasOn}`,
		dispatchLayout: { x: [0, 1] },
		dispatch: [Math.ceil(threads / wg), 1, 1],
		workgroupSize: [wg, 1, 1],
		getUserCode: () => `
			fn main(index : i32) {
				let N = uniforms.lhsShape[0];
				let R = uniforms.lhsShape[1];
				let C = uniforms.rhsShape[1];
				let CB = (C + 3) / 4;
				if (index >= ((R + 3) / 4) * CB) { return; }
				let r0 = (index / CB) * 4;
				let c0 = (index % CB) * 4;
				var acc : array<array<f32, 4>, 4>;
				var bsum : array<f32, 4>;
				var av : array<f32, 4>;
				var bv : array<f32, 4>;
				for (var n = 0; n < N; n++) {
					for (var i = 0; i < 4; i++) {
						av[i] = select(0.0, lhs[n * R + min(r0 + i, R - 1)], r0 + i < R);
						bv[i] = select(0.0, rhs[n * C + min(c0 + i, C - 1)], c0 + i < C);
					}
					for (var i = 0; i < 4; i++) {
						for (var j = 0; j < 4; j++) { acc[i][j] = acc[i][j] + av[i] * bv[j]; }
						${biasOn === 'none' ? '' : `bsum[i] = bsum[i] + ${biasOn === 'lhs' ? 'av' : 'bv'}[i];`}
					}
				}
				for (var i = 0; i < 4; i++) {
					for (var j = 0; j < 4; j++) {
						if (r0 + i < R && c0 + j < C) { result[(r0 + i) * C + c0 + j] = acc[i][j]; }
					}
				}
				${biasOn === 'none' ? '' : `if (${biasOn === 'lhs' ? 'c0' : 'r0'} == 0) {
					for (var ${lane} = 0; ${lane} < 4; ${lane}++) {
						if (${origin} + ${lane} < ${biasOn === 'lhs' ? 'R' : 'C'}) { dBias[${origin} + ${lane}] = bsum[${lane}]; }
					}
				}`}
			}`
	};
}

/**
 * a (M, K) · b as (M, N), b being (N, K) with `transposeB` or (K, N) without, plus `bias` (N) when
 * given: 4 × 4 outputs per thread and no workgroup memory. The matmul with 'thread' reductions
 * (software adapters: reductions.ts), where tfjs's tiled matmuls wait at a barrier per tile.
 */
function threadMatMulProgram(m: number, n: number, transposeB: boolean, bias: boolean): WebGPUProgram {
	const threads = Math.ceil(m / 4) * Math.ceil(n / 4);
	const wg = 64;
	const bAt = transposeB ? 'b[c * K + k]' : 'b[k * N + c]';
	return {
		variableNames: bias ? ['a', 'b', 'bias'] : ['a', 'b'],
		outputShape: [m, n],
		shaderKey: `whetstoneThreadMatMul_${transposeB}_${bias}`,
		dispatchLayout: { x: [0, 1] },
		dispatch: [Math.ceil(threads / wg), 1, 1],
		workgroupSize: [wg, 1, 1],
		getUserCode: () => `
			fn bAt(k : i32, c : i32, K : i32, N : i32) -> f32 { return ${bAt}; }
			fn main(index : i32) {
				let M = uniforms.aShape[0];
				let K = uniforms.aShape[1];
				let N = uniforms.bShape[${transposeB ? 0 : 1}];
				let NB = (N + 3) / 4;
				if (index >= ((M + 3) / 4) * NB) { return; }
				let r0 = (index / NB) * 4;
				let c0 = (index % NB) * 4;
				var acc : array<array<f32, 4>, 4>;
				var av : array<f32, 4>;
				var bv : array<f32, 4>;
				for (var k = 0; k < K; k++) {
					for (var i = 0; i < 4; i++) {
						av[i] = select(0.0, a[min(r0 + i, M - 1) * K + k], r0 + i < M);
						bv[i] = select(0.0, bAt(k, min(c0 + i, N - 1), K, N), c0 + i < N);
					}
					for (var i = 0; i < 4; i++) {
						for (var j = 0; j < 4; j++) { acc[i][j] = acc[i][j] + av[i] * bv[j]; }
					}
				}
				for (var i = 0; i < 4; i++) {
					for (var j = 0; j < 4; j++) {
						if (r0 + i < M && c0 + j < N) { result[(r0 + i) * N + c0 + j] = acc[i][j]${bias ? ' + bias[c0 + j]' : ''}; }
					}
				}
			}`
	};
}

/**
 * The same products read and written as vec4 where the shapes allow it (vec4MatMulFits): each
 * load brings four numbers, so a thread does 16 multiply-adds per 4 loads instead of per 8, and
 * the 8-row blocks reuse every load of b eight times. On SwiftShader (one core runs a handful of
 * threads as SIMD lanes) this is 6–9× the scalar kernel's speed at transformer shapes: a 256 × 128
 * · 128 × 384 product in 18 ms instead of 150–190 ms (a raw-WebGPU probe, issue 10). Rows past M
 * (any M) read a clamped row and are not stored.
 *
 * Without transposeB, b is (K, N) and a thread holds 8 rows × 2 vec4 columns, summing over k in
 * order as the scalar kernel does. With transposeB, b is (N, K) and a thread holds 4 rows × one
 * vec4 of columns, each output a running sum of 4-wide dot products.
 */
export function vec4MatMulFits(k: number, n: number): boolean {
	return k % 4 === 0 && n % 4 === 0;
}

const XYZW = ['x', 'y', 'z', 'w'];

function vec4MatMulProgram(m: number, n: number, transposeB: boolean, bias: boolean): WebGPUProgram {
	const wg = 64;
	const rows = transposeB ? 4 : 8;
	const cols4 = transposeB ? 1 : 2; // vec4 columns per thread
	const threads = Math.ceil(m / rows) * Math.ceil(n / 4 / cols4);
	const lines: string[] = [];
	let decl = '';
	let store = '';
	if (transposeB) {
		for (let j = 0; j < 4; j++) lines.push(`let b${j} = b[(c0 + ${j}) * K4 + k4];`);
		for (let i = 0; i < rows; i++) {
			decl += `var acc${i} = vec4<f32>(0.0);\n`;
			lines.push(`let a${i} = a[min(r0 + ${i}, M - 1) * K4 + k4];`);
			lines.push(`acc${i} = acc${i} + vec4<f32>(dot(a${i}, b0), dot(a${i}, b1), dot(a${i}, b2), dot(a${i}, b3));`);
			store += `if (r0 + ${i} < M) { result[(r0 + ${i}) * N4 + c0 / 4] = acc${i}${bias ? ' + bias[c0 / 4]' : ''}; }\n`;
		}
	} else {
		for (let e = 0; e < 4; e++) for (let j = 0; j < cols4; j++) lines.push(`let b${e}_${j} = b[(k + ${e}) * N4 + min(cb + ${j}, N4 - 1)];`);
		for (let i = 0; i < rows; i++) {
			lines.push(`let a${i} = a[min(r0 + ${i}, M - 1) * K4 + k4];`);
			for (let j = 0; j < cols4; j++) {
				decl += `var acc${i}_${j} = vec4<f32>(0.0);\n`;
				for (let e = 0; e < 4; e++) lines.push(`acc${i}_${j} = acc${i}_${j} + a${i}.${XYZW[e]} * b${e}_${j};`);
				store += `if (r0 + ${i} < M && cb + ${j} < N4) { result[(r0 + ${i}) * N4 + cb + ${j}] = acc${i}_${j}${bias ? ` + bias[cb + ${j}]` : ''}; }\n`;
			}
		}
	}
	return {
		variableNames: bias ? ['a', 'b', 'bias'] : ['a', 'b'],
		variableComponents: bias ? [4, 4, 4] : [4, 4],
		outputComponent: 4,
		outputShape: [m, n],
		shaderKey: `whetstoneVec4MatMul_${transposeB}_${bias}`,
		dispatchLayout: { x: [0, 1] },
		dispatch: [Math.ceil(threads / wg), 1, 1],
		workgroupSize: [wg, 1, 1],
		getUserCode: () => `
			fn main(index : i32) {
				let M = uniforms.aShape[0];
				let K4 = uniforms.aShape[1] / 4;
				let N4 = uniforms.bShape[${transposeB ? 0 : 1}] / 4;
				let CB = (N4 + ${cols4 - 1}) / ${cols4};
				if (index >= ((M + ${rows - 1}) / ${rows}) * CB) { return; }
				let r0 = (index / CB) * ${rows};
				let cb = (index % CB) * ${cols4};
				let c0 = cb * 4;
				${decl}
				for (var k4 = 0; k4 < K4; k4++) {
					let k = k4 * 4;
					${lines.join('\n\t\t\t\t\t')}
				}
				${store}
			}`
	};
}

/**
 * weightGradProgram read as vec4 (R and C multiples of 4): each thread an 8 × 8 block of dW, two
 * vec4s of lhs and two of rhs per row n, and the bias gradient's vec4 sums alongside.
 */
function vec4WeightGradProgram(r: number, c: number, biasOn: 'lhs' | 'rhs' | 'none'): WebGPUProgram {
	const wg = 64;
	const threads = Math.ceil(r / 8) * Math.ceil(c / 8);
	const lines: string[] = [];
	let decl = '';
	let store = '';
	for (let i = 0; i < 2; i++) lines.push(`let l${i} = lhs[n * R4 + min(rb + ${i}, R4 - 1)];`);
	for (let j = 0; j < 2; j++) lines.push(`let q${j} = rhs[n * C4 + min(cb + ${j}, C4 - 1)];`);
	for (let i = 0; i < 2; i++)
		for (let e = 0; e < 4; e++)
			for (let j = 0; j < 2; j++) {
				const acc = `acc${i * 4 + e}_${j}`;
				decl += `var ${acc} = vec4<f32>(0.0);\n`;
				lines.push(`${acc} = ${acc} + l${i}.${XYZW[e]} * q${j};`);
				store += `if (rb + ${i} < R4 && cb + ${j} < C4) { result[((rb + ${i}) * 4 + ${e}) * C4 + cb + ${j}] = ${acc}; }\n`;
			}
	const [side, lane, owner, count] = biasOn === 'lhs' ? ['l', 'rb', 'cb', 'R4'] : ['q', 'cb', 'rb', 'C4'];
	for (let j = 0; j < (biasOn === 'none' ? 0 : 2); j++) {
		decl += `var bs${j} = vec4<f32>(0.0);\n`;
		lines.push(`bs${j} = bs${j} + ${side}${j};`);
		store += `if (${owner} == 0 && ${lane} + ${j} < ${count}) { for (var e = 0; e < 4; e++) { dBias[(${lane} + ${j}) * 4 + e] = bs${j}[e]; } }\n`;
	}
	return {
		variableNames: biasOn === 'none' ? ['lhs', 'rhs'] : ['lhs', 'rhs', 'dBias'],
		variableComponents: biasOn === 'none' ? [4, 4] : [4, 4, 1],
		outputComponent: 4,
		outputShape: [r, c],
		shaderKey: `whetstoneVec4LinearDW_${biasOn}`,
		dispatchLayout: { x: [0, 1] },
		dispatch: [Math.ceil(threads / wg), 1, 1],
		workgroupSize: [wg, 1, 1],
		getUserCode: () => `
			fn main(index : i32) {
				let N = uniforms.lhsShape[0];
				let R4 = uniforms.lhsShape[1] / 4;
				let C4 = uniforms.rhsShape[1] / 4;
				let CB = (C4 + 1) / 2;
				if (index >= ((R4 + 1) / 2) * CB) { return; }
				let rb = (index / CB) * 2;
				let cb = (index % CB) * 2;
				${decl}
				for (var n = 0; n < N; n++) {
					${lines.join('\n\t\t\t\t\t')}
				}
				${store}
			}`
	};
}

/** The thread-reduction matmul for these shapes: vec4 where it fits, else the scalar one. */
function threadProduct(m: number, k: number, n: number, transposeB: boolean, bias: boolean): WebGPUProgram {
	return vec4MatMulFits(k, n) ? vec4MatMulProgram(m, n, transposeB, bias) : threadMatMulProgram(m, n, transposeB, bias);
}

/** dW with its bias gradient: vec4 where R and C fit, else the scalar kernel. */
function weightGrad(r: number, c: number, biasOn: 'lhs' | 'rhs' | 'none'): WebGPUProgram {
	return vec4MatMulFits(r, c) ? vec4WeightGradProgram(r, c, biasOn) : weightGradProgram(r, c, biasOn);
}

interface LinearAttrs {
	transposeB: boolean;
}

let registered = false;

/** x·w (+ b) on the active adapter: the thread matmul with 'thread' reductions, else tfjs's fused matmul. */
function forward(backend: {}, x: tf.TensorInfo, w: tf.TensorInfo, b: tf.TensorInfo | undefined, transposeB: boolean): tf.TensorInfo {
	if (reductions() === 'thread') return runProgramInfo(backend, threadProduct(x.shape[0], x.shape[1], w.shape[transposeB ? 0 : 1], transposeB, Boolean(b)), b ? [x, w, b] : [x, w]);
	const matMul = tf.getKernel('_FusedMatMul', 'webgpu');
	if (!matMul) throw new Error('The WebGPU backend has no fused matmul kernel.');
	const inputs = b ? { a: x, b: w, bias: b } : { a: x, b: w };
	return matMul.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs: { transposeA: false, transposeB, activation: 'linear' } }) as tf.TensorInfo;
}

/** dx = dy·wᵀ (or dy·w): as tfjs's BatchMatMul gradient, so it equals the composite's bit for bit; with 'thread' reductions, the same product without barriers. */
function inputGrad(d: tf.Tensor2D, w: tf.Tensor, transposeB: boolean): tf.Tensor {
	if (reductions() === 'thread') return runProgram(threadProduct(d.shape[0], d.shape[1], w.shape[transposeB ? 1 : 0] as number, !transposeB, false), [d, w]);
	return transposeB ? tf.matMul(d, w as tf.Tensor2D) : tf.matMul(d, w as tf.Tensor2D, false, true);
}

/** Register the kernels (with and without a bias) for the webgpu backend and their gradients, once. */
function register(): void {
	if (registered) return;
	registered = true;
	tf.registerKernel({
		kernelName: KERNEL,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => forward(backend, inputs.x!, inputs.w!, inputs.b, (attrs as unknown as LinearAttrs).transposeB)
	});
	tf.registerGradient({
		kernelName: KERNEL,
		inputsToSave: ['x', 'w'],
		gradFunc: (dy, saved, attrs) => {
			const [x, w] = saved;
			const d = dy as tf.Tensor2D;
			const { transposeB } = attrs as unknown as LinearAttrs;
			// Made when the backward reaches this op, so it outlives the dW thunk's scope for db's.
			const db = emptyTensor([d.shape[1]]);
			let haveDb = false;
			return {
				x: () => inputGrad(d, w, transposeB),
				// transposeB: w is (out, in), dW = dyᵀ·x with the bias along its rows; else (in, out), dW = xᵀ·dy.
				w: () => {
					const [a, b] = transposeB ? [d, x] : [x, d];
					const out = runIntoWritable(weightGrad(a.shape[1] as number, b.shape[1] as number, transposeB ? 'lhs' : 'rhs'), [a, b], [{ name: 'dBias', tensor: db }]);
					haveDb = true;
					return out;
				},
				// A frozen weight with a trained bias gets the column sum alone.
				b: () => (haveDb ? db.clone() : columnSum(d))
			};
		}
	});
	tf.registerKernel({
		kernelName: KERNEL_NO_BIAS,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => forward(backend, inputs.x!, inputs.w!, undefined, (attrs as unknown as LinearAttrs).transposeB)
	});
	tf.registerGradient({
		kernelName: KERNEL_NO_BIAS,
		inputsToSave: ['x', 'w'],
		gradFunc: (dy, saved, attrs) => {
			const [x, w] = saved;
			const d = dy as tf.Tensor2D;
			const { transposeB } = attrs as unknown as LinearAttrs;
			return {
				x: () => inputGrad(d, w, transposeB),
				w: () => {
					const [a, b] = transposeB ? [d, x] : [x, d];
					return runProgram(weightGrad(a.shape[1] as number, b.shape[1] as number, 'none'), [a, b]);
				}
			};
		}
	});
}

/**
 * x (N, in), w (out, in) with transposeB or (in, out) without, b (out) when given: x·w (+ b) as
 * (N, out). Without a bias (Llama's projections, a tied LM head, LoRA's A and B) the same
 * products, and no bias gradient.
 */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined, transposeB: boolean): tf.Tensor2D {
	register();
	if (!b) return tf.engine().runKernel(KERNEL_NO_BIAS, { x, w } as unknown as tf.NamedTensorMap, { transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
	return tf.engine().runKernel(KERNEL, { x, w, b } as unknown as tf.NamedTensorMap, { transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
