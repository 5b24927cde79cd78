/**
 * The new architectures at the sizes of the held-out fixtures (make_fixtures.py's `heldout` set:
 * other widths, head counts, GQA groups, Gemma's head_dim ≠ hidden/heads, a rotary_pct of 0.5, a
 * window of 4): every config builds, runs forward and backward with consistent shapes, and starts
 * near the uniform loss. Random weights as HF initialises them; the fixture batch supplies the ids.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/lib/engine/models/registry';
import { fixtureJson, fixtureModel, smokeStep } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const SIZES: Record<string, Record<string, unknown>> = {
	distilbert: { vocab_size: 160, dim: 48, n_layers: 3, n_heads: 6, hidden_dim: 96, max_position_embeddings: 80, id2label: undefined, num_labels: 4 },
	roberta: { vocab_size: 160, hidden_size: 48, num_hidden_layers: 3, num_attention_heads: 6, intermediate_size: 96, max_position_embeddings: 82, id2label: undefined, num_labels: 4, layer_norm_eps: 1e-5 },
	gpt_neox: { vocab_size: 160, hidden_size: 48, num_hidden_layers: 3, num_attention_heads: 6, intermediate_size: 192, max_position_embeddings: 80, rotary_pct: 0.5 },
	phi3: { vocab_size: 160, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2, max_position_embeddings: 80, rms_norm_eps: 1e-6 },
	gemma: { vocab_size: 160, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 80 },
	mistral: { vocab_size: 160, hidden_size: 48, intermediate_size: 128, num_hidden_layers: 3, num_attention_heads: 6, num_key_value_heads: 2, max_position_embeddings: 80, sliding_window: 4, rope_theta: 100000 }
};

describe('the new architectures at other sizes', () => {
	for (const [arch, sizes] of Object.entries(SIZES))
		it(`${arch}: ${Object.entries(sizes).filter(([k]) => /heads|head_dim|rotary|window/.test(k)).map(([k, v]) => `${k} ${v}`).join(', ')}`, () => {
			const m = fixtureModel(arch);
			const { spec, config } = resolveConfig({ ...fixtureJson(arch, 'config.json'), ...sizes });
			const r = smokeStep(spec, config, m.batch, m.labels);
			const classes = config.task === 'sequence-classification';
			expect(r.logitsShape).toEqual(classes ? [2, 4] : [2, 10, 160]);
			// randomParams sets norm weights to 1, which Gemma's (1 + w) reads as 2: its logits start larger
			expect(Math.abs(r.loss - Math.log(classes ? 4 : 160))).toBeLessThan(arch === 'gemma' ? 0.3 : 0.1);
			expect(r.names).toEqual(Object.keys(spec.paramShapes(config)));
			// every weight gets a gradient, except the rows of the position table no position uses
			for (const n of r.names.filter((x) => !/position_embeddings|k_lin\.bias|key\.bias/.test(x))) expect(r.gradNorms[n], n).toBeGreaterThan(0);
			tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask, m.batch.tokenTypeIds].filter((t) => t !== undefined));
		});
});
