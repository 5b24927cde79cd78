/**
 * RoBERTa (Liu et al. 2019) as transformers' `RobertaForSequenceClassification` computes it (v4.40,
 * modeling_roberta.py, eager attention): BERT's encoder (bert.ts) under the `roberta.` prefix, with
 * two differences that change numbers:
 *
 * - position ids come from the input ids (`create_position_ids_from_input_ids`): real tokens count
 *   up from `padding_idx + 1`, pad tokens (id `pad_token_id`, 1 in every RoBERTa vocabulary) sit at
 *   `padding_idx`; hence `max_position_embeddings` 514 for 512 tokens;
 * - the head has no pooler: `classifier.dense`, tanh, `classifier.out_proj` on the first (<s>) token.
 *
 *   x = LN(word[ids] + type[0] + pos[pad + cumsum(ids != pad)])
 *   for each layer:  x = LN(x + attn(x));  x = LN(x + ffn(x))
 *   logits = out_proj(tanh(dense(x[:, 0])))
 */
import * as tf from '@tensorflow/tfjs';
import { bertEmbeddings, bertEmbeddingShapes, bertNames, encoderLayers, encoderShapes, firstToken, type EncoderShape } from './encoder';
import { taskLoss } from './heads';
import { bad, configReader, readHeadFields } from './hf-config';
import { adaptedLinear, Dropout, type ArchSpec, type Batch, type ForwardOptions, type HfConfigBase, type Params, type Task } from './spec';

const TASKS: Task[] = ['sequence-classification'];

export interface RobertaConfig extends HfConfigBase {
	modelType: 'roberta';
	/** `pad_token_id`, which is also the embeddings' `padding_idx` (1). */
	padTokenId: number;
	typeVocabSize: number;
	hiddenDropout: number;
	attentionDropout: number;
	/** classifier_dropout, or hidden_dropout_prob when that is null (as transformers does). */
	classifierDropout: number;
}

function parseConfig(json: Record<string, unknown>): RobertaConfig {
	const r = configReader(json, 'roberta');
	const hiddenSize = r.size('hidden_size', 768);
	const nHead = r.size('num_attention_heads', 12);
	if (hiddenSize % nHead) throw bad('roberta', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${nHead}.`);
	const posType = r.str('position_embedding_type', 'absolute');
	if (posType !== 'absolute') throw bad('roberta', `position_embedding_type '${posType}' is not supported (only 'absolute').`);
	const padTokenId = r.tokenId('pad_token_id', 1);
	if (padTokenId === null) throw bad('roberta', 'pad_token_id must be set: RoBERTa numbers its positions from it.');
	const hiddenDropout = r.num('hidden_dropout_prob', 0.1);
	return {
		modelType: 'roberta',
		...readHeadFields(r, json, 'roberta', TASKS),
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
		tieWordEmbeddings: false,
		bosTokenId: r.tokenId('bos_token_id', 0),
		eosTokenIds: r.tokenIds('eos_token_id', 2),
		padTokenId,
		typeVocabSize: r.size('type_vocab_size', 2),
		hiddenDropout,
		attentionDropout: r.num('attention_probs_dropout_prob', 0.1),
		classifierDropout: r.num('classifier_dropout', hiddenDropout)
	};
}

function paramShapes(c: RobertaConfig): Record<string, number[]> {
	const d = c.hiddenSize;
	const shapes = bertEmbeddingShapes('roberta', c);
	encoderShapes(shapes, NAMES, layerShape(c));
	shapes['classifier.dense.weight'] = [d, d];
	shapes['classifier.dense.bias'] = [d];
	shapes['classifier.out_proj.weight'] = [c.numLabels, d];
	shapes['classifier.out_proj.bias'] = [c.numLabels];
	return shapes;
}

const NAMES = bertNames('roberta');

function layerShape(c: RobertaConfig): EncoderShape {
	return { ...c, attnOutDropout: c.hiddenDropout, ffnOutDropout: c.hiddenDropout };
}

/**
 * transformers' `create_position_ids_from_input_ids`: (B, T) int32, `pad + cumsum(ids != pad)` on
 * real tokens and `pad` on pad tokens. It looks at the ids, not the attention mask.
 */
export function robertaPositions(inputIds: tf.Tensor2D, padTokenId: number): tf.Tensor2D {
	return tf.tidy(() => {
		const real = inputIds.notEqual(padTokenId).toInt(); // (B, T)
		return real.cumsum(1).mul(real).add(padTokenId).toInt() as tf.Tensor2D;
	});
}

function encoder(p: Params, c: RobertaConfig, batch: Batch, drop: Dropout): tf.Tensor3D {
	const [, t] = batch.inputIds.shape;
	if (t + c.padTokenId + 1 > c.maxPositions)
		throw new Error(`roberta: ${t} tokens is longer than max_position_embeddings ${c.maxPositions} allows (${c.maxPositions - c.padTokenId - 1}).`);
	const positions = batch.positionIds ?? robertaPositions(batch.inputIds, c.padTokenId);
	const x = bertEmbeddings(p, 'roberta', c, batch, positions, drop); // (B, T, d)
	return encoderLayers(p, NAMES, layerShape(c), x, batch.attentionMask, drop);
}

/** `RobertaModel`'s sequence output: (B, T, d). */
function hidden(p: Params, c: RobertaConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor3D {
	return encoder(p, c, batch, new Dropout(opts));
}

/** `RobertaClassificationHead`: dropout, dense, tanh, dropout, out_proj on the first token. */
function forward(p: Params, c: RobertaConfig, batch: Batch, opts: ForwardOptions = {}): tf.Tensor {
	const drop = new Dropout(opts);
	const first = firstToken(encoder(p, c, batch, drop)); // (B, d)
	const h = adaptedLinear(p, 'classifier.dense', drop.apply(first, c.classifierDropout), drop).tanh(); // (B, d)
	return adaptedLinear(p, 'classifier.out_proj', drop.apply(h, c.classifierDropout), drop); // (B, numLabels)
}

export const roberta: ArchSpec<RobertaConfig> = {
	modelType: 'roberta',
	tasks: TASKS,
	classNames: { 'sequence-classification': 'RobertaForSequenceClassification' },
	baseModelPrefix: 'roberta',
	parseConfig,
	paramShapes,
	headParams: () => ['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias'],
	isTied: () => false,
	hidden,
	forward,
	loss: taskLoss
};
