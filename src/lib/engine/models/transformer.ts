/**
 * The small from-scratch transformer: GPT-2's architecture (Radford et al. 2019; nanoGPT's
 * model.py) with two switches, causal or bidirectional attention, and a language-modelling or a
 * classification head over mean-pooled (or first-token, "[CLS]") states. Tensor names and layouts
 * are GPT-2's Hugging Face names (Conv1D weights stored [in, out]), so a checkpoint exports as a
 * `gpt2` model for `transformers` with no renaming.
 *
 *   x = wte[ids] + wpe[pos]
 *   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   h = ln_f(x) -> lm_head (tied to wte) | pool -> classifier
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { attendPacked, embedding, geluTanh, layerNorm, linear, meanPool } from '../ops';
import { layerNormAddResidual, layerNormResidual, type ResidualDropout } from '../ops/norm';
import { addPositions } from '../ops/positions';
import { dropout as hashedDropout } from '../ops/dropout';
import { checkpointBlock } from './checkpoint';

export type Params = Record<string, tf.Tensor>;

export interface Batch {
	/** (B, T) int32 token ids, right-padded. */
	inputIds: tf.Tensor2D;
	/** (B, T) float 1 for tokens, 0 for padding. */
	attentionMask: tf.Tensor2D;
}

export interface ForwardOptions {
	training?: boolean;
	/** Seed for this step's dropout masks; the engine's PRNG draws it. */
	seed?: number;
	/** Keep only each block's input for the backward and recompute the block there (models/checkpoint.ts). */
	checkpoint?: boolean;
}

/** Name -> shape of every parameter, in a stable order. */
export function paramShapes(c: ModelConfig): Record<string, number[]> {
	const d = c.dModel;
	const h = d * c.mlpRatio;
	const shapes: Record<string, number[]> = {
		'transformer.wte.weight': [c.vocabSize, d],
		'transformer.wpe.weight': [c.contextLength, d]
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = `transformer.h.${i}.`;
		shapes[p + 'ln_1.weight'] = [d];
		shapes[p + 'ln_1.bias'] = [d];
		shapes[p + 'attn.c_attn.weight'] = [d, 3 * d];
		shapes[p + 'attn.c_attn.bias'] = [3 * d];
		shapes[p + 'attn.c_proj.weight'] = [d, d];
		shapes[p + 'attn.c_proj.bias'] = [d];
		shapes[p + 'ln_2.weight'] = [d];
		shapes[p + 'ln_2.bias'] = [d];
		shapes[p + 'mlp.c_fc.weight'] = [d, h];
		shapes[p + 'mlp.c_fc.bias'] = [h];
		shapes[p + 'mlp.c_proj.weight'] = [h, d];
		shapes[p + 'mlp.c_proj.bias'] = [d];
	}
	shapes['transformer.ln_f.weight'] = [d];
	shapes['transformer.ln_f.bias'] = [d];
	if (c.head === 'classification') {
		shapes['classifier.weight'] = [c.numClasses, d];
		shapes['classifier.bias'] = [c.numClasses];
	}
	return shapes;
}

/**
 * GPT-2 initialisation: N(0, 0.02) weights, residual projections scaled by 1/sqrt(2 * nLayer),
 * zero biases, unit norms. Values come from the engine's seeded PRNG, so the same seed gives the
 * same model on every backend.
 */
export function initParams(c: ModelConfig, seed: number): Record<string, { shape: number[]; data: Float32Array }> {
	const rng = new Prng(seed);
	const out: Record<string, { shape: number[]; data: Float32Array }> = {};
	for (const [name, shape] of Object.entries(paramShapes(c))) {
		const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
		if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) data.fill(1);
		else if (!name.endsWith('.bias')) {
			const std = name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * c.nLayer) : 0.02;
			for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
		}
		out[name] = { shape, data };
	}
	return out;
}

function dropout(x: tf.Tensor, rate: number, o: ForwardOptions, salt: number): tf.Tensor {
	if (!o.training || rate <= 0) return x;
	return hashedDropout(x, rate, ((o.seed ?? 0) + salt * 7919) >>> 0);
}

/** The residual branch's dropout at site `salt`, applied by the next norm as it adds the branch (ops/norm.ts). */
function residualDropout(c: ModelConfig, o: ForwardOptions, salt: number): ResidualDropout {
	return o.training && c.dropout > 0 ? { rate: c.dropout, seed: ((o.seed ?? 0) + salt * 7919) >>> 0 } : undefined;
}

/** The attention sublayer's output before its dropout (site `salt + 1`, which the next norm applies). */
function causalSelfAttention(p: Params, pre: string, c: ModelConfig, x: tf.Tensor3D, mask: tf.Tensor2D, o: ForwardOptions, salt: number): tf.Tensor {
	const qkv = linear(x, p[pre + 'c_attn.weight'] as tf.Tensor2D, p[pre + 'c_attn.bias'] as tf.Tensor1D, 'in_out'); // (B, T, 3d)
	const y = attendPacked(qkv, c.nHead, c.nHead, {
		causal: c.causal,
		keyMask: mask,
		dropout: o.training && c.dropout > 0 ? { rate: c.dropout, seed: ((o.seed ?? 0) + salt) >>> 0 } : undefined
	}); // (B, T, d)
	return linear(y, p[pre + 'c_proj.weight'] as tf.Tensor2D, p[pre + 'c_proj.bias'] as tf.Tensor1D, 'in_out'); // (B, T, d)
}

