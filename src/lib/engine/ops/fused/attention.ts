/**
 * Scaled dot-product attention on WebGPU in one pass (FlashAttention-2, Dao 2023, Algorithms 1 and
 * 2, one query or key row per thread): the forward computes each query row's scores q·k·scale
 * with the causal, sliding-window and key-padding masks, an online softmax (running max and sum)
 * and the weighted sum of V in one dispatch, and keeps the row's max and sum (its logsumexp, kept
 * as the pair: a row whose every key is masked has a max near −1e9, where m + log l rounds log l
 * away); the backward recomputes the probabilities from them, so no (T, T) matrix is ever in memory: one dispatch for dQ (which
 * also writes D = rowsum(dO ∘ O)), one for dK and dV. Grouped-query heads read their key/value
 * head (h / groups) without repeating it. Reference: `attention` in ../attention.ts.
 *
 * q, k, v and the output are read and written through element strides of (batch, head, position)
 * with the head's features contiguous, so one kernel serves the heads-first layout (B, nh, T, hs)
 * and the side-by-side layout (B, T, nh·hs) the projections produce (no split or merge transposes).
 *
 * Masks are the composite's additive −1e9 (summed where the causal and the padding mask both
 * apply), added to the scaled score, so even a row whose every key is masked (a padded query)
 * gets the composite's weights. Keys that only the causal mask or the window hides are skipped
 * when there is no padding mask: their weight is exactly zero.
 *
 * A tfjs program has one output; the row statistics, D and dV are second outputs, written into a
 * tensor passed as an input whose binding the compiled shader declares `read_write`
 * (`runWithWritable`). WebGPU's default limit is 8 storage buffers per shader, so the forward
 * also copies the padding mask into its row-statistics buffer (`stats`) for the backward to read.
 * Dispatches: forward 1, backward 2.
 */
import * as tf from '@tensorflow/tfjs';
import { withWritableBindings, type WebGPUProgram } from './program';
import { HASH_WGSL, type HashDropout } from './dropout';

export const ATTENTION_DISPATCHES = { forward: 1, backward: 2 };

/** Where q, k, v live: element strides of batch, head and position (features are contiguous). */
export type HeadLayout = 'heads-first' | 'side-by-side';

export interface FusedAttentionShape {
	batch: number;
	nHead: number;
	nKvHead: number;
	tq: number;
	tk: number;
	headSize: number;
	layout: HeadLayout;
}

export interface FusedAttentionOptions {
	causal: boolean;
	/** Sliding window (with `causal`): query at position a sees keys a − window … a. */
	window: number | null;
	scale: number;
	/** (B, Tk), 1 for real tokens and 0 for padding. */
	keyMask?: tf.Tensor2D;
	/** Dropout on the attention weights, hashed per (batch, query head, query, key) (../dropout.ts). */
	dropout?: HashDropout;
}

function strides(layout: HeadLayout, heads: number, t: number, hs: number): [number, number, number] {
	return layout === 'heads-first' ? [heads * t * hs, t * hs, hs] : [t * heads * hs, hs, heads * hs];
}

const WG = 64;

/** One thread per row: the global index is the row; rows past the end return at once. */
function rowsProgram(key: string, hs: number, variableNames: string[], outputShape: number[], rows: number, body: string, drop: boolean): WebGPUProgram {
	return {
		variableNames,
		outputShape,
		shaderKey: key,
		dispatchLayout: { x: outputShape.map((_, i) => i) },
		dispatch: [Math.ceil(rows / WG), 1, 1],
		workgroupSize: [WG, 1, 1],
		uniforms: 'nb : i32, nh : i32, groups : i32, tq : i32, tk : i32, qsB : i32, qsH : i32, qsT : i32, ksB : i32, ksH : i32, ksT : i32, win : i32, scale : f32, qOff : i32, kOff : i32, vOff : i32, osB : i32, osH : i32, osT : i32, dropThreshold : i32, dropInv : f32, dropKey : u32,',
		getUserCode: () => `
			const HS = ${hs};
			const NEG = -1e9;
			${drop ? KEEP_DROP : KEEP_ALL}
			${body}`
	};
}

