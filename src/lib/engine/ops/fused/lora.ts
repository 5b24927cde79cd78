/**
 * LoRA's low-rank path on WebGPU for one or more projections of one input side by side (Llama's
 * q | k | v and gate | up, or a single linear): y = base + scale · [drop₁(x)·A₁ᵀ·B₁ᵀ | … ], where
 * base is the frozen projection(s) (`linear` / `linearSideBySide`) and a part without an adapter
 * adds nothing. Reference: `loraSideBySide`'s composite in ../lora.ts.
 *
 * Two ops, each one dispatch forward:
 * - down: h = [drop₁(x)·A₁ᵀ | drop₂(x)·A₂ᵀ | …], (N, R = adapters · r), from the adapters' A joined
 *   by buffer copies (pack.ts). LoRA dropout is applied inside the kernel with a counter-based
 *   hash of (the call's seed, the adapter, the element's index) — `keepScale`, the same function
 *   as `loraKeepMask` in ../lora.ts — so each adapter draws its own mask, as peft's per-module
 *   dropout does, without a mask tensor, and the backward recomputes it instead of saving it.
 * - up: y = base + scale · h·Bᵀ per part, reading each output column's adapter from the parts'
 *   layout (uniforms), with B's of the adapters joined by buffer copies.
 * Backward: base's gradient is dy itself (no dispatch); dh, dB (one dispatch each); dx and dA of
 * down (one each). With the frozen base's dx and the add tfjs makes to sum x's two gradients,
 * a LoRA projection group takes 3 dispatches forward and 6 backward, however many parts it has;
 * the composite takes, per adapter, two matmuls, a scale and an add forward (and dropout's draws
 * and masks), and their gradients back.
 *
 * The kernels are one thread per output with a loop over the short side (r, or the rows for the
 * weight gradients): the low-rank products are small next to the base's.
 */
import { noteDropSeed } from '../../compiled/notes';
import * as tf from '@tensorflow/tfjs';
import { elementwiseProgram, runProgram, runProgramInfo } from './program';
import { HASH_WGSL } from './dropout';

/** A LoRA projection group with its frozen base, as `checkFusedKernels` counts it. */
export const LORA_DISPATCHES = { forward: 3, backward: 6 };

/** At most this many projections side by side in one group (the uniforms name each). */
export const LORA_MAX_PARTS = 4;

const DOWN = 'WhetstoneLoraDown';
const UP = 'WhetstoneLoraUp';

/** Dropout of the down op: keep an element when its 24-bit hash is at least `threshold`. */
export interface LoraDropoutAttrs {
	/** round(rate · 2²⁴); 0 when off. */
	threshold: number;
	/** 1 / (1 − rate). */
	inv: number;
	/** The call's seed (uint32). */
	seed: number;
	/** The rank of every adapter (h's columns come in adapters of r). */
	rank: number;
}

/** Where each part's columns end, its adapter (or −1), and its first row in the joined B (or −1). */
export interface LoraUpAttrs {
	ends: number[];
	adapters: number[];
	bRows: number[];
	rank: number;
	scale: number;
}

/** WGSL: the 32-bit mixer (dropout.ts's), each adapter's key and an element's keep-and-scale factor (see loraKeepMask). */
const hash = `${HASH_WGSL}
	fn adapterKey(a : i32) -> u32 {
		return mix32(bitcast<u32>(uniforms.seed) + u32(a) * 0x9e3779b9u);
	}
	fn keepScale(key : u32, at : u32) -> f32 {
		if (uniforms.threshold <= 0) { return 1.0; }
		let u = i32(mix32(at ^ key) >> 8u);
		return select(0.0, uniforms.inv, u >= uniforms.threshold);
	}`;

const dropoutUniforms = 'threshold : i32, inv : f32, seed : i32, rank : i32,';

function dropoutData(a: LoraDropoutAttrs) {
	if (a.threshold > 0) noteDropSeed(a.seed >>> 0); // a compiled step (compiled/step-plan.ts) rewrites it each replay
	return [
		{ type: 'int32' as const, data: [a.threshold] },
		{ type: 'float32' as const, data: [a.inv] },
		{ type: 'int32' as const, data: [a.seed | 0] },
		{ type: 'int32' as const, data: [a.rank] }
	];
}

/** h[n, j] = Σ_k x[n, k] · keep · A[j, k]; x (N, K), A (R, K). */
const downBody = `
	let K = uniforms.xShape[1];
	let R = uniforms.aShape[0];
	let n = index / R;
	let j = index % R;
	let key = adapterKey(j / uniforms.rank);
	var acc = 0.0;
	for (var k = 0; k < K; k++) {
		let at = n * K + k;
		acc += x[at] * keepScale(key, u32(at)) * a[j * K + k];
	}
	result[index] = acc;`;

