/**
 * The post-LN transformer encoder that BERT (Devlin et al. 2019), RoBERTa and DistilBERT share, as
 * transformers' eager `BertLayer` / `TransformerBlock` compute it. The three differ only in their
 * tensor names, their embeddings and their heads, which stay in their own files:
 *
 *   for each layer:  x = LN(x + drop(o(attn(q(x), k(x), v(x)))));  x = LN(x + drop(down(act(up(x)))))
 *
 * (DistilBERT has no dropout after the attention's output projection: `attnOutDropout` 0.)
 *
 * On the WebGPU fast path (the ops choose the kernels; nothing here asks which path runs) each
 * `LN(x + drop(δ))` is one norm kernel that adds as it reads, reading δ through its dropout mask,
 * and gives its output twice (`Hidden`: the next sublayer's input and the next residual), so the
 * two uses' gradients are added in the norm's backward kernels; q | k | v is one projection (`adaptedSideBySide`, LoRA adapters included) and
 * the attention kernel reads it packed, with the padding mask on the keys.
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attendPacked, embedding } from '../ops';
import { layerNormAddResidual, postLayerNorm, type ResidualDropout } from '../ops/norm';
import { adaptedLinear, adaptedSideBySide, type Batch, type Dropout, type Params } from './spec';
import { checkpointBlock } from './checkpoint';

/** Where an encoder layer's sublayers sit, relative to the layer's prefix. */
export interface EncoderNames {
	/** The layer's prefix: `bert.encoder.layer.${i}.` */
	layer(i: number): string;
	query: string;
	key: string;
	value: string;
	/** the attention's output projection */
	output: string;
	/** the norm after the attention's residual sum */
	attentionNorm: string;
	up: string;
	down: string;
	/** the norm after the feed-forward's residual sum */
	outputNorm: string;
}

/** BERT's and RoBERTa's names under their prefix (`bert`, `roberta`). */
export function bertNames(prefix: string): EncoderNames {
	return {
		layer: (i) => `${prefix}.encoder.layer.${i}.`,
		query: 'attention.self.query',
		key: 'attention.self.key',
		value: 'attention.self.value',
		output: 'attention.output.dense',
		attentionNorm: 'attention.output.LayerNorm',
		up: 'intermediate.dense',
		down: 'output.dense',
		outputNorm: 'output.LayerNorm'
	};
}

export interface EncoderShape {
	hiddenSize: number;
	intermediateSize: number;
	nLayer: number;
	nHead: number;
	hiddenAct: string;
	normEps: number;
	attentionDropout: number;
	/** after the attention's output projection (BERT: hidden_dropout_prob; DistilBERT: none) */
	attnOutDropout: number;
	/** after the feed-forward's down projection */
	ffnOutDropout: number;
}

/** The encoder layers' parameter shapes, added to `shapes` (nn.Linear weights are (out, in)). */
export function encoderShapes(shapes: Record<string, number[]>, names: EncoderNames, c: EncoderShape): void {
	const d = c.hiddenSize;
	const f = c.intermediateSize;
	const dense = (name: string, out: number, inp: number) => {
		shapes[name + '.weight'] = [out, inp];
		shapes[name + '.bias'] = [out];
	};
	const norm = (name: string) => {
		shapes[name + '.weight'] = [d];
		shapes[name + '.bias'] = [d];
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = names.layer(i);
		dense(p + names.query, d, d);
		dense(p + names.key, d, d);
		dense(p + names.value, d, d);
		dense(p + names.output, d, d);
		norm(p + names.attentionNorm);
		dense(p + names.up, f, d);
		dense(p + names.down, d, f);
		norm(p + names.outputNorm);
	}
}

/**
 * The hidden state twice, [for the next sublayer, for the residual sum after it]. On the fast path
 * the norm that made it gives its one buffer twice (`postLayerNorm`) and adds the two uses'
 * gradients inside its backward kernels; elsewhere it is one tensor twice.
 */
export type Hidden = [tf.Tensor, tf.Tensor];

const gammaBeta = (p: Params, name: string) => [p[name + '.weight'] as tf.Tensor1D, p[name + '.bias'] as tf.Tensor1D] as const;

/**
 * nn.LayerNorm `name` of x + dropout(δ), the post-LN residual sum (x and δ the same shape), for one
 * use; δ's dropout is the sublayer's own (`ResidualDropout`).
 */
function addLn(p: Params, name: string, eps: number, x: tf.Tensor, delta: tf.Tensor, deltaDrop: ResidualDropout): tf.Tensor {
	return layerNormAddResidual(x, delta, ...gammaBeta(p, name), eps, deltaDrop)[1]; // [x + δ, LN(x + δ)]: the sum is not needed
}

/**
 * nn.LayerNorm `name` of x + dropout(δ) as a `Hidden` pair: on the fast path one kernel drops δ,
 * adds and normalises.
 */
function postLn(p: Params, name: string, eps: number, x: tf.Tensor, delta: tf.Tensor, deltaDrop?: ResidualDropout): Hidden {
	return postLayerNorm(x, delta, ...gammaBeta(p, name), eps, deltaDrop);
}

/**
 * The embeddings' `dropout(LN_name(x + δ))` as a `Hidden` pair of `shape`, x and δ (B*T, d). With
 * dropout on, both take the dropped tensor (tfjs then adds their gradients).
 */
export function embeddingsNorm(p: Params, name: string, eps: number, x: tf.Tensor, delta: tf.Tensor, drop: Dropout, rate: number, shape: [number, number, number]): Hidden {
	const [h, h2] = postLn(p, name, eps, x, delta); // (B*T, d) twice
	const y = drop.apply(h, rate);
	return y === h ? [h.reshape(shape), h2.reshape(shape)] : [y.reshape(shape), y.reshape(shape)]; // (B, T, d)
}