/**
 * WGSL: the dropout factor of the weight of query i (head h, batch row b) on key j: 1 / (1 − rate)
 * or 0 by the hash of its index in the (B, nh, Tq, Tk) weights (as the composite's mask), or 1.
 */
const KEEP_DROP = `${HASH_WGSL}
			fn keepW(b : i32, h : i32, i : i32, j : i32) -> f32 {
				let at = ((u32(b) * u32(uniforms.nh) + u32(h)) * u32(uniforms.tq) + u32(i)) * u32(uniforms.tk) + u32(j);
				return dropKeep(uniforms.dropKey, at, uniforms.dropThreshold, uniforms.dropInv);
			}`;
const KEEP_ALL = `
			fn keepW(b : i32, h : i32, i : i32, j : i32) -> f32 { return 1.0; }`;

/** The padding mask of key j in batch row b: the input in the forward; after the row statistics in `stats` in the backward. */
const MASK_IN = 'f32(keyMask[b * uniforms.tk + j])';
const MASK_IN_STATS = 'stats[2 * uniforms.nb * uniforms.nh * uniforms.tq + b * uniforms.tk + j]';

/**
 * WGSL: the additive mask of query position `a` (row i) against key j, as `attentionBias` builds
 * it, and the key range a row must visit (all keys when a padding mask could hide every visible one).
 */
function maskSnippet(causal: boolean, mask: boolean, maskValue: string): string {
	return `
			fn maskBias(b : i32, a : i32, j : i32) -> f32 {
				var bias = 0.0;
				${causal ? 'if (j > a || (uniforms.win >= 0 && j < a - uniforms.win)) { bias = NEG; }' : ''}
				${mask ? `bias = bias + (1.0 - ${maskValue}) * NEG;` : ''}
				return bias;
			}
			fn keyStart(a : i32) -> i32 {
				${causal && !mask ? 'if (uniforms.win >= 0) { return max(0, a - uniforms.win); }' : ''}
				return 0;
			}
			fn keyEnd(a : i32) -> i32 {
				${causal && !mask ? 'return min(uniforms.tk, a + 1);' : 'return uniforms.tk;'}
			}`;
}

/** Row `index` of the (B, nh, Tq) query rows: its batch, head, key/value head, position and offsets. */
const queryRow = `
				let tq = uniforms.tq;
				let i = index % tq;
				let bh = index / tq;
				let h = bh % uniforms.nh;
				let b = bh / uniforms.nh;
				let kh = h / uniforms.groups;
				let a = i + uniforms.tk - tq;
				let qb = b * uniforms.qsB + h * uniforms.qsH + i * uniforms.qsT + uniforms.qOff;
				let ob = b * uniforms.osB + h * uniforms.osH + i * uniforms.osT;
				let kb0 = b * uniforms.ksB + kh * uniforms.ksH;`;

function forwardBody(causal: boolean, mask: boolean): string {
	return `${maskSnippet(causal, mask, MASK_IN)}
			fn main(index : i32) {
				let rows = uniforms.nb * uniforms.nh * uniforms.tq;
				${mask ? 'for (var x = index; x < uniforms.nb * uniforms.tk; x += rows) { stats[2 * rows + x] = f32(keyMask[x]); }' : ''}
				if (index >= rows) { return; }
				${queryRow}
				var qr : array<f32, HS>;
				var acc : array<f32, HS>;
				for (var d = 0; d < HS; d++) { qr[d] = q[qb + d]; }
				var m = -3.402823e38;
				var l = 0.0;
				for (var j = keyStart(a); j < keyEnd(a); j++) {
					let kb = kb0 + j * uniforms.ksT;
					var dot = 0.0;
					for (var d = 0; d < HS; d++) { dot += qr[d] * k[kb + uniforms.kOff + d]; }
					let s = dot * uniforms.scale + maskBias(b, a, j);
					if (s > m) {
						let c = exp(m - s);
						l = l * c;
						for (var d = 0; d < HS; d++) { acc[d] = acc[d] * c; }
						m = s;
					}
					let p = exp(s - m);
					l += p;
					let pk = p * keepW(b, h, i, j);
					for (var d = 0; d < HS; d++) { acc[d] += pk * v[kb + uniforms.vOff + d]; }
				}
				for (var d = 0; d < HS; d++) { result[ob + d] = acc[d] / l; }
				stats[index] = m;
				stats[rows + index] = l;
			}`;
}

