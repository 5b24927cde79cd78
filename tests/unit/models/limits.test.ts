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
	it("flags GPT-2's 154 MB embedding on an adapter that binds 128 MiB, and says what to do", () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' }); // GPT-2 small: V 50257, d 768
		const r = checkModelBufferLimits(spec, config, { batchSize: 1, seqLength: 128 }, 128 * MiB);
		expect(r.over.map((i) => i.name)).toEqual(['transformer.wte.weight']);
		expect(r.over[0]).toMatchObject({ kind: 'parameter', shape: [50257, 768], bytes: 50257 * 768 * 4 });
		expect(r.message).toMatch(/'transformer\.wte\.weight' \[50257 x 768\]: 147\.2 MiB/);
		expect(r.message).toMatch(/128\.0 MiB/);
		expect(r.message).toMatch(/maxStorageBufferBindingSize/);
		expect(r.message).toMatch(/smaller vocabulary/);
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

	it('an embedding or LM head that does not train is read in parts on the fast path, so only a trained one is over', () => {
		const { spec, config } = resolveConfig({ model_type: 'gpt2' });
		const step = { batchSize: 1, seqLength: 64 };
		// LoRA: the adapters train, the tied embedding does not.
		const lora = checkModelBufferLimits(spec, config, step, 128 * MiB, new Set(['transformer.h.0.attn.c_attn.lora_A.weight']));
		expect(lora.over).toEqual([]);
		expect(lora.message).toBeNull();
		// Full fine-tuning trains it: still over, and the message proposes LoRA.
		const full = checkModelBufferLimits(spec, config, step, 128 * MiB, new Set(Object.keys(spec.paramShapes(config))));
		expect(full.over.map((i) => i.name)).toEqual(['transformer.wte.weight']);
		expect(full.message).toMatch(/train with LoRA/);
		// Off the fast path nothing is read in parts.
		expect(checkModelBufferLimits(spec, config, step, 128 * MiB, new Set(), false).over.map((i) => i.name)).toEqual(['transformer.wte.weight']);
	});
});
