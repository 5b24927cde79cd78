/**
 * The transformers.js export's graphs, run by onnxruntime-web's WASM backend in Node (the runtime
 * transformers.js uses in a browser): logits against transformers' own on the hf-tiny fixtures,
 * a decoding step with the KV cache against the full prefix, the float16 file within a stated
 * tolerance, and the graphs the studio's own forward is the reference for (the from-scratch model,
 * a GPT-2 classifier).
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { initParams, forward as scratchForward } from '../../../src/lib/engine/models/transformer';
import { resolveConfig, withTask } from '../../../src/lib/engine/models/registry';
import { defaultModelConfig, type ModelConfig } from '../../../src/lib/shared/config';
import { exportOnnx, exportScratchOnnx, onnxUsage, type HostWeights } from '../../../src/lib/export/onnx';
import { fixtureJson, fixtureTensors } from '../models/fixtures';

interface Reference {
	input_ids: number[][];
	attention_mask: number[][];
	token_type_ids?: number[][];
	logits: number[][] | number[][][];
}

const FP32_TOL = 1e-4;
// float16 weights (11-bit mantissa) move these tiny models' logits by up to 1.8e-4 (measured); 2e-3 leaves room
const FP16_TOL = 2e-3;

beforeAll(async () => {
	ort.env.wasm.numThreads = 1;
	await tf.setBackend('cpu');
});

function weightsOf(arch: string): HostWeights {
	const w: HostWeights = {};
	for (const [k, t] of fixtureTensors(arch)) w[k] = { shape: t.shape, data: t.data as Float32Array };
	return w;
}

const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
	expect(a.length).toBe(b.length);
	let m = 0;
	for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
	return m;
};

/** Feeds for a decoder graph: positions 0..T-1 (the fixtures' default) and empty caches. */
function decoderFeeds(s: ort.InferenceSession, ids: number[][], mask: number[][], past?: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
	const feeds: Record<string, ort.Tensor> = { input_ids: int64(ids), attention_mask: int64(mask) };
	const pastLen = mask[0].length - ids[0].length;
	if (s.inputNames.includes('position_ids')) feeds.position_ids = int64(ids.map((r) => r.map((_, j) => pastLen + j)));
	for (const m of s.inputMetadata) {
		if (!m.name.startsWith('past_key_values.')) continue;
		const dims = (m as ort.InferenceSession.TensorValueMetadata).shape.map((d) => (typeof d === 'number' ? d : d === 'batch_size' ? ids.length : 0));
		feeds[m.name] = past?.[m.name.replace('past_key_values', 'present')] ?? new ort.Tensor('float32', new Float32Array(0), dims);
	}
	return feeds;
}

async function session(bytes: Uint8Array) {
	return ort.InferenceSession.create(bytes);
}

describe.each(['gpt2', 'llama', 'qwen2'])('%s causal LM', (arch) => {
	const ref = fixtureJson<Reference>(arch, 'reference.json');
	const { spec, config } = resolveConfig(fixtureJson(arch, 'config.json'));
	const out = exportOnnx(spec, config, weightsOf(arch));

	it('declares the inputs and outputs transformers.js feeds and reads', async () => {
		const s = await session(out.files['onnx/model.onnx']);
		const cache = (p: string) => Array.from({ length: config.nLayer }, (_, i) => [`${p}.${i}.key`, `${p}.${i}.value`]).flat();
		expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', ...cache('past_key_values')]);
		expect([...s.outputNames].sort()).toEqual(['logits', ...cache('present')].sort());
		const meta = s.inputMetadata.find((m) => m.name === 'past_key_values.0.key') as ort.InferenceSession.TensorValueMetadata;
		expect(meta.shape).toEqual(['batch_size', config.nKvHead, 'past_sequence_length', config.headDim]);
		const json = JSON.parse(out.files['config.json']);
		expect(json['transformers.js_config']).toEqual({ dtype: 'fp32', use_external_data_format: false });
		expect(json.model_type).toBe(arch);
		expect(out.files['generation_config.json']).toBeDefined();
	});

	it(`fp32 logits equal transformers' (≤ ${FP32_TOL})`, async () => {
		const s = await session(out.files['onnx/model.onnx']);
		const r = await s.run(decoderFeeds(s, ref.input_ids, ref.attention_mask));
		expect(r.logits.dims).toEqual([2, 10, config.vocabSize]);
		expect(maxDiff(r.logits.data as Float32Array, (ref.logits as number[][][]).flat(2))).toBeLessThanOrEqual(FP32_TOL);
	});

	it('a decoding step with past_key_values gives the full prefix logits', async () => {
		const s = await session(out.files['onnx/model.onnx']);
		const ids = [ref.input_ids[0].slice(0, 9)];
		const first = await s.run(decoderFeeds(s, ids, [ids[0].map(() => 1)]));
		expect(first['present.0.key'].dims).toEqual([1, config.nKvHead, 9, config.headDim]);
		const step = await s.run(decoderFeeds(s, [[ref.input_ids[0][9]]], [ref.input_ids[0].map(() => 1)], first));
		expect(step['present.0.key'].dims).toEqual([1, config.nKvHead, 10, config.headDim]);
		const expected = (ref.logits as number[][][])[0][9];
		expect(maxDiff(step.logits.data as Float32Array, expected)).toBeLessThanOrEqual(FP32_TOL);
	});

	it(`fp16 weights stay within ${FP16_TOL} of transformers' logits`, async () => {
		expect(out.files['onnx/model_fp16.onnx'].length).toBeLessThan(0.6 * out.files['onnx/model.onnx'].length);
		const s = await session(out.files['onnx/model_fp16.onnx']);
		const r = await s.run(decoderFeeds(s, ref.input_ids, ref.attention_mask));
		const d = maxDiff(r.logits.data as Float32Array, (ref.logits as number[][][]).flat(2));
		expect(d).toBeLessThanOrEqual(FP16_TOL);
		expect(d).toBeGreaterThan(0); // the weights really were rounded
	});
});

