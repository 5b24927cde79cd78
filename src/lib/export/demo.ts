/**
 * "Share as a demo" (issue 12, "A demo page"): a static folder that runs a trained model in any
 * browser with no server of ours. It is the transformers.js (ONNX) export (src/lib/export/onnx)
 * under `model/`, transformers.js's single-file browser build (`transformers.min.js`, which embeds
 * ONNX Runtime Web's JavaScript) with the one wasm binary that build loads, an `index.html`, its
 * `app.js`, `demo.json` (what app.js needs to tokenize and label as the studio does) and a README
 * on hosting it. A classifier shows every class's probability for a typed text; a causal LM
 * continues a prompt with greedy decoding.
 *
 * Classifiers run the graph directly (AutoModelForSequenceClassification for BERT, AutoModel for
 * the decoders, whose classifiers transformers.js has no pipeline class for) on the token ids the
 * studio would feed: the tokenizer with or without special tokens as the studio adds them, the
 * [CLS] prefix of first-token pooling, truncation to the context. Reference: transformers.js v4's
 * `env`, `AutoTokenizer`, `AutoModel*`, `pipeline('text-generation')`.
 */
import { UserError } from '../shared/errors';

/** The wasm file transformers.min.js loads (ONNX Runtime Web's asyncify build; its .mjs is embedded in the bundle). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';
export const TJS_FILE = 'transformers.min.js';

export interface DemoRuntime {
	[TJS_FILE]: Uint8Array;
	[ORT_WASM_FILE]: Uint8Array;
}

/** What app.js needs to know about the model (written as demo.json). */
export interface DemoSpec {
	title: string;
	task: 'classify' | 'generate';
	/** The transformers.js class that returns a classifier's logits. */
	loader?: 'AutoModelForSequenceClassification' | 'AutoModel';
	/** Whether the studio tokenized with the tokenizer's special tokens (a pretrained model) or not (the project's BPE). */
	addSpecialTokens: boolean;
	/** The [CLS] id the studio puts first for first-token pooling. */
	clsId?: number;
	/** The model's context: longer inputs are cut to it, as the studio cuts them. */
	maxLength: number;
	labels: string[];
	/**
	 * A multi-label classifier: a sigmoid per label instead of one softmax, and every label at or
	 * above `threshold` (the run's saved one, as Evaluate and Predict decide) is chosen.
	 */
	multiLabel?: { threshold: number };
	/** Generated tokens per prompt (a causal LM). */
	maxNewTokens?: number;
}

/** Export files never needed in the demo: it loads float32 only (the config's default dtype). */
const DROPPED = new Set(['onnx/model_fp16.onnx']);

