/**
 * Streaming import in the built studio, headless Chromium: a generated dataset (1M rows by
 * default, or a CSV of `--gb` gigabytes) written to disk, given to the page as a File (Playwright
 * passes the path; the page never reads it), then read as a stream in the data worker
 * (`whetstone.data.inspectFiles`), imported, checked as the Check & clean panel does, and
 * tokenized with the project's BPE. Prints rows/s for each step and the peak memory: the page's
 * JS heap and the data worker's (CDP `Runtime.getHeapUsage`, sampled every 200 ms), and the
 * renderer process's resident memory (page and workers together, from /proc).
 *
 *   npm run bench:data-import                 # 1,000,000 rows
 *   npm run bench:data-import -- --rows 200000
 *   npm run bench:data-import -- --gb 1       # a ~1 GB CSV of long rows (~1 KB each, ~1M rows); read and import
 *   add --words N for the words per row (default 6–19, or 120–180 with --gb).
 *   add --skip-clean / --skip-tokens to leave a step out.
 *
 * The check (near-duplicates by MinHash/LSH, PII, leakage) runs on a version of the first
 * `--clean-rows` rows (default 100,000; 0 for all of them): its candidate pairs grow faster than
 * the rows, and on 2 CPU cores a million rows take far longer than the rest of the bench.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { openStudio } from './browser';
import { writeCsv as writeRows } from './data-gen';

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
		browserCdp.on('Target.receivedMessageFromTarget', (e: { message: string }) => {
			const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number } };
			if (m.id && pending.has(m.id)) pending.get(m.id)!(m.result ?? { usedSize: 0 });
		});
		const attachWorkers = async () => {
			const { targetInfos } = (await browserCdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; url: string }[] };
			for (const t of targetInfos)
				if (t.type === 'worker' && t.url.includes('data.worker') && !workerSessions.has(t.targetId)) {
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
			console.log(
				`${what.padEnd(10)} ${n().toLocaleString('en-US').padStart(11)} rows in ${s.toFixed(1).padStart(6)} s = ${Math.round(n() / s).toLocaleString('en-US').padStart(9)} rows/s;` +
					` peak page heap ${mib(peak.page)}, data worker heap ${mib(peak.worker)}, renderer RSS ${mib(peak.rss)}`
			);
			peak.page = Math.max(peak.page, before.page);
			peak.worker = Math.max(peak.worker, before.worker);
			peak.rss = Math.max(peak.rss, before.rss);
			return r;
		};

		type W = { whetstone: { data: any } };
		const read = await phase('read', () => made.rows, () =>
			page.evaluate(async () => {
				const w = window as unknown as W;
				const file = (document.getElementById('bench-file') as HTMLInputElement).files![0];
				(window as any).benchSource = { files: [file], key: 'bench' };
				const info = await w.whetstone.data.inspectFiles((window as any).benchSource);
				return { rows: info.rowCount as number, bytes: info.bytes as number, encoding: info.encoding as string };
			})
		);
		made.rows = read.rows;
		const version = await phase('import', () => made.rows, () =>
			page.evaluate(async () => {
				const w = window as unknown as W;
				const projectId = localStorage.getItem('whetstone.currentProject');
				const v = await w.whetstone.data.importDataset({ projectId, source: (window as any).benchSource, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name: 'bench import' });
				return { id: v.id as string, rowCount: v.rowCount as number };
			})
		);
		if (!flag('skip-clean') && !gb) {
			let checked = version;
			if (cleanRows > 0 && cleanRows < version.rowCount) {
				const part = `/tmp/whetstone-bench-${cleanRows}.csv`;
				if (!existsSync(part)) await writeCsv(part, cleanRows, 0);
				await page.setInputFiles('#bench-file', part);
				checked = await page.evaluate(async () => {
					const w = window as unknown as W;
					const file = (document.getElementById('bench-file') as HTMLInputElement).files![0];
					const projectId = localStorage.getItem('whetstone.currentProject');
					const v = await w.whetstone.data.importDataset({ projectId, file, textColumn: 'text', labelColumn: 'label', split: { seed: 1, validation: 0.1, test: 0.1 }, skipBadRows: true, name: 'bench check' });
					return { id: v.id as string, rowCount: v.rowCount as number };
				});
			}
			await phase('clean', () => checked.rowCount, () =>
				page.evaluate(
					(id) => (window as unknown as W).whetstone.data.checkDataset(id, 0.8, { unicode: 'NFC', whitespace: true, stripHtml: false, lowercase: false }, { min: 0, max: Infinity }),
					checked.id
				)
			);
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
