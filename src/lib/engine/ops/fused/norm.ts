/**
 * LayerNorm and RMSNorm on WebGPU, fused: one workgroup per row computes the statistics and writes
 * the normalised row in one dispatch. The backward computes dx row by row (dx = rstd · (g −
 * mean(g) − x̂ · mean(g · x̂)) with g = dy · γ; RMSNorm drops the mean(g) term), recomputing the
 * row's statistics in the same workgroup and leaving them in a second output; then dγ and dβ as
 * column sums over rows in one more dispatch (dβ written as that kernel's second output).
 * Reference: `layerNorm` and `rmsNorm` in ../norm.ts (biased variance, eps inside the square
 * root, as torch does).
 *
 * Dispatches: forward 1; backward 2 (dx with the statistics, then dγ and dβ), 1 (dx) when γ and
 * β are frozen.
 *
 * The add-residual form (`fusedNormAddResidual`) takes the residual stream x and the sublayer's
 * output δ and gives [x + δ, norm(x + δ)] from the one forward kernel, which writes the sum as a
 * second output: a pre-norm block's residual add costs no dispatch of its own. Its backward is the
 * residual form's (the stream's gradient added in the dx kernel), and x and δ take that same dx.
 *
 * The post-norm form (`fusedPostLayerNorm`, BERT's `LN(x + δ)`) gives the norm of x + δ twice, the
 * second output the first's buffer (no dispatch): the next sublayer reads one and the residual sum
 * after it the other, and the backward's dx and dγ kernels read the two gradients and add them as
 * they read dy, where tfjs would add them in a dispatch of its own. It reads x + δ again in the
 * backward instead of storing the sum. Dispatches as LayerNorm's.
 *
 * Both add forms can read δ through a residual dropout's hashed mask (../dropout.ts), in the
 * forward and wherever the backward reads x + δ again, so the mask is never stored; δ's gradient
 * is then dx through the same mask, one more backward dispatch (a dropout kernel would take that
 * one and a forward one besides).
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, emptyTensor, rowProgram, runIntoWritable, runProgram, runProgramInfo, withWritableBindings, type ProgramUniform, type WebGPUProgram } from './program';
import { HASH_WGSL, hashMask, type HashDropout } from './dropout';

export const LAYER_NORM_DISPATCHES = { forward: 1, backward: 2 };
export const RMS_NORM_DISPATCHES = { forward: 1, backward: 2 };
export const FROZEN_NORM_DISPATCHES = { forward: 1, backward: 1 };
/** γ (and β) differentiated but not x: the statistics, then dγ with dβ. */
export const NORM_PARAMS_ONLY_DISPATCHES = { forward: 1, backward: 2 };

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

/**
 * dx for this workgroup's row; the row's statistics, computed again here, go to `stats` for dγ.
 * `residual`: the gradient that reached x's other use (the residual stream) is added in.
 */
function dxBody(rms: boolean, residual: boolean): string {
	return `${statsSnippet(rms)}
	if (ok && tid == 0) {
		stats[row * 2] = mean;
		stats[row * 2 + 1] = rstd;
	}
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
		let v = rstd * (g - meanG - xhat * meanGX);
		result[base + c] = ${residual ? 'v + dRes[base + c]' : 'v'};
	}`;
}

/** dγ = Σ_rows dy · x̂ and (LayerNorm) dβ = Σ_rows dy into `dBeta`: one thread per column. */
function dGammaBody(rms: boolean): string {
	return `
	let N = uniforms.xShape[0];
	let D = uniforms.xShape[1];
	var acc = 0.0;
	var accB = 0.0;
	for (var i = 0; i < N; i++) {
		let g = dy[i * D + index];
		acc += g * (x[i * D + index] - stats[i * 2]) * stats[i * 2 + 1];
		accB += g;
	}
	result[index] = acc;
	${rms ? '' : 'dBeta[index] = accB;'}`;
}

interface NormAttrs {
	eps: number;
	rms: boolean;
}

const KERNELS = { layer: 'WhetstoneLayerNorm', rms: 'WhetstoneRmsNorm', layerResidual: 'WhetstoneLayerNormResidual', rmsResidual: 'WhetstoneRmsNormResidual' };

function kernelName(rms: boolean, residual: boolean): string {
	return rms ? (residual ? KERNELS.rmsResidual : KERNELS.rms) : residual ? KERNELS.layerResidual : KERNELS.layer;
}
let registered = false;