describe('bert sequence classifier', () => {
	const ref = fixtureJson<Reference>('bert', 'reference.json');
	const { spec, config } = resolveConfig(fixtureJson('bert', 'config.json'));
	const out = exportOnnx(spec, config, weightsOf('bert'));
	const feeds = () => ({ input_ids: int64(ref.input_ids), attention_mask: int64(ref.attention_mask), token_type_ids: int64(ref.token_type_ids!) });

	it(`fp32 logits equal transformers' (≤ ${FP32_TOL}), fp16 within ${FP16_TOL}`, async () => {
		const s = await session(out.files['onnx/model.onnx']);
		expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
		const r = await s.run(feeds());
		expect(r.logits.dims).toEqual([2, 3]);
		expect(maxDiff(r.logits.data as Float32Array, (ref.logits as number[][]).flat())).toBeLessThanOrEqual(FP32_TOL);
		const h = await (await session(out.files['onnx/model_fp16.onnx'])).run(feeds());
		expect(maxDiff(h.logits.data as Float32Array, (ref.logits as number[][]).flat())).toBeLessThanOrEqual(FP16_TOL);
		const json = JSON.parse(out.files['config.json']);
		expect(json).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'], id2label: { 0: 'LABEL_0' } });
		expect(out.files['generation_config.json']).toBeUndefined();
	});
});

/** The studio's forward on tfjs CPU for host weights: the reference where transformers has no equivalent. */
function studioLogits(run: (p: Record<string, tf.Tensor>, ids: tf.Tensor2D, mask: tf.Tensor2D) => tf.Tensor, w: HostWeights, ids: number[][], mask: number[][]): Float32Array {
	return tf.tidy(() => {
		const p = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
		return run(p, tf.tensor2d(ids, undefined, 'int32'), tf.tensor2d(mask, undefined, 'float32')).dataSync() as Float32Array;
	});
}

function randomize(w: HostWeights, names: RegExp, seed: number): HostWeights {
	let s = seed;
	const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
	for (const [k, v] of Object.entries(w)) if (names.test(k)) v.data = v.data.map(() => rnd());
	return w;
}