/** The MLP's output before its dropout (the next norm applies it). */
function mlp(p: Params, pre: string, x: tf.Tensor): tf.Tensor {
	const h = geluTanh(linear(x, p[pre + 'c_fc.weight'] as tf.Tensor2D, p[pre + 'c_fc.bias'] as tf.Tensor1D, 'in_out'));
	return linear(h, p[pre + 'c_proj.weight'] as tf.Tensor2D, p[pre + 'c_proj.bias'] as tf.Tensor1D, 'in_out');
}

/** The residual stream after the final norm: (B, T, d). */
export function hiddenStates(p: Params, c: ModelConfig, batch: Batch, o: ForwardOptions = {}): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	if (t > c.contextLength) throw new Error(`Sequence of ${t} tokens is longer than the context length ${c.contextLength}.`);
	let x = embedding(p['transformer.wte.weight'] as tf.Tensor2D, batch.inputIds); // (B, T, d)
	x = addPositions(x as tf.Tensor3D, p['transformer.wpe.weight'] as tf.Tensor2D); // (B, T, d) + (T, d)
	x = dropout(x, c.dropout, o, 1);
	// [x (+ dropout(δ)), ln of it]: δ is the sublayer output not yet added to the stream, with its
	// dropout. On the fast path the add and the dropout are in the norm's kernel and the residual
	// stream's gradient joins in its backward kernel.
	const norm = (q: Params, name: string, s: tf.Tensor, d: tf.Tensor | null, dd: ResidualDropout) => {
		const [g, b] = [q[name + '.weight'] as tf.Tensor1D, q[name + '.bias'] as tf.Tensor1D];
		return d ? layerNormAddResidual(s, d, g, b, 1e-5, dd) : layerNormResidual(s, g, b);
	};
	/** One block: [x + attn, the MLP's output, its dropout], the last two for the next norm to add. */
	const block = (q: Params, i: number, x: tf.Tensor, delta: tf.Tensor | null, dd: ResidualDropout, mask: tf.Tensor2D): [tf.Tensor, tf.Tensor, ResidualDropout] => {
		const pre = `transformer.h.${i}.`;
		const [r1, ln1] = norm(q, pre + 'ln_1', x, delta, dd);
		const attn = causalSelfAttention(q, pre + 'attn.', c, ln1 as tf.Tensor3D, mask, o, 10 + 4 * i);
		const [r2, ln2] = norm(q, pre + 'ln_2', r1, attn, residualDropout(c, o, 11 + 4 * i));
		return [r2, mlp(q, pre + 'mlp.', ln2), residualDropout(c, o, 12 + 4 * i)];
	};
	let delta: tf.Tensor | null = null;
	let deltaDrop: ResidualDropout;
	for (let i = 0; i < c.nLayer; i++) {
		if (o.checkpoint) {
			// The block as one op that keeps only its input (its dropout seeds are fixed by salt, so the recompute draws the same masks).
			x = checkpointBlock(p, `transformer.h.${i}.`, x, [batch.attentionMask], undefined, (q, xi, [mask]) => {
				const [r, m, md] = block(q, i, xi, null, undefined, mask as tf.Tensor2D);
				return r.add(md ? hashedDropout(m, md.rate, md.seed) : m);
			});
			continue;
		}
		[x, delta, deltaDrop] = block(p, i, x, delta, deltaDrop, batch.attentionMask);
	}
	if (delta) return norm(p, 'transformer.ln_f', x, delta, deltaDrop)[1] as tf.Tensor3D;
	return layerNorm(x, p['transformer.ln_f.weight'] as tf.Tensor1D, p['transformer.ln_f.bias'] as tf.Tensor1D) as tf.Tensor3D;
}

/** Classification logits (B, C), or LM logits (B, T, V) with the head tied to the embedding. */
export function forward(p: Params, c: ModelConfig, batch: Batch, o: ForwardOptions = {}): tf.Tensor {
	const h = hiddenStates(p, c, batch, o);
	if (c.head === 'lm') return linear(h, p['transformer.wte.weight'] as tf.Tensor2D); // (B, T, V)
	let pooled: tf.Tensor2D;
	if (c.pooling === 'cls') {
		pooled = h.slice([0, 0, 0], [-1, 1, -1]).reshape([h.shape[0], c.dModel]) as tf.Tensor2D; // (B, d)
	} else {
		pooled = meanPool(h, batch.attentionMask); // (B, d)
	}
	pooled = dropout(pooled, c.dropout, o, 3) as tf.Tensor2D;
	return linear(pooled, p['classifier.weight'] as tf.Tensor2D, p['classifier.bias'] as tf.Tensor1D); // (B, C)
}
