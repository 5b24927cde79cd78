import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/lib/shared/errors';
import { activationShapes, assertWithinBufferLimits, checkBufferLimits, checkModelBufferLimits } from '../../../src/lib/engine/models/limits';
import { resolveConfig, withTask } from '../../../src/lib/engine/models/registry';
import { fixtureJson, fixtureModel } from './fixtures';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

const MiB = 2 ** 20;

describe('checkBufferLimits', () => {
	it("flags GPT-2's 154 MB embedding on an adapter that binds 128 MiB off the fast path, and says what to do", () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' }); // GPT-2 small: V 50257, d 768
		const r = checkModelBufferLimits(spec, config, { batchSize: 1, seqLength: 128 }, 128 * MiB, { fastPath: false });
		expect(r.over.map((i) => i.name)).toEqual(['transformer.wte.weight']);
		expect(r.over[0]).toMatchObject({ kind: 'parameter', shape: [50257, 768], bytes: 50257 * 768 * 4 });
		expect(r.message).toMatch(/'transformer\.wte\.weight' \[50257 x 768\]: 147\.2 MiB/);
		expect(r.message).toMatch(/128\.0 MiB/);
		expect(r.message).toMatch(/maxStorageBufferBindingSize/);
		expect(r.message).toMatch(/train on the fast path/);
		expect(r.message).not.toMatch(/batch size/);
		expect(() => assertWithinBufferLimits(r)).toThrow(UserError);
		expect(r.largestActivation).toMatchObject({ name: 'logits (batch, context, vocabulary)', shape: [1, 128, 50257] });

		// with 256 MiB the weights fit, but a batch of 8 x 1024 tokens does not: 1.5 GiB of logits, 384 MiB of attention weights
		const big = checkModelBufferLimits(spec, config, { batchSize: 8, seqLength: 1024 }, 256 * MiB);
		expect(big.over.map((i) => i.name)).toEqual(['logits (batch, context, vocabulary)', 'attention weights (batch, heads, context, context)']);
		expect(big.message).toMatch(/\[8 x 1024 x 50257\]: 1\.53 GiB/);
		expect(big.message).toMatch(/lower the batch size or the context length/);
		expect(big.message).not.toMatch(/smaller vocabulary/);
		expect(checkModelBufferLimits(spec, config, { batchSize: 2, seqLength: 256 }, 256 * MiB).message).toBeNull();
	});

	it('a classifier has no (B, T, V) logits; tensors, records of shapes and params are all accepted', () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' });
		const cls = withTask(spec, config, 'sequence-classification', 2);
		expect(Object.keys(activationShapes(cls, 8, 1024))).not.toContain('logits (batch, context, vocabulary)');
		expect(checkBufferLimits({ a: [10, 10], b: { shape: [4] } }, 400).over).toEqual([]);
		expect(checkBufferLimits({ a: [10, 11] }, 400).over.map((i) => i.bytes)).toEqual([440]);
		const m = fixtureModel('qwen2');
		expect(checkBufferLimits(m.params, 16 * 1024, activationShapes(m.config, 2, 10)).over).toEqual([]); // 128 x 32 x 4 is exactly 16 KiB: allowed
		const r = checkBufferLimits(m.params, 16 * 1024 - 1, activationShapes(m.config, 2, 10));
		expect(r.over.map((i) => i.name)).toEqual(['model.embed_tokens.weight', 'lm_head.weight']);
		tf.dispose([...Object.values(m.params), m.labels, m.batch.inputIds, m.batch.attentionMask!]);
		expect(checkModelBufferLimits(m.spec, resolveConfig(fixtureJson('qwen2', 'config.json')).config, { batchSize: 2, seqLength: 10 }, 128 * MiB).message).toBeNull();
	});

	it('on the fast path an embedding or LM head over the limit is read in parts, trained or not', () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' });
		const step = { batchSize: 1, seqLength: 64 };
		// GPT-2 small's 147 MiB tied embedding on a 128 MiB adapter: full fine-tuning and LoRA alike.
		const fast = checkModelBufferLimits(spec, config, step, 128 * MiB, { maxBufferBytes: 256 * MiB });
		expect(fast.over).toEqual([]);
		expect(fast.message).toBeNull();
		// Qwen2.5-0.5B's 545 MB embedding (151936 x 896) too, within a 1 GiB buffer; its logits are an activation, still checked.
		const qwen = resolveConfig({ model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, tie_word_embeddings: true });
		expect(checkModelBufferLimits(qwen.spec, qwen.config, step, 128 * MiB, { maxBufferBytes: 2 ** 30 }).over.map((i) => i.name)).toEqual([]);
		expect(checkModelBufferLimits(qwen.spec, qwen.config, { batchSize: 4, seqLength: 64 }, 128 * MiB, { maxBufferBytes: 2 ** 30 }).over.map((i) => i.name)).toEqual(['logits (batch, context, vocabulary)']);
		// Off the fast path the composites bind it whole.
		const ref = checkModelBufferLimits(spec, config, step, 128 * MiB, { fastPath: false });
		expect(ref.over.map((i) => [i.name, i.why])).toEqual([['transformer.wte.weight', 'reference path']]);
		expect(ref.message).toMatch(/reference path binds it whole/);
		expect(ref.message).toMatch(/train on the fast path/);
	});

	it('a table that cannot be cut into parts is still over: a row over the limit, or the table over maxBufferSize', () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' }); // 50257 x 768: a row is 3 KiB
		const step = { batchSize: 1, seqLength: 8 };
		const row = checkModelBufferLimits(spec, config, step, 2048);
		const wte = row.over.find((i) => i.name === 'transformer.wte.weight');
		expect(wte?.why).toBe('row');
		expect(row.message).toMatch(/'transformer\.wte\.weight' \[50257 x 768\]: 147\.2 MiB \(one row is itself over 2\.0 KiB, so it cannot be read in parts\)/);
		expect(row.message).toMatch(/smaller hidden size/);
		// A row that just fits: in parts (768 x 4 = 3072 bytes).
		expect(checkModelBufferLimits(spec, config, step, 3072).over.find((i) => i.name === 'transformer.wte.weight')).toBeUndefined();
		const buffer = checkModelBufferLimits(spec, config, step, 128 * MiB, { maxBufferBytes: 128 * MiB });
		expect(buffer.over.map((i) => [i.name, i.why])).toEqual([['transformer.wte.weight', 'buffer']]);
		expect(buffer.message).toMatch(/over the 128\.0 MiB this GPU allocates as one buffer \(maxBufferSize\)/);
		expect(buffer.message).toMatch(/smaller vocabulary or hidden size/);
		expect(() => assertWithinBufferLimits(buffer)).toThrow(UserError);
		// Only the vocabulary tables are read in parts: another weight over the limit is over.
		expect(checkBufferLimits({ 'model.layers.0.mlp.up_proj.weight': [4864, 896] }, 8 * MiB).over.map((i) => i.why)).toEqual([undefined]);
	});
});