function selfAttention(p: Params, pre: string, n: EncoderNames, c: EncoderShape, [x, res]: Hidden, mask: tf.Tensor2D | undefined, drop: Dropout): Hidden {
	// q | k | v as one projection, the three weights side by side (on the fast path joined by buffer
	// copies: one matmul each way and one dW; LoRA's adapters on q and v in one low-rank kernel pair).
	const qkv = adaptedSideBySide(p, [n.query, n.key, n.value].map((m) => pre + m), x, drop); // (B, T, 3d): [q | k | v]
	const y = attendPacked(qkv, c.nHead, c.nHead, { causal: false, keyMask: mask, dropout: drop.spec(c.attentionDropout) }); // (B, T, d)
	const out = adaptedLinear(p, pre + n.output, y, drop); // (B, T, d)
	// post-LN: the norm comes after the residual sum, and drops `out` as it adds it
	return postLn(p, pre + n.attentionNorm, c.normEps, res, out, drop.spec(c.attnOutDropout));
}

/** The feed-forward's output, before the residual sum, (B, T, d), and its dropout, which the norm applies. */
function feedForward(p: Params, pre: string, n: EncoderNames, c: EncoderShape, x: tf.Tensor, drop: Dropout): [tf.Tensor, ResidualDropout] {
	const h = activation(c.hiddenAct)(adaptedLinear(p, pre + n.up, x, drop)); // (B, T, f)
	const out = adaptedLinear(p, pre + n.down, h, drop); // (B, T, d)
	return [out, drop.spec(c.ffnOutDropout)];
}

/** The embedded input (B, T, d) through every encoder layer. */
export function encoderLayers(p: Params, n: EncoderNames, c: EncoderShape, x: Hidden, mask: tf.Tensor2D | undefined, drop: Dropout): tf.Tensor3D {
	let h = x;
	if (drop.checkpoint) {
		// Each layer as one op that keeps only its input: LN(res + ffn) with one use, the input of the next.
		let y = x[0]; // both uses read x[0]; the pair's other tensor then gets a zero gradient
		for (let i = 0; i < c.nLayer; i++) {
			const pre = n.layer(i);
			y = checkpointBlock(p, pre, y, [mask], drop, (q, xi, [m], d) => {
				const [a, res] = selfAttention(q, pre, n, c, [xi, xi], m as tf.Tensor2D | undefined, d);
				return addLn(q, pre + n.outputNorm, c.normEps, res, ...feedForward(q, pre, n, c, a, d));
			});
		}
		return y as tf.Tensor3D;
	}
	for (let i = 0; i < c.nLayer; i++) {
		const pre = n.layer(i);
		const [a, res] = selfAttention(p, pre, n, c, h, mask, drop);
		const [out, outDrop] = feedForward(p, pre, n, c, a, drop);
		// The last layer's output has one use (the head, or the caller of `hidden`).
		if (i === c.nLayer - 1) return addLn(p, pre + n.outputNorm, c.normEps, res, out, outDrop) as tf.Tensor3D;
		h = postLn(p, pre + n.outputNorm, c.normEps, res, out, outDrop);
	}
	return h[0] as tf.Tensor3D;
}

/** The first ([CLS] / <s>) token's hidden state: (B, T, d) → (B, d). */
export function firstToken(x: tf.Tensor3D): tf.Tensor2D {
	const [b, , d] = x.shape;
	return x.slice([0, 0, 0], [b, 1, d]).reshape([b, d]);
}

/**
 * BERT-style embeddings under `prefix`: LN(word[ids] + type + pos[positions]), then dropout, added
 * in transformers' order, (word + type) + position. A checkpoint with one token type
 * (type_vocab_size 1, RoBERTa's) adds that row to every token.
 */
export function bertEmbeddings(
	p: Params,
	prefix: string,
	c: { hiddenSize: number; typeVocabSize: number; normEps: number; hiddenDropout: number },
	batch: Batch,
	positions: tf.Tensor,
	drop: Dropout
): Hidden {
	const [b, t] = batch.inputIds.shape;
	const embed = (name: string, ids: tf.Tensor) => embedding(p[`${prefix}.embeddings.${name}.weight`] as tf.Tensor2D, ids.reshape([b * t])); // (B*T, d)
	const type =
		c.typeVocabSize === 1
			? (p[`${prefix}.embeddings.token_type_embeddings.weight`] as tf.Tensor2D) // (1, d), broadcast
			: embed('token_type_embeddings', batch.tokenTypeIds ?? tf.zeros([b, t], 'int32'));
	const x = embed('word_embeddings', batch.inputIds).add(type); // (B*T, d)
	// LN((word + type) + pos), then dropout: (B, T, d)
	return embeddingsNorm(p, `${prefix}.embeddings.LayerNorm`, c.normEps, x, embed('position_embeddings', positions), drop, c.hiddenDropout, [b, t, c.hiddenSize]);
}

/** BERT-style embedding shapes under `prefix`. */
export function bertEmbeddingShapes(prefix: string, c: { vocabSize: number; maxPositions: number; typeVocabSize: number; hiddenSize: number }): Record<string, number[]> {
	const d = c.hiddenSize;
	return {
		[`${prefix}.embeddings.word_embeddings.weight`]: [c.vocabSize, d],
		[`${prefix}.embeddings.position_embeddings.weight`]: [c.maxPositions, d],
		[`${prefix}.embeddings.token_type_embeddings.weight`]: [c.typeVocabSize, d],
		[`${prefix}.embeddings.LayerNorm.weight`]: [d],
		[`${prefix}.embeddings.LayerNorm.bias`]: [d]
	};
}