/**
 * The gradient thunks of a norm over rows x (N, D) with γ, for its upstream dy and, in the residual
 * forms, the residual stream's gradient `dRes` (added in the dx kernel). The statistics, dx and dβ
 * are written into tensors made here, when the backward reaches the op (tfjs disposes what a thunk
 * makes but does not return): dx's dispatch fills the statistics, dγ's fills dβ. tfjs asks in input
 * order (x, γ, β), and each thunk still works alone, computing what an earlier one would have left;
 * `dx` may be asked twice (the add form's x and δ) and runs its kernel once.
 */
function normGrads(
	rms: boolean,
	x: tf.Tensor,
	gamma: tf.Tensor,
	dy: tf.Tensor,
	dRes: tf.Tensor | null,
	eps: number,
	post?: PostInputs
): { dx: () => tf.Tensor; dGamma: () => tf.Tensor; dBeta?: () => tf.Tensor } {
	const drop = post?.drop ?? null;
	const kind = (rms ? 'Rms' : 'Layer') + (post ? 'Post' : '') + (drop ? 'Drop' : '');
	// The post form reads x + δ wherever the others read x (δ through its dropout mask), and dy + dy₂
	// wherever they read dy.
	const body = (b: string) => (post ? postBody(b, !!drop) : b);
	const prog = (p: WebGPUProgram) => (drop ? withDroppedDelta(p) : p);
	const extra = post ? [post.delta, post.dy2] : [];
	const extraNames = post ? ['delta', 'dy2'] : [];
	const [n, d] = x.shape;
	const dropDecl = drop ? DROP_UNIFORMS : '';
	const dropU = drop ? dropUniforms(drop) : [];
	const epsU: ProgramUniform[] = [{ type: 'float32', data: [eps] }, ...dropU];
	const stats = emptyTensor([n, 2]);
	const dxOut = emptyTensor([n, d]);
	const dBeta = rms ? null : emptyTensor([d]);
	let haveDx = false;
	let haveDBeta = false;
	const dx = () => {
		if (!haveDx) {
			const names = ['x', 'gamma', 'dy', ...(dRes ? ['dRes'] : []), ...extraNames, 'stats'];
			const program = prog(rowProgram(`whetstone${kind}NormDx${dRes ? 'Residual' : ''}`, names, [n, d], n, d, body(dxBody(rms, dRes !== null)), 'eps : f32,' + dropDecl));
			runIntoWritable(program, [...(dRes ? [x, gamma, dy, dRes] : [x, gamma, dy]), ...extra], [{ name: 'stats', tensor: stats }], epsU, dxOut);
			haveDx = true;
		}
		// A new tensor on the same buffer (no dispatch): dxOut itself goes when the backward pass ends.
		return dxOut.clone();
	};
	const dGamma = () => {
		if (!haveDx) runIntoWritable(prog(rowProgram(`whetstone${kind}NormStats`, ['x', ...extraNames.slice(0, 1)], [n, 2], n, d, body(statsBody(rms)), 'eps : f32,' + dropDecl)), [x, ...extra.slice(0, 1)], [], epsU, stats);
		const program = prog(elementwiseProgram(`whetstone${kind}NormDGamma`, ['x', 'dy', ...extraNames, 'stats', ...(rms ? [] : ['dBeta'])], [d], body(dGammaBody(rms)), dropDecl || undefined));
		const out = runIntoWritable(program, [x, dy, ...extra, stats], dBeta ? [{ name: 'dBeta', tensor: dBeta }] : [], drop ? dropU : undefined);
		haveDBeta = true;
		return out;
	};
	if (!dBeta) return { dx, dGamma };
	return {
		dx,
		dGamma,
		dBeta: () => {
			if (!haveDBeta) dGamma().dispose();
			return dBeta.clone();
		}
	};
}

/**
 * A registered kernel and gradient for each norm rather than tf.customGrad: each gradient is
 * computed only if something needs it, so a frozen γ and β (LoRA) cost dx alone (`normGrads`).
 *
 * The residual kernels have two outputs, x itself (the same buffer, no dispatch) and the norm: a
 * pre-norm block adds its sublayer to the first, so x has one use on the tape and the gradient of
 * the residual stream is added inside the dx kernel, not by tfjs accumulating x's two gradients
 * (one dispatch fewer per norm).
 */
