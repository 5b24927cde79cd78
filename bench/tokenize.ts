/**
 * Tokenizing the generated 1M-row dataset (bench/data-gen.ts) with the project's BPE (vocabulary
 * 512, lowercased, trained on a seeded sample of at most 16 M characters as the studio does):
 *
 * - in Node, on the same tokenizer.json and texts: our encoder (tokenize-fast.ts) in one thread
 *   and on every core (worker_threads, one shard each, as the studio's sub-workers), Hugging
 *   Face's Rust `tokenizers` (the npm package, `encodeBatch`, which uses every core) and
 *   tokenizers.js (`@huggingface/tokenizers`, row by row, on the first `--js-rows`); the ids of
 *   every row are compared with Rust's;
 * - in the built studio, headless Chromium: the dataset imported, then `prepareTokens` as a run
 *   calls it (train the BPE, tokenize every row in the data worker's sub-workers, store the
 *   cache), once more (from the cache), and at another length (the tokenizer reused, the rows
 *   tokenized again);
 *   the stored ids of the first and last rows are checked against Node's.
 *
 * Prints rows/s and MB/s (UTF-8 bytes of text); never asserts a time.
 *
 *   npm run bench:tokenize                      # 1,000,000 rows, --max 64
 *   npm run bench:tokenize -- --rows 200000 --skip-browser
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { bpeTokenizerConfig, sampleForBpe, trainBpe } from '../src/lib/data/bpe';
import { concatEncoded, encodeRows, type EncodedIds } from '../src/lib/data/tokenize-rows';
import { Tokenizer as JsTokenizer } from '@huggingface/tokenizers';
import { writeCsv } from './data-gen';

const arg = (name: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);

if (!isMainThread) {
	// One shard of the Node multi-core run.
	const { json, texts } = workerData as { json: string; texts: string[] };
	const r = await encodeRows(json, texts, Infinity);
	parentPort!.postMessage(r, [r.ids.buffer, r.offsets.buffer]);
} else await main();

function fmt(rows: number, bytes: number, s: number): string {
	return `${s.toFixed(2).padStart(7)} s = ${Math.round(rows / s).toLocaleString('en-US').padStart(9)} rows/s, ${(bytes / 1e6 / s).toFixed(2).padStart(6)} MB/s`;
}

function sameIds(a: EncodedIds, b: EncodedIds): boolean {
	if (a.ids.length !== b.ids.length || a.offsets.length !== b.offsets.length) return false;
	for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i]) return false;
	for (let i = 0; i < a.offsets.length; i++) if (a.offsets[i] !== b.offsets[i]) return false;
	return true;
}

async function main() {
	const rows = Number(arg('rows') ?? 1_000_000);
	const maxLength = Number(arg('max') ?? 64);
	const jsRows = Number(arg('js-rows') ?? 50_000);
	const cfg = { kind: 'bpe-bytelevel' as const, vocabSize: 512, lowercase: true };
	const path = `/tmp/whetstone-bench-${rows}.csv`;
	if (!existsSync(path)) await writeCsv(path, rows, 0);
	// The generator quotes every text and never puts a quote inside one.
	const texts = readFileSync(path, 'utf8')
		.split('\n')
		.slice(1)
		.filter((l) => l.length > 0)
		.map((l) => l.slice(1, l.lastIndexOf('"')));
	const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
	const cores = availableParallelism();
	console.log(`${texts.length.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB of text; ${cores} cores`);

	let t = performance.now();
	const sample = sampleForBpe(texts);
	const json = trainBpe(sample, cfg);
	console.log(`BPE (vocabulary ${cfg.vocabSize}) trained on ${sample.length.toLocaleString('en-US')} sampled rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

	if (!flag('skip-node')) {
		console.log('\nNode, whole rows (no maximum length):');
		t = performance.now();
		const ours = await encodeRows(json, texts, Infinity);
		console.log(`ours, 1 thread            ${fmt(texts.length, bytes, (performance.now() - t) / 1000)}`);

		t = performance.now();
		const size = Math.ceil(texts.length / cores);
		const parts = await Promise.all(
			Array.from({ length: cores }, (_, k) =>
				new Promise<EncodedIds>((resolve, reject) => {
					// tsx's loader does not reach worker threads by itself: register it in the worker first.
					const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
					const w = new Worker(boot, { eval: true, workerData: { json, texts: texts.slice(k * size, (k + 1) * size) } });
					w.once('message', (m: EncodedIds) => {
						resolve(m);
						void w.terminate();
					});
					w.once('error', reject);
				})
			)
		);
		const pooled = concatEncoded(parts);
		console.log(`ours, ${cores} worker threads    ${fmt(texts.length, bytes, (performance.now() - t) / 1000)}  (same ids as 1 thread: ${sameIds(pooled, ours) ? 'yes' : 'NO'})`);

		const { Tokenizer } = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');
		const rust = Tokenizer.fromString(json);
		// Timed: encodeBatch alone; reading the ids back into JS (getIds) is not counted.
		let rustS = 0;
		const rustIds: number[][] = [];
		for (let from = 0; from < texts.length; from += 50_000) {
			t = performance.now();
			const batch = await rust.encodeBatch(texts.slice(from, from + 50_000), { addSpecialTokens: false });
			rustS += (performance.now() - t) / 1000;
			for (const e of batch) rustIds.push(e.getIds());
		}
		let differ = 0;
		for (let i = 0; i < texts.length; i++) {
			const a = rustIds[i];
			const from = ours.offsets[i];
			if (a.length !== ours.offsets[i + 1] - from || a.some((id, j) => id !== ours.ids[from + j])) differ++;
		}
		console.log(`Rust tokenizers encodeBatch ${fmt(texts.length, bytes, rustS)}  (rows whose ids differ from ours: ${differ})`);

		// tokenizers.js itself (TextTokenizer now encodes our BPE with FastBpe).
		const js = new JsTokenizer(JSON.parse(json), bpeTokenizerConfig());
		const part = texts.slice(0, jsRows);
		const partBytes = part.reduce((n, x) => n + Buffer.byteLength(x), 0);
		t = performance.now();
		for (const x of part) js.encode(x, { add_special_tokens: false });
		console.log(`tokenizers.js, row by row ${fmt(part.length, partBytes, (performance.now() - t) / 1000)}  (first ${part.length.toLocaleString('en-US')} rows)`);
	}

	if (!flag('skip-browser')) await browser(path, texts.length, bytes, json, maxLength, cfg);
}

async function browser(path: string, rows: number, bytes: number, json: string, maxLength: number, cfg: { kind: 'bpe-bytelevel'; vocabSize: number; lowercase: boolean }) {
	const { openStudio } = await import('./browser');
	const { page, close } = await openStudio('/data', Number(process.env.BENCH_PORT ?? 4392));
	try {
		type W = { whetstone: { data: any } };
		await page.evaluate(() => {
			const input = Object.assign(document.createElement('input'), { type: 'file', id: 'bench-file', hidden: true });
			document.body.append(input);
		});
		await page.setInputFiles('#bench-file', path);
		const cores = await page.evaluate(() => navigator.hardwareConcurrency);
		console.log(`\nHeadless Chromium (navigator.hardwareConcurrency ${cores}), the built studio:`);
		let t = performance.now();
		const version = await page.evaluate(async () => {
			const w = window as unknown as W;
			const file = (document.getElementById('bench-file') as HTMLInputElement).files![0];
			const projectId = localStorage.getItem('whetstone.currentProject');
			const v = await w.whetstone.data.importDataset({ projectId, file, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name: 'bench tokenize' });
			return { id: v.id as string, rowCount: v.rowCount as number };
		});
		console.log(`import                      ${fmt(version.rowCount, bytes, (performance.now() - t) / 1000)}`);

		// The data worker's tokenizing sub-workers, seen from the browser's targets while a call runs.
		const cdp = await page.context().browser()!.newBrowserCDPSession();
		const subWorkers = new Set<string>();
		// And the seconds spent in each phase the page shows (sampled every 100 ms).
		let phases = new Map<string, number>();
		const prepare = async (max: number) => {
			let watching = true;
			phases = new Map();
			const watch = (async () => {
				let last = performance.now();
				while (watching) {
					const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
					for (const x of targetInfos) if (x.type === 'worker' && x.url.includes('tokenize.worker')) subWorkers.add(x.targetId);
					const phase = await page.evaluate(() => ((window as unknown as W).whetstone.data.phase?.phase as string | undefined) ?? 'storing or between phases').catch(() => '?');
					const now = performance.now();
					phases.set(phase, (phases.get(phase) ?? 0) + (now - last) / 1000);
					last = now;
					await new Promise((r) => setTimeout(r, 100));
				}
			})();
			try {
				return await page.evaluate(({ id, cfg, max }) => (window as unknown as W).whetstone.data.prepareTokens(id, cfg, max), { id: version.id, cfg, max });
			} finally {
				watching = false;
				await watch;
			}
		};
		const split = () => '  [' + [...phases].map(([p, sec]) => `${p} ${sec.toFixed(1)} s`).join(', ') + ']';
		t = performance.now();
		const first = await prepare(maxLength);
		console.log(`train BPE + tokenize (max ${maxLength}) ${fmt(version.rowCount, bytes, (performance.now() - t) / 1000)}  (${subWorkers.size} tokenizing sub-workers seen)${split()}`);
		t = performance.now();
		const cached = await prepare(maxLength);
		console.log(`again, from the cache       ${fmt(version.rowCount, bytes, (performance.now() - t) / 1000)}  reused ${JSON.stringify(cached.reused)}`);
		// The cache key holds no length, so this replaces the cache (what a run with another context length does).
		t = performance.now();
		const again = await prepare(maxLength * 2);
		console.log(`max ${String(maxLength * 2).padEnd(4)} (tokenizer reused)  ${fmt(version.rowCount, bytes, (performance.now() - t) / 1000)}  reused ${JSON.stringify(again.reused)}${split()}`);

		// The stored ids of the first and the last rows (the first and last sub-workers' shards) against Node's.
		// (tsx names the functions below with esbuild's `__name`, which the page lacks.)
		await page.evaluate('globalThis.__name = (f) => f');
		const stored = await page.evaluate(
			async ({ key, versionId, hash }) => {
				const db = await new Promise<IDBDatabase>((ok, fail) => {
					const r = indexedDB.open('whetstone');
					r.onsuccess = () => ok(r.result);
					r.onerror = () => fail(r.error);
				});
				const get = <T>(store: string, k: IDBValidKey) =>
					new Promise<T>((ok, fail) => {
						const r = db.transaction(store).objectStore(store).get(k);
						r.onsuccess = () => ok(r.result as T);
						r.onerror = () => fail(r.error);
					});
				const v = await get<{ chunkCount: number; rowCount: number }>('datasets', versionId);
				const cache = await get<{ ids: Int32Array; offsets: Int32Array }>('tokenized', key);
				const tok = await get<{ json: string }>('tokenizers', hash);
				const take = async (index: number, firstRow: number) => {
					const chunk = await get<{ rows: { text: string }[] }>('rows', [versionId, index]);
					return chunk.rows.map((r, i) => ({ text: r.text, ids: Array.from(cache.ids.subarray(cache.offsets[firstRow + i], cache.offsets[firstRow + i + 1])) }));
				};
				const last = await get<{ rows: unknown[] }>('rows', [versionId, v.chunkCount - 1]);
				return { json: tok.json, rows: [...(await take(0, 0)), ...(await take(v.chunkCount - 1, v.rowCount - last.rows.length))] };
			},
			{ key: again.key as string, versionId: version.id, hash: again.tokenizerHash as string }
		);
		const check = await encodeRows(stored.json, stored.rows.map((r) => r.text), maxLength * 2);
		const wrong = stored.rows.filter((r, i) => r.ids.join() !== Array.from(check.ids.subarray(check.offsets[i], check.offsets[i + 1])).join()).length;
		console.log(`stored ids of ${stored.rows.length.toLocaleString('en-US')} rows (first and last chunks) equal to Node's: ${wrong === 0 ? 'yes' : `NO, ${wrong} differ`}; same tokenizer as trained in Node: ${stored.json === json ? 'yes' : 'no (other rows sampled)'}`);
	} finally {
		await close();
	}
}
