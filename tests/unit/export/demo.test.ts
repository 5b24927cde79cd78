// The demo folder's layout and page (src/lib/export/demo.ts), over a tiny stand-in export and runtime.
import { describe, expect, it } from 'vitest';
import { demoFiles, ORT_WASM_FILE, TJS_FILE, type DemoSpec } from '../../../src/lib/export/demo';
import { UserError } from '../../../src/lib/shared/errors';
import { defaultModelConfig, type PretrainedConfig } from '../../../src/lib/shared/config';
import type { TextTokenizer } from '../../../src/lib/data/tokenizer';
import { demoSpec } from '../../../workers/demo';

const bytes = (s: string) => new TextEncoder().encode(s);
const onnx = () => ({
	'config.json': bytes('{"model_type":"gpt2"}'),
	'onnx/model.onnx': new Uint8Array([1, 2, 3]),
	'onnx/model_fp16.onnx': new Uint8Array([4, 5]),
	'tokenizer.json': bytes('{}'),
	'tokenizer_config.json': bytes('{}'),
	'reference_logits.json': bytes('{}'),
	'README.md': bytes('# card')
});
const runtime = { [TJS_FILE]: new Uint8Array([7]), [ORT_WASM_FILE]: new Uint8Array([8, 9]) };
const classify: DemoSpec = { title: 'Tickets <v1>', task: 'classify', loader: 'AutoModel', addSpecialTokens: false, clsId: 3, maxLength: 64, labels: ['billing', 'bug'] };
const generate: DemoSpec = { title: 'Stories', task: 'generate', addSpecialTokens: false, maxLength: 128, labels: [], maxNewTokens: 25 };