function register(): void {
	if (registered) return;
	registered = true;
	for (const [rms, residual] of [[false, false], [false, true], [true, false], [true, true]]) {
		const kind = rms ? 'Rms' : 'Layer';
		tf.registerKernel({
			kernelName: kernelName(rms, residual),
			backendName: 'webgpu',
			kernelFunc: ({ inputs, backend, attrs }) => {
				const { eps } = attrs as unknown as NormAttrs;
				const names = rms ? ['x', 'gamma'] : ['x', 'gamma', 'beta'];
				const infos = names.map((k) => inputs[k] as tf.TensorInfo);
				const [n, d] = infos[0].shape;
				const y = runProgramInfo(backend, rowProgram(`whetstone${kind}Norm`, names, [n, d], n, d, forwardBody(rms), 'eps : f32,'), infos, [{ type: 'float32', data: [eps] }]);
				if (!residual) return y;
				// x passed through as tfjs's Identity kernel does: one more reference to its buffer.
				const x = infos[0];
				(backend as unknown as { incRef(id: unknown): void }).incRef(x.dataId);
				return [{ dataId: x.dataId, shape: x.shape, dtype: x.dtype }, y];
			}
		});
		tf.registerGradient({
			kernelName: kernelName(rms, residual),
			inputsToSave: ['x', 'gamma'],
			gradFunc: (dyIn, saved, attrs) => {
				const [x, gamma] = saved;
				// The residual kernels get [d(x passed through), d(norm)].
				const [dRes, dy] = residual ? (dyIn as tf.Tensor[]) : [null, dyIn as tf.Tensor];
				const g = normGrads(rms, x, gamma, dy, dRes, (attrs as unknown as NormAttrs).eps);
				return { x: g.dx, gamma: g.dGamma, ...(g.dBeta ? { beta: g.dBeta } : {}) };
			}
		});
	}
}

const ADD_KERNELS = { layer: 'WhetstoneLayerNormAddResidual', rms: 'WhetstoneRmsNormAddResidual' };
let addRegistered = false;

/**
 * The forward body reading x + δ wherever it read x, and writing that sum to `sum` as well. With
 * `drop`, δ is read through its hashed dropout mask (../dropout.ts: element i of δ kept by
 * mix32(i XOR key)), so a residual branch's dropout costs no forward dispatch of its own.
 */
function addForwardBody(rms: boolean, drop: boolean): string {
	const store = 'for (var c = tid; c < n; c += WG) {\n\t\tresult[base + c]';
	const body = forwardBody(rms).replaceAll('x[base + c]', '(x[base + c] + delta[base + c])');
	if (!body.includes(store)) throw new Error('fusedNormAddResidual: the forward body no longer has the loop it adds the sum to.');
	const added = body.replace(store, 'for (var c = tid; c < n; c += WG) {\n\t\tsum[base + c] = x[base + c] + delta[base + c];\n\t\tresult[base + c]');
	if (!drop) return added;
	return added.replaceAll('delta[base + c]', 'droppedDelta(base + c)');
}

/** WGSL: δ at i times its dropout factor (the kernel's uniforms carry the mask's parameters). */
const DROPPED_DELTA = `${HASH_WGSL}
	fn droppedDelta(i : i32) -> f32 {
		return delta[i] * dropKeep(uniforms.dropKey, u32(i), uniforms.dropThreshold, uniforms.dropInv);
	}`;

/** The uniforms a program reading δ through `droppedDelta` declares, after its own. */
const DROP_UNIFORMS = 'dropThreshold : i32, dropInv : f32, dropKey : u32,';

function dropUniforms(drop: HashDropout): ProgramUniform[] {
	return [
		{ type: 'int32', data: [drop.threshold] },
		{ type: 'float32', data: [drop.inv] },
		{ type: 'uint32', data: [drop.key >>> 0] }
	];
}

/** `program` with `droppedDelta` (and the hash it calls) prepended to its WGSL. */
function withDroppedDelta(program: WebGPUProgram): WebGPUProgram {
	const user = program.getUserCode;
	program.getUserCode = () => DROPPED_DELTA + user();
	return program;
}

/** The add-residual and post-norm kernels' attributes: eps, and δ's dropout (threshold 0: none). */
interface AddAttrs {
	eps: number;
	rms: boolean;
	dropThreshold: number;
	dropInv: number;
	dropKey: number;
}

