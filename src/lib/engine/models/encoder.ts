/**
 * The post-LN transformer encoder that BERT (Devlin et al. 2019), RoBERTa and DistilBERT share, as
 * transformers' eager `BertLayer` / `TransformerBlock` compute it. The three differ only in their
 * tensor names, their embeddings and their heads, which stay in their own files:
 *
 *   for each layer:  x = LN(x + drop(o(attn(q(x), k(x), v(x)))));  x = LN(x + drop(down(act(up(x)))))
 *
 * (DistilBERT has no dropout after the attention's output projection: `attnOutDropout` 0.)
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attendHeads, embedding, layerNorm } from '../ops';
import { adaptedLinear, type Batch, type Dropout, type Params } from './spec';

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

/** nn.LayerNorm `name` over the last axis. */
export function ln(p: Params, name: string, eps: number, x: tf.Tensor): tf.Tensor {
	return layerNorm(x, p[name + '.weight'] as tf.Tensor1D, p[name + '.bias'] as tf.Tensor1D, eps);
}

function selfAttention(p: Params, pre: string, n: EncoderNames, c: EncoderShape, x: tf.Tensor, mask: tf.Tensor2D | undefined, drop: Dropout): tf.Tensor {
	const q = adaptedLinear(p, pre + n.query, x, drop); // (B, T, d)
	const k = adaptedLinear(p, pre + n.key, x, drop); // (B, T, d)
	const v = adaptedLinear(p, pre + n.value, x, drop); // (B, T, d)
	const y = attendHeads(q, k, v, c.nHead, c.nHead, { causal: false, keyMask: mask, dropout: drop.attention(c.attentionDropout) }); // (B, T, d)
	const out = drop.apply(adaptedLinear(p, pre + n.output, y, drop), c.attnOutDropout); // (B, T, d)
	return ln(p, pre + n.attentionNorm, c.normEps, out.add(x)); // post-LN: the norm comes after the residual sum
}

function feedForward(p: Params, pre: string, n: EncoderNames, c: EncoderShape, x: tf.Tensor, drop: Dropout): tf.Tensor {
	const h = activation(c.hiddenAct)(adaptedLinear(p, pre + n.up, x, drop)); // (B, T, f)
	const out = drop.apply(adaptedLinear(p, pre + n.down, h, drop), c.ffnOutDropout); // (B, T, d)
	return ln(p, pre + n.outputNorm, c.normEps, out.add(x));
}

/** The embedded input `x` (B, T, d) through every encoder layer. */
export function encoderLayers(p: Params, n: EncoderNames, c: EncoderShape, x: tf.Tensor, mask: tf.Tensor2D | undefined, drop: Dropout): tf.Tensor3D {
	for (let i = 0; i < c.nLayer; i++) {
		const pre = n.layer(i);
		x = selfAttention(p, pre, n, c, x, mask, drop);
		x = feedForward(p, pre, n, c, x, drop);
	}
	return x as tf.Tensor3D;
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
): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	const embed = (name: string, ids: tf.Tensor) => embedding(p[`${prefix}.embeddings.${name}.weight`] as tf.Tensor2D, ids.reshape([b * t])); // (B*T, d)
	const type =
		c.typeVocabSize === 1
			? (p[`${prefix}.embeddings.token_type_embeddings.weight`] as tf.Tensor2D) // (1, d), broadcast
			: embed('token_type_embeddings', batch.tokenTypeIds ?? tf.zeros([b, t], 'int32'));
	const x = embed('word_embeddings', batch.inputIds).add(type).add(embed('position_embeddings', positions));
	return drop.apply(ln(p, `${prefix}.embeddings.LayerNorm`, c.normEps, x.reshape([b, t, c.hiddenSize])), c.hiddenDropout) as tf.Tensor3D; // (B, T, d)
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
