/**
 * BERT (Devlin et al. 2019) for sequence classification as an ONNX graph, computing what
 * engine/models/bert.ts computes (transformers' BertForSequenceClassification, v4.40) with the
 * inputs transformers.js's encoder models feed: input_ids, attention_mask, token_type_ids (it
 * fills zeros when the tokenizer gives none). Output: logits (B, num_labels).
 *
 *   x = LN(word[ids] + type[tt] + pos[0..T-1])
 *   for each layer:  x = LN(x + attn(x));  x = LN(x + ffn(x))
 *   logits = classifier(tanh(pooler(x[:, 0])))
 */
import type { BertConfig } from '../../engine/models/bert';
import { Graph, type WeightDtype } from './graph';
import { activation, arangePositions, attend, firstToken, layerNorm, linear, mergeHeads, paddingMask, param, splitHeads, type HostWeights } from './layers';
import { DataType } from './proto';

export function bertGraph(c: BertConfig, w: HostWeights, dtype: WeightDtype): Graph {
	const g = new Graph(dtype);
	const dims = ['batch_size', 'sequence_length'];
	const ids = g.input('input_ids', DataType.INT64, dims);
	const mask = g.input('attention_mask', DataType.INT64, dims);
	const types = g.input('token_type_ids', DataType.INT64, dims);
	const embed = (name: string, index: string) => g.gather(param(g, w, `bert.embeddings.${name}.weight`), index);
	// the order transformers adds them in: (word + type) + position
	const sum = g.op('Add', [g.op('Add', [embed('word_embeddings', ids), embed('token_type_embeddings', types)]), embed('position_embeddings', arangePositions(g, ids))]);
	let x = layerNorm(g, w, 'bert.embeddings.LayerNorm', sum, c.normEps); // (B, T, d)
	const allowed = paddingMask(g, mask); // (B, 1, 1, T)
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `bert.encoder.layer.${i}.`;
		const [q, k, v] = ['query', 'key', 'value'].map((n) => splitHeads(g, linear(g, w, pre + 'attention.self.' + n, x), c.nHead, c.headDim)); // 3 x (B, nh, T, hs)
		const y = mergeHeads(g, attend(g, q, k, v, allowed, 1 / Math.sqrt(c.headDim)), c.nHead, c.headDim); // (B, T, d)
		x = layerNorm(g, w, pre + 'attention.output.LayerNorm', g.op('Add', [linear(g, w, pre + 'attention.output.dense', y), x]), c.normEps);
		const h = activation(g, c.hiddenAct, linear(g, w, pre + 'intermediate.dense', x)); // (B, T, f)
		x = layerNorm(g, w, pre + 'output.LayerNorm', g.op('Add', [linear(g, w, pre + 'output.dense', h), x]), c.normEps);
	}
	const pooled = g.op('Tanh', [linear(g, w, 'bert.pooler.dense', firstToken(g, x))]); // (B, d)
	g.output('logits', linear(g, w, 'classifier', pooled), DataType.FLOAT, ['batch_size', c.numLabels]);
	return g;
}
