/**
 * The layers every exported transformer is made of, as standard ONNX ops on a Graph: linear
 * layers in PyTorch's [out, in] or Conv1D's [in, out] layout, LayerNorm (LayerNormalization),
 * RMSNorm (its decomposition), the GELU/SiLU activations, multi-head attention with a KV cache,
 * grouped-query heads and rotary positions, the attention masks and the pooling heads. Each follows
 * the composite in src/lib/engine/ops that the studio trains with, so logits agree to float32
 * rounding.
 */
import { UserError } from '../../shared/errors';
import { FLOAT32_MIN, type Graph } from './graph';
import { DataType } from './proto';

/** Host weights keyed by Hugging Face tensor name. */
export type HostWeights = Record<string, { shape: number[]; data: Float32Array }>;

export function param(g: Graph, w: HostWeights, name: string): string {
	const p = w[name];
	if (!p) throw new Error(`ONNX export: parameter '${name}' is missing.`);
	return g.weight(name, p.shape, p.data);
}

/** x @ W^T + b for an nn.Linear weight [out, in] (transposed once, here), or x @ W + b for Conv1D [in, out]. */
export function linear(g: Graph, w: HostWeights, name: string, x: string, layout: 'out_in' | 'in_out' = 'out_in'): string {
	const p = w[name + '.weight'];
	if (!p) throw new Error(`ONNX export: parameter '${name}.weight' is missing.`);
	const weight = layout === 'in_out' ? g.weight(name + '.weight', p.shape, p.data) : g.weight(name + '.weight', [p.shape[1], p.shape[0]], transpose(p.data, p.shape[0], p.shape[1]));
	const y = g.op('MatMul', [x, weight]);
	return w[name + '.bias'] ? g.op('Add', [y, param(g, w, name + '.bias')]) : y;
}

/** x @ E^T for a tied head whose weight E [V, d] is also the embedding table. */
export function tiedHead(g: Graph, table: string, x: string): string {
	return g.op('MatMul', [x, g.op('Transpose', [table], { perm: [1, 0] })]);
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
	const out = new Float32Array(data.length);
	for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
	return out;
}

export function layerNorm(g: Graph, w: HostWeights, name: string, x: string, eps: number): string {
	return g.op('LayerNormalization', [x, param(g, w, name + '.weight'), param(g, w, name + '.bias')], { axis: -1, epsilon: { float: eps } });
}

/** x * rsqrt(mean(x^2) + eps) * w (LlamaRMSNorm); Gemma's (1 + w) is not exported. */
export function rmsNorm(g: Graph, w: HostWeights, name: string, x: string, eps: number): string {
	const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
	const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(eps)])])]);
	return g.op('Mul', [g.op('Mul', [x, inv]), param(g, w, name + '.weight')]);
}

export function activation(g: Graph, name: string, x: string): string {
	switch (name) {
		case 'gelu': {
			// 0.5 x (1 + erf(x / sqrt 2))
			const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])]);
			return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [erf, g.scalar(1)])]);
		}
		case 'gelu_new':
		case 'gelu_pytorch_tanh':
		case 'gelu_fast': {
			// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
			const cube = g.op('Mul', [g.op('Pow', [x, g.scalar(3)]), g.scalar(0.044715)]);
			const t = g.op('Tanh', [g.op('Mul', [g.op('Add', [x, cube]), g.scalar(Math.sqrt(2 / Math.PI))])]);
			return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [t, g.scalar(1)])]);
		}
		case 'silu':
		case 'swish':
			return g.op('Mul', [x, g.op('Sigmoid', [x])]);
		case 'relu':
			return g.op('Relu', [x]);
		default:
			throw new UserError('invalid-config', `The activation '${name}' has no ONNX export here (gelu, gelu_new, silu and relu do); export the Hugging Face folder instead.`);
	}
}

/** (B, T, n*hs) -> (B, n, T, hs) */
export function splitHeads(g: Graph, x: string, n: number, hs: number): string {
	return g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, n, hs])])], { perm: [0, 2, 1, 3] });
}

/** (B, n, T, hs) -> (B, T, n*hs) */
export function mergeHeads(g: Graph, x: string, n: number, hs: number): string {
	return g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.ints([0, 0, n * hs])]);
}

/** (B, nkv, S, hs) -> (B, nkv*rep, S, hs), each kv head repeated for `rep` query heads in a row (repeat_kv). */
export function repeatKv(g: Graph, x: string, nKv: number, rep: number, hs: number): string {
	if (rep === 1) return x;
	const tiled = g.op('Tile', [g.op('Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, rep, 1, 1])]); // (B, nkv, rep, S, hs)
	return g.op('Reshape', [tiled, g.ints([0, nKv * rep, -1, hs])]);
}

/**
 * softmax(q k^T / sqrt(hs), masked) v for q (B, nh, T, hs), k and v (B, nh, S, hs); `allowed` is a
 * bool mask broadcasting to (B, nh, T, S). Masked scores become float32's lowest value, so a row
 * with nothing to attend to is uniform, as transformers' additive mask makes it.
 */
export function attend(g: Graph, q: string, k: string, v: string, allowed: string, scale: number): string {
	const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.scalar(scale)]); // (B, nh, T, S)
	const probs = g.op('Softmax', [g.op('Where', [allowed, scores, g.scalar(FLOAT32_MIN)])], { axis: -1 });
	return g.op('MatMul', [probs, v]); // (B, nh, T, hs)
}

/** The keys a padded batch may attend to: (B, 1, 1, S) from attention_mask (B, S). */
export function paddingMask(g: Graph, attentionMask: string): string {
	return g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: DataType.BOOL }), g.ints([1, 2])]);
}

