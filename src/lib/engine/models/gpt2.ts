/**
 * GPT-2 (Radford et al. 2019) as transformers' `GPT2LMHeadModel` and
 * `GPT2ForSequenceClassification` compute it (v4.40, modeling_gpt2.py, eager attention): learned
 * absolute positions, pre-LN blocks, Conv1D weights stored [in, out], tanh-GELU ("gelu_new"), and
 * either an LM head that reuses `transformer.wte.weight` or a bias-free `score` on the last real
 * token.
 *
 *   x = drop(wte[ids] + wpe[pos])
 *   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   h = ln_f(x)
 *   causal LM:       logits = h @ wte^T
 *   classification:  logits = h[last real token] @ score^T
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attendPacked, embedding, layerNorm } from '../ops';
import { layerNormAddResidual, layerNormResidual, type ResidualDropout } from '../ops/norm';
import { dropout } from '../ops/dropout';
import { attendCachedHeads } from './kv-cache';
import { checkpointBlock } from './checkpoint';
import { decoderHead, decoderHeadRules, taskLoss } from './heads';
import { bad, configReader, readHeadFields } from './hf-config';
import { adaptedLinear, defaultPositions, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

const TASKS: Task[] = ['causal-lm', 'sequence-classification'];

export interface Gpt2Config extends HfConfigBase {
	modelType: 'gpt2';
	embdPdrop: number;
	attnPdrop: number;
	residPdrop: number;
	/** Divide attention logits by sqrt(head size) (default true). */
	scaleAttnWeights: boolean;
	/** Also divide block i's attention logits by i + 1 (default false). */
	scaleAttnByInverseLayerIdx: boolean;
}

function parseConfig(json: Record<string, unknown>): Gpt2Config {
	const r = configReader(json, 'gpt2');
	const hiddenSize = r.size('n_embd', 768);
	const nHead = r.size('n_head', 12);
	if (hiddenSize % nHead) throw bad('gpt2', `n_embd ${hiddenSize} is not divisible by n_head ${nHead}.`);
	return {
		modelType: 'gpt2',
		...readHeadFields(r, json, 'gpt2', TASKS),
		vocabSize: r.size('vocab_size', 50257),
		hiddenSize,
		nLayer: r.size('n_layer', 12),
		nHead,
		nKvHead: nHead,
		headDim: hiddenSize / nHead,
		intermediateSize: r.size('n_inner', 4 * hiddenSize), // n_inner: null means 4 * n_embd
		maxPositions: r.size('n_positions', 1024),
		hiddenAct: r.str('activation_function', 'gelu_new'),
		normEps: r.num('layer_norm_epsilon', 1e-5),
		tieWordEmbeddings: r.bool('tie_word_embeddings', true),
		bosTokenId: r.tokenId('bos_token_id', 50256),
		eosTokenIds: r.tokenIds('eos_token_id', 50256),
		padTokenId: r.tokenId('pad_token_id', null),
		embdPdrop: r.num('embd_pdrop', 0.1),
		attnPdrop: r.num('attn_pdrop', 0.1),
		residPdrop: r.num('resid_pdrop', 0.1),
		scaleAttnWeights: r.bool('scale_attn_weights', true),
		scaleAttnByInverseLayerIdx: r.bool('scale_attn_by_inverse_layer_idx', false)
	};
}

function paramShapes(c: Gpt2Config): Record<string, number[]> {
	const d = c.hiddenSize;
	const h = c.intermediateSize;
	const shapes: Record<string, number[]> = {
		'transformer.wte.weight': [c.vocabSize, d],
		'transformer.wpe.weight': [c.maxPositions, d]
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = `transformer.h.${i}.`;
		Object.assign(shapes, {
			[p + 'ln_1.weight']: [d],
			[p + 'ln_1.bias']: [d],
			[p + 'attn.c_attn.weight']: [d, 3 * d],
			[p + 'attn.c_attn.bias']: [3 * d],
			[p + 'attn.c_proj.weight']: [d, d],
			[p + 'attn.c_proj.bias']: [d],
			[p + 'ln_2.weight']: [d],
			[p + 'ln_2.bias']: [d],
			[p + 'mlp.c_fc.weight']: [d, h],
			[p + 'mlp.c_fc.bias']: [h],
			[p + 'mlp.c_proj.weight']: [h, d],
			[p + 'mlp.c_proj.bias']: [d]
		});
	}
	shapes['transformer.ln_f.weight'] = [d];
	shapes['transformer.ln_f.bias'] = [d];
	if (c.task === 'sequence-classification') shapes['score.weight'] = [c.numLabels, d];
	else if (!c.tieWordEmbeddings) shapes['lm_head.weight'] = [c.vocabSize, d];
	return shapes;
}

const B = (p: Params, name: string) => p[name] as tf.Tensor1D;

function ln(p: Params, name: string, c: Gpt2Config, x: tf.Tensor): tf.Tensor {
	return layerNorm(x, B(p, name + '.weight'), B(p, name + '.bias'), c.normEps);
}

/**
 * [x, ln(x)] for a residual block, or [x + dropout(δ), ln of it] with a sublayer's output δ: on the
 * fast path the add and δ's dropout are in the norm's kernel, and the stream's gradient joins in
 * its backward kernel.
 */
function lnResidual(p: Params, name: string, c: Gpt2Config, x: tf.Tensor, delta: tf.Tensor | null = null, deltaDrop?: ResidualDropout): [tf.Tensor, tf.Tensor] {
	if (delta) return layerNormAddResidual(x, delta, B(p, name + '.weight'), B(p, name + '.bias'), c.normEps, deltaDrop);
	return layerNormResidual(x, B(p, name + '.weight'), B(p, name + '.bias'), c.normEps);
}