/** dQ_i = scale · Σ_j P_ij (dO_i·v_j − D_i) k_j, with D_i = dO_i·O_i written to `dOut`. */
function dqBody(causal: boolean, mask: boolean): string {
	return `${maskSnippet(causal, mask, MASK_IN_STATS)}
			fn main(index : i32) {
				if (index >= uniforms.nb * uniforms.nh * uniforms.tq) { return; }
				${queryRow}
				var qr : array<f32, HS>;
				var gr : array<f32, HS>;
				var dq : array<f32, HS>;
				var D = 0.0;
				for (var d = 0; d < HS; d++) {
					qr[d] = q[qb + d];
					gr[d] = dy[ob + d];
					D += gr[d] * o[ob + d];
				}
				dOut[index] = D;
				let rows = uniforms.nb * uniforms.nh * tq;
				let rowMax = stats[index];
				let rowSum = stats[rows + index];
				for (var j = keyStart(a); j < keyEnd(a); j++) {
					let kb = kb0 + j * uniforms.ksT;
					var dot = 0.0;
					var dp = 0.0;
					for (var d = 0; d < HS; d++) {
						dot += qr[d] * k[kb + uniforms.kOff + d];
						dp += gr[d] * v[kb + uniforms.vOff + d];
					}
					let p = exp(dot * uniforms.scale + maskBias(b, a, j) - rowMax) / rowSum;
					let ds = p * (dp * keepW(b, h, i, j) - D);
					for (var d = 0; d < HS; d++) { dq[d] += ds * k[kb + uniforms.kOff + d]; }
				}
				for (var d = 0; d < HS; d++) { result[qb + d] = dq[d] * uniforms.scale; }
			}`;
}

/**
 * Per key row j of key/value head kh, over the query heads of its group and the queries that see
 * it: dV_j = Σ P_ij dO_i (to `dvOut`), dK_j = scale · Σ P_ij (dO_i·v_j − D_i) q_i.
 */
function dkvBody(causal: boolean, mask: boolean, packed: boolean): string {
	const range = causal && !mask
		? `let i0 = max(0, j - off);
				var i1 = tq;
				if (uniforms.win >= 0) { i1 = min(tq, j + uniforms.win - off + 1); }`
		: `let i0 = 0;
				let i1 = tq;`;
	return `${maskSnippet(causal, mask, MASK_IN_STATS)}
			fn main(index : i32) {
				let tk = uniforms.tk;
				let tq = uniforms.tq;
				let nkv = uniforms.nh / uniforms.groups;
				if (index >= uniforms.nb * nkv * tk) { return; }
				let j = index % tk;
				let bk = index / tk;
				let kh = bk % nkv;
				let b = bk / nkv;
				let off = tk - tq;
				let rows = uniforms.nb * uniforms.nh * tq;
				let kb = b * uniforms.ksB + kh * uniforms.ksH + j * uniforms.ksT;
				var kr : array<f32, HS>;
				var vr : array<f32, HS>;
				var dk : array<f32, HS>;
				var dv : array<f32, HS>;
				for (var d = 0; d < HS; d++) {
					kr[d] = k[kb + uniforms.kOff + d];
					vr[d] = v[kb + uniforms.vOff + d];
				}
				${range}
				for (var g = 0; g < uniforms.groups; g++) {
					let h = kh * uniforms.groups + g;
					for (var i = i0; i < i1; i++) {
						let qb = b * uniforms.qsB + h * uniforms.qsH + i * uniforms.qsT + uniforms.qOff;
						let ob = b * uniforms.osB + h * uniforms.osH + i * uniforms.osT;
						let r = (b * uniforms.nh + h) * tq + i;
						var dot = 0.0;
						var dp = 0.0;
						for (var d = 0; d < HS; d++) {
							dot += q[qb + d] * kr[d];
							dp += dy[ob + d] * vr[d];
						}
						let p = exp(dot * uniforms.scale + maskBias(b, i + off, j) - stats[r]) / stats[rows + r];
						let kw = keepW(b, h, i, j);
						let ds = p * (dp * kw - dRow[r]);
						let pk = p * kw;
						for (var d = 0; d < HS; d++) {
							dv[d] += pk * dy[ob + d];
							dk[d] += ds * q[qb + d];
						}
					}
				}
				for (var d = 0; d < HS; d++) {
					result[kb + uniforms.kOff + d] = dk[d] * uniforms.scale;
					${packed ? 'result[kb + uniforms.vOff + d] = dv[d];' : 'dvOut[kb + d] = dv[d];'}
				}
			}`;
}

