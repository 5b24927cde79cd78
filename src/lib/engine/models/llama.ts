/**
 * Llama (Touvron et al. 2023) as transformers' `LlamaForCausalLM` and
 * `LlamaForSequenceClassification` compute it (v4.40, modeling_llama.py, eager attention):
 * RMSNorm pre-norm blocks, rotary positions on q and k, grouped-query attention, and a SiLU-gated
 * MLP. Qwen2 is this network with biases on q/k/v (qwen2.ts), Mistral adds a sliding attention
 * window (mistral.ts), Gemma scales the embeddings and offsets its norms (gemma.ts), and Phi-3 fuses
 * q/k/v and gate/up into one projection each (phi3.ts), so the decoder here takes those switches
 * from the config.
 *
 *   x = embed_tokens[ids]
 *   for each layer:  x = x + attn(rms(x));  x = x + mlp(rms(x))
 *   h = norm(x)
 *   causal LM:       logits = h @ lm_head^T        (lm_head = embed_tokens when tied)
 *   classification:  logits = h[last real token] @ score^T   (no bias)
 *   attn: q, k = rope(q_proj x), rope(k_proj x);  o_proj(softmax(q k^T / sqrt(hs) + mask) v)
 *   mlp:  down_proj(act(gate_proj x) * up_proj x)
 */