function addAttrs(eps: number, rms: boolean, drop?: HashDropout): AddAttrs {
	return { eps, rms, dropThreshold: drop?.threshold ?? 0, dropInv: drop?.inv ?? 1, dropKey: drop?.key ?? 0 };
}

function dropOf(a: AddAttrs): HashDropout | null {
	return a.dropThreshold > 0 ? { threshold: a.dropThreshold, inv: a.dropInv, key: a.dropKey } : null;
}

/** δ's gradient: x's (`dx`), through δ's dropout mask when it has one (one dispatch). */
function deltaGrad(dx: () => tf.Tensor, drop: HashDropout | null): () => tf.Tensor {
	return drop ? () => tf.tidy(() => hashMask(dx(), drop)) : dx;
}

interface WritableInfoBackend {
	runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: ProgramUniform[]): tf.TensorInfo;
	makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

function registerAdd(): void {
	if (addRegistered) return;
	addRegistered = true;
	for (const rms of [false, true]) {
		const kind = rms ? 'Rms' : 'Layer';
		const kernelName = rms ? ADD_KERNELS.rms : ADD_KERNELS.layer;
		tf.registerKernel({
			kernelName,
			backendName: 'webgpu',
			kernelFunc: ({ inputs, backend, attrs }) => {
				const a = attrs as unknown as AddAttrs;
				const drop = dropOf(a);
				const names = rms ? ['x', 'delta', 'gamma'] : ['x', 'delta', 'gamma', 'beta'];
				const infos = names.map((k) => inputs[k] as tf.TensorInfo);
				const [n, d] = infos[0].shape;
				const b = backend as unknown as WritableInfoBackend;
				const sum = b.makeTensorInfo([n, d], 'float32');
				const program = rowProgram(
					`whetstone${kind}NormAdd${drop ? 'Drop' : ''}`,
					[...names, 'sum'],
					[n, d],
					n,
					d,
					addForwardBody(rms, !!drop),
					'eps : f32,' + (drop ? DROP_UNIFORMS : '')
				);
				const uniforms: ProgramUniform[] = [{ type: 'float32', data: [a.eps] }, ...(drop ? dropUniforms(drop) : [])];
				const y = withWritableBindings(['sum'], kernelName, () => b.runWebGPUProgram(drop ? withDroppedDelta(program) : program, [...infos, sum], 'float32', uniforms));
				return [sum, y];
			}
		});
		tf.registerGradient({
			kernelName,
			inputsToSave: ['gamma'],
			outputsToSave: [true, false],
			gradFunc: (dyIn, saved, attrs) => {
				const [gamma, x] = saved; // x: the sum, what was normalised
				const [dRes, dy] = dyIn as tf.Tensor[];
				const a = attrs as unknown as AddAttrs;
				const g = normGrads(rms, x, gamma, dy, dRes, a.eps);
				// x and δ take the same gradient: `g.dx` writes it once and gives each a clone; a
				// dropped δ takes it through its mask (one dispatch, where a dropout kernel's own
				// backward would take the same one and its forward another).
				return { x: g.dx, delta: deltaGrad(g.dx, dropOf(a)), gamma: g.dGamma, ...(g.dBeta ? { beta: g.dBeta } : {}) };
			}
		});
	}
}

/** The post form's second input, second upstream gradient and δ's dropout (`normGrads`). */
interface PostInputs {
	delta: tf.Tensor;
	dy2: tf.Tensor;
	drop: HashDropout | null;
}

/**
 * A body reading x + δ wherever it read x (δ through its dropout mask with `drop`: then the
 * program needs `withDroppedDelta` and `DROP_UNIFORMS`), and dy + dy₂ wherever it read dy.
 */
function postBody(body: string, drop: boolean): string {
	const delta = drop ? 'droppedDelta($1)' : 'delta[$1]';
	const out = body.replace(/\bx\[([^\]]+)\]/g, `(x[$1] + ${delta})`).replace(/\bdy\[([^\]]+)\]/g, '(dy[$1] + dy2[$1])');
	if (!/\bx\[/.test(body)) throw new Error('fusedPostLayerNorm: a norm body no longer reads x as it expects.');
	return out;
}

const POST_KERNEL = 'WhetstoneLayerNormPost';
let postRegistered = false;

