/**
 * Each fused WebGPU kernel against its composite reference on random shapes, odd sizes included:
 * the forward value and every gradient (for a random upstream gradient) on both paths, their
 * largest relative difference (max |fused − composite| / max |composite|, per output), and the GPU
 * dispatches each path takes forward and backward, counted by wrapping the compute pass's
 * `dispatchWorkgroups` (tfjs encodes a kernel's dispatch when the op runs). Runs in the engine
 * worker on WebGPU for the browser tests (workers/engine-api.ts `fusedKernelCheck`).
 */
import * as tf from '@tensorflow/tfjs';
import { fastPathEnabled, setFastPath } from '../../fast-path';
import { gpuErrorLog } from '../../backend';
import { crossEntropy } from '../loss';
import { layerNorm, layerNormAddResidual, layerNormResidual, postLayerNorm, rmsNorm, rmsNormAddResidual, rmsNormResidual } from '../norm';
import { geluErf, geluTanh, silu, siluGate, siluGatePacked } from '../activations';
import { linear, linearSideBySide } from '../linear';
import { loraSideBySide, type LoraPart } from '../lora';
import { LORA_DISPATCHES } from './lora';
import { applyRope, applyRopeHeads } from '../rope';
import { attendHeads, attendPacked, attention } from '../attention';
import { causalLmLoss, causalLmLossAndCorrect, singleLabelLossAndCorrect } from '../../models/heads';
import { embedding } from '../embedding';
import { EMBEDDING_DISPATCHES } from './embedding';
import { meanPool } from '../pool';
import { addPositions } from '../positions';
import { ADD_POSITIONS_DISPATCHES } from './positions';
import { MEAN_POOL_DISPATCHES } from './pool';
import { CROSS_ENTROPY_DISPATCHES } from './cross-entropy';
import { FROZEN_NORM_DISPATCHES, LAYER_NORM_DISPATCHES, NORM_PARAMS_ONLY_DISPATCHES, RMS_NORM_DISPATCHES } from './norm';
import { ACTIVATION_DISPATCHES, SILU_GATE_DISPATCHES, SILU_GATE_PACKED_DISPATCHES } from './activations';
import { FROZEN_LINEAR_DISPATCHES, LINEAR_DISPATCHES } from './linear';
import { ROPE_DISPATCHES } from './rope';
import { ATTENTION_DISPATCHES } from './attention';
import { DROPOUT_DISPATCHES } from './dropout';
import { dropout } from '../dropout';
import { reductions, setReductions, type Reductions } from './reductions';

export interface DispatchCount {
	forward: number;
	backward: number;
}

export interface FusedCase {
	kernel: string;
	/** e.g. "rows 7 × width 63, smoothing 0.1". */
	shape: string;
	/** Relative error of the value, then of each gradient, by name. */
	errors: Record<string, number>;
	fused: DispatchCount;
	composite: DispatchCount;
	/** What the kernel's file says it takes. */
	claimed: DispatchCount;
}

export interface FusedCheck {
	cases: FusedCase[];
	/** The largest relative error over all cases. */
	maxError: number;
	/** tf.memory().numTensors after the check minus before (0 when nothing leaks). */
	tensorsLeaked: number;
	/**
	 * Errors the GPU reported during the check (a pipeline over a device limit, say): an invalid
	 * dispatch writes nothing, so its output would hold a pooled buffer's old contents.
	 */
	gpuErrors: string[];
}

let dispatches = 0;

/** Count dispatches while `f` runs (the wrapper is removed afterwards). */
function countDispatches<T>(f: () => T): { result: T; count: number } {
	const proto = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } }).GPUComputePassEncoder?.prototype;
	if (!proto) throw new Error('This context has no WebGPU (GPUComputePassEncoder is missing); the fused kernels run only on WebGPU.');
	const original = proto.dispatchWorkgroups;
	proto.dispatchWorkgroups = function (this: unknown, ...args: unknown[]) {
		dispatches++;
		return original.apply(this, args);
	};
	const before = dispatches;
	try {
		const result = f();
		return { result, count: dispatches - before };
	} finally {
		proto.dispatchWorkgroups = original;
	}
}

interface Problem {
	kernel: string;
	shape: string;
	claimed: DispatchCount;
	/** Differentiable inputs, then the op on them. */
	inputs: tf.Tensor[];
	/** Tensors the op reads but does not differentiate (a LoRA base's frozen weights). */
	constants?: tf.Tensor[];
	names: string[];
	op: (...xs: tf.Tensor[]) => tf.Tensor;
}

interface PathResult {
	values: Float32Array[];
	count: DispatchCount;
}

async function runPath(p: Problem, fast: boolean, dy: tf.Tensor): Promise<PathResult> {
	setFastPath(fast);
	const forward = countDispatches(() => tf.tidy(() => p.op(...p.inputs)));
	const both = countDispatches(() => tf.tidy(() => {
		const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => p.op(...xs))(p.inputs, dy);
		return [value, ...grads];
	}));
	const outs = both.result;
	const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
	tf.dispose([forward.result, ...outs]);
	return { values, count: { forward: forward.count, backward: both.count - forward.count } };
}