import * as tf from '@tensorflow/tfjs';
import { activation, applyRope, applyRopeHeads, attendHeads, attendPacked, embedding, mergeHeads, rmsNorm, ropeCosSin, ropeTable, siluGate, siluGatePacked, splitHeads } from '../ops';
import { rmsNormAddResidual, rmsNormResidual } from '../ops/norm';
import { attendCached } from './kv-cache';
import { checkpointBlock } from './checkpoint';
import { ropeTableAt } from '../ops/rope';
import { decoderHead, decoderHeadRules, taskLoss } from './heads';
import { bad, configReader, readHeadFields, type ConfigReader } from './hf-config';
import { adaptedLinear, adaptedSideBySide, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

export const DECODER_TASKS: Task[] = ['causal-lm', 'sequence-classification'];

export interface LlamaConfig extends HfConfigBase {
	modelType: 'llama' | 'qwen2' | 'mistral' | 'gemma' | 'phi3';
	ropeTheta: number;
	/** Linear RoPE scaling divides positions by this factor (`rope_scaling: {type: 'linear'}`); 1 = none. */
	ropePositionScale: number;
	qkvBias: boolean;
	oBias: boolean;
	mlpBias: boolean;
	attentionDropout: number;
	/** Mistral/Phi-3: a query sees only the keys at most this many positions back (null: all). */
	slidingWindow?: number | null;
	/** Gemma: the embeddings are multiplied by this (float32 √hidden_size); 1 elsewhere. */
	embedScale?: number;
	/** Gemma: RMSNorm scales by (1 + weight) rather than weight. */
	normUnitOffset?: boolean;
	/** Phi-3: one `qkv_proj` (rows q, k, v) and one `gate_up_proj` (rows gate, up). */
	fusedProjections?: boolean;
}

/** The fields Llama and Qwen2 read the same way; `modelType` names the errors. */
export function readDecoderConfig(
	r: ConfigReader,
	json: Record<string, unknown>,
	modelType: LlamaConfig['modelType'],
	defaults: {
		vocabSize: number;
		intermediateSize: number;
		maxPositions: number;
		nKvHead: number | null;
		/** Llama's unless given: 4096, 32 layers, 32 heads, head_dim hidden/heads, rms eps 1e-6. */
		hiddenSize?: number;
		nLayer?: number;
		nHead?: number;
		headDim?: number;
		normEps?: number;
	}
): Omit<LlamaConfig, 'qkvBias' | 'oBias' | 'mlpBias' | 'bosTokenId' | 'eosTokenIds'> {
	const hiddenSize = r.size('hidden_size', defaults.hiddenSize ?? 4096);
	const nHead = r.size('num_attention_heads', defaults.nHead ?? 32);
	const nKvHead = r.size('num_key_value_heads', defaults.nKvHead ?? nHead);
	const headDim = r.size('head_dim', defaults.headDim ?? Math.floor(hiddenSize / nHead));
	if (nHead % nKvHead) throw bad(modelType, `num_attention_heads ${nHead} is not a multiple of num_key_value_heads ${nKvHead}.`);
	if (headDim % 2) throw bad(modelType, `head size ${headDim} must be even for rotary embeddings.`);
	return {
		modelType,
		...readHeadFields(r, json, modelType, DECODER_TASKS),
		vocabSize: r.size('vocab_size', defaults.vocabSize),
		hiddenSize,
		nLayer: r.size('num_hidden_layers', defaults.nLayer ?? 32),
		nHead,
		nKvHead,
		headDim,
		intermediateSize: r.size('intermediate_size', defaults.intermediateSize),
		maxPositions: r.size('max_position_embeddings', defaults.maxPositions),
		hiddenAct: r.str('hidden_act', 'silu'),
		normEps: r.num('rms_norm_eps', defaults.normEps ?? 1e-6),
		tieWordEmbeddings: r.bool('tie_word_embeddings', false),
		padTokenId: r.tokenId('pad_token_id', null),
		ropeTheta: r.num('rope_theta', 10000),
		ropePositionScale: ropePositionScale(r, modelType),
		attentionDropout: r.num('attention_dropout', 0)
	};
}

function ropePositionScale(r: ConfigReader, modelType: string): number {
	const s = r.raw('rope_scaling') as Record<string, unknown> | null | undefined;
	if (!s) return 1;
	const type = s.rope_type ?? s.type;
	if (type === 'linear' && typeof s.factor === 'number' && s.factor > 0) return s.factor;
	if (type === 'default') return 1;
	throw bad(modelType, `rope_scaling ${JSON.stringify(s)} is not supported (only none or {"type": "linear", "factor": f}).`);
}

function parseConfig(json: Record<string, unknown>): LlamaConfig {
	const r = configReader(json, 'llama');
	const attentionBias = r.bool('attention_bias', false);
	return {
		...readDecoderConfig(r, json, 'llama', { vocabSize: 32000, intermediateSize: 11008, maxPositions: 2048, nKvHead: null }),
		bosTokenId: r.tokenId('bos_token_id', 1),
		eosTokenIds: r.tokenIds('eos_token_id', 2),
		qkvBias: attentionBias,
		oBias: attentionBias,
		mlpBias: r.bool('mlp_bias', false)
	};
}

export function decoderParamShapes(c: LlamaConfig): Record<string, number[]> {
	const d = c.hiddenSize;
	const q = c.nHead * c.headDim;
	const kv = c.nKvHead * c.headDim;
	const f = c.intermediateSize;
	const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [c.vocabSize, d] };
	const proj = (name: string, out: number, inp: number, bias: boolean) => {
		shapes[name + '.weight'] = [out, inp];
		if (bias) shapes[name + '.bias'] = [out];
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = `model.layers.${i}.`;
		if (c.fusedProjections) {
			// Phi3Attention and Phi3MLP declare their projections in this order
			proj(p + 'self_attn.o_proj', d, q, c.oBias);
			proj(p + 'self_attn.qkv_proj', q + 2 * kv, d, c.qkvBias);
			proj(p + 'mlp.gate_up_proj', 2 * f, d, c.mlpBias);
			proj(p + 'mlp.down_proj', d, f, c.mlpBias);
			shapes[p + 'input_layernorm.weight'] = [d];
			shapes[p + 'post_attention_layernorm.weight'] = [d];
			continue;
		}
		proj(p + 'self_attn.q_proj', q, d, c.qkvBias);
		proj(p + 'self_attn.k_proj', kv, d, c.qkvBias);
		proj(p + 'self_attn.v_proj', kv, d, c.qkvBias);
		proj(p + 'self_attn.o_proj', d, q, c.oBias);
		proj(p + 'mlp.gate_proj', f, d, c.mlpBias);
		proj(p + 'mlp.up_proj', f, d, c.mlpBias);
		proj(p + 'mlp.down_proj', d, f, c.mlpBias);
		shapes[p + 'input_layernorm.weight'] = [d];
		shapes[p + 'post_attention_layernorm.weight'] = [d];
	}
	shapes['model.norm.weight'] = [d];
	if (c.task === 'sequence-classification') shapes['score.weight'] = [c.numLabels, d];
	else if (!c.tieWordEmbeddings) shapes['lm_head.weight'] = [c.vocabSize, d];
	return shapes;
}

/** nn.Linear in PyTorch layout (the bias when the checkpoint has one), plus its LoRA adapter if it has one. */
function proj(p: Params, name: string, x: tf.Tensor, drop: Dropout): tf.Tensor {
	return adaptedLinear(p, name, x, drop);
}

function rms(p: Params, name: string, c: LlamaConfig, x: tf.Tensor): tf.Tensor {
	const w = p[name + '.weight'] as tf.Tensor1D;
	return rmsNorm(x, c.normUnitOffset ? w.add(1) : w, c.normEps);
}

