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
import { layerNormAddResidual, layerNormResidual } from '../ops/norm';
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

function causalSelfAttention(p: Params, pre: string, c: ModelConfig, x: tf.Tensor3D, mask: tf.Tensor2D, o: ForwardOptions, salt: number): tf.Tensor {
	const qkv = linear(x, p[pre + 'c_attn.weight'] as tf.Tensor2D, p[pre + 'c_attn.bias'] as tf.Tensor1D, 'in_out'); // (B, T, 3d)
	const y = attendPacked(qkv, c.nHead, c.nHead, {
		causal: c.causal,
		keyMask: mask,
		dropout: o.training && c.dropout > 0 ? { rate: c.dropout, seed: ((o.seed ?? 0) + salt) >>> 0 } : undefined
	}); // (B, T, d)
	const out = linear(y, p[pre + 'c_proj.weight'] as tf.Tensor2D, p[pre + 'c_proj.bias'] as tf.Tensor1D, 'in_out'); // (B, T, d)
	return dropout(out, c.dropout, o, salt + 1);
}

function mlp(p: Params, pre: string, c: ModelConfig, x: tf.Tensor, o: ForwardOptions, salt: number): tf.Tensor {
	const h = geluTanh(linear(x, p[pre + 'c_fc.weight'] as tf.Tensor2D, p[pre + 'c_fc.bias'] as tf.Tensor1D, 'in_out'));
	const out = linear(h, p[pre + 'c_proj.weight'] as tf.Tensor2D, p[pre + 'c_proj.bias'] as tf.Tensor1D, 'in_out');
	return dropout(out, c.dropout, o, salt);
}

/** The residual stream after the final norm: (B, T, d). */
export function hiddenStates(p: Params, c: ModelConfig, batch: Batch, o: ForwardOptions = {}): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	if (t > c.contextLength) throw new Error(`Sequence of ${t} tokens is longer than the context length ${c.contextLength}.`);
	let x = embedding(p['transformer.wte.weight'] as tf.Tensor2D, batch.inputIds); // (B, T, d)
	x = addPositions(x as tf.Tensor3D, p['transformer.wpe.weight'] as tf.Tensor2D); // (B, T, d) + (T, d)
	x = dropout(x, c.dropout, o, 1);
	// [x (+ δ), ln of it]: δ is the sublayer output not yet added to the stream. On the fast path the
	// add is in the norm's kernel and the residual stream's gradient joins in its backward kernel.
	const norm = (q: Params, name: string, s: tf.Tensor, d: tf.Tensor | null) => {
		const [g, b] = [q[name + '.weight'] as tf.Tensor1D, q[name + '.bias'] as tf.Tensor1D];
		return d ? layerNormAddResidual(s, d, g, b) : layerNormResidual(s, g, b);
	};
	const block = (q: Params, i: number, x: tf.Tensor, delta: tf.Tensor | null, mask: tf.Tensor2D): [tf.Tensor, tf.Tensor] => {
		const pre = `transformer.h.${i}.`;
		const [r1, ln1] = norm(q, pre + 'ln_1', x, delta);
		const [r2, ln2] = norm(q, pre + 'ln_2', r1, causalSelfAttention(q, pre + 'attn.', c, ln1 as tf.Tensor3D, mask, o, 10 + 4 * i));
		return [r2, mlp(q, pre + 'mlp.', c, ln2, o, 12 + 4 * i)];
	};
	let delta: tf.Tensor | null = null;
	for (let i = 0; i < c.nLayer; i++) {
		if (o.checkpoint) {
			// The block as one op that keeps only its input (its dropout seeds are fixed by salt, so the recompute draws the same masks).
			x = checkpointBlock(p, `transformer.h.${i}.`, x, [batch.attentionMask], undefined, (q, xi, [mask]) => {
				const [r, m] = block(q, i, xi, null, mask as tf.Tensor2D);
				return r.add(m);
			});
			continue;
		}
		[x, delta] = block(p, i, x, delta, batch.attentionMask);
	}
	if (delta) return norm(p, 'transformer.ln_f', x, delta)[1] as tf.Tensor3D;
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