function relError(a: Float32Array, b: Float32Array): number {
	let diff = 0;
	let scale = 0;
	for (let i = 0; i < b.length; i++) {
		diff = Math.max(diff, Math.abs(a[i] - b[i]));
		scale = Math.max(scale, Math.abs(b[i]));
	}
	if (!Number.isFinite(diff)) return Infinity;
	return scale === 0 ? diff : diff / scale;
}

function problems(seed: number): Problem[] {
	let k = seed * 1000;
	const normal = (shape: number[], std = 1, mean = 0) => tf.randomNormal(shape, mean, std, 'float32', k++);
	const out: Problem[] = [];
	// 5,000 classes: rows of 4,096 or more take the 256-thread workgroups.
	for (const [n, c] of [[1, 17], [7, 513], [33, 17], [33, 513], [3, 5000]]) {
		for (const labelSmoothing of [0, 0.1]) {
			const ids = Array.from({ length: n }, (_, i) => (i % 5 === 3 ? -100 : (i * 7919 + seed * 31) % c));
			out.push({
				kernel: 'crossEntropy',
				shape: `rows ${n} × vocab ${c}, smoothing ${labelSmoothing}`,
				claimed: CROSS_ENTROPY_DISPATCHES,
				inputs: [normal([n, c], 3)],
				names: ['loss', 'dlogits'],
				// Labels made inside the differentiated function, as a training step makes them.
				op: (logits) => crossEntropy(logits as tf.Tensor2D, tf.tensor1d(ids, 'int32'), { labelSmoothing })
			});
		}
	}
	// Embedding rows for ids with repeats, and ids outside the table (a zero row, no gradient).
	for (const [v, d, n] of [[17, 5, 7], [65, 63, 33], [513, 130, 2 * 9]]) {
		const ids = Array.from({ length: n }, (_, i) => (i === 3 ? -1 : i === 5 ? v : (i * 7919 + seed * 31) % Math.min(v, 11)));
		out.push({
			kernel: 'embedding',
			shape: `vocab ${v} × width ${d}, ${n} ids`,
			claimed: EMBEDDING_DISPATCHES,
			inputs: [normal([v, d])],
			names: ['rows', 'dtable'],
			op: (table) => embedding(table as tf.Tensor2D, tf.tensor1d(ids, 'int32'))
		});
	}
	// Masked mean pooling (the from-scratch classifier's head): padded tails, and a row with no position left.
	for (const [b, t, d] of [[1, 1, 5], [3, 7, 63], [4, 33, 130]]) {
		const mask = Array.from({ length: b * t }, (_, i) => (Math.floor(i / t) === 2 ? 0 : i % t < t - (Math.floor(i / t) + seed) % t ? 1 : 0));
		out.push({
			kernel: 'meanPool',
			shape: `batch ${b} × positions ${t} × width ${d}`,
			claimed: MEAN_POOL_DISPATCHES,
			inputs: [normal([b, t, d])],
			names: ['pooled', 'dh'],
			op: (h) => meanPool(h as tf.Tensor3D, tf.tensor2d(mask, [b, t], 'float32'))
		});
	}
	// Rotary positions: heads side by side (B, T, H, hs) with one table for the batch, heads first
	// (B, H, T, hs) with a table per row, a partial rotation (GPT-NeoX), and one position (a decode step).
	for (const [shape, table, label] of [
		[[2, 7, 3, 8], [1, 7, 1, 8], 'heads side by side'],
		[[2, 3, 5, 16], [2, 1, 5, 16], 'heads first, a table per row'],
		[[3, 9, 2, 10], [1, 9, 1, 4], 'partial: 4 of 10 dimensions'],
		[[2, 4, 1, 12], [2, 1, 1, 12], 'one position']
	] as const) {
		// Angles from a formula, uploaded (no dispatch of their own inside the op).
		const size = table.reduce((a: number, b: number) => a * b, 1);
		const angles = Array.from({ length: size }, (_, j) => ((j * 7919 + seed * 31) % 97) / 10);
		const cosines = Float32Array.from(angles, Math.cos);
		const sines = Float32Array.from(angles, Math.sin);
		out.push({
			kernel: 'rope',
			shape: `${shape.join(' × ')}, table ${table.join(' × ')}, ${label}`,
			claimed: ROPE_DISPATCHES,
			inputs: [normal([...shape])],
			names: ['y', 'dx'],
			op: (x) => applyRope(x as tf.Tensor4D, tf.tensor4d(cosines, [...table]), tf.tensor4d(sines, [...table]))
		});
	}
	// RoPE on the q and k heads of a packed q | k | v (v's heads pass): heads side by side with
	// grouped kv heads, heads first with a table per row, and a partial rotation.
	for (const [shape, table, rotated, label] of [
		[[2, 7, 8, 8], [1, 7, 1, 8], 6, 'q 4 + k 2 heads turn, v 2 pass'],
		[[2, 3, 5, 16], [2, 1, 5, 16], 2, 'heads first, a table per row, 2 of 3 heads turn'],
		[[1, 9, 9, 10], [1, 9, 1, 4], 6, 'partial: 4 of 10 dimensions, 6 of 9 heads turn']
	] as const) {
		const size = table.reduce((a: number, b: number) => a * b, 1);
		const angles = Array.from({ length: size }, (_, j) => ((j * 7919 + seed * 37) % 89) / 10);
		const cosines = Float32Array.from(angles, Math.cos);
		const sines = Float32Array.from(angles, Math.sin);
		out.push({
			kernel: 'ropeHeads',
			shape: `${shape.join(' × ')}, table ${table.join(' × ')}, ${label}`,
			claimed: ROPE_DISPATCHES,
			inputs: [normal([...shape])],
			names: ['y', 'dx'],
			op: (x) => applyRopeHeads(x as tf.Tensor4D, tf.tensor4d(cosines, [...table]), tf.tensor4d(sines, [...table]), rotated)
		});
	}
	// Learned positions added to token embeddings: a table longer than the sequence, and as long.
	for (const [b, t, d, pos] of [[1, 1, 5, 4], [3, 7, 63, 9], [4, 33, 130, 33]]) {
		out.push({
			kernel: 'addPositions',
			shape: `batch ${b} × positions ${t} × width ${d}, table of ${pos}`,
			claimed: ADD_POSITIONS_DISPATCHES,
			inputs: [normal([b, t, d]), normal([pos, d])],
			names: ['sum', 'dx', 'dwpe'],
			op: (x, wpe) => addPositions(x as tf.Tensor3D, wpe as tf.Tensor2D)
		});
	}
	// The causal-LM loss: logits at t scored against the label at t + 1 (-100 ignored), no slices on the fast path.
	for (const [b, t, c] of [[1, 2, 17], [3, 7, 513], [2, 33, 17]]) {
		const ids = Array.from({ length: b * t }, (_, i) => (i % 4 === 2 ? -100 : (i * 7919 + seed * 31) % c));
		out.push({
			kernel: 'causalLmLoss',
			shape: `batch ${b} × positions ${t} × vocab ${c}`,
			claimed: CROSS_ENTROPY_DISPATCHES,
			inputs: [normal([b, t, c], 3)],
			names: ['loss', 'dlogits'],
			op: (logits) => causalLmLoss(logits, tf.tensor2d(ids, [b, t], 'int32'))
		});
	}
	// With the next-token hits (the accuracy a causal-LM step logs): every third position's next
	// label is made its largest logit, so the count is neither 0 nor every position.
	for (const [b, t, c] of [[2, 9, 17], [3, 33, 513]]) {
		const ids = Array.from({ length: b * t }, (_, i) => (i % 5 === 2 ? -100 : (i * 7919 + seed * 31) % c));
		const boost = new Float32Array(b * t * c);
		for (let r = 0; r < b * t; r++) if (r % t < t - 1 && r % 3 === 0 && ids[r + 1] >= 0) boost[r * c + ids[r + 1]] = 12;
		const base = normal([b, t, c], 3);
		const logits = tf.tidy(() => base.add(tf.tensor3d(boost, [b, t, c])));
		base.dispose();
		out.push({
			kernel: 'causalLmLossAndCorrect',
			shape: `batch ${b} × positions ${t} × vocab ${c}`,
			claimed: { forward: CROSS_ENTROPY_DISPATCHES.forward + 1, backward: CROSS_ENTROPY_DISPATCHES.backward },
			inputs: [logits],
			names: ['loss and hits', 'dlogits'],
			op: (x) => {
				const r = causalLmLossAndCorrect(x, tf.tensor2d(ids, [b, t], 'int32'));
				return tf.stack([r.loss, r.correct]);
			}
		});
	}
	// A classifier's loss and hits (single-label, as a sequence-classification step logs them): a
	// batch's filler rows (label -1) count in neither; every other row's label is raised to be its
	// largest logit, by a margin that keeps 1 − p well above float32's rounding of p (a row predicted
	// with near certainty would make the relative error of dlogits measure only that rounding).
	for (const [n, c, labelSmoothing] of [[4, 2, 0], [9, 5, 0.1], [33, 513, 0]]) {
		const ids = Array.from({ length: n }, (_, i) => (i % 4 === 3 ? -1 : (i * 7919 + seed * 31) % c));
		const boost = new Float32Array(n * c);
		ids.forEach((id, r) => {
			if (id >= 0 && r % 2 === 0) boost[r * c + id] = 4;
		});
		const base = normal([n, c], 1);
		const logits = tf.tidy(() => base.add(tf.tensor2d(boost, [n, c])));
		base.dispose();
		out.push({
			kernel: 'singleLabelLossAndCorrect',
			shape: `rows ${n} × classes ${c}, smoothing ${labelSmoothing}`,
			claimed: { forward: CROSS_ENTROPY_DISPATCHES.forward + 1, backward: CROSS_ENTROPY_DISPATCHES.backward },
			inputs: [logits],
			names: ['loss and hits', 'dlogits'],
			op: (x) => {
				const r = singleLabelLossAndCorrect(x as tf.Tensor2D, tf.tensor1d(ids, 'int32'), labelSmoothing);
				return tf.stack([r.loss, r.correct]);
			}
		});
	}
	for (const [n, d] of [[1, 5], [7, 63], [33, 130], [7, 5], [1, 130], [3, 4100]]) {
		out.push({
			kernel: 'layerNorm',
			shape: `rows ${n} × width ${d}`,
			claimed: LAYER_NORM_DISPATCHES,
			inputs: [normal([n, d], 2, 0.5), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'dgamma', 'dbeta'],
			op: (x, g, b) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5)
		});
		out.push({
			kernel: 'rmsNorm',
			shape: `rows ${n} × width ${d}`,
			claimed: RMS_NORM_DISPATCHES,
			inputs: [normal([n, d], 2, 0.5), normal([d], 0.2, 1)],
			names: ['y', 'dx', 'dgamma'],
			op: (x, g) => rmsNorm(x, g as tf.Tensor1D, 1e-6)
		});
	}
	// A rank-3 input, as the models pass (B, T, d).
	out.push({
		kernel: 'layerNorm',
		shape: 'batch 2 × rows 7 × width 63',
		claimed: LAYER_NORM_DISPATCHES,
		inputs: [normal([2, 7, 63], 2), normal([63], 0.2, 1), normal([63], 0.2)],
		names: ['y', 'dx', 'dgamma', 'dbeta'],
		op: (x, g, b) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5)
	});
	// Odd widths take the scalar matmul; multiples of 4 the vec4 one on a software adapter: rows
	// that do not fill a block (33, 7), an odd count of vec4 columns (20, 36) and a single row.
	for (const [n, inDim, outDim] of [[1, 5, 17], [7, 63, 17], [33, 130, 63], [2 * 7, 63, 130], [33, 128, 64], [7, 36, 20], [1, 8, 12]]) {
		for (const layout of ['out_in', 'in_out'] as const) {
			const w = layout === 'out_in' ? [outDim, inDim] : [inDim, outDim];
			out.push({
				kernel: 'linear',
				shape: `rows ${n} × in ${inDim} → out ${outDim}, ${layout}`,
				claimed: LINEAR_DISPATCHES,
				inputs: [normal([n, inDim]), normal(w, 0.3), normal([outDim], 0.3)],
				names: ['y', 'dx', 'dw', 'db'],
				op: (x, wt, b) => linear(x, wt as tf.Tensor2D, b as tf.Tensor1D, layout)
			});
			out.push({
				kernel: 'linearNoBias',
				shape: `rows ${n} × in ${inDim} → out ${outDim}, ${layout}`,
				claimed: LINEAR_DISPATCHES,
				inputs: [normal([n, inDim]), normal(w, 0.3)],
				names: ['y', 'dx', 'dw'],
				op: (x, wt) => linear(x, wt as tf.Tensor2D, undefined, layout)
			});
		}
	}
	// Maps of one input side by side (Llama's q | k | v and gate | up on the fast path): the weights
	// joined by copies, one linear; odd widths (scalar kernels) and multiples of 4 (vec4), biases or none.
	for (const [n, inDim, outs, bias] of [
		[7, 63, [17, 5, 5], true],
		[33, 128, [64, 32, 32], false],
		[9, 36, [20, 20], true]
	] as const) {
		const ws = outs.map((o) => normal([o, inDim], 0.3));
		const bs = bias ? outs.map((o) => normal([o], 0.3)) : [];
		out.push({
			kernel: 'linearSideBySide',
			shape: `rows ${n} × in ${inDim} → out ${outs.join(' | ')}${bias ? ', biases' : ''}`,
			claimed: LINEAR_DISPATCHES,
			inputs: [normal([n, inDim]), ...ws, ...bs],
			names: ['y', 'dx', ...outs.map((_, i) => `dw${i}`), ...bs.map((_, i) => `db${i}`)],
			op: (x, ...rest) => linearSideBySide(x, rest.slice(0, outs.length) as tf.Tensor2D[], bias ? (rest.slice(outs.length) as tf.Tensor1D[]) : undefined)
		});
	}
	// LoRA on projections side by side (Llama's q | k | v with adapters on q and v, gate | up, GPT-2's
	// Conv1D alone): the frozen base, then every adapter's low-rank term in the down and up kernels,
	// with hashed dropout (the same masks on both paths); x, every A and every B differentiated.
	for (const [n, inDim, outs, adapted, rank, bias, rate, layout] of [
		[7, 63, [17, 5, 5], [true, false, true], 3, true, 0.1, 'out_in'],
		[33, 128, [64, 32, 32], [true, true, true], 8, false, 0, 'out_in'],
		[12, 40, [24, 24], [true, true], 2, false, 0.05, 'out_in'],
		[9, 36, [20], [true], 4, true, 0.2, 'in_out']
	] as const) {
		const ws = outs.map((o) => normal(layout === 'out_in' ? [o, inDim] : [inDim, o], 0.3));
		const bs = bias ? outs.map((o) => normal([o], 0.3)) : [];
		const on = outs.map((_, i) => adapted[i]);
		const as = outs.flatMap((_, i) => (on[i] ? [normal([rank, inDim], 0.3)] : []));
		const bUps = outs.flatMap((o, i) => (on[i] ? [normal([o, rank], 0.3)] : []));
		out.push({
			kernel: 'loraSideBySide',
			shape: `rows ${n} × in ${inDim} → out ${outs.map((o, i) => `${o}${on[i] ? '*' : ''}`).join(' | ')} (* adapted, rank ${rank})${bias ? ', biases' : ''}, dropout ${rate}, ${layout}`,
			claimed: LORA_DISPATCHES,
			inputs: [normal([n, inDim]), ...as, ...bUps],
			constants: [...ws, ...bs],
			names: ['y', 'dx', ...as.map((_, i) => `dA${i}`), ...bUps.map((_, i) => `dB${i}`)],
			op: (x, ...rest) => {
				let k = 0;
				const parts: LoraPart[] = outs.map((_, i) => {
					const part: LoraPart = { w: ws[i] as tf.Tensor2D, b: bias ? (bs[i] as tf.Tensor1D) : undefined };
					if (on[i]) {
						part.loraA = rest[k] as tf.Tensor2D;
						part.loraB = rest[as.length + k] as tf.Tensor2D;
						k++;
					}
					return part;
				});
				return loraSideBySide(x, parts, { scale: 1.5, dropout: rate > 0 ? { rate, seed: 4242 + n } : undefined }, layout);
			}
		});
	}
	// Frozen γ and β (LoRA): the statistics and dx only.
	out.push({
		kernel: 'layerNormFrozen',
		shape: 'rows 7 × width 63',
		claimed: FROZEN_NORM_DISPATCHES,
		inputs: [normal([7, 63], 2)],
		names: ['y', 'dx'],
		op: (x) => layerNorm(x, tf.randomNormal([63], 1, 0.2, 'float32', 79) as tf.Tensor1D, tf.randomNormal([63], 0, 0.2, 'float32', 80) as tf.Tensor1D, 1e-5)
	});
	// A pre-norm block's x + f(norm(x)): x comes back through the norm, and the residual gradient
	// is added in its dx kernel. The norm's 1 / 2 dispatches, plus the case's ×2 and add (2 / 1).
	for (const [n, d] of [[7, 63], [33, 130]]) {
		out.push({
			kernel: 'layerNormResidual',
			shape: `rows ${n} × width ${d}`,
			claimed: { forward: LAYER_NORM_DISPATCHES.forward + 2, backward: LAYER_NORM_DISPATCHES.backward + 1 },
			inputs: [normal([n, d], 2, 0.5), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'dgamma', 'dbeta'],
			op: (x, g, b) => {
				const [r, y] = layerNormResidual(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
				return r.mul(2).add(y);
			}
		});
		out.push({
			kernel: 'rmsNormResidual',
			shape: `rows ${n} × width ${d}`,
			claimed: { forward: RMS_NORM_DISPATCHES.forward + 2, backward: RMS_NORM_DISPATCHES.backward + 1 },
			inputs: [normal([n, d], 2, 0.5), normal([d], 0.2, 1)],
			names: ['y', 'dx', 'dgamma'],
			op: (x, g) => {
				const [r, y] = rmsNormResidual(x, g as tf.Tensor1D, 1e-6);
				return r.mul(2).add(y);
			}
		});
	}
	// The residual add folded into the norm: [x + δ, norm(x + δ)] from one forward kernel (the sum its
	// second output); x and δ take the same dx. The case's ×2 and add as above.
	for (const [n, d] of [[7, 63], [33, 130]]) {
		out.push({
			kernel: 'layerNormAddResidual',
			shape: `rows ${n} × width ${d}`,
			claimed: { forward: LAYER_NORM_DISPATCHES.forward + 2, backward: LAYER_NORM_DISPATCHES.backward + 1 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'ddelta', 'dgamma', 'dbeta'],
			op: (x, dl, g, b) => {
				const [r, y] = layerNormAddResidual(x, dl, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
				return r.mul(2).add(y);
			}
		});
		out.push({
			kernel: 'rmsNormAddResidual',
			shape: `rows ${n} × width ${d}`,
			claimed: { forward: RMS_NORM_DISPATCHES.forward + 2, backward: RMS_NORM_DISPATCHES.backward + 1 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1)],
			names: ['y', 'dx', 'ddelta', 'dgamma'],
			op: (x, dl, g) => {
				const [r, y] = rmsNormAddResidual(x, dl, g as tf.Tensor1D, 1e-6);
				return r.mul(2).add(y);
			}
		});
		// δ's residual dropout read through its hashed mask in the same forward kernel; δ's gradient
		// then takes the mask in one dispatch of its own.
		out.push({
			kernel: 'layerNormAddResidualDropout',
			shape: `rows ${n} × width ${d}, dropout 0.1`,
			claimed: { forward: LAYER_NORM_DISPATCHES.forward + 2, backward: LAYER_NORM_DISPATCHES.backward + 2 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'ddelta', 'dgamma', 'dbeta'],
			op: (x, dl, g, b) => {
				const [r, y] = layerNormAddResidual(x, dl, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, { rate: 0.1, seed: 31 + n });
				return r.mul(2).add(y);
			}
		});
		out.push({
			kernel: 'rmsNormAddResidualDropout',
			shape: `rows ${n} × width ${d}, dropout 0.3`,
			claimed: { forward: RMS_NORM_DISPATCHES.forward + 2, backward: RMS_NORM_DISPATCHES.backward + 2 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1)],
			names: ['y', 'dx', 'ddelta', 'dgamma'],
			op: (x, dl, g) => {
				const [r, y] = rmsNormAddResidual(x, dl, g as tf.Tensor1D, 1e-6, { rate: 0.3, seed: 17 + d });
				return r.mul(2).add(y);
			}
		});
	}
	// A post-norm block's LN(x + δ) given twice (BERT's): the two uses take different gradients (2·g
	// and g), which the fast path adds inside the norm's backward kernels. The norm's 1 / 2
	// dispatches, plus the case's ×2 and add (2 / 1); the composite adds the two gradients itself.
	for (const [n, d] of [[7, 63], [33, 130], [1, 5]]) {
		out.push({
			kernel: 'layerNormPost',
			shape: `rows ${n} × width ${d}`,
			claimed: { forward: LAYER_NORM_DISPATCHES.forward + 2, backward: LAYER_NORM_DISPATCHES.backward + 1 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'ddelta', 'dgamma', 'dbeta'],
			op: (x, dl, g, b) => {
				const [y, y2] = postLayerNorm(x, dl, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12);
				return y.mul(2).add(y2);
			}
		});
	}
	// The same with δ's residual dropout (BERT's hidden dropout) read through its hashed mask in the
	// forward kernel and in the backward's, which read x + δ again; δ's gradient takes the mask in
	// one dispatch of its own. Frozen γ and β (LoRA): dx and δ's masked copy of it.
	for (const [n, d, rate] of [[7, 63, 0.1], [33, 130, 0.3], [1, 5, 0.5]]) {
		out.push({
			kernel: 'layerNormPostDropout',
			shape: `rows ${n} × width ${d}, dropout ${rate}`,
			claimed: { forward: LAYER_NORM_DISPATCHES.forward + 2, backward: LAYER_NORM_DISPATCHES.backward + 2 },
			inputs: [normal([n, d], 2, 0.5), normal([n, d], 1), normal([d], 0.2, 1), normal([d], 0.2)],
			names: ['y', 'dx', 'ddelta', 'dgamma', 'dbeta'],
			op: (x, dl, g, b) => {
				const [y, y2] = postLayerNorm(x, dl, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12, { rate, seed: 53 + n });
				return y.mul(2).add(y2);
			}
		});
	}
	out.push({
		kernel: 'layerNormPostDropoutFrozen',
		shape: 'rows 33 × width 130, dropout 0.1',
		claimed: { forward: FROZEN_NORM_DISPATCHES.forward + 2, backward: FROZEN_NORM_DISPATCHES.backward + 2 },
		inputs: [normal([33, 130], 2, 0.5), normal([33, 130], 1)],
		names: ['y', 'dx', 'ddelta'],
		op: (x, dl) => {
			const [y, y2] = postLayerNorm(x, dl, tf.randomNormal([130], 1, 0.2, 'float32', 82) as tf.Tensor1D, tf.randomNormal([130], 0, 0.2, 'float32', 83) as tf.Tensor1D, 1e-12, { rate: 0.1, seed: 59 });
			return y.mul(2).add(y2);
		}
	});
	// γ and β differentiated, x not (made inside the op): the statistics, then dγ with dβ.
	out.push({
		kernel: 'layerNormParamsOnly',
		shape: 'rows 33 × width 130',
		claimed: NORM_PARAMS_ONLY_DISPATCHES,
		inputs: [normal([130], 0.2, 1), normal([130], 0.2)],
		names: ['y', 'dgamma', 'dbeta'],
		op: (g, b) => layerNorm(tf.randomNormal([33, 130], 0.5, 2, 'float32', 81), g as tf.Tensor1D, b as tf.Tensor1D, 1e-5)
	});
	// A frozen weight and bias (made inside the op, so only x is differentiated): no dW, no db.
	out.push({
		kernel: 'linearFrozen',
		shape: 'rows 7 × in 63 → out 17, out_in',
		claimed: FROZEN_LINEAR_DISPATCHES,
		inputs: [normal([7, 63])],
		names: ['y', 'dx'],
		op: (x) => linear(x, tf.randomNormal([17, 63], 0, 0.3, 'float32', 77) as tf.Tensor2D, tf.randomNormal([17], 0, 0.3, 'float32', 78) as tf.Tensor1D)
	});
	for (const [n, inDim, outDim] of [[7, 63, 17], [33, 128, 64]]) {
		out.push({
			kernel: 'linearFrozenNoBias',
			shape: `rows ${n} × in ${inDim} → out ${outDim}, out_in`,
			claimed: FROZEN_LINEAR_DISPATCHES,
			inputs: [normal([n, inDim])],
			names: ['y', 'dx'],
			op: (x) => linear(x, tf.randomNormal([outDim, inDim], 0, 0.3, 'float32', 77) as tf.Tensor2D)
		});
	}
	const unary: [string, (x: tf.Tensor) => tf.Tensor][] = [['geluTanh', geluTanh], ['geluErf', geluErf], ['silu', silu]];
	for (const shape of [[1, 5], [7, 63], [33, 130], [2, 7, 63]]) {
		for (const [name, fn] of unary) {
			out.push({ kernel: name, shape: shape.join(' × '), claimed: ACTIVATION_DISPATCHES, inputs: [normal(shape, 3)], names: ['y', 'dx'], op: (x) => fn(x) });
		}
		out.push({ kernel: 'siluGate', shape: shape.join(' × '), claimed: SILU_GATE_DISPATCHES, inputs: [normal(shape, 3), normal(shape)], names: ['y', 'dgate', 'dup'], op: (g, u) => siluGate(g, u) });
		// [gate | up] in one tensor of twice the width.
		const packed = [...shape.slice(0, -1), 2 * shape[shape.length - 1]];
		out.push({ kernel: 'siluGatePacked', shape: packed.join(' × '), claimed: SILU_GATE_PACKED_DISPATCHES, inputs: [normal(packed, 3)], names: ['y', 'dgu'], op: (gu) => siluGatePacked(gu) });
	}
	// Hashed dropout: odd sizes (past one workgroup of 64), light and heavy rates.
	for (const [shape, rate] of [[[3, 7, 13], 0.1], [[2, 129], 0.5], [[5, 3], 0.9]] as [number[], number][]) {
		out.push({ kernel: 'dropout', shape: `${shape.join(' × ')}, rate ${rate}`, claimed: DROPOUT_DISPATCHES, inputs: [normal(shape)], names: ['y', 'dx'], op: (x) => dropout(x, rate, 77 + shape[0]) });
	}
	out.push(...attentionProblems(normal));
	return out;
}

