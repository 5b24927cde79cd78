/**
 * DistilBERT (Sanh et al. 2019) as transformers' `DistilBertForSequenceClassification` computes it
 * (v4.40, modeling_distilbert.py, eager attention): BERT with half the layers, no token types and
 * no pooler. Word + learned position embeddings with a LayerNorm, post-LN blocks (`sa_layer_norm`,
 * `output_layer_norm`), exact-erf GELU, LayerNorm eps fixed at 1e-12, and a head that reads the
 * first ([CLS]) token through `pre_classifier`, a ReLU and `classifier`.
 *
 *   x = LN(word[ids] + pos[p])
 *   for each layer:  x = sa_LN(x + attn(x));  x = out_LN(x + ffn(x))
 *   logits = classifier(relu(pre_classifier(x[:, 0])))
 */
import * as tf from '@tensorflow/tfjs';
import { embedding } from '../ops';
import { embeddingsNorm, encoderLayers, encoderShapes, firstToken, type EncoderNames, type EncoderShape, type Hidden } from './encoder';
import { taskLoss } from './heads';
import { bad, configReader, readHeadFields } from './hf-config';
import { adaptedLinear, defaultPositions, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

/** DistilBERT is trained here as a classifier: `DistilBertModel`, `DistilBertForMaskedLM`, ... load into one. */
const TASKS: Task[] = ['sequence-classification'];

/** `nn.LayerNorm(dim, eps=1e-12)` everywhere in modeling_distilbert.py; the config has no field for it. */
const EPS = 1e-12;

export interface DistilBertConfig extends HfConfigBase {
	modelType: 'distilbert';
	dropout: number;
	attentionDropout: number;
	/** `seq_classif_dropout`, between pre_classifier and classifier. */
	classifierDropout: number;
}

function parseConfig(json: Record<string, unknown>): DistilBertConfig {
	const r = configReader(json, 'distilbert');
	const dim = r.size('dim', 768);
	const nHead = r.size('n_heads', 12);
	if (dim % nHead) throw bad('distilbert', `dim ${dim} is not divisible by n_heads ${nHead}.`);
	return {
		modelType: 'distilbert',
		...readHeadFields(r, json, 'distilbert', TASKS),
		vocabSize: r.size('vocab_size', 30522),
		hiddenSize: dim,
		nLayer: r.size('n_layers', 6),
		nHead,
		nKvHead: nHead,
		headDim: dim / nHead,
		intermediateSize: r.size('hidden_dim', 4 * 768),
		maxPositions: r.size('max_position_embeddings', 512),
		hiddenAct: r.str('activation', 'gelu'),
		normEps: EPS,
		tieWordEmbeddings: false,
		bosTokenId: null,
		eosTokenIds: [],
		padTokenId: r.tokenId('pad_token_id', 0),
		dropout: r.num('dropout', 0.1),
		attentionDropout: r.num('attention_dropout', 0.1),
		classifierDropout: r.num('seq_classif_dropout', 0.2)
	};
}

function paramShapes(c: DistilBertConfig): Record<string, number[]> {
	const d = c.hiddenSize;
	const shapes: Record<string, number[]> = {
		'distilbert.embeddings.word_embeddings.weight': [c.vocabSize, d],
		'distilbert.embeddings.position_embeddings.weight': [c.maxPositions, d],
		'distilbert.embeddings.LayerNorm.weight': [d],
		'distilbert.embeddings.LayerNorm.bias': [d]
	};
	encoderShapes(shapes, NAMES, layerShape(c));
	shapes['pre_classifier.weight'] = [d, d];
	shapes['pre_classifier.bias'] = [d];
	shapes['classifier.weight'] = [c.numLabels, d];
	shapes['classifier.bias'] = [c.numLabels];
	return shapes;
}

const NAMES: EncoderNames = {
	layer: (i) => `distilbert.transformer.layer.${i}.`,
	query: 'attention.q_lin',
	key: 'attention.k_lin',
	value: 'attention.v_lin',
	output: 'attention.out_lin',
	attentionNorm: 'sa_layer_norm',
	up: 'ffn.lin1',
	down: 'ffn.lin2',
	outputNorm: 'output_layer_norm'
};

/** No dropout after `out_lin` (only on the attention weights); `dropout` after `lin2`. */
function layerShape(c: DistilBertConfig): EncoderShape {
	return { ...c, attnOutDropout: 0, ffnOutDropout: c.dropout };
}

function embeddings(p: Params, c: DistilBertConfig, batch: Batch, drop: Dropout): Hidden {
	const [b, t] = batch.inputIds.shape;
	if (t > c.maxPositions) throw new Error(`distilbert: ${t} tokens is longer than max_position_embeddings ${c.maxPositions}.`);
	const positions = batch.positionIds ?? defaultPositions(b, t);
	const word = embedding(p['distilbert.embeddings.word_embeddings.weight'] as tf.Tensor2D, batch.inputIds.reshape([b * t])); // (B*T, d)
	const pos = embedding(p['distilbert.embeddings.position_embeddings.weight'] as tf.Tensor2D, positions.reshape([b * t])); // (B*T, d)
	return embeddingsNorm(p, 'distilbert.embeddings.LayerNorm', EPS, word, pos, drop, c.dropout, [b, t, c.hiddenSize]); // (B, T, d): dropout(LN(word + pos))
}

function encoder(p: Params, c: DistilBertConfig, batch: Batch, drop: Dropout): tf.Tensor3D {
	return encoderLayers(p, NAMES, layerShape(c), embeddings(p, c, batch, drop), batch.attentionMask, drop);
}

/** `DistilBertModel`'s last hidden state: (B, T, d). */
function hidden(p: Params, c: DistilBertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	return encoder(p, c, batch, new Dropout(opts));
}

function forward(p: Params, c: DistilBertConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	const drop = new Dropout(opts);
	const cls = firstToken(encoder(p, c, batch, drop)); // (B, d)
	const pooled = adaptedLinear(p, 'pre_classifier', cls, drop).relu(); // (B, d)
	return adaptedLinear(p, 'classifier', drop.apply(pooled, c.classifierDropout), drop); // (B, numLabels)
}

export const distilbert: ArchSpec<DistilBertConfig> = {
	modelType: 'distilbert',
	tasks: TASKS,
	classNames: { 'sequence-classification': 'DistilBertForSequenceClassification' },
	baseModelPrefix: 'distilbert',
	parseConfig,
	paramShapes,
	headParams: () => ['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias'],
	isTied: () => false,
	hidden,
	forward,
	loss: taskLoss
};