describe('demoFiles', () => {
	it('puts the export under model/ (float32 only), the runtime and the page at the top', () => {
		const out = demoFiles(onnx(), runtime, classify);
		expect(Object.keys(out).sort()).toEqual(
			['README.md', 'app.js', 'demo.json', 'index.html', ORT_WASM_FILE, TJS_FILE, 'model/README.md', 'model/config.json', 'model/onnx/model.onnx', 'model/reference_logits.json', 'model/tokenizer.json', 'model/tokenizer_config.json'].sort()
		);
		expect(out['model/onnx/model.onnx']).toEqual(new Uint8Array([1, 2, 3]));
		expect(out[ORT_WASM_FILE]).toBe(runtime[ORT_WASM_FILE]);
		expect(JSON.parse(out['demo.json'] as string)).toEqual(classify);
	});

	it('the page loads app.js as a module from the folder, with no inline script, and escapes the title', () => {
		const html = demoFiles(onnx(), runtime, classify)['index.html'] as string;
		expect(html).toContain('<script type="module" src="./app.js"></script>');
		expect(html.match(/<script/g)).toHaveLength(1);
		expect(html).toContain('<title>Tickets &lt;v1&gt;</title>');
		expect(html).toContain('<button id="run" disabled>Classify</button>');
		expect(html).not.toContain('max-new');
	});

	it("app.js loads only local files: remote models off, ./ as the model path, the wasm beside it", () => {
		const app = demoFiles(onnx(), runtime, classify)['app.js'] as string;
		expect(app).toContain("from './transformers.min.js'");
		expect(app).toContain('env.allowRemoteModels = false;');
		expect(app).toContain("env.localModelPath = './';");
		expect(app).toContain(`new URL('./${ORT_WASM_FILE}', import.meta.url)`);
		expect(app).not.toMatch(/https?:\/\//);
		expect(app).toContain('do_sample: false');
	});

	it('a causal LM gets a prompt box with the number of new tokens, and a README on hosting', () => {
		const out = demoFiles(onnx(), runtime, generate);
		expect(out['index.html']).toContain('<input id="max-new" type="number" min="1" max="512" value="25">');
		expect(out['index.html']).toContain('>Generate</button>');
		const readme = out['README.md'] as string;
		expect(readme).toContain('python3 -m http.server');
		expect(readme).toContain('file://');
		expect(readme).toContain('greedy decoding');
	});

	it('a multi-label classifier: a sigmoid per label, chosen at the run\'s threshold, said on the page and in the README', () => {
		const out = demoFiles(onnx(), runtime, { ...classify, multiLabel: { threshold: 0.35 } });
		expect(JSON.parse(out['demo.json'] as string).multiLabel).toEqual({ threshold: 0.35 });
		expect(out['index.html']).toContain('A multi-label text classifier');
		expect(out['README.md']).toContain("marks every label at or above 0.35 (the run's threshold) as chosen");
		expect(out['app.js']).toContain('1 / (1 + Math.exp(-x))');
		expect(out['app.js']).toContain('p >= multi.threshold');
		// a single-label classifier keeps its softmax
		expect(demoFiles(onnx(), runtime, classify)['README.md']).toContain('the softmax of the logits');
		expect(demoFiles(onnx(), runtime, classify)['index.html']).not.toContain('multi-label');
	});

	it('refuses an export without a tokenizer.json, and a classifier without labels, saying what to do', () => {
		const noTok: Record<string, Uint8Array> = onnx();
		delete noTok['tokenizer.json'];
		expect(() => demoFiles(noTok, runtime, classify)).toThrow(UserError);
		expect(() => demoFiles(noTok, runtime, classify)).toThrow(/tokenizer\.json/);
		expect(() => demoFiles(onnx(), runtime, { ...classify, labels: [] })).toThrow(/class names/);
	});
});

describe('demoSpec: the page tokenizes as the studio does', () => {
	const tok = { clsId: 2 } as TextTokenizer;
	const pretrained = (objective: PretrainedConfig['objective'], modelType: string) => ({ objective, modelType, contextLength: 96 }) as PretrainedConfig;

	it("the studio's own classifier: the project's BPE without special tokens, [CLS] first only for first-token pooling, AutoModel", () => {
		const mean = demoSpec('t', { scratch: { ...defaultModelConfig, head: 'classification', pooling: 'mean' } }, tok, ['a', 'b']);
		expect(mean).toMatchObject({ task: 'classify', loader: 'AutoModel', addSpecialTokens: false, clsId: undefined, maxLength: defaultModelConfig.contextLength, labels: ['a', 'b'] });
		expect(demoSpec('t', { scratch: { ...defaultModelConfig, head: 'classification', pooling: 'cls' } }, tok, ['a']).clsId).toBe(2);
	});

	it('a pretrained model: its special tokens, BERT through its classification class, a causal LM generating', () => {
		expect(demoSpec('t', { pretrained: pretrained('classification', 'bert'), scratch: defaultModelConfig }, tok, ['x'])).toMatchObject({ loader: 'AutoModelForSequenceClassification', addSpecialTokens: true, clsId: undefined, maxLength: 96 });
		expect(demoSpec('t', { pretrained: pretrained('classification', 'qwen2'), scratch: defaultModelConfig }, tok, ['x']).loader).toBe('AutoModel');
		expect(demoSpec('t', { pretrained: pretrained('causal-lm', 'gpt2'), scratch: defaultModelConfig }, tok, ['x'])).toMatchObject({ task: 'generate', loader: undefined, labels: [], maxNewTokens: 40 });
		// a multi-label run's threshold reaches a classifier's page, never a causal LM's
		expect(demoSpec('t', { scratch: { ...defaultModelConfig, head: 'classification' } }, tok, ['a', 'b'], { threshold: 0.4 }).multiLabel).toEqual({ threshold: 0.4 });
		expect(demoSpec('t', { scratch: { ...defaultModelConfig, head: 'classification' } }, tok, ['a', 'b']).multiLabel).toBeUndefined();
		expect(demoSpec('t', { pretrained: pretrained('causal-lm', 'gpt2'), scratch: defaultModelConfig }, tok, [], { threshold: 0.4 }).multiLabel).toBeUndefined();
	});
});