/** Conv1D: a linear layer with its weight stored [in, out], plus its LoRA adapter if it has one. */
function conv1d(p: Params, name: string, x: tf.Tensor, drop: Dropout): tf.Tensor {
	return adaptedLinear(p, name, x, drop, 'in_out');
}

/** The attention sublayer's output and its residual dropout, which the next norm applies as it adds it. */
function selfAttention(p: Params, pre: string, c: Gpt2Config, layer: number, x: tf.Tensor, mask: tf.Tensor2D | undefined, drop: Dropout, opts: ForwardOptions): [tf.Tensor, ResidualDropout] {
	const d = c.hiddenSize;
	const qkv = conv1d(p, pre + 'c_attn', x, drop); // (B, T, 3d): [q | k | v]
	let scale = c.scaleAttnWeights ? 1 / Math.sqrt(c.headDim) : 1;
	if (c.scaleAttnByInverseLayerIdx) scale /= layer + 1;
	const attn = { causal: true, keyMask: mask, scale, dropout: drop.spec(c.attnPdrop) };
	const y = opts.kv
		? attendCachedHeads(opts.kv, layer, ...(tf.split(qkv, [d, d, d], -1) as [tf.Tensor, tf.Tensor, tf.Tensor]), c.nHead, c.nHead, attn) // 3 x (B, T, d) in
		: attendPacked(qkv, c.nHead, c.nHead, attn); // (B, T, d)
	const out = conv1d(p, pre + 'c_proj', y, drop); // (B, T, d)
	return [out, drop.spec(c.residPdrop)];
}

/** The MLP's output and its residual dropout, as `selfAttention`. */
function mlp(p: Params, pre: string, c: Gpt2Config, x: tf.Tensor, drop: Dropout): [tf.Tensor, ResidualDropout] {
	const h = activation(c.hiddenAct)(conv1d(p, pre + 'c_fc', x, drop)); // (B, T, 4d)
	const out = conv1d(p, pre + 'c_proj', h, drop); // (B, T, d)
	return [out, drop.spec(c.residPdrop)];
}

/** `GPT2Model`'s output: the residual stream after ln_f, (B, T, d). */
function hidden(p: Params, c: Gpt2Config, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	if (t > c.maxPositions) throw new Error(`gpt2: ${t} tokens is longer than n_positions ${c.maxPositions}.`);
	const drop = new Dropout(opts);
	const pos = batch.positionIds ?? defaultPositions(b, t);
	const tok = embedding(p['transformer.wte.weight'] as tf.Tensor2D, batch.inputIds.reshape([b * t])); // (B*T, d)
	const posEmb = embedding(p['transformer.wpe.weight'] as tf.Tensor2D, pos.reshape([b * t])); // (B*T, d)
	let x = drop.apply(tok.add(posEmb).reshape([b, t, c.hiddenSize]), c.embdPdrop); // (B, T, d)
	// The stream x and the sublayer output not yet added to it: each norm adds it as it reads x
	// (on the fast path in its own kernel, so the residual adds cost no dispatch).
	let delta: tf.Tensor | null = null;
	let deltaDrop: ResidualDropout;
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `transformer.h.${i}.`;
		if (drop.checkpoint) {
			// The block as one op that keeps only its input: the stream leaves it with δ added.
			x = checkpointBlock(p, pre, x, [batch.attentionMask], drop, (q, xi, [mask], d) => {
				const [r, m, md] = block(q, pre, c, i, xi, null, undefined, mask as tf.Tensor2D | undefined, d, opts);
				return r.add(md ? dropout(m, md.rate, md.seed) : m);
			});
			continue;
		}
		[x, delta, deltaDrop] = block(p, pre, c, i, x, delta, deltaDrop, batch.attentionMask, drop, opts);
	}
	return (delta ? lnResidual(p, 'transformer.ln_f', c, x, delta, deltaDrop)[1] : ln(p, 'transformer.ln_f', c, x)) as tf.Tensor3D;
}

/**
 * One block: the stream after attention, and the MLP's output not yet added to it with its
 * dropout, [x + attn, mlp, its dropout]; the next norm adds it.
 */
function block(
	p: Params,
	pre: string,
	c: Gpt2Config,
	i: number,
	x: tf.Tensor,
	delta: tf.Tensor | null,
	deltaDrop: ResidualDropout,
	mask: tf.Tensor2D | undefined,
	drop: Dropout,
	opts: ForwardOptions
): [tf.Tensor, tf.Tensor, ResidualDropout] {
	const [r1, h1] = lnResidual(p, pre + 'ln_1', c, x, delta, deltaDrop); // x (+ dropout(δ)) and ln_1 of it, (B, T, d)
	const [attn, attnDrop] = selfAttention(p, pre + 'attn.', c, i, h1, mask, drop, opts);
	const [r2, h2] = lnResidual(p, pre + 'ln_2', c, r1, attn, attnDrop);
	return [r2, ...mlp(p, pre + 'mlp.', c, h2, drop)];
}

function forward(p: Params, c: Gpt2Config, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	return decoderHead(p, c, hidden(p, c, batch, opts), batch.attentionMask, 'transformer.wte.weight', 'lm_head.weight');
}

export const gpt2: ArchSpec<Gpt2Config> = {
	modelType: 'gpt2',
	tasks: TASKS,
	classNames: { 'causal-lm': 'GPT2LMHeadModel', 'sequence-classification': 'GPT2ForSequenceClassification' },
	baseModelPrefix: 'transformer',
	parseConfig,
	paramShapes,
	...decoderHeadRules,
	hidden,
	forward,
	loss: taskLoss
};