/**
 * [x, rms(x)] for a residual block, or with `delta` [x + δ, rms(x + δ)]: on the fast path the add
 * is in the norm's kernel and the stream's gradient joins in the norm's backward kernel.
 */
function rmsResidual(p: Params, name: string, c: LlamaConfig, x: tf.Tensor, delta: tf.Tensor | null = null): [tf.Tensor, tf.Tensor] {
	const w = p[name + '.weight'] as tf.Tensor1D;
	const gamma = (c.normUnitOffset ? w.add(1) : w) as tf.Tensor1D;
	return delta ? rmsNormAddResidual(x, delta, gamma, c.normEps) : rmsNormResidual(x, gamma, c.normEps);
}

interface Rope {
	cos: tf.Tensor4D;
	sin: tf.Tensor4D;
}

function selfAttention(p: Params, pre: string, c: LlamaConfig, layer: number, x: tf.Tensor, rope: Rope, mask: tf.Tensor2D | undefined, drop: Dropout, opts: ForwardOptions): tf.Tensor {
	const projections = () =>
		c.fusedProjections
			? tf.split(proj(p, pre + 'qkv_proj', x, drop), [c.nHead * c.headDim, c.nKvHead * c.headDim, c.nKvHead * c.headDim], -1) // (B, T, q), 2 x (B, T, kv)
			: [proj(p, pre + 'q_proj', x, drop), proj(p, pre + 'k_proj', x, drop), proj(p, pre + 'v_proj', x, drop)];
	if (!opts.kv) {
		// Heads side by side, as the projections give them: RoPE on (B, T, nh, hs) with the tables
		// viewed as (B or 1, T, 1, hs), then attention with no split or merge transposes.
		const [b, t] = x.shape;
		const hs = c.headDim;
		const cos = rope.cos.reshape([rope.cos.shape[0], t, 1, hs]) as tf.Tensor4D; // (B or 1, T, 1, hs): the same memory
		const sin = rope.sin.reshape([rope.sin.shape[0], t, 1, hs]) as tf.Tensor4D;
		// One (B, T, nh + 2·nkv, hs) tensor: q's and k's heads turn, v's pass, and the attention
		// kernel reads the three at their offsets (no slices forward, no concat backward).
		const qkv = packedQkv(p, pre, c, x, drop);
		const heads = c.nHead + 2 * c.nKvHead;
		const turned = applyRopeHeads(qkv.reshape([b, t, heads, hs]), cos, sin, c.nHead + c.nKvHead).reshape([b, t, heads * hs]);
		const y = attendPacked(turned, c.nHead, c.nKvHead, { causal: true, keyMask: mask, window: c.slidingWindow, dropout: drop.spec(c.attentionDropout) }); // (B, T, nh*hs)
		return proj(p, pre + 'o_proj', y, drop); // (B, T, d)
	}
	const [qx, kx, vx] = projections();
	const q = applyRope(splitHeads(qx, c.nHead), rope.cos, rope.sin); // (B, nh, T, hs)
	const k = applyRope(splitHeads(kx, c.nKvHead), rope.cos, rope.sin); // (B, nkv, T, hs)
	const v = splitHeads(vx, c.nKvHead); // (B, nkv, T, hs)
	const y = attendCached(opts.kv, layer, q, k, v, { causal: true, keyMask: mask, window: c.slidingWindow, dropout: drop.spec(c.attentionDropout) }); // (B, nh, T, hs)
	return proj(p, pre + 'o_proj', mergeHeads(y), drop); // (B, T, d)
}

/**
 * q | k | v as one (B, T, (nh + 2·nkv)·hs) projection: Phi-3's own qkv_proj, or Llama's three
 * weights side by side (`adaptedSideBySide`: on the fast path joined by buffer copies, so one
 * matmul each way and one dW instead of three, and no adds summing dx; with LoRA adapters on some
 * of them, the frozen join plus one low-rank kernel pair for all the adapters).
 */
function packedQkv(p: Params, pre: string, c: LlamaConfig, x: tf.Tensor, drop: Dropout): tf.Tensor {
	if (c.fusedProjections) return proj(p, pre + 'qkv_proj', x, drop);
	return adaptedSideBySide(
		p,
		['q_proj', 'k_proj', 'v_proj'].map((n) => pre + n),
		x,
		drop
	);
}

/** act(gate) · up; SiLU through `siluGate` (one fused kernel on the fast path). */
function gated(c: LlamaConfig, gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
	if (c.hiddenAct === 'silu' || c.hiddenAct === 'swish') return siluGate(gate, up);
	return activation(c.hiddenAct)(gate).mul(up);
}

