/**
 * Llama (Touvron et al. 2023) and Qwen2 as an ONNX graph, computing what engine/models/llama.ts
 * computes (transformers' LlamaForCausalLM / Qwen2ForCausalLM and their sequence classifiers,
 * v4.40): RMSNorm pre-norm blocks, rotary positions from `position_ids` on q and k,
 * grouped-query attention with the KV cache stored per kv head, and a SiLU-gated MLP. Qwen2 is
 * the same graph with the q/k/v biases its checkpoint has. Mistral's sliding window, Gemma's
 * scaled embeddings and Phi-3's fused projections are not exported.
 *
 *   x = embed_tokens[ids]
 *   for each layer:  x = x + attn(rms(x));  x = x + mlp(rms(x))
 *   attn: o_proj(softmax(rope(q) rope(k)^T / sqrt(hs) + mask) v);  mlp: down(act(gate x) * up x)
 */
import type { LlamaConfig } from '../../engine/models/llama';
import { UserError } from '../../shared/errors';
import { Graph, type WeightDtype } from './graph';
import { decoderIo } from './decoder';
import { activation, applyRope, attend, lastTokenPool, linear, mergeHeads, param, repeatKv, rmsNorm, ropeCosSin, splitHeads, tiedHead, type HostWeights } from './layers';
import { DataType } from './proto';

export function llamaGraph(c: LlamaConfig, w: HostWeights, dtype: WeightDtype): Graph {
	if (c.slidingWindow || c.fusedProjections || c.normUnitOffset || (c.embedScale ?? 1) !== 1)
		throw new UserError('invalid-config', `${c.modelType} models do not export to ONNX here (Llama and Qwen2 do); export the Hugging Face folder instead.`);
	const g = new Graph(dtype);
	const lm = c.task === 'causal-lm';
	const hs = c.headDim;
	const io = decoderIo(g, c, { cache: lm, positions: true });
	const rope = ropeCosSin(g, io.positionIds!, hs, c.ropeTheta, c.ropePositionScale); // 2 x (B, 1, T, hs)
	const embed = param(g, w, 'model.embed_tokens.weight');
	let x = g.gather(embed, io.inputIds); // (B, T, d)
	for (let i = 0; i < c.nLayer; i++) {
		const pre = `model.layers.${i}.`;
		const a = rmsNorm(g, w, pre + 'input_layernorm', x, c.normEps);
		const q = applyRope(g, splitHeads(g, linear(g, w, pre + 'self_attn.q_proj', a), c.nHead, hs), rope, hs); // (B, nh, T, hs)
		const k = applyRope(g, splitHeads(g, linear(g, w, pre + 'self_attn.k_proj', a), c.nKvHead, hs), rope, hs); // (B, nkv, T, hs)
		const v = splitHeads(g, linear(g, w, pre + 'self_attn.v_proj', a), c.nKvHead, hs); // (B, nkv, T, hs)
		const kv = io.cache(i, k, v); // (B, nkv, S, hs)
		const rep = c.nHead / c.nKvHead;
		const y = attend(g, q, repeatKv(g, kv.k, c.nKvHead, rep, hs), repeatKv(g, kv.v, c.nKvHead, rep, hs), io.allowed, 1 / Math.sqrt(hs)); // (B, nh, T, hs)
		x = g.op('Add', [x, linear(g, w, pre + 'self_attn.o_proj', mergeHeads(g, y, c.nHead, hs))]);
		const m = rmsNorm(g, w, pre + 'post_attention_layernorm', x, c.normEps);
		const gate = activation(g, c.hiddenAct, linear(g, w, pre + 'mlp.gate_proj', m)); // (B, T, f)
		x = g.op('Add', [x, linear(g, w, pre + 'mlp.down_proj', g.op('Mul', [gate, linear(g, w, pre + 'mlp.up_proj', m)]))]);
	}
	const h = rmsNorm(g, w, 'model.norm', x, c.normEps); // (B, T, d)
	if (lm) {
		const logits = c.tieWordEmbeddings ? tiedHead(g, embed, h) : linear(g, w, 'lm_head', h); // (B, T, V)
		g.output('logits', logits, DataType.FLOAT, ['batch_size', 'sequence_length', c.vocabSize]);
	} else g.output('logits', linear(g, w, 'score', lastTokenPool(g, h, io.attentionMask, io.inputIds)), DataType.FLOAT, ['batch_size', c.numLabels]);
	return g;
}