describe("the studio's from-scratch model", () => {
	const ids = [
		[5, 9, 30, 2, 17, 44, 8, 3],
		[12, 7, 19, 0, 0, 0, 0, 0]
	];
	const mask = ids.map((r, i) => r.map((_, j) => (i === 0 || j < 3 ? 1 : 0)));
	const cases: [string, Partial<ModelConfig>][] = [
		['a bidirectional mean-pooled classifier (the default)', {}],
		['a causal first-token classifier', { causal: true, pooling: 'cls' }]
	];
	it.each(cases)(`%s: logits equal the studio's (≤ ${FP32_TOL}), bias included`, async (_, over) => {
		const m: ModelConfig = { ...defaultModelConfig, vocabSize: 64, numClasses: 3, ...over };
		const w = randomize(initParams(m, 3), /bias|ln_/, 11);
		const out = exportScratchOnnx(m, w, { labels: ['a', 'b', 'c'] });
		const s = await session(out.files['onnx/model.onnx']);
		expect(s.inputNames).toEqual(['input_ids', 'attention_mask']);
		const r = await s.run({ input_ids: int64(ids), attention_mask: int64(mask) });
		const expected = studioLogits((p, i, a) => scratchForward(p, m, { inputIds: i, attentionMask: a }), w, ids, mask);
		expect(r.logits.dims).toEqual([2, 3]);
		expect(maxDiff(r.logits.data as Float32Array, expected)).toBeLessThanOrEqual(FP32_TOL);
		expect(JSON.parse(out.files['config.json'])).toMatchObject({ model_type: 'gpt2', id2label: { 0: 'a', 1: 'b', 2: 'c' } });
		expect(out.warnings.join(' ')).toContain('AutoModel');
	});

	it(`a language model: logits equal the studio's (≤ ${FP32_TOL}), with a KV cache`, async () => {
		const m: ModelConfig = { ...defaultModelConfig, vocabSize: 64, head: 'lm', causal: true };
		const w = randomize(initParams(m, 4), /bias|ln_/, 5);
		const out = exportScratchOnnx(m, w, { eosTokenId: 2 });
		const s = await session(out.files['onnx/model.onnx']);
		const row = [ids[0]];
		const r = await s.run(decoderFeeds(s, row, [row[0].map(() => 1)]));
		const expected = studioLogits((p, i, a) => scratchForward(p, m, { inputIds: i, attentionMask: a }), w, row, [row[0].map(() => 1)]);
		expect(maxDiff(r.logits.data as Float32Array, expected)).toBeLessThanOrEqual(FP32_TOL);
		expect(JSON.parse(out.files['generation_config.json']!)).toEqual({ eos_token_id: 2 });
	});
});

describe('a GPT-2 sequence classifier (the studio fine-tunes decoders as classifiers too)', () => {
	it(`pools the last real token: logits equal the studio's (≤ ${FP32_TOL})`, async () => {
		const base = resolveConfig(fixtureJson('gpt2', 'config.json'));
		const config = withTask(base.spec, base.config, 'sequence-classification', 3);
		const w = weightsOf('gpt2');
		w['score.weight'] = { shape: [3, config.hiddenSize], data: new Float32Array(3 * config.hiddenSize) };
		randomize(w, /^score/, 9);
		const ref = fixtureJson<Reference>('gpt2', 'reference.json');
		const out = exportOnnx(base.spec, config, w, { padTokenId: 0 });
		const s = await session(out.files['onnx/model.onnx']);
		const r = await s.run(decoderFeeds(s, ref.input_ids, ref.attention_mask));
		const expected = studioLogits((p, i, a) => base.spec.forward(p, config, { inputIds: i, attentionMask: a }), w, ref.input_ids, ref.attention_mask);
		expect(r.logits.dims).toEqual([2, 3]);
		expect(maxDiff(r.logits.data as Float32Array, expected)).toBeLessThanOrEqual(FP32_TOL);
	});
});

describe('what the export refuses and what it writes beside the graph', () => {
	it('names the architectures it cannot export and says what to do', () => {
		const { spec, config } = resolveConfig(fixtureJson('gemma', 'config.json'));
		expect(() => exportOnnx(spec, config, weightsOf('gemma'))).toThrow(/gemma models have no ONNX export yet .*export the Hugging Face folder instead/);
	});

	it("writes the studio's reference logits and the transformers.js load code for each kind", () => {
		const { spec, config } = resolveConfig(fixtureJson('bert', 'config.json'));
		const reference = { input_ids: [[1, 2]], attention_mask: [[1, 1]], logits: [[0.5, -0.5, 0]] };
		const out = exportOnnx(spec, config, weightsOf('bert'), { reference });
		expect(JSON.parse(out.files['reference_logits.json']!)).toEqual(reference);
		expect(onnxUsage('bert-classifier')).toContain("pipeline('text-classification'");
		expect(onnxUsage('causal-lm')).toContain("pipeline('text-generation'");
		expect(onnxUsage('decoder-classifier')).toContain('AutoModel.from_pretrained');
	});
});