interface WebGPUBackendLike {
	device: GPUDevice;
	runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: { type: string; data: number[] }[], output?: tf.TensorInfo): tf.TensorInfo;
	makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/**
 * Run `program` with its last `writable.length` inputs as extra outputs: fresh tensors of the
 * given shapes whose bindings the shader declares `read_write` (tfjs declares every input
 * `read`; the pipeline's layout is derived from the shader, so the bind group tfjs makes fits).
 * Returns the program's output (`into` when given: written in place), then the extra outputs.
 */
function runWithWritable(program: WebGPUProgram, inputs: tf.Tensor[], writable: { name: string; shape: number[] }[], uniforms: { type: string; data: number[] }[], into?: tf.Tensor): tf.Tensor[] {
	const backend = tf.backend() as unknown as WebGPUBackendLike;
	const extra = writable.map((w) => backend.makeTensorInfo(w.shape, 'float32'));
	return withWritableBindings(
		writable.map((w) => w.name),
		'Fused attention',
		() => {
			const out = backend.runWebGPUProgram(program, [...inputs, ...extra], 'float32', uniforms, into);
			const extras = extra.map((info) => tf.engine().makeTensorFromTensorInfo(info));
			return [into ?? tf.engine().makeTensorFromTensorInfo(out), ...extras];
		}
	);
}

/** Where one attention call reads and writes: element strides and offsets (features are contiguous). */
interface Geometry {
	batch: number;
	nHead: number;
	nKvHead: number;
	tq: number;
	tk: number;
	hs: number;
	/** Strides of (batch, head, position) of q; of k and v; of the output (and dO). */
	qs: [number, number, number];
	ks: [number, number, number];
	os: [number, number, number];
	qOff: number;
	kOff: number;
	vOff: number;
	outShape: number[];
}

function uniformsOf(g: Geometry, window: number, scale: number, drop?: HashDropout): { type: string; data: number[] }[] {
	const int = (x: number) => ({ type: 'int32', data: [x] });
	return [
		...[g.batch, g.nHead, g.nHead / g.nKvHead, g.tq, g.tk, ...g.qs, ...g.ks, window].map(int),
		{ type: 'float32', data: [scale] },
		...[g.qOff, g.kOff, g.vOff, ...g.os].map(int),
		int(drop ? drop.threshold : 0),
		{ type: 'float32', data: [drop ? drop.inv : 1] },
		{ type: 'uint32', data: [drop ? drop.key >>> 0 : 0] }
	];
}

/**
 * The three programs of one attention call. `packed`: q, k and v are one tensor (the fused q/k/v
 * projection, read at their offsets), whose gradient is one tensor: the dQ dispatch writes its q
 * part and the dK/dV dispatch its k and v parts in place.
 */