function mlp(p: Params, pre: string, c: LlamaConfig, x: tf.Tensor, drop: Dropout): tf.Tensor {
	const silu = c.hiddenAct === 'silu' || c.hiddenAct === 'swish';
	if (silu) {
		// [gate | up] as one projection (Phi-3's gate_up_proj, or Llama's two weights joined, with
		// their adapters if they have them) and the gate read from it: one matmul each way, one dW
		// (or the adapters' kernels), one gate kernel each way.
		const gu = c.fusedProjections ? proj(p, pre + 'gate_up_proj', x, drop) : adaptedSideBySide(p, [pre + 'gate_proj', pre + 'up_proj'], x, drop);
		return proj(p, pre + 'down_proj', siluGatePacked(gu), drop); // (B, T, d)
	}
	if (c.fusedProjections) {
		const [g, up] = tf.split(proj(p, pre + 'gate_up_proj', x, drop), 2, -1); // 2 x (B, T, f)
		return proj(p, pre + 'down_proj', gated(c, g, up), drop); // (B, T, d)
	}
	return proj(p, pre + 'down_proj', gated(c, proj(p, pre + 'gate_proj', x, drop), proj(p, pre + 'up_proj', x, drop)), drop); // (B, T, d)
}

/** `LlamaModel`'s output: the residual stream after the final RMSNorm, (B, T, d). */
export function decoderHidden(p: Params, c: LlamaConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	const drop = new Dropout(opts);
	const rope = opts.kv?.mode === 'decode'
		? ropeTableAt(opts.kv.positions.map((p) => [p]), c.headDim, c.ropeTheta, c.ropePositionScale) // (B, 1, 1, hs) at each row's position
		: batch.positionIds
		? ropeCosSin(batch.positionIds, c.headDim, c.ropeTheta, c.ropePositionScale) // (B, 1, T, hs)
		: ropeTable(t, c.headDim, c.ropeTheta, c.ropePositionScale); // (1, 1, T, hs)
	let x = embedding(p['model.embed_tokens.weight'] as tf.Tensor2D, batch.inputIds.reshape([b * t])).reshape([b, t, c.hiddenSize]); // (B, T, d)
	if (c.embedScale !== undefined && c.embedScale !== 1) x = x.mul(c.embedScale);
	// The stream x and the sublayer output not yet added to it: each norm adds it as it reads x
	// (on the fast path in its own kernel, so the residual adds cost no dispatch).
	let delta: tf.Tensor | null = null;
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `model.layers.${i}.`;
		if (drop.checkpoint) {
			// The block as one op that keeps only its input: the stream leaves it with δ added.
			x = checkpointBlock(p, pre, x, [rope.cos, rope.sin, batch.attentionMask], drop, (q, xi, [cos, sin, mask], d) => {
				const [r, m] = block(q, pre, c, i, xi, null, { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D }, mask as tf.Tensor2D | undefined, d, opts);
				return r.add(m);
			});
			continue;
		}
		[x, delta] = block(p, pre, c, i, x, delta, rope, batch.attentionMask, drop, opts);
	}
	return (delta ? rmsResidual(p, 'model.norm', c, x, delta)[1] : rms(p, 'model.norm', c, x)) as tf.Tensor3D;
}

/** One layer: the stream after attention and the MLP's output not yet added to it, [x + attn, mlp]. */
function block(p: Params, pre: string, c: LlamaConfig, i: number, x: tf.Tensor, delta: tf.Tensor | null, rope: Rope, mask: tf.Tensor2D | undefined, drop: Dropout, opts: ForwardOptions): [tf.Tensor, tf.Tensor] {
	const [r1, h1] = rmsResidual(p, pre + 'input_layernorm', c, x, delta); // x (+ δ) and its norm, (B, T, d)
	const [r2, h2] = rmsResidual(p, pre + 'post_attention_layernorm', c, r1, selfAttention(p, pre + 'self_attn.', c, i, h1, rope, mask, drop, opts));
	return [r2, mlp(p, pre + 'mlp.', c, h2, drop)];
}

export function decoderForward(p: Params, c: LlamaConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	return decoderHead(p, c, decoderHidden(p, c, batch, opts), batch.attentionMask, 'model.embed_tokens.weight', 'lm_head.weight');
}

export const llama: ArchSpec<LlamaConfig> = {
	modelType: 'llama',
	tasks: DECODER_TASKS,
	classNames: { 'causal-lm': 'LlamaForCausalLM', 'sequence-classification': 'LlamaForSequenceClassification' },
	baseModelPrefix: 'model',
	parseConfig,
	paramShapes: decoderParamShapes,
	...decoderHeadRules,
	hidden: decoderHidden,
	forward: decoderForward,
	loss: taskLoss
};