/**
 * Attention on the three layouts (heads first, side by side, q/k/v packed in one projection): T not a multiple of the 64-row workgroup, head sizes 8, 16 and 32,
 * causal and not, padding masks (int32 and float32; a left-padded row, and a row all padding),
 * grouped-query heads (groups 2 and 3), a sliding window with and without padding, a custom scale.
 */
function attentionProblems(normal: (shape: number[], std?: number, mean?: number) => tf.Tensor): Problem[] {
	const out: Problem[] = [];
	const cases: { b: number; t: number; nh: number; nkv: number; hs: number; causal: boolean; mask?: 'int32' | 'float32'; window?: number; scale?: number; dropout?: number; layout: 'heads-first' | 'side-by-side' | 'packed' }[] = [
		{ b: 2, t: 13, nh: 2, nkv: 2, hs: 8, causal: true, layout: 'heads-first' },
		{ b: 3, t: 9, nh: 2, nkv: 2, hs: 16, causal: false, mask: 'int32', layout: 'heads-first' },
		{ b: 3, t: 7, nh: 4, nkv: 2, hs: 8, causal: true, mask: 'float32', layout: 'heads-first' },
		{ b: 2, t: 11, nh: 2, nkv: 2, hs: 8, causal: true, window: 3, layout: 'heads-first' },
		{ b: 1, t: 65, nh: 2, nkv: 1, hs: 32, causal: true, scale: 0.1, layout: 'side-by-side' },
		{ b: 3, t: 9, nh: 4, nkv: 2, hs: 16, causal: true, mask: 'int32', layout: 'side-by-side' },
		{ b: 3, t: 10, nh: 3, nkv: 1, hs: 8, causal: true, mask: 'int32', window: 2, layout: 'side-by-side' },
		{ b: 2, t: 6, nh: 3, nkv: 3, hs: 16, causal: false, layout: 'side-by-side' },
		{ b: 3, t: 9, nh: 4, nkv: 2, hs: 8, causal: true, mask: 'int32', layout: 'packed' },
		{ b: 2, t: 7, nh: 3, nkv: 3, hs: 16, causal: false, scale: 0.3, layout: 'packed' },
		// Dropout on the weights, hashed per (batch, query head, query, key) on both paths.
		{ b: 3, t: 7, nh: 4, nkv: 2, hs: 8, causal: true, mask: 'float32', dropout: 0.1, layout: 'heads-first' },
		{ b: 3, t: 10, nh: 3, nkv: 1, hs: 8, causal: true, mask: 'int32', window: 2, dropout: 0.3, layout: 'side-by-side' },
		{ b: 3, t: 9, nh: 4, nkv: 2, hs: 8, causal: true, mask: 'int32', dropout: 0.1, layout: 'packed' },
		{ b: 2, t: 7, nh: 3, nkv: 3, hs: 16, causal: false, dropout: 0.5, layout: 'packed' }
	];
	for (const c of cases) {
		// Row 0 real, row 1 right-padded, row 2 left-padded (a causal query there sees only padding).
		const maskRows = [0, 1, 2].slice(0, c.b).map((r) => Array.from({ length: c.t }, (_, j) => (r === 1 ? +(j < c.t - 3) : r === 2 ? +(j >= 2) : 1)));
		const opts = () => ({
			causal: c.causal,
			window: c.window ?? null,
			scale: c.scale,
			keyMask: c.mask ? tf.tensor2d(maskRows, [c.b, c.t], c.mask) : undefined,
			dropout: c.dropout ? { rate: c.dropout, seed: 1234 + c.t } : undefined
		});
		const heads = c.layout === 'heads-first';
		const shape = `${c.layout} B ${c.b} × T ${c.t} × heads ${c.nh}/${c.nkv} × hs ${c.hs}${c.causal ? ', causal' : ''}${c.mask ? `, ${c.mask} padding mask` : ''}${c.window != null ? `, window ${c.window}` : ''}${c.scale ? `, scale ${c.scale}` : ''}${c.dropout ? `, dropout ${c.dropout}` : ''}`;
		if (c.layout === 'packed') {
			out.push({
				kernel: 'attention',
				shape,
				claimed: ATTENTION_DISPATCHES,
				inputs: [normal([c.b, c.t, (c.nh + 2 * c.nkv) * c.hs])],
				names: ['y', 'dqkv'],
				op: (qkv) => attendPacked(qkv, c.nh, c.nkv, opts())
			});
			continue;
		}
		const q = heads ? [c.b, c.nh, c.t, c.hs] : [c.b, c.t, c.nh * c.hs];
		const kv = heads ? [c.b, c.nkv, c.t, c.hs] : [c.b, c.t, c.nkv * c.hs];
		out.push({
			kernel: 'attention',
			shape,
			claimed: ATTENTION_DISPATCHES,
			inputs: [normal(q), normal(kv), normal(kv)],
			names: ['y', 'dq', 'dk', 'dv'],
			op: heads
				? (qt, kt, vt) => attention(qt as tf.Tensor4D, kt as tf.Tensor4D, vt as tf.Tensor4D, opts())
				: (qt, kt, vt) => attendHeads(qt, kt, vt, c.nh, c.nkv, opts())
		});
	}
	return out;
}

