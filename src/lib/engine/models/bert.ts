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
import { bertEmbeddings, bertEmbeddingShapes, bertNames, encoderLayers, encoderShapes, firstToken, type EncoderShape } from './encoder';
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
	const shapes = bertEmbeddingShapes('bert', c);
	encoderShapes(shapes, NAMES, layerShape(c));
	shapes['bert.pooler.dense.weight'] = [d, d];
	shapes['bert.pooler.dense.bias'] = [d];
	shapes['classifier.weight'] = [c.numLabels, d];
	shapes['classifier.bias'] = [c.numLabels];
	return shapes;
}

const NAMES = bertNames('bert');

function layerShape(c: BertConfig): EncoderShape {
	return { ...c, attnOutDropout: c.hiddenDropout, ffnOutDropout: c.hiddenDropout };
}

function encoder(p: Params, c: BertConfig, batch: Batch, drop: Dropout): tf.Tensor3D {
	const [b, t] = batch.inputIds.shape;
	if (t > c.maxPositions) throw new Error(`bert: ${t} tokens is longer than max_position_embeddings ${c.maxPositions}.`);
	const x = bertEmbeddings(p, 'bert', c, batch, batch.positionIds ?? defaultPositions(b, t), drop); // (B, T, d)
	return encoderLayers(p, NAMES, layerShape(c), x, batch.attentionMask, drop);
}

/** `BertModel`'s sequence output (before the pooler): (B, T, d). */
function hidden(p: Params, c: BertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	return encoder(p, c, batch, new Dropout(opts));
}

function forward(p: Params, c: BertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	const drop = new Dropout(opts);
	const cls = firstToken(encoder(p, c, batch, drop)); // (B, d)
	const pooled = adaptedLinear(p, 'bert.pooler.dense', cls, drop).tanh(); // (B, d)
	return adaptedLinear(p, 'classifier', drop.apply(pooled, c.classifierDropout), drop); // (B, numLabels)
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