function registerPost(): void {
	if (postRegistered) return;
	postRegistered = true;
	tf.registerKernel({
		kernelName: POST_KERNEL,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, backend, attrs }) => {
			const a = attrs as unknown as AddAttrs;
			const drop = dropOf(a);
			const infos = ['x', 'delta', 'gamma', 'beta'].map((k) => inputs[k] as tf.TensorInfo);
			const [n, d] = infos[0].shape;
			const body = postBody(forwardBody(false), !!drop);
			const program = rowProgram(`whetstoneLayerNormPost${drop ? 'Drop' : ''}`, ['x', 'delta', 'gamma', 'beta'], [n, d], n, d, body, 'eps : f32,' + (drop ? DROP_UNIFORMS : ''));
			const uniforms: ProgramUniform[] = [{ type: 'float32', data: [a.eps] }, ...(drop ? dropUniforms(drop) : [])];
			const y = runProgramInfo(backend, drop ? withDroppedDelta(program) : program, infos, uniforms);
			// The norm again as a second output: one more reference to its buffer, as tfjs's Identity makes.
			(backend as unknown as { incRef(id: unknown): void }).incRef(y.dataId);
			return [y, { dataId: y.dataId, shape: y.shape, dtype: y.dtype }];
		}
	});
	tf.registerGradient({
		kernelName: POST_KERNEL,
		inputsToSave: ['x', 'delta', 'gamma'],
		gradFunc: (dyIn, saved, attrs) => {
			const [x, delta, gamma] = saved;
			const [dy, dy2] = dyIn as tf.Tensor[];
			const a = attrs as unknown as AddAttrs;
			const drop = dropOf(a);
			const g = normGrads(false, x, gamma, dy, null, a.eps, { delta, dy2, drop });
			// x and δ take the same gradient (`g.dx` writes it once and gives each a clone), a
			// dropped δ through its mask, as the add form's.
			return { x: g.dx, delta: deltaGrad(g.dx, drop), gamma: g.dGamma, beta: g.dBeta! };
		}
	});
}

/**
 * [LN(x + δ), LN(x + δ)], one buffer given twice (see the file's comment); x, δ (N, D): the two
 * uses' gradients are added in the backward's kernels, and x and δ both take its dx. With `drop`,
 * LN(x + dropout(δ)), δ read through its hashed mask in every kernel that reads it.
 */
export function fusedPostLayerNorm(x: tf.Tensor2D, delta: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, drop?: HashDropout): [tf.Tensor2D, tf.Tensor2D] {
	registerPost();
	return tf.engine().runKernel(POST_KERNEL, { x, delta, gamma, beta } as unknown as tf.NamedTensorMap, addAttrs(eps, false, drop) as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/**
 * [x + δ, norm(x + δ)] in one forward dispatch (see the file's comment); x, δ (N, D). The sum's
 * gradient is added in the norm's dx kernel, and x and δ both take that dx.
 */
export function fusedNormAddResidual(rms: boolean, x: tf.Tensor2D, delta: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | null, eps: number, drop?: HashDropout): [tf.Tensor2D, tf.Tensor2D] {
	registerAdd();
	const inputs = rms ? { x, delta, gamma } : { x, delta, gamma, beta: beta as tf.Tensor1D };
	return tf.engine().runKernel(rms ? ADD_KERNELS.rms : ADD_KERNELS.layer, inputs as unknown as tf.NamedTensorMap, addAttrs(eps, rms, drop) as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

function normOp(rms: boolean, x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
	register();
	const inputs = rms ? { x, gamma } : { x, gamma, beta: beta as tf.Tensor1D };
	return tf.engine().runKernel(kernelName(rms, false), inputs as unknown as tf.NamedTensorMap, { eps, rms } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** [x, norm(x)]: x passed through for the residual add, so its gradient is added in the norm's dx kernel. */
export function fusedNormResidual(rms: boolean, x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D | null, eps: number): [tf.Tensor2D, tf.Tensor2D] {
	register();
	const inputs = rms ? { x, gamma } : { x, gamma, beta: beta as tf.Tensor1D };
	return tf.engine().runKernel(kernelName(rms, true), inputs as unknown as tf.NamedTensorMap, { eps, rms } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/** x (N, D), γ and β (D); LayerNorm over the last axis. */
export function fusedLayerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
	return normOp(false, x, gamma, beta, eps);
}

/** x (N, D), γ (D); RMSNorm over the last axis. */
export function fusedRmsNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, eps: number): tf.Tensor2D {
	return normOp(true, x, gamma, null, eps);
}