/**
 * Every fused kernel against its composite; needs the WebGPU backend. `reduce`: the row kernels'
 * reductions to check (reductions.ts); the adapter's own by default.
 */
export async function fusedKernelCheck(seed = 1, reduce: Reductions = reductions()): Promise<FusedCheck> {
	if (tf.getBackend() !== 'webgpu') throw new Error(`The fused kernels run only on WebGPU; this engine runs on ${tf.getBackend()}.`);
	const wasEnabled = fastPathEnabled();
	const adapters = reductions();
	setReductions(reduce);
	const before = tf.memory().numTensors;
	const errorsBefore = gpuErrorLog().length;
	const cases: FusedCase[] = [];
	const all = problems(seed);
	try {
		for (const p of all) {
			const dy = tf.tidy(() => {
				const y = p.op(...p.inputs);
				return tf.randomNormal(y.shape, 0, 1, 'float32', seed + cases.length);
			});
			try {
				// Upload every input before counting, so only the kernels' dispatches are counted.
				await Promise.all([...p.inputs, dy].map((t) => t.data()));
				const composite = await runPath(p, false, dy);
				const fused = await runPath(p, true, dy);
				const errors: Record<string, number> = {};
				p.names.forEach((name, i) => (errors[name] = relError(fused.values[i], composite.values[i])));
				cases.push({ kernel: p.kernel, shape: p.shape, errors, fused: fused.count, composite: composite.count, claimed: p.claimed });
			} finally {
				dy.dispose();
			}
		}
	} finally {
		setFastPath(wasEnabled);
		setReductions(adapters);
		tf.dispose(all.flatMap((p) => [...p.inputs, ...(p.constants ?? [])]));
	}
	const maxError = Math.max(...cases.flatMap((c) => Object.values(c.errors)));
	return { cases, maxError, tensorsLeaked: tf.memory().numTensors - before, gpuErrors: gpuErrorLog().slice(errorsBefore) };
}
