/**
 * The studio's own from-scratch language model as GGUF: it exports in GPT-2's layout
 * (scratch-export.ts), so its GGUF is llama.cpp's gpt2 with the project's byte-level BPE
 * ("gpt2" tokenizer, "gpt-2" pre-tokenizer, the learned merges, `<eos>` as EOS), read back with
 * @huggingface/gguf with every tensor's values.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { describe, expect, it } from 'vitest';
import { exportGguf } from '../../../src/lib/export/gguf-model';
import { scratchHfConfig } from '../../../src/lib/engine/io/scratch-export';
import { initParams } from '../../../src/lib/engine/models/transformer';
import { bpeTokenizerConfig, trainBpe } from '../../../src/lib/data/bpe';
import { defaultModelConfig, type ModelConfig } from '../../../src/lib/shared/config';

describe('GGUF of a from-scratch language model', () => {
	it('is a gpt2 GGUF with the project BPE, every tensor equal to the studio weights (F32)', async () => {
		const texts = ['my order never arrived', 'refund my order please', 'the app crashes when I log in', 'where is my parcel?'];
		const tokenizerJson = trainBpe(texts, { kind: 'bpe-bytelevel', vocabSize: 300, lowercase: false });
		const m: ModelConfig = { ...defaultModelConfig, head: 'lm', causal: true, vocabSize: 320, dModel: 32, nHead: 2, nLayer: 1, contextLength: 32 };
		const params = initParams(m, 3);
		const out = exportGguf({ hfConfig: scratchHfConfig(m, { eosTokenId: 2, padTokenId: 0 }), weights: params, tokenizer: { tokenizerJson, tokenizerConfig: bpeTokenizerConfig(32) }, type: 'F32', name: 'scratch' });
		const path = join(mkdtempSync(join(tmpdir(), 'gguf-scratch-')), 'scratch.gguf');
		writeFileSync(path, out.bytes);
		const { metadata, tensorInfos, tensorDataOffset } = await gguf(path, { allowLocalFile: true });
		const md = metadata as Record<string, unknown>;
		const tj = JSON.parse(tokenizerJson);
		expect(md).toMatchObject({ 'general.architecture': 'gpt2', 'gpt2.block_count': 1, 'gpt2.embedding_length': 32, 'gpt2.context_length': 32, 'gpt2.feed_forward_length': 32 * m.mlpRatio, 'gpt2.attention.head_count': 2 });
		expect(md).toMatchObject({ 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.eos_token_id': 2, 'tokenizer.ggml.padding_token_id': 0, 'tokenizer.ggml.unknown_token_id': 3 });
		expect(md['tokenizer.ggml.merges']).toEqual(tj.model.merges.map((x: string | string[]) => (Array.isArray(x) ? x.join(' ') : x)));
		expect((md['tokenizer.ggml.merges'] as string[]).length).toBeGreaterThan(0);
		const tokens = md['tokenizer.ggml.tokens'] as string[];
		expect(tokens).toHaveLength(320);
		expect(tokens.slice(0, 4)).toEqual(['<pad>', '<cls>', '<eos>', '<unk>']);
		expect(out.warnings).toEqual([]);
		// values: token_embd as is; the tied head written as output.weight; Conv1D transposed
		const view = new DataView(out.bytes.buffer);
		const read = (name: string) => {
			const t = tensorInfos.find((x) => x.name === name)!;
			const n = t.shape.reduce((a, b) => a * Number(b), 1);
			return Float32Array.from({ length: n }, (_, i) => view.getFloat32(Number(tensorDataOffset) + Number(t.offset) + 4 * i, true));
		};
		expect(read('token_embd.weight')).toEqual(params['transformer.wte.weight'].data);
		expect(read('output.weight')).toEqual(params['transformer.wte.weight'].data);
		const fc = params['transformer.h.0.mlp.c_fc.weight']; // [32, 128] -> ffn_up [128, 32]
		const up = read('blk.0.ffn_up.weight');
		for (let o = 0; o < 128; o++) for (let i = 0; i < 32; i++) expect(up[o * 32 + i]).toBe(fc.data[i * 128 + o]);
		expect(tensorInfos.find((x) => x.name === 'blk.0.ffn_up.weight')!.shape.map(Number)).toEqual([32, 128]);
	});

	it('a from-scratch classifier has no GGUF: it says to export the model folder', () => {
		const m: ModelConfig = { ...defaultModelConfig, head: 'classification', numClasses: 3, vocabSize: 320 };
		const tokenizerJson = trainBpe(['a b c'], { kind: 'bpe-bytelevel', vocabSize: 300, lowercase: false });
		expect(() => exportGguf({ hfConfig: scratchHfConfig(m), weights: initParams(m, 1), tokenizer: { tokenizerJson }, type: 'F16', name: 'c' })).toThrow(/Export this classifier as the Hugging Face folder/);
	});
});