/** dx[n, k] = Σ_j dh[n, j] · A[j, k] · keep(adapter of j, n, k); dh (N, R), A (R, K). */
const downDxBody = `
	let K = uniforms.aShape[1];
	let R = uniforms.aShape[0];
	let r = uniforms.rank;
	let n = index / K;
	let k = index % K;
	var acc = 0.0;
	for (var a0 = 0; a0 < R; a0 += r) {
		let m = keepScale(adapterKey(a0 / r), u32(index));
		if (m != 0.0) {
			var s = 0.0;
			for (var t = 0; t < r; t++) { s += dh[n * R + a0 + t] * a[(a0 + t) * K + k]; }
			acc += m * s;
		}
	}
	result[index] = acc;`;

/** dA[j, k] = Σ_n dh[n, j] · x[n, k] · keep; dh (N, R), x (N, K). */
const downDaBody = `
	let N = uniforms.xShape[0];
	let K = uniforms.xShape[1];
	let R = uniforms.dhShape[1];
	let j = index / K;
	let k = index % K;
	let key = adapterKey(j / uniforms.rank);
	var acc = 0.0;
	for (var n = 0; n < N; n++) {
		let at = n * K + k;
		acc += dh[n * R + j] * x[at] * keepScale(key, u32(at));
	}
	result[index] = acc;`;

const upUniforms = 'e0 : i32, e1 : i32, e2 : i32, e3 : i32, a0 : i32, a1 : i32, a2 : i32, a3 : i32, b0 : i32, b1 : i32, b2 : i32, b3 : i32, rank : i32, scale : f32,';

/** WGSL: the part of output column c, and a part's first column, adapter and first row of B. */
const layout = `
	fn pick(p : i32, v0 : i32, v1 : i32, v2 : i32, v3 : i32) -> i32 {
		if (p == 0) { return v0; }
		if (p == 1) { return v1; }
		if (p == 2) { return v2; }
		return v3;
	}
	fn partOf(c : i32) -> i32 {
		if (c < uniforms.e0) { return 0; }
		if (c < uniforms.e1) { return 1; }
		if (c < uniforms.e2) { return 2; }
		return 3;
	}
	fn startOf(p : i32) -> i32 { return pick(p, 0, uniforms.e0, uniforms.e1, uniforms.e2); }
	fn endOf(p : i32) -> i32 { return pick(p, uniforms.e0, uniforms.e1, uniforms.e2, uniforms.e3); }
	fn adapterOf(p : i32) -> i32 { return pick(p, uniforms.a0, uniforms.a1, uniforms.a2, uniforms.a3); }
	fn bRowOf(p : i32) -> i32 { return pick(p, uniforms.b0, uniforms.b1, uniforms.b2, uniforms.b3); }`;

function upData(a: LoraUpAttrs) {
	const four = (xs: number[], fill: number) => [0, 1, 2, 3].map((i) => xs[i] ?? fill);
	const last = a.ends[a.ends.length - 1];
	return [
		...four(a.ends, last).map((v) => ({ type: 'int32' as const, data: [v] })),
		...four(a.adapters, -1).map((v) => ({ type: 'int32' as const, data: [v] })),
		...four(a.bRows, -1).map((v) => ({ type: 'int32' as const, data: [v] })),
		{ type: 'int32' as const, data: [a.rank] },
		{ type: 'float32' as const, data: [a.scale] }
	];
}

/** y[n, c] = base[n, c] + scale · Σ_t h[n, adapter·r + t] · B[row, t] where c's part has an adapter. */
const upBody = `
	let C = uniforms.baseShape[1];
	let R = uniforms.hShape[1];
	let r = uniforms.rank;
	let n = index / C;
	let c = index % C;
	let p = partOf(c);
	let ad = adapterOf(p);
	var v = base[index];
	if (ad >= 0) {
		let row = bRowOf(p) + c - startOf(p);
		var s = 0.0;
		for (var t = 0; t < r; t++) { s += h[n * R + ad * r + t] * bUp[row * r + t]; }
		v += uniforms.scale * s;
	}
	result[index] = v;`;

