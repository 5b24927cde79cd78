/** positionLimit (src/lib/shared/arch-shapes.ts): the Train form caps a pretrained run's context length by it. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { positionLimit } from '../../../src/lib/shared/arch-shapes';

const config = (arch: string) => JSON.parse(readFileSync(`tests/fixtures/hf-tiny/${arch}/config.json`, 'utf8'));

describe('positionLimit', () => {
	it('reads the learned position tables of GPT-2, BERT, DistilBERT and RoBERTa (after its padding offset)', () => {
		expect(positionLimit(config('gpt2'))).toEqual({ tokens: config('gpt2').n_positions, key: 'n_positions' });
		expect(positionLimit(config('bert'))).toEqual({ tokens: config('bert').max_position_embeddings, key: 'max_position_embeddings' });
		expect(positionLimit(config('distilbert'))).toEqual({ tokens: config('distilbert').max_position_embeddings, key: 'max_position_embeddings' });
		const r = config('roberta');
		expect(positionLimit(r)).toEqual({ tokens: r.max_position_embeddings - r.pad_token_id - 1, key: 'max_position_embeddings' });
		expect(positionLimit({ model_type: 'gpt2', n_ctx: 1024 })).toEqual({ tokens: 1024, key: 'n_ctx' });
	});

	it('sets no limit for rotary positions or a config that does not say', () => {
		for (const arch of ['llama', 'qwen2', 'mistral', 'gemma', 'phi3', 'gpt_neox']) expect(positionLimit(config(arch))).toBeNull();
		expect(positionLimit({ model_type: 'gpt2' })).toBeNull();
	});
});