/**
 * Causal and padding mask for T new tokens after S - T cached ones: query i (at absolute position
 * S - T + i) sees key j when j <= S - T + i and attention_mask[:, j] is 1. (B, 1, T, S).
 */
export function causalMask(g: Graph, inputIds: string, attentionMask: string): string {
	const s = g.op('Squeeze', [g.op('Shape', [attentionMask], { start: 1, end: 2 }), g.ints([0])]); // scalar S
	const t = g.op('Squeeze', [g.op('Shape', [inputIds], { start: 1, end: 2 }), g.ints([0])]); // scalar T
	const one = g.ints([1], []);
	const keys = g.op('Range', [g.ints([0], []), s, one]); // (S)
	const queries = g.op('Range', [g.op('Sub', [s, t]), s, one]); // (T)
	const causal = g.op('LessOrEqual', [g.op('Unsqueeze', [keys, g.ints([0])]), g.op('Unsqueeze', [queries, g.ints([1])])]); // (T, S)
	return g.op('And', [causal, paddingMask(g, attentionMask)]); // (B, 1, T, S)
}

/** Positions 0..T-1 of the tokens: (T). */
export function arangePositions(g: Graph, inputIds: string): string {
	const t = g.op('Squeeze', [g.op('Shape', [inputIds], { start: 1, end: 2 }), g.ints([0])]);
	return g.op('Range', [g.ints([0], []), t, g.ints([1], [])]);
}

/**
 * Rotary embeddings as LlamaRotaryEmbedding computes them: angles = position * inv_freq in
 * float32, emb = cat(angles, angles), and cos, sin broadcast over heads: 2 x (B, 1, T, hs).
 */
export function ropeCosSin(g: Graph, positionIds: string, headDim: number, theta: number, positionScale: number): { cos: string; sin: string } {
	const half = headDim / 2;
	const invFreq = new Float32Array(half);
	for (let i = 0; i < half; i++) invFreq[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
	let pos = g.op('Cast', [positionIds], { to: DataType.FLOAT }); // (B, T)
	if (positionScale !== 1) pos = g.op('Div', [pos, g.scalar(positionScale)]);
	const angles = g.op('Mul', [g.op('Unsqueeze', [pos, g.ints([2])]), g.floats(invFreq, [1, 1, half])]); // (B, T, hs/2)
	const emb = g.op('Unsqueeze', [g.op('Concat', [angles, angles], { axis: -1 }), g.ints([1])]); // (B, 1, T, hs)
	return { cos: g.op('Cos', [emb]), sin: g.op('Sin', [emb]) };
}

/** x * cos + rotate_half(x) * sin, rotate_half([x1, x2]) = [-x2, x1]; x (B, n, T, hs). */
export function applyRope(g: Graph, x: string, rope: { cos: string; sin: string }, headDim: number): string {
	const [x1, x2] = g.opN('Split', [x, g.ints([headDim / 2, headDim / 2])], 2, { axis: -1 });
	const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
	return g.op('Add', [g.op('Mul', [x, rope.cos]), g.op('Mul', [rotated, rope.sin])]);
}

/** The hidden state of each row's last real token, (B, d), for right-padded rows: position sum(mask) - 1. */
export function lastTokenPool(g: Graph, h: string, attentionMask: string, inputIds: string): string {
	const last = g.op('Sub', [g.op('ReduceSum', [attentionMask, g.ints([1])], { keepdims: 1 }), g.ints([1], [])]); // (B, 1)
	const pick = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [arangePositions(g, inputIds), g.ints([0])]), last])], { to: DataType.FLOAT }); // (B, T)
	return g.op('ReduceSum', [g.op('Mul', [h, g.op('Unsqueeze', [pick, g.ints([2])])]), g.ints([1])], { keepdims: 0 });
}

/** The mean of each row's real-token states, (B, d) (the studio's mean pooling). */
export function meanPool(g: Graph, h: string, attentionMask: string): string {
	const m = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: DataType.FLOAT }), g.ints([2])]); // (B, T, 1)
	const sum = g.op('ReduceSum', [g.op('Mul', [h, m]), g.ints([1])], { keepdims: 0 }); // (B, d)
	const count = g.op('Max', [g.op('ReduceSum', [m, g.ints([1])], { keepdims: 0 }), g.scalar(1)]); // (B, 1)
	return g.op('Div', [sum, count]);
}

/** The first token's state, (B, d). */
export function firstToken(g: Graph, h: string): string {
	return g.op('Squeeze', [g.op('Slice', [h, g.ints([0]), g.ints([1]), g.ints([1])]), g.ints([1])]);
}
