/**
 * Linear projections of one input side by side, each with its LoRA adapter where it has one, as
 * peft's `lora.Linear.forward` adds it:
 *
 *   yᵢ = x Wᵢᵀ + bᵢ + (dropoutᵢ(x) Aᵢᵀ Bᵢᵀ) · scale        Aᵢ (r, in), Bᵢ (outᵢ, r)
 *
 * and y = [y₁ | y₂ | …]. One projection is the common case (`adaptedLinear`); several are Llama's
 * q | k | v and gate | up, which on the fast path share one frozen base matmul and one low-rank
 * kernel pair (fused/lora.ts). Each adapter draws its own dropout mask from a counter-based hash of
 * (the call's seed, the adapter's index among the adapted parts, the element's index in x), on
 * both paths, so the fast path and this composite drop the same elements and a resumed run draws
 * the same masks again.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { linear, linearSideBySide, type WeightLayout } from './linear';
import { fusedConcatRows } from './fused/pack';
import { fusedLoraDown, fusedLoraUp, LORA_MAX_PARTS } from './fused/lora';
import { dropThreshold, keepMask, mix32 } from './dropout';

export interface LoraPart {
	/** The frozen weight, in `layout`. */
	w: tf.Tensor2D;
	b?: tf.Tensor1D;
	/** The adapter: A (r, in) and B (out, r), both or neither. */
	loraA?: tf.Tensor2D;
	loraB?: tf.Tensor2D;
}

export interface LoraOptions {
	scale: number;
	/** Dropout on x before A (training only), with the call's seed. */
	dropout?: { rate: number; seed: number };
}

export { mix32, dropThreshold };

/**
 * The (rows, cols) mask of adapter `adapter` for a call with `seed` at `rate`: 1 / (1 − rate) where
 * an element is kept, 0 where it is dropped, element i of x (row-major) decided by
 * mix32(i XOR mix32(seed + adapter · 0x9e3779b9)) (dropout.ts, stream `adapter`).
 */
export function loraKeepMask(seed: number, adapter: number, rows: number, cols: number, rate: number): Float32Array {
	return keepMask(seed, rows * cols, rate, adapter);
}

/** Whether the parts can take the fused kernels: float32, one rank, biases all or none, few enough. */
function fusable(x: tf.Tensor, parts: LoraPart[], layout: WeightLayout): boolean {
	if (!useFastPath() || parts.length > LORA_MAX_PARTS) return false;
	if (parts.length > 1 && layout !== 'out_in') return false;
	const ts = [x, ...parts.flatMap((p) => [p.w, p.b, p.loraA, p.loraB])].filter((t): t is tf.Tensor => t !== undefined);
	if (!ts.every((t) => t.dtype === 'float32')) return false;
	const ranks = new Set(parts.filter((p) => p.loraA).map((p) => p.loraA!.shape[0]));
	const biases = new Set(parts.map((p) => Boolean(p.b)));
	return ranks.size === 1 && biases.size === 1;
}

/**
 * The projections alone: one linear, or several side by side (one matmul on the fast path). Parts
 * whose biases are not all present or all absent, or (in, out) weights, run one by one and are
 * joined, so no bias is dropped.
 */
function base(x: tf.Tensor, parts: LoraPart[], layout: WeightLayout): tf.Tensor {
	if (parts.length === 1) return linear(x, parts[0].w, parts[0].b, layout);
	const biases = parts.filter((p) => p.b).length;
	if (layout !== 'out_in' || (biases > 0 && biases < parts.length)) return tf.concat(parts.map((p) => linear(x, p.w, p.b, layout)), -1);
	return linearSideBySide(
		x,
		parts.map((p) => p.w),
		biases ? parts.map((p) => p.b!) : undefined
	);
}

/** x (..., in) through the parts side by side: (..., Σ out). See the file's comment. */
export function loraSideBySide(x: tf.Tensor, parts: LoraPart[], opts: LoraOptions, layout: WeightLayout = 'out_in'): tf.Tensor {
	const inDim = x.shape[x.shape.length - 1];
	const outs = parts.map((p) => p.w.shape[layout === 'out_in' ? 0 : 1]);
	const rate = opts.dropout && opts.dropout.rate > 0 ? opts.dropout.rate : 0;
	const seed = opts.dropout?.seed ?? 0;
	const adapted = parts.filter((p) => p.loraA && p.loraB);
	if (!adapted.length) return base(x, parts, layout);
	const lead = x.shape.slice(0, -1);
	const rows = lead.reduce((a, d) => a * d, 1);
	if (fusable(x, parts, layout)) {
		const x2 = x.reshape([rows, inDim]) as tf.Tensor2D;
		const y0 = base(x2, parts, layout) as tf.Tensor2D;
		const joinA = adapted.length === 1 ? adapted[0].loraA! : (fusedConcatRows(adapted.map((p) => p.loraA!)) as tf.Tensor2D);
		const joinB = adapted.length === 1 ? adapted[0].loraB! : (fusedConcatRows(adapted.map((p) => p.loraB!)) as tf.Tensor2D);
		const rank = adapted[0].loraA!.shape[0];
		const h = fusedLoraDown(x2, joinA, { threshold: dropThreshold(rate), inv: Math.fround(1 / (1 - rate)), seed: seed >>> 0, rank });
		const ends: number[] = [];
		const adapters: number[] = [];
		const bRows: number[] = [];
		let end = 0;
		let a = 0;
		let row = 0;
		parts.forEach((p, i) => {
			end += outs[i];
			ends.push(end);
			const on = Boolean(p.loraA && p.loraB);
			adapters.push(on ? a++ : -1);
			bRows.push(on ? row : -1);
			if (on) row += outs[i];
		});
		const y = fusedLoraUp(y0, h, joinB, { ends, adapters, bRows, rank, scale: opts.scale });
		return y.reshape([...lead, end]);
	}
	let a = 0;
	const ys = parts.map((p) => {
		const y = linear(x, p.w, p.b, layout);
		if (!p.loraA || !p.loraB) return y;
		const adapter = a++;
		const xd = rate > 0 ? x.mul(tf.tensor(loraKeepMask(seed >>> 0, adapter, rows, inDim, rate), x.shape, 'float32')) : x;
		return y.add(linear(linear(xd, p.loraA), p.loraB).mul(opts.scale));
	});
	return ys.length === 1 ? ys[0] : tf.concat(ys, -1);
}