function attentionOp(g: Geometry, opts: FusedAttentionOptions, packed: boolean): (...xs: tf.Tensor[]) => tf.Tensor {
	const { batch, tk, hs } = g;
	const causal = opts.causal;
	const mask = opts.keyMask ?? null;
	const hasMask = mask !== null;
	const drop = opts.dropout && opts.dropout.threshold > 0 ? opts.dropout : undefined;
	const uniforms = uniformsOf(g, causal && opts.window != null ? opts.window : -1, opts.scale, drop);
	const key = `whetstoneAttention_hs${hs}_${causal ? 'causal' : 'full'}_${mask ? 'mask' : 'nomask'}${packed ? '_packed' : ''}${drop ? '_drop' : ''}`;
	const qRows = batch * g.nHead * g.tq;
	const kRows = batch * g.nKvHead * tk;
	return tf.customGrad((...args: unknown[]) => {
		const xs = args.slice(0, packed ? 1 : 3) as tf.Tensor[];
		const save = args[xs.length] as tf.GradSaveFunc;
		const [qs, ks, vs] = packed ? [xs[0], xs[0], xs[0]] : xs;
		// stats: each query row's running max m, then its sum l, then (with a padding mask) the mask as float32 for the backward.
		const [o, stats] = runWithWritable(
			rowsProgram(`${key}${mask ? mask.dtype : ''}_fwd`, hs, ['q', 'k', 'v', ...(mask ? ['keyMask'] : []), 'stats'], g.outShape, qRows, forwardBody(causal, hasMask), !!drop),
			mask ? [qs, ks, vs, mask] : [qs, ks, vs],
			[{ name: 'stats', shape: [2 * qRows + (mask ? batch * tk : 0)] }],
			uniforms
		);
		save([...xs, o, stats]);
		return {
			value: o,
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
				const [sq, sk, sv] = packed ? [saved[0], saved[0], saved[0]] : saved;
				const [so, sstats] = saved.slice(xs.length);
				const [dq, dRow] = runWithWritable(
					rowsProgram(key + '_dq', hs, ['q', 'k', 'v', 'o', 'dy', 'stats', 'dOut'], sq.shape, qRows, dqBody(causal, hasMask), !!drop),
					[sq, sk, sv, so, dy, sstats],
					[{ name: 'dOut', shape: [qRows] }],
					uniforms
				);
				const dkv = rowsProgram(key + '_dkv', hs, ['q', 'k', 'v', 'dy', 'stats', 'dRow', ...(packed ? [] : ['dvOut'])], sk.shape, kRows, dkvBody(causal, hasMask, packed), !!drop);
				if (packed) {
					runWithWritable(dkv, [sq, sk, sv, dy, sstats, dRow], [], uniforms, dq);
					dRow.dispose();
					return [dq];
				}
				const [dk, dv] = runWithWritable(dkv, [sq, sk, sv, dy, sstats, dRow], [{ name: 'dvOut', shape: sv.shape }], uniforms);
				dRow.dispose();
				return [dq, dk, dv];
			}
		};
	});
}

/**
 * q (heads-first: B, nh, Tq, hs; side by side: B, Tq, nh·hs), k and v (the same with nkv heads and
 * Tk); the output in q's layout and shape. Float32 on the WebGPU backend.
 */
export function fusedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, shape: FusedAttentionShape, opts: FusedAttentionOptions): tf.Tensor {
	const { batch, nHead, nKvHead, tq, tk, headSize: hs, layout } = shape;
	const qs = strides(layout, nHead, tq, hs);
	const g: Geometry = { batch, nHead, nKvHead, tq, tk, hs, qs, ks: strides(layout, nKvHead, tk, hs), os: qs, qOff: 0, kOff: 0, vOff: 0, outShape: q.shape };
	// stats is kept by save() for the backward; a forward without a tape drops it with the scope.
	return attentionOp(g, opts, false)(q, k, v);
}

/**
 * Self-attention straight from a fused q/k/v projection: qkv (B, T, (nh + 2·nkv)·hs), laid out
 * [q heads | k heads | v heads] on the last axis (GPT-2's c_attn, Phi-3's qkv_proj); the output
 * (B, T, nh·hs). No slices forward and no concat backward: its gradient is one (B, T, ·) tensor.
 */
export function fusedAttentionPacked(qkv: tf.Tensor, shape: { batch: number; nHead: number; nKvHead: number; t: number; headSize: number }, opts: FusedAttentionOptions): tf.Tensor {
	const { batch, nHead, nKvHead, t, headSize: hs } = shape;
	const width = (nHead + 2 * nKvHead) * hs;
	const s: [number, number, number] = [t * width, hs, width];
	const g: Geometry = { batch, nHead, nKvHead, tq: t, tk: t, hs, qs: s, ks: s, os: strides('side-by-side', nHead, t, hs), qOff: 0, kOff: nHead * hs, vOff: (nHead + nKvHead) * hs, outShape: [batch, t, nHead * hs] };
	return attentionOp(g, opts, true)(qkv);
}
