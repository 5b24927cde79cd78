/**
 * BERT (Devlin et al. 2019) as transformers' `BertForSequenceClassification` computes it (v4.40,
 * modeling_bert.py, eager attention): word + token-type + absolute position embeddings with a
 * LayerNorm, post-LN encoder layers, a tanh pooler over the first ([CLS]) token, and a linear
 * classifier. GELU is the exact erf form and LayerNorm eps comes from the config (1e-12).
 *
 *   x = LN(word[ids] + type[tt] + pos[p])
 *   for each layer:  x = LN(x + attn(x));  x = LN(x + ffn(x))
 *   logits = classifier(tanh(pooler(x[:, 0])))
 */
import * as tf from '@tensorflow/tfjs';
import { activation, attention, embedding, layerNorm, mergeHeads, splitHeads } from '../ops';
import { taskLoss } from './heads';
import { bad, configReader, readHeadFields } from './hf-config';
import { adaptedLinear, defaultPositions, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

/** BERT here is always trained as a classifier: `BertModel`, `BertForMaskedLM`, ... load into one. */
const TASKS: Task[] = ['sequence-classification'];

export interface BertConfig extends HfConfigBase {
	modelType: 'bert';
	typeVocabSize: number;
	hiddenDropout: number;
	attentionDropout: number;
	/** classifier_dropout, or hidden_dropout_prob when that is null (as transformers does). */
	classifierDropout: number;
}

function parseConfig(json: Record<string, unknown>): BertConfig {
	const r = configReader(json, 'bert');
	const hiddenSize = r.size('hidden_size', 768);
	const nHead = r.size('num_attention_heads', 12);
	if (hiddenSize % nHead) throw bad('bert', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${nHead}.`);
	const posType = r.str('position_embedding_type', 'absolute');
	if (posType !== 'absolute') throw bad('bert', `position_embedding_type '${posType}' is not supported (only 'absolute').`);
	const hiddenDropout = r.num('hidden_dropout_prob', 0.1);
	return {
		modelType: 'bert',
		...readHeadFields(r, json, 'bert', TASKS),
		vocabSize: r.size('vocab_size', 30522),
		hiddenSize,
		nLayer: r.size('num_hidden_layers', 12),
		nHead,
		nKvHead: nHead,
		headDim: hiddenSize / nHead,
		intermediateSize: r.size('intermediate_size', 3072),
		maxPositions: r.size('max_position_embeddings', 512),
		hiddenAct: r.str('hidden_act', 'gelu'),
		normEps: r.num('layer_norm_eps', 1e-12),
		tieWordEmbeddings: false, // the classification head has no output embedding to tie
		bosTokenId: r.tokenId('bos_token_id', null),
		eosTokenIds: r.tokenIds('eos_token_id', null),
		padTokenId: r.tokenId('pad_token_id', 0),
		typeVocabSize: r.size('type_vocab_size', 2),
		hiddenDropout,
		attentionDropout: r.num('attention_probs_dropout_prob', 0.1),
		classifierDropout: r.num('classifier_dropout', hiddenDropout)
	};
}

function paramShapes(c: BertConfig): Record<string, number[]> {
	const d = c.hiddenSize;
	const f = c.intermediateSize;
	const shapes: Record<string, number[]> = {
		'bert.embeddings.word_embeddings.weight': [c.vocabSize, d],
		'bert.embeddings.position_embeddings.weight': [c.maxPositions, d],
		'bert.embeddings.token_type_embeddings.weight': [c.typeVocabSize, d],
		'bert.embeddings.LayerNorm.weight': [d],
		'bert.embeddings.LayerNorm.bias': [d]
	};
	const dense = (name: string, out: number, inp: number) => {
		shapes[name + '.weight'] = [out, inp];
		shapes[name + '.bias'] = [out];
	};
	const norm = (name: string) => {
		shapes[name + '.weight'] = [d];
		shapes[name + '.bias'] = [d];
	};
	for (let i = 0; i < c.nLayer; i++) {
		const p = `bert.encoder.layer.${i}.`;
		dense(p + 'attention.self.query', d, d);
		dense(p + 'attention.self.key', d, d);
		dense(p + 'attention.self.value', d, d);
		dense(p + 'attention.output.dense', d, d);
		norm(p + 'attention.output.LayerNorm');
		dense(p + 'intermediate.dense', f, d);
		dense(p + 'output.dense', d, f);
		norm(p + 'output.LayerNorm');
	}
	dense('bert.pooler.dense', d, d);
	dense('classifier', c.numLabels, d);
	return shapes;
}

/** nn.Linear, plus its LoRA adapter if it has one. */
function dense(p: Params, name: string, x: tf.Tensor, drop: Dropout): tf.Tensor {
	return adaptedLinear(p, name, x, drop);
}

function ln(p: Params, name: string, c: BertConfig, x: tf.Tensor): tf.Tensor {
	return layerNorm(x, p[name + '.weight'] as tf.Tensor1D, p[name + '.bias'] as tf.Tensor1D, c.normEps);
}

function embeddings(p: Params, c: BertConfig, batch: Batch, drop: Dropout): tf.Tensor {
	const [b, t] = batch.inputIds.shape;
	if (t > c.maxPositions) throw new Error(`bert: ${t} tokens is longer than max_position_embeddings ${c.maxPositions}.`);
	const embed = (name: string, ids: tf.Tensor) => embedding(p[`bert.embeddings.${name}.weight`] as tf.Tensor2D, ids.reshape([b * t])); // (B*T, d)
	const types = batch.tokenTypeIds ?? tf.zeros([b, t], 'int32');
	const positions = batch.positionIds ?? defaultPositions(b, t);
	// the order transformers adds them in: (word + type) + position
	const x = embed('word_embeddings', batch.inputIds).add(embed('token_type_embeddings', types)).add(embed('position_embeddings', positions));
	return drop.apply(ln(p, 'bert.embeddings.LayerNorm', c, x.reshape([b, t, c.hiddenSize])), c.hiddenDropout); // (B, T, d)
}

function selfAttention(p: Params, pre: string, c: BertConfig, x: tf.Tensor, mask: tf.Tensor2D | undefined, drop: Dropout): tf.Tensor {
	const q = splitHeads(dense(p, pre + 'self.query', x, drop), c.nHead); // (B, nh, T, hs)
	const k = splitHeads(dense(p, pre + 'self.key', x, drop), c.nHead); // (B, nh, T, hs)
	const v = splitHeads(dense(p, pre + 'self.value', x, drop), c.nHead); // (B, nh, T, hs)
	const y = attention(q, k, v, { causal: false, keyMask: mask, dropout: drop.attention(c.attentionDropout) }); // (B, nh, T, hs)
	const out = drop.apply(dense(p, pre + 'output.dense', mergeHeads(y), drop), c.hiddenDropout); // (B, T, d)
	return ln(p, pre + 'output.LayerNorm', c, out.add(x)); // post-LN: the norm comes after the residual sum
}

function feedForward(p: Params, pre: string, c: BertConfig, x: tf.Tensor, drop: Dropout): tf.Tensor {
	const h = activation(c.hiddenAct)(dense(p, pre + 'intermediate.dense', x, drop)); // (B, T, f)
	const out = drop.apply(dense(p, pre + 'output.dense', h, drop), c.hiddenDropout); // (B, T, d)
	return ln(p, pre + 'output.LayerNorm', c, out.add(x));
}

function encoder(p: Params, c: BertConfig, batch: Batch, drop: Dropout): tf.Tensor3D {
	let x = embeddings(p, c, batch, drop);
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `bert.encoder.layer.${i}.`;
		x = selfAttention(p, pre + 'attention.', c, x, batch.attentionMask, drop);
		x = feedForward(p, pre, c, x, drop);
	}
	return x as tf.Tensor3D;
}

/** `BertModel`'s sequence output (before the pooler): (B, T, d). */
function hidden(p: Params, c: BertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	return encoder(p, c, batch, new Dropout(opts));
}

function forward(p: Params, c: BertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	const drop = new Dropout(opts);
	const x = encoder(p, c, batch, drop);
	const [b] = x.shape;
	const cls = x.slice([0, 0, 0], [b, 1, c.hiddenSize]).reshape([b, c.hiddenSize]); // (B, d)
	const pooled = dense(p, 'bert.pooler.dense', cls, drop).tanh(); // (B, d)
	return dense(p, 'classifier', drop.apply(pooled, c.classifierDropout), drop); // (B, numLabels)
}

export const bert: ArchSpec<BertConfig> = {
	modelType: 'bert',
	tasks: TASKS,
	classNames: { 'sequence-classification': 'BertForSequenceClassification' },
	baseModelPrefix: 'bert',
	parseConfig,
	paramShapes,
	// a sentence-transformers checkpoint saved as BertModel may have no pooler: it is part of the fresh head then
	headParams: () => ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'],
	isTied: () => false,
	hidden,
	forward,
	loss: taskLoss
};
