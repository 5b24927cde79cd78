/**
 * The inputs and outputs of an exported decoder, named as Optimum's ONNX export names them and as
 * transformers.js feeds them (models/modeling_utils.js, `decoder_forward`, v4): `input_ids`,
 * `attention_mask` over past + new tokens, `position_ids` when the model takes positions (it
 * builds them from the mask when the graph has that input), and for a language model one
 * `past_key_values.{i}.key/value` input and `present.{i}.key/value` output per layer,
 * (batch_size, kv heads, past_sequence_length, head size). transformers.js starts generation with
 * empty caches whose shapes it reads from these inputs: the fixed dims must be numbers, the past
 * length any name other than `batch_size`.
 */
import type { Graph } from './graph';
import { causalMask, paddingMask } from './layers';
import { DataType } from './proto';

export interface DecoderShape {
	nLayer: number;
	nKvHead: number;
	headDim: number;
}

export interface DecoderIo {
	inputIds: string;
	attentionMask: string;
	positionIds?: string;
	/** bool, broadcasting to (B, heads, T, S) */
	allowed: string;
	/** k, v (B, nkv, T, hs) of layer i -> with the cached ones in front (B, nkv, S, hs); the result is `present.{i}`. */
	cache(i: number, k: string, v: string): { k: string; v: string };
}

export function decoderIo(g: Graph, shape: DecoderShape, opts: { cache: boolean; positions: boolean; causal?: boolean }): DecoderIo {
	const total = opts.cache ? 'past_sequence_length + sequence_length' : 'sequence_length';
	const inputIds = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
	const attentionMask = g.input('attention_mask', DataType.INT64, ['batch_size', total]);
	const positionIds = opts.positions ? g.input('position_ids', DataType.INT64, ['batch_size', 'sequence_length']) : undefined;
	const past: { key: string; value: string }[] = [];
	if (opts.cache)
		for (let i = 0; i < shape.nLayer; i++) {
			const dims = ['batch_size', shape.nKvHead, 'past_sequence_length', shape.headDim];
			past.push({ key: g.input(`past_key_values.${i}.key`, DataType.FLOAT, dims), value: g.input(`past_key_values.${i}.value`, DataType.FLOAT, dims) });
		}
	return {
		inputIds,
		attentionMask,
		positionIds,
		allowed: opts.causal === false ? paddingMask(g, attentionMask) : causalMask(g, inputIds, attentionMask),
		cache(i, k, v) {
			if (!opts.cache) return { k, v };
			const full = {
				k: g.op('Concat', [past[i].key, k], { axis: 2 }), // (B, nkv, S, hs)
				v: g.op('Concat', [past[i].value, v], { axis: 2 })
			};
			const dims = ['batch_size', shape.nKvHead, total, shape.headDim];
			g.output(`present.${i}.key`, full.k, DataType.FLOAT, dims);
			g.output(`present.${i}.value`, full.v, DataType.FLOAT, dims);
			return full;
		}
	};
}