/** The demo folder: the ONNX export's files (a path → bytes map, as unzipped) and the runtime, laid out as index.html expects. */
export function demoFiles(onnx: Record<string, Uint8Array>, runtime: DemoRuntime, spec: DemoSpec): Record<string, Uint8Array | string> {
	if (!onnx['config.json'] || !onnx['onnx/model.onnx']) throw new UserError('invalid-config', 'The ONNX export has no config.json or onnx/model.onnx; export it again.');
	if (!onnx['tokenizer.json']) throw new UserError('invalid-config', "This model's tokenizer has no tokenizer.json, which transformers.js needs in the browser. Export the ONNX folder instead and add a tokenizer.json.");
	if (spec.task === 'classify' && !spec.labels.length) throw new UserError('invalid-config', 'A classifier demo needs the class names; this run has none.');
	const out: Record<string, Uint8Array | string> = {};
	for (const [path, bytes] of Object.entries(onnx)) if (!DROPPED.has(path)) out[`model/${path}`] = bytes;
	out[TJS_FILE] = runtime[TJS_FILE];
	out[ORT_WASM_FILE] = runtime[ORT_WASM_FILE];
	out['demo.json'] = JSON.stringify(spec, null, 2) + '\n';
	out['index.html'] = demoHtml(spec);
	out['app.js'] = APP_JS;
	out['README.md'] = demoReadme(spec);
	return out;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function demoHtml(spec: DemoSpec): string {
	const title = escapeHtml(spec.title);
	const form =
		spec.task === 'classify'
			? `<label for="text">Text to label</label>
<textarea id="text" rows="4" placeholder="Type a text…"></textarea>
<button id="run" disabled>Classify</button>
<div id="result" aria-live="polite"></div>`
			: `<label for="text">Prompt</label>
<textarea id="text" rows="4" placeholder="Type the start of a text…"></textarea>
<label class="inline">New tokens <input id="max-new" type="number" min="1" max="512" value="${spec.maxNewTokens ?? 40}"></label>
<button id="run" disabled>Generate</button>
<pre id="result" aria-live="polite"></pre>`;
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
.muted { color: #5f6b7a; font-size: 0.9rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
label.inline { font-weight: 400; }
textarea { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; }
input[type=number] { width: 5rem; }
button { margin-top: 0.6rem; padding: 0.45rem 1rem; font: inherit; cursor: pointer; }
#status.error { color: #b3261e; }
.cls { display: grid; grid-template-columns: 10rem 1fr 4rem; gap: 0.5rem; align-items: center; margin: 0.3rem 0; }
.cls.top { font-weight: 700; }
.cls.chosen .label::before { content: '✓ '; color: #1d7a3a; }
#chosen { margin: 0.6rem 0 0.2rem; font-weight: 600; }
.bar { background: #e6e9ef; height: 0.8rem; border-radius: 0.4rem; overflow: hidden; }
.bar span { display: block; height: 100%; background: #3b6fd8; }
pre { white-space: pre-wrap; font-size: 1rem; background: #f4f5f8; padding: 0.8rem; border-radius: 0.4rem; min-height: 2rem; }
</style>
</head>
<body>
<h1>${title}</h1>
<p class="muted">${spec.task === 'classify' ? (spec.multiLabel ? 'A multi-label text classifier' : 'A text classifier') : 'A language model'} running in this browser with transformers.js; nothing you type leaves this page.</p>
<p id="status">Loading the model… (if this never changes, the page was opened from a file: serve the folder over http, see README.md)</p>
${form}
<script type="module" src="./app.js"></script>
</body>
</html>
`;
}

function demoReadme(spec: DemoSpec): string {
	return `# ${spec.title}: a browser demo

A static folder that runs this model in the browser with [transformers.js](https://huggingface.co/docs/transformers.js)
and ONNX Runtime Web (WebAssembly). No server of ours is involved: any static file host works.

## Run it on your machine

Browsers refuse to load JavaScript modules and WebAssembly from \`file://\` pages, so opening
\`index.html\` by double-click does not work. Serve the folder instead:

\`\`\`sh
cd this-folder
python3 -m http.server 8000
# then open http://localhost:8000/
\`\`\`

(\`npx serve .\` or any other static server does the same.)

## Host it

Upload the whole folder as it is to any static host (GitHub Pages, Netlify, Cloudflare Pages, an S3
bucket, a Hugging Face static Space). Serve \`.wasm\` as \`application/wasm\` (every common host does).
Nothing is fetched from elsewhere: the page loads only the files in this folder.

## What is inside

- \`index.html\`, \`app.js\`: the page; \`demo.json\`: the task, the class names and how the studio tokenizes.
- \`transformers.min.js\`: transformers.js's browser build (ONNX Runtime Web's JavaScript included).
- \`${ORT_WASM_FILE}\`: ONNX Runtime's WebAssembly binary.
- \`model/\`: the transformers.js folder (\`config.json\`, \`onnx/model.onnx\` in float32, the tokenizer, the model card).

${
	spec.task === 'classify'
		? spec.multiLabel
			? `The page shows each label's probability (a sigmoid of its logit: the labels are independent, as the studio trained them) for the text typed, feeding the model the token ids the studio feeds it, and marks every label at or above ${spec.multiLabel.threshold} (the run's threshold) as chosen. To decide elsewhere, change \`multiLabel.threshold\` in \`demo.json\`.`
			: 'The page shows the probability of every class (the softmax of the logits) for the text typed, feeding the model the token ids the studio feeds it.'
		: `The page continues a prompt with greedy decoding (the most likely token each step), ${spec.maxNewTokens ?? 40} new tokens unless changed.`
}
`;
}

/** The page's script: loads the model from ./model with transformers.js, nothing remote. */
const APP_JS = `// The demo page: loads ./model with transformers.js from this folder only, then labels or continues the typed text.
import { env, AutoTokenizer, AutoModel, AutoModelForSequenceClassification, Tensor, pipeline } from './transformers.min.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = './';
env.useBrowserCache = false;
// The wasm binary beside this script; ONNX Runtime's JavaScript glue is inside transformers.min.js.
env.backends.onnx.wasm.wasmPaths = { wasm: new URL('./${ORT_WASM_FILE}', import.meta.url).href };
env.backends.onnx.wasm.numThreads = 1;

const status = document.getElementById('status');
const text = document.getElementById('text');
const run = document.getElementById('run');
const result = document.getElementById('result');
const say = (msg, error = false) => {
	status.textContent = msg;
	status.classList.toggle('error', error);
};

function softmax(xs) {
	const m = Math.max(...xs);
	const e = xs.map((x) => Math.exp(x - m));
	const s = e.reduce((a, b) => a + b, 0);
	return e.map((x) => x / s);
}

async function classifier(spec) {
	const tokenizer = await AutoTokenizer.from_pretrained('model');
	const Model = spec.loader === 'AutoModelForSequenceClassification' ? AutoModelForSequenceClassification : AutoModel;
	const model = await Model.from_pretrained('model', { device: 'wasm', dtype: 'fp32' });
	return async (input) => {
		let ids = Array.from(tokenizer(input, { add_special_tokens: spec.addSpecialTokens }).input_ids.data, Number);
		if (spec.clsId !== undefined && spec.clsId !== null) ids = [spec.clsId, ...ids];
		ids = ids.slice(0, spec.maxLength);
		if (!ids.length) throw new Error('The text gives no tokens; type some words.');
		const row = (xs) => new Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
		const { logits } = await model({ input_ids: row(ids), attention_mask: row(ids.map(() => 1)) });
		const xs = Array.from(logits.data, Number);
		// Multi-label: each label on its own (a sigmoid), chosen at or above the run's threshold.
		const multi = spec.multiLabel;
		const probs = multi ? xs.map((x) => 1 / (1 + Math.exp(-x))) : softmax(xs);
		const rows = spec.labels.map((label, i) => ({ label, p: probs[i] })).sort((a, b) => b.p - a.p);
		const chosen = multi ? rows.filter((r) => r.p >= multi.threshold).map((r) => r.label) : [];
		const summary = [];
		if (multi) {
			const line = document.createElement('p');
			line.id = 'chosen';
			line.textContent = chosen.length
				? 'Labels at or above ' + multi.threshold + ': ' + chosen.join(', ')
				: 'No label reaches ' + multi.threshold + ' (the highest is ' + rows[0].label + ', ' + (100 * rows[0].p).toFixed(1) + '%).';
			summary.push(line);
		}
		result.replaceChildren(
			...summary,
			...rows.map(({ label, p }, i) => {
				const div = document.createElement('div');
				div.className = (i === 0 ? 'cls top' : 'cls') + (multi && p >= multi.threshold ? ' chosen' : '');
				div.dataset.label = label;
				if (multi) div.dataset.chosen = String(p >= multi.threshold);
				if (i === 0) div.id = 'top';
				const name = document.createElement('span');
				name.className = 'label';
				name.textContent = label;
				const bar = document.createElement('div');
				bar.className = 'bar';
				const fill = document.createElement('span');
				fill.style.width = (100 * p).toFixed(1) + '%';
				bar.append(fill);
				const pct = document.createElement('span');
				pct.className = 'p';
				pct.textContent = (100 * p).toFixed(1) + '%';
				div.append(name, bar, pct);
				return div;
			})
		);
	};
}

async function generator(spec) {
	const generate = await pipeline('text-generation', 'model', { device: 'wasm', dtype: 'fp32' });
	const maxNew = document.getElementById('max-new');
	return async (input) => {
		if (!input) throw new Error('Type a prompt first.');
		const n = Math.max(1, Math.min(512, Math.round(Number(maxNew.value)) || spec.maxNewTokens || 40));
		const [out] = await generate(input, { max_new_tokens: n, do_sample: false, return_full_text: false });
		result.textContent = input + out.generated_text;
	};
}

try {
	const spec = await (await fetch('./demo.json')).json();
	const act = spec.task === 'classify' ? await classifier(spec) : await generator(spec);
	say('Ready.');
	run.disabled = false;
	run.addEventListener('click', async () => {
		run.disabled = true;
		say(spec.task === 'classify' ? 'Classifying…' : 'Generating…');
		try {
			await act(text.value.trim());
			say('Ready.');
		} catch (e) {
			say(String(e && e.message ? e.message : e), true);
		} finally {
			run.disabled = false;
		}
	});
} catch (e) {
	say('The model could not be loaded: ' + String(e && e.message ? e.message : e) + (location.protocol === 'file:' ? ' Browsers do not load this page from file:// — serve the folder (see README.md).' : ''), true);
}
`;
