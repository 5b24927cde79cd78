/**
 * Streaming import in the built studio, headless Chromium: a generated dataset (1M rows by
 * default, or a CSV of `--gb` gigabytes) written to disk, given to the page as a File (Playwright
 * passes the path; the page never reads it), then read as a stream in the data worker
 * (`whetstone.data.inspectFiles`), imported, checked as the Check & clean panel does, and
 * tokenized with the project's BPE. Prints rows/s for each step (and the import's stages after the
 * read: building rows, duplicates, hashing, storing) and the peak memory: the page's
 * JS heap and the data worker's with its sub-workers' (near-duplicate keys, tokenizing) added
 * (CDP `Runtime.getHeapUsage`, sampled every 200 ms; after each step also after a full collection,
 * which is what the step leaves held, garbage excluded), and the
 * renderer process's resident memory (page and workers together, from /proc).
 *
 *   npm run bench:data-import                 # 1,000,000 rows
 *   npm run bench:data-import -- --rows 200000
 *   npm run bench:data-import -- --gb 1       # a ~1 GB CSV of long rows (~1 KB each, ~1M rows); read and import
 *   add --words N for the words per row (default 6–19, or 120–180 with --gb).
 *   add --skip-clean / --skip-apply / --skip-tokens to leave a step out (--skip-apply: check, but make no cleaned version).
 *
 * The check (near-duplicates by MinHash/LSH, PII, leakage) and the cleaning it previews
 * (normalise, drop near-duplicates, redact PII, fix leakage: a new version) run on `--clean-rows`
 * rows (default 100,000; 0 for as many as the import) of a second generated file with near-copies,
 * personal data and stray spaces planted (writeCleanCsv): on 2 CPU cores a million rows take
 * minutes, longer than the rest of the bench.
 */
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { openStudio } from './browser';
import { rng, writeCsv as writeRows } from './data-gen';

