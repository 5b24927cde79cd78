/**
 * "Share as a demo" in the engine worker: the run's transformers.js export (workers/export.ts
 * onnxZip) unzipped, with transformers.js's browser build and ONNX Runtime's wasm (built into the
 * site as assets by Vite's `?url`, fetched from the site itself) and the page of
 * src/lib/export/demo.ts, zipped again.
 */
import { strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import tjsUrl from '../node_modules/@huggingface/transformers/dist/transformers.min.js?url';
import ortWasmUrl from '../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { TextTokenizer } from '../src/lib/data/tokenizer';
import { demoFiles, ORT_WASM_FILE, TJS_FILE, type DemoRuntime, type DemoSpec } from '../src/lib/export/demo';
import type { ModelConfig, PretrainedConfig } from '../src/lib/shared/config';
import { UserError } from '../src/lib/shared/errors';
import type { ExportedZip } from './export';

async function fetchBytes(url: string): Promise<Uint8Array> {
	const res = await fetch(new URL(url, self.location.href));
	if (!res.ok) throw new UserError('network', `The demo's runtime file ${url} could not be fetched from the studio's site (HTTP ${res.status}); reload the page and try again.`);
	return new Uint8Array(await res.arrayBuffer());
}

let runtime: Promise<DemoRuntime> | null = null;

/** transformers.min.js and its wasm, fetched once per worker. */
function demoRuntime(): Promise<DemoRuntime> {
	runtime ??= Promise.all([fetchBytes(tjsUrl), fetchBytes(ortWasmUrl)]).then(([tjs, wasm]) => ({ [TJS_FILE]: tjs, [ORT_WASM_FILE]: wasm }) as DemoRuntime);
	runtime.catch(() => (runtime = null));
	return runtime;
}

/** How the page feeds the model: as the studio tokenizes (onnxZip's reference rows do the same). */
export function demoSpec(title: string, model: { pretrained?: PretrainedConfig; scratch: ModelConfig }, tokenizer: TextTokenizer, labels: string[], multiLabel?: { threshold: number }): DemoSpec {
	const p = model.pretrained;
	const m = model.scratch;
	const classify = p ? p.objective === 'classification' : m.head === 'classification';
	return {
		title,
		task: classify ? 'classify' : 'generate',
		loader: classify ? (p?.modelType === 'bert' ? 'AutoModelForSequenceClassification' : 'AutoModel') : undefined,
		addSpecialTokens: !!p,
		clsId: !p && m.pooling === 'cls' && classify ? tokenizer.clsId : undefined,
		maxLength: p?.contextLength ?? m.contextLength,
		labels: classify ? labels : [],
		...(classify && multiLabel ? { multiLabel } : {}),
		maxNewTokens: classify ? undefined : 40
	};
}

/** The ONNX export as a demo folder, zipped: the .onnx files stored (float weights barely compress), ORT's wasm deflated (27 MB to 7). */
export async function demoZip(onnx: ExportedZip, spec: DemoSpec): Promise<ExportedZip> {
	const files = demoFiles(unzipSync(new Uint8Array(await onnx.blob.arrayBuffer())), await demoRuntime(), spec);
	const zipped = zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [typeof v === 'string' ? strToU8(v) : v, { level: k.endsWith('.onnx') ? 0 : 6 }]])) as Zippable);
	return { blob: new Blob([zipped as BlobPart], { type: 'application/zip' }), fileName: onnx.fileName.replace(/-onnx\.zip$/, '') + '-demo.zip', warnings: [] };
}
