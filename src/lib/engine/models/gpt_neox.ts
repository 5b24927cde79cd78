/**
 * GPT-NeoX (Black et al. 2022; the Pythia suite, Biderman et al. 2023) as transformers'
 * `GPTNeoXForCausalLM` and `GPTNeoXForSequenceClassification` compute it (v4.40,
 * modeling_gpt_neox.py, eager attention): pre-LN blocks with LayerNorm, one fused
 * `query_key_value` projection laid out per head as [q_h | k_h | v_h], rotary positions on only the
 * first `rotary_pct` of each head's dimensions, a parallel residual, exact GELU, and an untied
 * output embedding `embed_out`.
 *
 *   x = embed_in[ids]
 *   for each layer:  x = x + attn(ln1(x)) + mlp(ln2(x))        (use_parallel_residual)
 *                    x = x + attn(ln1(x));  x = x + mlp(ln2(x))  (otherwise)
 *   h = final_layer_norm(x)
 *   causal LM:       logits = h @ embed_out^T
 *   classification:  logits = h[last real token] @ score^T   (no bias)
 */
import * as tf from '@tensorflow/tfjs';
import { activation, applyRope, attendHeads, embedding, layerNorm, mergeHeads, ropeCosSin, ropeTable } from '../ops';
import { attendCached } from './kv-cache';
import { checkpointBlock } from './checkpoint';
import { ropeTableAt } from '../ops/rope';
import { decoderHead, decoderHeadRules, taskLoss } from './heads';
import { bad, configReader, readHeadFields } from './hf-config';
import { adaptedLinear, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

const TASKS: Task[] = ['causal-lm', 'sequence-classification'];

export interface GptNeoxConfig extends HfConfigBase {
	modelType: 'gpt_neox';
	/** Rotated dimensions of each head: int(head_size * rotary_pct). */
	rotaryDims: number;
	ropeTheta: number;
	/** Linear RoPE scaling divides positions by this factor; 1 = none. */
	ropePositionScale: number;
	parallelResidual: boolean;
	attentionBias: boolean;
	attentionDropout: number;
	hiddenDropout: number;
}

function parseConfig(json: Record<string, unknown>): GptNeoxConfig {
	const r = configReader(json, 'gpt_neox');
	const hiddenSize = r.size('hidden_size', 6144);
	const nHead = r.size('num_attention_heads', 64);
	if (hiddenSize % nHead) throw bad('gpt_neox', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${nHead}.`);
	const headDim = hiddenSize / nHead;
	const rotaryDims = Math.floor(headDim * r.num('rotary_pct', 0.25));
	if (rotaryDims % 2) throw bad('gpt_neox', `rotary dimensions ${rotaryDims} (head size × rotary_pct) must be even.`);
	const scaling = r.raw('rope_scaling') as Record<string, unknown> | null | undefined;
	let ropePositionScale = 1;
	if (scaling) {
		if (scaling.type !== 'linear' || typeof scaling.factor !== 'number' || scaling.factor <= 0)
			throw bad('gpt_neox', `rope_scaling ${JSON.stringify(scaling)} is not supported (only none or {"type": "linear", "factor": f}).`);
		ropePositionScale = scaling.factor;
	}
	return {
		modelType: 'gpt_neox',
		...readHeadFields(r, json, 'gpt_neox', TASKS),
		vocabSize: r.size('vocab_size', 50432),
		hiddenSize,
		nLayer: r.size('num_hidden_layers', 44),
		nHead,
		nKvHead: nHead,
		headDim,
		intermediateSize: r.size('intermediate_size', 24576),
		maxPositions: r.size('max_position_embeddings', 2048),
		hiddenAct: r.str('hidden_act', 'gelu'),
		normEps: r.num('layer_norm_eps', 1e-5),
		tieWordEmbeddings: r.bool('tie_word_embeddings', false),
		bosTokenId: r.tokenId('bos_token_id', 0),
		eosTokenIds: r.tokenIds('eos_token_id', 2),
		padTokenId: r.tokenId('pad_token_id', null),
		rotaryDims,
		ropeTheta: r.num('rotary_emb_base', 10000),
		ropePositionScale,
		parallelResidual: r.bool('use_parallel_residual', true),
		attentionBias: r.bool('attention_bias', true),
		attentionDropout: r.num('attention_dropout', 0),
		hiddenDropout: r.num('hidden_dropout', 0)
	};
}

function paramShapes(c: GptNeoxConfig): Record<string, number[]> {
	const d = c.hiddenSize;
	const f = c.intermediateSize;
	const shapes: Record<string, number[]> = { 'gpt_neox.embed_in.weight': [c.vocabSize, d] };
	const dense = (name: string, out: number, inp: number, bias = true) => {
		shapes[name + '.weight'] = [out, inp];
		if (bias) shapes[name + '.bias'] = [out];
	};
	const norm = (name: string) => {
		shapes[name + '.weight'] = [d];
		shapes[name + '.bias'] = [d];
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = `gpt_neox.layers.${i}.`;
		norm(p + 'input_layernorm');
		norm(p + 'post_attention_layernorm');
		dense(p + 'attention.query_key_value', 3 * d, d, c.attentionBias);
		dense(p + 'attention.dense', d, d, c.attentionBias);
		dense(p + 'mlp.dense_h_to_4h', f, d);
		dense(p + 'mlp.dense_4h_to_h', d, f);
	}
	norm('gpt_neox.final_layer_norm');
	if (c.task === 'sequence-classification') shapes['score.weight'] = [c.numLabels, d];
	else if (!c.tieWordEmbeddings) shapes['embed_out.weight'] = [c.vocabSize, d];
	return shapes;
}

function ln(p: Params, name: string, c: GptNeoxConfig, x: tf.Tensor): tf.Tensor {
	return layerNorm(x, p[name + '.weight'] as tf.Tensor1D, p[name + '.bias'] as tf.Tensor1D, c.normEps);
}

interface Rope {
	cos: tf.Tensor4D;
	sin: tf.Tensor4D;
}

/** Rotary on the first `rotaryDims` of each head, the rest passed through: (B, nh, T, hs), or (B, T, nh, hs) with the tables viewed as (B or 1, T, 1, rd). */
function partialRope(x: tf.Tensor4D, rope: Rope, c: GptNeoxConfig): tf.Tensor4D {
	if (rope.cos.shape[3] !== c.rotaryDims) throw new Error(`gpt_neox: a rotary table of width ${rope.cos.shape[3]} for ${c.rotaryDims} rotary dimensions.`);
	return applyRope(x, rope.cos, rope.sin); // the first rd dimensions of each head rotate, the rest pass through
}

function selfAttention(p: Params, pre: string, c: GptNeoxConfig, layer: number, x: tf.Tensor, rope: Rope, mask: tf.Tensor2D | undefined, drop: Dropout, opts: ForwardOptions): tf.Tensor {
	const [b, t] = x.shape;
	const hs = c.headDim;
	if (!opts.kv) {
		// Heads side by side: each head's [q_h | k_h | v_h] sliced from (B, T, nh, 3*hs) with no transpose, RoPE with the
		// tables viewed as (B or 1, T, 1, rd), and attention reading (B, T, nh*hs) directly.
		const side = { cos: rope.cos.reshape([rope.cos.shape[0], t, 1, c.rotaryDims]) as tf.Tensor4D, sin: rope.sin.reshape([rope.sin.shape[0], t, 1, c.rotaryDims]) as tf.Tensor4D };
		const qkvSide = adaptedLinear(p, pre + 'query_key_value', x, drop).reshape([b, t, c.nHead, 3 * hs]); // (B, T, nh, 3*hs)
		const [q, k, v] = tf.split(qkvSide, 3, -1) as tf.Tensor4D[]; // 3 x (B, T, nh, hs)
		const flat = (h: tf.Tensor4D) => h.reshape([b, t, c.nHead * hs]); // (B, T, nh*hs)
		const y = attendHeads(flat(partialRope(q, side, c)), flat(partialRope(k, side, c)), flat(v), c.nHead, c.nHead, {
			causal: true,
			keyMask: mask,
			dropout: drop.spec(c.attentionDropout)
		}); // (B, T, d)
		return adaptedLinear(p, pre + 'dense', y, drop); // (B, T, d)
	}
	// the fused output is viewed per head: (B, T, nh, 3*hs) -> each head's slice is [q_h | k_h | v_h]
	const qkv = adaptedLinear(p, pre + 'query_key_value', x, drop).reshape([b, t, c.nHead, 3 * hs]).transpose([0, 2, 1, 3]); // (B, nh, T, 3*hs)
	const [q, k, v] = tf.split(qkv, 3, -1) as tf.Tensor4D[]; // 3 x (B, nh, T, hs)
	const y = attendCached(opts.kv, layer, partialRope(q, rope, c), partialRope(k, rope, c), v, {
		causal: true,
		keyMask: mask,
		dropout: drop.spec(c.attentionDropout)
	}); // (B, nh, T, hs)
	return adaptedLinear(p, pre + 'dense', mergeHeads(y), drop); // (B, T, d)
}

function mlp(p: Params, pre: string, c: GptNeoxConfig, x: tf.Tensor, drop: Dropout): tf.Tensor {
	const h = activation(c.hiddenAct)(adaptedLinear(p, pre + 'dense_h_to_4h', x, drop)); // (B, T, f)
	return adaptedLinear(p, pre + 'dense_4h_to_h', h, drop); // (B, T, d)
}

/** `GPTNeoXModel`'s output: the residual stream after final_layer_norm, (B, T, d). */
function hidden(p: Params, c: GptNeoxConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	const drop = new Dropout(opts);
	const rope = opts.kv?.mode === 'decode'
		? ropeTableAt(opts.kv.positions.map((p) => [p]), c.rotaryDims, c.ropeTheta, c.ropePositionScale) // (B, 1, 1, rd) at each row's position
		: batch.positionIds
		? ropeCosSin(batch.positionIds, c.rotaryDims, c.ropeTheta, c.ropePositionScale) // (B, 1, T, rd)
		: ropeTable(t, c.rotaryDims, c.ropeTheta, c.ropePositionScale); // (1, 1, T, rd)
	let x = drop.apply(embedding(p['gpt_neox.embed_in.weight'] as tf.Tensor2D, batch.inputIds.reshape([b * t])).reshape([b, t, c.hiddenSize]), c.hiddenDropout); // (B, T, d)
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `gpt_neox.layers.${i}.`;
		x = drop.checkpoint
			? checkpointBlock(p, pre, x, [rope.cos, rope.sin, batch.attentionMask], drop, (q, xi, [cos, sin, mask], d) =>
					block(q, pre, c, i, xi, { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D }, mask as tf.Tensor2D | undefined, d, opts)
				) // the block as one op that keeps only its input
			: block(p, pre, c, i, x, rope, batch.attentionMask, drop, opts);
	}
	return ln(p, 'gpt_neox.final_layer_norm', c, x) as tf.Tensor3D;
}

function block(p: Params, pre: string, c: GptNeoxConfig, i: number, x: tf.Tensor, rope: Rope, mask: tf.Tensor2D | undefined, drop: Dropout, opts: ForwardOptions): tf.Tensor {
	const attn = drop.apply(selfAttention(p, pre + 'attention.', c, i, ln(p, pre + 'input_layernorm', c, x), rope, mask, drop, opts), c.hiddenDropout);
	if (c.parallelResidual) {
		// x = x + attn(ln1(x)) + mlp(ln2(x)), summed as transformers does: (mlp + attn) + x
		const m = drop.apply(mlp(p, pre + 'mlp.', c, ln(p, pre + 'post_attention_layernorm', c, x), drop), c.hiddenDropout);
		return m.add(attn).add(x);
	}
	const h = attn.add(x);
	return drop.apply(mlp(p, pre + 'mlp.', c, ln(p, pre + 'post_attention_layernorm', c, h), drop), c.hiddenDropout).add(h);
}

function forward(p: Params, c: GptNeoxConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	return decoderHead(p, c, hidden(p, c, batch, opts), batch.attentionMask, 'gpt_neox.embed_in.weight', 'embed_out.weight');
}

export const gpt_neox: ArchSpec<GptNeoxConfig> = {
	modelType: 'gpt_neox',
	tasks: TASKS,
	classNames: { 'causal-lm': 'GPTNeoXForCausalLM', 'sequence-classification': 'GPTNeoXForSequenceClassification' },
	baseModelPrefix: 'gpt_neox',
	parseConfig,
	paramShapes,
	...decoderHeadRules,
	hidden,
	forward,
	loss: taskLoss
};