const arg = (name: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const gb = arg('gb') ? Number(arg('gb')) : 0;
const rows = gb ? 0 : Number(arg('rows') ?? 1_000_000);
/** Words per row: a lower bound and a spread. */
const minWords = arg('words') ? Number(arg('words')) : gb ? 120 : 6;
const spread = arg('words') ? 1 : gb ? 60 : 14;
const cleanRows = Number(arg('clean-rows') ?? 100_000);
const writeCsv = (path: string, n: number, bytes: number) => writeRows(path, n, bytes, minWords, spread);
const port = Number(process.env.BENCH_PORT ?? 4391);

/** Resident memory (kB) of Chromium's renderer processes, page and its workers included. */
function rendererRssKb(): number {
	let total = 0;
	for (const pid of readdirSync('/proc')) {
		if (!/^\d+$/.test(pid)) continue;
		try {
			const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
			if (!cmd.includes('--type=renderer')) continue;
			const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
			if (m) total += Number(m[1]);
		} catch {
			// the process ended
		}
	}
	return total;
}

/**
 * The rows the check and the cleaning run on: like the generated dataset, plus what they look for.
 * 5% are near-copies of a recent row (one word changed), 1% carry an e-mail address, 0.5% a phone
 * number, 1% stray spaces for the normalisation. Seeded: every run checks the same rows.
 */
async function writeCleanCsv(path: string, n: number): Promise<void> {
	const r = rng(11);
	const syllables = 'ka lo mi nu re sa ti vo be da fe gi ho ju ne pa ro su ta ve'.split(' ');
	const word = () => syllables[Math.floor(r() * 20)] + syllables[Math.floor(r() * 20)] + (r() < 0.5 ? syllables[Math.floor(r() * 20)] : '');
	const labels = ['billing', 'tech', 'shipping', 'account'];
	const recent: string[] = [];
	let originals = 0;
	const out = createWriteStream(path);
	out.write('text,label\n');
	for (let i = 0; i < n; ) {
		const lines: string[] = [];
		for (let k = 0; k < 1000 && i < n; k++, i++) {
			let text: string;
			if (recent.length > 10 && r() < 0.05) {
				const words = recent[Math.floor(r() * recent.length)].split(' ');
				words[2 + Math.floor(r() * (words.length - 2))] = word();
				text = words.join(' ');
			} else {
				text = `ticket ${i}: ` + Array.from({ length: 12 + Math.floor(r() * 10) }, word).join(' ');
				if (r() < 0.01) text += ` mail me at user${i}@example.com`;
				if (r() < 0.005) text += ` or call +44 20 7946 ${String(i % 10000).padStart(4, '0')}`;
				if (r() < 0.01) text += '   ';
				recent[originals++ % 1000] = text.trim();
			}
			lines.push(`"${text}",${labels[Math.floor(r() * 4)]}\n`);
		}
		if (!out.write(lines.join(''))) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main() {
	const path = gb ? `/tmp/whetstone-bench-${gb}gb.csv` : `/tmp/whetstone-bench-${rows}.csv`;
	let made: { rows: number; bytes: number };
	if (existsSync(path) && !flag('regenerate')) {
		const text = gb ? null : readFileSync(path, 'utf8');
		made = { rows: text ? text.split('\n').length - 2 : NaN, bytes: statSync(path).size };
	} else {
		const t = performance.now();
		made = await writeCsv(path, rows, gb * 1e9);
		console.log(`generated ${path}: ${made.rows.toLocaleString('en-US')} rows, ${mib(made.bytes)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
	}

	const { page, close } = await openStudio('/data', port);
	try {
		// Memory: the page's heap, the data worker's heap (attached through the browser's CDP), and renderer RSS.
		const cdp = await page.context().newCDPSession(page);
		await cdp.send('Performance.enable');
		const browserCdp = await page.context().browser()!.newBrowserCDPSession();
		const workerSessions = new Map<string, string>();
		let msgId = 1;
		const pending = new Map<number, (v: { usedSize: number }) => void>();
		// sub-workers (near-duplicate keys, tokenizing) end with their call: their sessions go with them
		browserCdp.on('Target.detachedFromTarget', (e: { sessionId: string }) => {
			for (const [target, session] of workerSessions) if (session === e.sessionId) workerSessions.delete(target);
		});
		browserCdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
			const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number } };
			if (m.id && pending.has(m.id)) pending.get(m.id)!(m.result ?? { usedSize: 0 });
		});
		const attachWorkers = async () => {
			const { targetInfos } = (await browserCdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
			for (const t of targetInfos)
				if (t.type === 'worker' && /(data|minhash|tokenize)\.worker/.test(t.url) && !workerSessions.has(t.targetId)) {
					const { sessionId } = (await browserCdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false })) as { sessionId: string };
					workerSessions.set(t.targetId, sessionId);
				}
		};
		const workerHeap = async (): Promise<number> => {
			let sum = 0;
			for (const sessionId of workerSessions.values()) {
				const id = msgId++;
				const got = new Promise<{ usedSize: number }>((ok) => {
					pending.set(id, ok);
					setTimeout(() => ok({ usedSize: 0 }), 1000);
				});
				await browserCdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) }).catch(() => {});
				sum += (await got).usedSize;
				pending.delete(id);
			}
			return sum;
		};
		/** The data worker's (and sub-workers') heap after a full collection: what a step leaves held, garbage excluded. */
		const heldHeap = async (): Promise<number> => {
			await attachWorkers();
			for (const sessionId of workerSessions.values()) {
				const id = msgId++;
				const done = new Promise<unknown>((ok) => {
					pending.set(id, ok as (v: { usedSize: number }) => void);
					setTimeout(() => ok(null), 30_000);
				});
				await browserCdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }) }).catch(() => {});
				await done;
				pending.delete(id);
			}
			return workerHeap();
		};
		const peak = { page: 0, worker: 0, rss: 0 };
		let sampling = true;
		const sampler = (async () => {
			while (sampling) {
				try {
					const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
					peak.page = Math.max(peak.page, metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
					await attachWorkers();
					peak.worker = Math.max(peak.worker, await workerHeap());
					peak.rss = Math.max(peak.rss, rendererRssKb() * 1024);
				} catch {
					// a worker ended between two samples
				}
				await new Promise((r) => setTimeout(r, 200));
			}
		})();

		// The file reaches the page as a File on a plain input; the page never reads its bytes.
		await page.evaluate(() => {
			const input = Object.assign(document.createElement('input'), { type: 'file', id: 'bench-file', hidden: true });
			document.body.append(input);
		});
		await page.setInputFiles('#bench-file', path);
		const phase = async <T>(what: string, n: () => number, fn: () => Promise<T>): Promise<T> => {
			const before = { ...peak };
			peak.page = peak.worker = peak.rss = 0;
			const t = performance.now();
			const r = await fn();
			const s = (performance.now() - t) / 1000;
			const held = await heldHeap();
			console.log(
				`${what.padEnd(10)} ${n().toLocaleString('en-US').padStart(11)} rows in ${s.toFixed(1).padStart(6)} s = ${Math.round(n() / s).toLocaleString('en-US').padStart(9)} rows/s;` +
					` peak page heap ${mib(peak.page)}, data worker heap ${mib(peak.worker)} (held after a collection: ${mib(held)}), renderer RSS ${mib(peak.rss)}`
			);
			peak.page = Math.max(peak.page, before.page);
			peak.worker = Math.max(peak.worker, before.worker);
			peak.rss = Math.max(peak.rss, before.rss);
			return r;
		};

		type W = { whetstone: { data: any } };
		// the rows the reader counted (a --gb file kept from an earlier run was not counted here)
		const read = await phase('read', () => made.rows, async () => {
			const info = await page.evaluate(async () => {
				const w = window as unknown as W;
				const file = (document.getElementById('bench-file') as HTMLInputElement).files![0];
				(window as any).benchSource = { files: [file], key: 'bench' };
				const info = await w.whetstone.data.inspectFiles((window as any).benchSource);
				return { rows: info.rowCount as number, bytes: info.bytes as number, encoding: info.encoding as string };
			});
			made.rows = info.rows;
			return info;
		});
		const version = await phase('import', () => made.rows, () =>
			page.evaluate(async () => {
				const w = window as unknown as W;
				const projectId = localStorage.getItem('whetstone.currentProject');
				// The stages after the read, as the page sees them (`data.reading`, looked at every 50 ms).
				const seen: { phase: string; at: number }[] = [];
				const watch = setInterval(() => {
					const p = w.whetstone.data.reading as { phase?: string } | null;
					if (p?.phase && seen.at(-1)?.phase !== p.phase) seen.push({ phase: p.phase, at: performance.now() });
				}, 50);
				const v = await w.whetstone.data.importDataset({ projectId, source: (window as any).benchSource, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name: 'bench import' });
				clearInterval(watch);
				const end = performance.now();
				const stages = seen.map((s, i) => `${s.phase} ${(((seen[i + 1]?.at ?? end) - s.at) / 1000).toFixed(1)} s`);
				return { id: v.id as string, rowCount: v.rowCount as number, stages };
			})
		);
		console.log(`import stages (as the page saw them): ${version.stages.join(', ')}`);
		if (!flag('skip-clean') && !gb) {
			// The check runs on rows with something to find: near-copies, personal data, stray spaces.
			const part = `/tmp/whetstone-bench-clean-${cleanRows || made.rows}.csv`;
			if (!existsSync(part) || flag('regenerate')) await writeCleanCsv(part, cleanRows || made.rows);
			await page.setInputFiles('#bench-file', part);
			const checked = await page.evaluate(async () => {
				const w = window as unknown as W;
				const file = (document.getElementById('bench-file') as HTMLInputElement).files![0];
				const projectId = localStorage.getItem('whetstone.currentProject');
				const v = await w.whetstone.data.importDataset({ projectId, file, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name: 'bench check' });
				return { id: v.id as string, rowCount: v.rowCount as number };
			});
			const check = await phase('check', () => checked.rowCount, () =>
				page.evaluate(async (id) => {
					const c = await (window as unknown as W).whetstone.data.checkDataset(id, 0.8, { unicode: 'NFC', whitespace: true, stripHtml: false, lowercase: false }, { min: 0, max: Infinity });
					return { clusters: c.clusterCount as number, removable: c.nearRemovable as number, piiRows: c.piiRows as number, leaked: (c.leakage.validation + c.leakage.test) as number, normalized: c.normalize.changed as number };
				}, checked.id)
			);
			console.log(`check found: ${check.clusters} near-duplicate clusters (${check.removable} rows removable), ${check.piiRows} rows with PII, ${check.leaked} held-out rows leaked, ${check.normalized} rows the normalisation changes`);
			if (!flag('skip-apply')) {
				const cleaned = await phase('clean', () => checked.rowCount, () =>
					page.evaluate(async (id) => {
						const v = await (window as unknown as W).whetstone.data.cleanDataset(id, [
							{ kind: 'normalize', options: { unicode: 'NFC', whitespace: true, stripHtml: false, lowercase: false } },
							{ kind: 'near-duplicates', threshold: 0.8 },
							{ kind: 'redact-pii' },
							{ kind: 'fix-leakage', threshold: 0.8 }
						]);
						return { rowCount: v.rowCount as number };
					}, checked.id)
				);
				console.log(`cleaned version: ${cleaned.rowCount.toLocaleString('en-US')} rows`);
			}
		}
		if (!flag('skip-tokens') && !gb)
			await phase('tokenize', () => version.rowCount, () =>
				page.evaluate(
					(id) => (window as unknown as W).whetstone.data.prepareTokens(id, { kind: 'bpe-bytelevel', vocabSize: 512, lowercase: true }, 64),
					version.id
				)
			);
		sampling = false;
		await sampler;
		console.log(`file: ${mib(made.bytes)}, ${made.rows.toLocaleString('en-US')} rows, read as ${read.encoding}; stored ${version.rowCount.toLocaleString('en-US')} rows`);
		console.log(`peak over the run: page heap ${mib(peak.page)}, data worker heap ${mib(peak.worker)}, renderer RSS ${mib(peak.rss)}`);
	} finally {
		await close();
	}
}

await main();