/** dh[n, j] = scale · Σ_{c in j's part} dy[n, c] · B[row(c), t]. */
const upDhBody = `
	let C = uniforms.dyShape[1];
	let r = uniforms.rank;
	let R = uniforms.outShape[1];
	let n = index / R;
	let j = index % R;
	let ad = j / r;
	let t = j % r;
	var p = 0;
	for (var q = 0; q < 4; q++) { if (adapterOf(q) == ad) { p = q; } }
	let start = startOf(p);
	let row0 = bRowOf(p);
	var s = 0.0;
	for (var c = start; c < endOf(p); c++) { s += dy[n * C + c] * bUp[(row0 + c - start) * r + t]; }
	result[index] = uniforms.scale * s;`;

/** dB[row, t] = scale · Σ_n dy[n, column of row] · h[n, adapter·r + t]. */
const upDbBody = `
	let N = uniforms.dyShape[0];
	let C = uniforms.dyShape[1];
	let R = uniforms.hShape[1];
	let r = uniforms.rank;
	let row = index / r;
	let t = index % r;
	var p = 0;
	for (var q = 0; q < 4; q++) {
		let b0 = bRowOf(q);
		if (b0 >= 0 && row >= b0 && row < b0 + endOf(q) - startOf(q)) { p = q; }
	}
	let c = startOf(p) + row - bRowOf(p);
	let hc = adapterOf(p) * r + t;
	var s = 0.0;
	for (var n = 0; n < N; n++) { s += dy[n * C + c] * h[n * R + hc]; }
	result[index] = uniforms.scale * s;`;

function program(key: string, names: string[], shape: number[], body: string, uniforms: string, prelude: string) {
	const p = elementwiseProgram(key, names, shape, body, uniforms);
	const user = p.getUserCode;
	p.getUserCode = () => prelude + user();
	return p;
}

let registered = false;

function register(): void {
	if (registered) return;
	registered = true;
	tf.registerKernel({
		kernelName: DOWN,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, attrs, backend }) => {
			const [x, a] = [inputs.x!, inputs.a!];
			return runProgramInfo(backend, program('whetstoneLoraDown', ['x', 'a'], [x.shape[0], a.shape[0]], downBody, dropoutUniforms, hash), [x, a], dropoutData(attrs as unknown as LoraDropoutAttrs));
		}
	});
	tf.registerGradient({
		kernelName: DOWN,
		inputsToSave: ['x', 'a'],
		gradFunc: (dh, saved, attrs) => {
			const [x, a] = saved;
			const at = attrs as unknown as LoraDropoutAttrs;
			return {
				x: () => runProgram(program('whetstoneLoraDownDx', ['dh', 'a'], x.shape, downDxBody, dropoutUniforms, hash), [dh as tf.Tensor, a], dropoutData(at)),
				a: () => runProgram(program('whetstoneLoraDownDa', ['dh', 'x'], a.shape, downDaBody, dropoutUniforms, hash), [dh as tf.Tensor, x], dropoutData(at))
			};
		}
	});
	tf.registerKernel({
		kernelName: UP,
		backendName: 'webgpu',
		kernelFunc: ({ inputs, attrs, backend }) => {
			const [base, h, b] = [inputs.base!, inputs.h!, inputs.b!];
			return runProgramInfo(backend, program('whetstoneLoraUp', ['base', 'h', 'bUp'], base.shape, upBody, upUniforms, layout), [base, h, b], upData(attrs as unknown as LoraUpAttrs));
		}
	});
	tf.registerGradient({
		kernelName: UP,
		inputsToSave: ['h', 'b'],
		gradFunc: (dy, saved, attrs) => {
			const [h, b] = saved;
			const d = dy as tf.Tensor;
			const data = upData(attrs as unknown as LoraUpAttrs);
			return {
				base: () => d.clone(),
				h: () => runProgram(program('whetstoneLoraUpDh', ['dy', 'bUp'], h.shape, upDhBody, upUniforms, layout), [d, b], data),
				b: () => runProgram(program('whetstoneLoraUpDb', ['dy', 'h'], b.shape, upDbBody, upUniforms, layout), [d, h], data)
			};
		}
	});
}

/** h (N, R) = the adapters' dropped-out x times their joined A (R, K), transposed. */
export function fusedLoraDown(x: tf.Tensor2D, a: tf.Tensor2D, attrs: LoraDropoutAttrs): tf.Tensor2D {
	register();
	return tf.engine().runKernel(DOWN, { x, a } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** base (N, C) plus scale · h·Bᵀ in each adapted part's columns; b (Σ adapted outs, r). */
export function fusedLoraUp(base: tf.Tensor2D, h: tf.Tensor2D, b: tf.Tensor2D, attrs: LoraUpAttrs): tf.Tensor2D {
	register();
	return tf.engine().runKernel(UP, { base, h, b } as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}
