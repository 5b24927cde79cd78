/**
 * GPT-2 (Radford et al. 2019) as an ONNX graph, computing what engine/models/gpt2.ts computes
 * (transformers' GPT2LMHeadModel / GPT2ForSequenceClassification, v4.40): wte[ids] + wpe[pos],
 * pre-LN blocks with Conv1D [in, out] weights and tanh-GELU, ln_f, then the tied LM head or the
 * score of the last real token. The studio's from-scratch model (engine/models/transformer.ts) has
 * the same tensors and runs through here too, with its own switches: positions 0..T-1,
 * bidirectional attention, and a biased classifier over mean-pooled or first-token states.
 *
 *   x = wte[ids] + wpe[pos]
 *   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   h = ln_f(x)
 */
import type { Gpt2Config } from '../../engine/models/gpt2';
import { Graph, type WeightDtype } from './graph';
import { decoderIo } from './decoder';
import { activation, arangePositions, attend, firstToken, lastTokenPool, layerNorm, linear, meanPool, mergeHeads, param, splitHeads, tiedHead, type HostWeights } from './layers';
import { DataType } from './proto';

export interface Gpt2GraphOptions {
	/** The from-scratch model: positions 0..T-1 (no position_ids input), its attention and head. */
	scratch?: { causal: boolean; pooling: 'mean' | 'cls' };
}

export function gpt2Graph(c: Gpt2Config, w: HostWeights, dtype: WeightDtype, opts: Gpt2GraphOptions = {}): Graph {
	const g = new Graph(dtype);
	const lm = c.task === 'causal-lm';
	const d = c.hiddenSize;
	const io = decoderIo(g, c, { cache: lm, positions: !opts.scratch, causal: opts.scratch?.causal ?? true });
	const wte = param(g, w, 'transformer.wte.weight');
	const positions = io.positionIds ?? arangePositions(g, io.inputIds); // (B, T) | (T)
	let x = g.op('Add', [g.gather(wte, io.inputIds), g.gather(param(g, w, 'transformer.wpe.weight'), positions)]); // (B, T, d)
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `transformer.h.${i}.`;
		const qkv = linear(g, w, pre + 'attn.c_attn', layerNorm(g, w, pre + 'ln_1', x, c.normEps), 'in_out'); // (B, T, 3d)
		const [q, k, v] = g.opN('Split', [qkv, g.ints([d, d, d])], 3, { axis: -1 }).map((t) => splitHeads(g, t, c.nHead, c.headDim)); // 3 x (B, nh, T, hs)
		const kv = io.cache(i, k, v); // (B, nh, S, hs)
		let scale = c.scaleAttnWeights ? 1 / Math.sqrt(c.headDim) : 1;
		if (c.scaleAttnByInverseLayerIdx) scale /= i + 1;
		const y = mergeHeads(g, attend(g, q, kv.k, kv.v, io.allowed, scale), c.nHead, c.headDim); // (B, T, d)
		x = g.op('Add', [x, linear(g, w, pre + 'attn.c_proj', y, 'in_out')]);
		const h = activation(g, c.hiddenAct, linear(g, w, pre + 'mlp.c_fc', layerNorm(g, w, pre + 'ln_2', x, c.normEps), 'in_out')); // (B, T, 4d)
		x = g.op('Add', [x, linear(g, w, pre + 'mlp.c_proj', h, 'in_out')]);
	}
	const h = layerNorm(g, w, 'transformer.ln_f', x, c.normEps); // (B, T, d)
	if (lm) {
		const logits = c.tieWordEmbeddings ? tiedHead(g, wte, h) : linear(g, w, 'lm_head', h); // (B, T, V)
		g.output('logits', logits, DataType.FLOAT, ['batch_size', 'sequence_length', c.vocabSize]);
	} else if (opts.scratch) {
		const pooled = opts.scratch.pooling === 'cls' ? firstToken(g, h) : meanPool(g, h, io.attentionMask); // (B, d)
		g.output('logits', linear(g, w, 'classifier', pooled), DataType.FLOAT, ['batch_size', c.numLabels]);
	} else g.output('logits', linear(g, w, 'score', lastTokenPool(g, h, io.attentionMask, io.inputIds)), DataType.FLOAT, ['batch_size', c.numLabels]);
	return g;
}
