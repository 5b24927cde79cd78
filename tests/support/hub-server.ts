/**
 * A fake Hugging Face Hub for tests: serves the hf-tiny fixture models (tests/fixtures/hf-tiny;
 * `whetstone-test/tiny-<arch>`, with `tiny-gpt-neox` for gpt_neox)
 * with our tokenizer files (tests/fixtures/hub) in the Hub's URL layout, the part of it that
 * huggingface_hub and the studio use: `GET /api/models/{repo}/revision/{rev}` (commit hash and
 * siblings, sizes with `?blobs=true`) and `GET|HEAD /{repo}/resolve/{rev}/{file}` with Range
 * support, the Hub's error codes (`X-Error-Code`), and CORS for a page on another port.
 *
 * Dataset repos (whetstone-test/tickets, gated-tickets, own-parquet) are served too: see `serveDataset`.
 *
 * Unit tests: `const hub = await startHubServer()` in beforeAll, `await hub.close()` in afterAll.
 * Playwright: `npx tsx tests/support/hub-server.ts --port 4320` prints its URL. Either way
 * `GET /__stats` counts requests per path, `POST /__reset` clears the counts and `POST /__options`
 * (JSON body) changes the HubServerOptions below.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseSafetensors, writeSafetensors } from '../../src/lib/engine/io/safetensors';

/** The access token the gated repo accepts. */
export const HUB_TEST_TOKEN = 'hf_test_token';
/** A valid token of an account that has not accepted the gated repo's license: 403, as on the Hub. */
export const HUB_UNACCEPTED_TOKEN = 'hf_unaccepted_token';

/** Fixed fake commit hashes (sha1 of the repo id). */
export const HUB_SHAS = {
	'whetstone-test/tiny-gpt2': '47ee27b0ce128373e34e3e23992ae2bb15029508',
	'whetstone-test/tiny-llama': '32e6ef68b26f2f69865707084936b8473094e247',
	'whetstone-test/tiny-qwen2': 'c9708655a4ba9c955bb44a32970ec1b58791bfad',
	'whetstone-test/tiny-bert': 'be147aa726a12677297ca8764938cdc0ba0dbb8a',
	'whetstone-test/tiny-distilbert': 'd7d04f09f51c407945b65f6c60892b2278966738',
	'whetstone-test/tiny-roberta': '66a84b64e636a6e693453486e544875dfda8460e',
	'whetstone-test/tiny-gpt-neox': 'ec6599acf6e9009dd7052138d11313ed61b2eb44',
	'whetstone-test/tiny-mistral': '5c958d713d96d43438fc5cedc768c10503db49c0',
	'whetstone-test/tiny-gemma': 'a542a33ab9a3ad2a1fc982a02c01cb0c4ddefd65',
	'whetstone-test/tiny-phi3': '7014589a808ad5331c6a1af0f7340e6c32f50d08',
	'whetstone-test/gated-model': 'fd7671fc641886ccfd34a686e604b6b8e55fa9d5',
	'whetstone-test/sharded-gpt2': '2374f59de203ac978812f19311d2082ec047645d',
	'whetstone-test/unsupported': '847c57b32077cfcf4888970da1a9122419feca62',
	'whetstone-test/pytorch-only': 'a253b306499002b49310c9d6cec92214922800c4'
} as const;

export type HubRepoId = keyof typeof HUB_SHAS;

export interface HubServerOptions {
	/** Send file bodies at this many bytes a second (0: as fast as possible). */
	slowBytesPerSec?: number;
	/**
	 * Send only half of each whole .safetensors body: 'drop' declares the full Content-Length and
	 * closes the connection early; 'short' sends no Content-Length and ends cleanly.
	 */
	truncate?: 'drop' | 'short' | null;
	/** Answer Range requests with 200 and the whole file, as some servers and proxies do. */
	ignoreRange?: boolean;
}

export interface HubStats {
	/** Requests per decoded path (no query string); OPTIONS preflights, `/` and `/__*` are not counted. */
	requests: Record<string, number>;
	/** Range requests answered with 206, per path. */
	ranges: Record<string, number>;
	/** Whole file bodies sent (GET without Range, or with Range ignored), per path. */
	fullBodies: Record<string, number>;
	total: number;
}

export interface HubServer {
	url: string;
	port: number;
	/** Mutable: tests change it between requests. */
	options: HubServerOptions;
	stats(): HubStats;
	resetStats(): void;
	close(): Promise<void>;
}

interface Repo {
	sha: string;
	files: Map<string, Buffer>;
	gated: boolean;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const HF_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'reference.json'];

/** An hf-tiny model folder (only the files a Hub repo would have) plus our tokenizer files. */
function fixtureFiles(name: string): Map<string, Buffer> {
	const files = new Map<string, Buffer>();
	for (const file of HF_FILES) {
		const path = join(root, 'hf-tiny', name, file);
		if (existsSync(path)) files.set(file, readFileSync(path));
	}
	for (const file of readdirSync(join(root, 'hub', name))) files.set(file, readFileSync(join(root, 'hub', name, file)));
	return files;
}

/** tiny-gpt2's weights in two shards plus model.safetensors.index.json, as save_pretrained shards. */
function sharded(files: Map<string, Buffer>): Map<string, Buffer> {
	const src = files.get('model.safetensors')!;
	const { tensors } = parseSafetensors(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength) as ArrayBuffer);
	const names = [...tensors.keys()].sort();
	const half = Math.ceil(names.length / 2);
	const out = new Map([...files].filter(([file]) => file !== 'model.safetensors'));
	const weightMap: Record<string, string> = {};
	let totalSize = 0;
	[names.slice(0, half), names.slice(half)].forEach((group, i) => {
		const shard = `model-0000${i + 1}-of-00002.safetensors`;
		const list = group.map((name) => {
			const t = tensors.get(name)!;
			weightMap[name] = shard;
			totalSize += t.data.length * 4;
			return { name, shape: t.shape, data: t.data as Float32Array };
		});
		out.set(shard, Buffer.from(writeSafetensors(list, { format: 'pt' })));
	});
	out.set('model.safetensors.index.json', Buffer.from(JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)));
	return out;
}

function loadRepos(): Map<string, Repo> {
	const gpt2 = fixtureFiles('gpt2');
	const t5Config = { ...JSON.parse(gpt2.get('config.json')!.toString()), model_type: 't5', architectures: ['T5ForConditionalGeneration'] };
	const pytorchOnly = new Map([...gpt2].filter(([file]) => file !== 'model.safetensors'));
	pytorchOnly.set('pytorch_model.bin', Buffer.from('not a real pickle: this repo has no safetensors weights'));
	const files: Record<HubRepoId, Map<string, Buffer>> = {
		'whetstone-test/tiny-gpt2': gpt2,
		'whetstone-test/tiny-llama': fixtureFiles('llama'),
		'whetstone-test/tiny-qwen2': fixtureFiles('qwen2'),
		'whetstone-test/tiny-bert': fixtureFiles('bert'),
		'whetstone-test/tiny-distilbert': fixtureFiles('distilbert'),
		'whetstone-test/tiny-roberta': fixtureFiles('roberta'),
		'whetstone-test/tiny-gpt-neox': fixtureFiles('gpt_neox'),
		'whetstone-test/tiny-mistral': fixtureFiles('mistral'),
		'whetstone-test/tiny-gemma': fixtureFiles('gemma'),
		'whetstone-test/tiny-phi3': fixtureFiles('phi3'),
		'whetstone-test/gated-model': gpt2,
		'whetstone-test/sharded-gpt2': sharded(gpt2),
		'whetstone-test/unsupported': new Map([...gpt2, ['config.json', Buffer.from(JSON.stringify(t5Config, null, 2))]]),
		'whetstone-test/pytorch-only': pytorchOnly
	};
	const repos = new Map<string, Repo>();
	for (const [id, sha] of Object.entries(HUB_SHAS))
		repos.set(id, { sha, files: files[id as HubRepoId], gated: id === 'whetstone-test/gated-model' });
	return repos;
}

const CORS = {
	'Access-Control-Allow-Origin': '*',
	'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
	'Access-Control-Allow-Headers': 'Authorization, Range, Content-Type',
	'Access-Control-Expose-Headers': 'Content-Range, Content-Length, X-Repo-Commit, ETag, X-Error-Code, Accept-Ranges'
};

export async function startHubServer({ port = 0, host = '127.0.0.1', ...initial }: HubServerOptions & { port?: number; host?: string } = {}): Promise<HubServer> {
	const repos = loadRepos();
	const datasets = loadDatasets();
	const options: HubServerOptions = { ...initial };
	let stats: HubStats = emptyStats();
	const count = (table: Record<string, number>, path: string) => (table[path] = (table[path] ?? 0) + 1);

	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://hub');
		const path = decodeURIComponent(url.pathname);
		if (req.method === 'OPTIONS') return send(res, 204);
		if (path === '/__stats') return json(res, 200, stats);
		if (path === '/__reset' && req.method === 'POST') return (stats = emptyStats()), send(res, 204);
		if (path === '/__options' && req.method === 'POST') return readOptions(req, options).then(() => json(res, 200, options));
		// Not counted either: Playwright polls it to see the server is up.
		if (path === '/') return json(res, 200, { fakeHub: true, repos: Object.fromEntries([...repos].map(([id, r]) => [id, r.sha])) });
		stats.total++;
		count(stats.requests, path);

		if (path.startsWith('/api/datasets') || path.startsWith('/datasets/'))
			return serveDataset(req, res, url, datasets, options, (kind) => count(stats[kind], path));

		const api = path.match(/^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/(.+))?$/);
		const resolve = path.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
		const repoId = api?.[1] ?? resolve?.[1];
		const repo = repoId ? repos.get(repoId) : undefined;
		if (!repoId || (!api && !resolve)) return send(res, 404, 'Not Found');
		if (!repo) return hubError(res, 404, 'RepoNotFound', 'Repository not found');

		const auth = req.headers.authorization?.replace(/^Bearer\s+/i, '');
		if (auth && auth !== HUB_TEST_TOKEN && auth !== HUB_UNACCEPTED_TOKEN)
			return hubError(res, 401, 'InvalidCredentials', 'Invalid credentials in Authorization header');
		const revision = (api ? api[2] : resolve![2]) ?? 'main';
		if (revision !== 'main' && revision !== repo.sha) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
		if (api) return json(res, 200, modelInfo(repoId, repo, url.searchParams.get('blobs') === 'true'));

		// Gated repos list their files publicly; the files need a token whose account accepted the license.
		if (repo.gated && !auth) return hubError(res, 401, 'GatedRepo', `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
		if (repo.gated && auth === HUB_UNACCEPTED_TOKEN)
			return hubError(res, 403, 'GatedRepo', `Access to model ${repoId} is restricted and you are not in the authorized list. Visit the model page to ask for access.`);
		const file = resolve![3];
		const body = repo.files.get(file);
		if (!body) return hubError(res, 404, 'EntryNotFound', 'Entry not found');
		serveFile(req, res, file, body, repo.sha, options, (kind) => count(stats[kind], path));
	});

	await new Promise<void>((ok) => server.listen(port, host, ok));
	const actual = (server.address() as AddressInfo).port;
	return {
		url: `http://${host}:${actual}`,
		port: actual,
		options,
		stats: () => structuredClone(stats),
		resetStats: () => void (stats = emptyStats()),
		close: () =>
			new Promise<void>((ok, fail) => {
				server.close((e) => (e ? fail(e) : ok()));
				server.closeAllConnections();
			})
	};
}

function emptyStats(): HubStats {
	return { requests: {}, ranges: {}, fullBodies: {}, total: 0 };
}

function modelInfo(id: string, repo: Repo, blobs: boolean) {
	const config = JSON.parse(repo.files.get('config.json')!.toString());
	return {
		_id: repo.sha.slice(0, 24),
		id,
		modelId: id,
		sha: repo.sha,
		private: false,
		gated: repo.gated ? 'manual' : false,
		disabled: false,
		library_name: 'transformers',
		tags: ['transformers', 'safetensors', config.model_type],
		config: { model_type: config.model_type, architectures: config.architectures },
		lastModified: '2025-01-01T00:00:00.000Z',
		siblings: [...repo.files].map(([rfilename, bytes]) =>
			blobs
				? {
						rfilename,
						blobId: createHash('sha1').update(bytes).digest('hex'),
						size: bytes.byteLength,
						...(rfilename.endsWith('.safetensors') ? { lfs: { sha256: sha256(bytes), size: bytes.byteLength, pointerSize: 134 } } : {})
					}
				: { rfilename }
		)
	};
}

function sha256(bytes: Buffer): string {
	return createHash('sha256').update(bytes).digest('hex');
}

function serveFile(
	req: IncomingMessage,
	res: ServerResponse,
	file: string,
	body: Buffer,
	sha: string,
	options: HubServerOptions,
	count: (kind: 'ranges' | 'fullBodies') => void
): void {
	const headers: Record<string, string | number> = {
		...CORS,
		'Accept-Ranges': 'bytes',
		'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
		ETag: `"${sha256(body)}"`,
		'X-Repo-Commit': sha
	};
	const range = options.ignoreRange ? undefined : req.headers.range;
	if (range) {
		const [start, end] = parseRange(range, body.byteLength) ?? [];
		if (start === undefined)
			return void res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.byteLength}` }).end();
		const part = body.subarray(start, end! + 1);
		res.writeHead(206, { ...headers, 'Content-Length': part.byteLength, 'Content-Range': `bytes ${start}-${end}/${body.byteLength}` });
		if (req.method !== 'HEAD') count('ranges');
		return void stream(res, req.method === 'HEAD' ? Buffer.alloc(0) : part, options.slowBytesPerSec);
	}
	if (req.method === 'HEAD') return void res.writeHead(200, { ...headers, 'Content-Length': body.byteLength }).end();
	count('fullBodies');
	const truncate = file.endsWith('.safetensors') ? options.truncate : null;
	if (truncate === 'short') {
		res.writeHead(200, headers); // chunked: no length to check against
		return void stream(res, body.subarray(0, body.byteLength >> 1), options.slowBytesPerSec);
	}
	res.writeHead(200, { ...headers, 'Content-Length': body.byteLength });
	if (truncate === 'drop') return void stream(res, body.subarray(0, body.byteLength >> 1), options.slowBytesPerSec, true);
	stream(res, body, options.slowBytesPerSec);
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` as [first, last] inclusive; undefined when unsatisfiable. */
function parseRange(header: string, size: number): [number, number] | undefined {
	const m = header.match(/^bytes=(\d*)-(\d*)$/);
	if (!m || (m[1] === '' && m[2] === '')) return undefined;
	const [start, end] = m[1] === '' ? [Math.max(0, size - Number(m[2])), size - 1] : [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
	return start <= end && start < size ? [start, end] : undefined;
}

/** Write `body`, paced when asked; `drop` destroys the connection after it instead of ending the response. */
async function stream(res: ServerResponse, body: Buffer, bytesPerSec = 0, drop = false): Promise<void> {
	const step = bytesPerSec > 0 ? Math.max(1, Math.round(bytesPerSec / 20)) : body.byteLength || 1;
	for (let at = 0; at < body.byteLength; at += step) {
		if (res.destroyed) return;
		res.write(body.subarray(at, at + step));
		if (bytesPerSec > 0) await new Promise((ok) => setTimeout(ok, 50));
	}
	if (drop) {
		await new Promise((ok) => setTimeout(ok, 20)); // let the bytes leave before the reset
		res.destroy();
	} else res.end();
}

function send(res: ServerResponse, status: number, text = ''): void {
	res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain' }).end(text);
}

function json(res: ServerResponse, status: number, value: unknown): void {
	res.writeHead(status, { ...CORS, 'Content-Type': 'application/json' }).end(JSON.stringify(value));
}

function hubError(res: ServerResponse, status: number, code: string, message: string): void {
	res.writeHead(status, { ...CORS, 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
	res.end(JSON.stringify({ error: message }));
}

async function readOptions(req: IncomingMessage, options: HubServerOptions): Promise<void> {
	let text = '';
	for await (const chunk of req) text += chunk;
	Object.assign(options, JSON.parse(text || '{}'));
}

// ─── Dataset repos ──────────────────────────────────────────────────────────────────────────
// `GET /api/datasets?search=` (ids), `GET /api/datasets/{id}[/revision/{rev}]` (commit and files,
// sizes with `?blobs=true`) and `GET|HEAD /datasets/{id}/resolve/{rev}/{path}`, with the Parquet
// conversion on the `refs/convert/parquet` revision as the Hub keeps it
// (tests/fixtures/hub-datasets, made by make-datasets.ts).

/** Fixed fake commit hashes of the dataset repos' revisions. */
export const HUB_DATASET_SHAS = {
	'whetstone-test/tickets': { main: '5d1f0a9e2b7c4d3e8f6a1b2c3d4e5f60718293a4', 'refs/convert/parquet': 'c0417e3a9b8d2f6e5a4c3b2a1908f7e6d5c4b3a2' },
	'whetstone-test/gated-tickets': { main: '7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b', 'refs/convert/parquet': 'e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0' },
	'whetstone-test/own-parquet': { main: '1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c' }
} as const;
/** Rows per config and split of whetstone-test/tickets (own-parquet has short's files on main). */
export const HUB_DATASET_ROWS = { default: { train: 400, test: 100 }, short: { train: 160, test: 40 } } as const;

interface DatasetRepo {
	gated: boolean;
	revisions: Map<string, { sha: string; files: Map<string, Buffer> }>;
}

function loadDatasets(): Map<string, DatasetRepo> {
	const dir = join(root, 'hub-datasets', 'tickets');
	const parquet = new Map<string, Buffer>();
	for (const config of readdirSync(dir))
		for (const split of readdirSync(join(dir, config))) parquet.set(`${config}/${split}/0000.parquet`, readFileSync(join(dir, config, split, '0000.parquet')));
	const card = (id: string) => new Map<string, Buffer>([['README.md', Buffer.from(`---\nlicense: mit\n---\n# ${id}\nSupport tickets for tests.\n`)]]);
	const out = new Map<string, DatasetRepo>();
	for (const [id, shas] of Object.entries(HUB_DATASET_SHAS)) {
		const revisions = new Map<string, { sha: string; files: Map<string, Buffer> }>();
		if (id === 'whetstone-test/own-parquet') {
			// The repo's own Parquet files and no conversion, as a dataset pushed with push_to_hub.
			const files = card(id);
			files.set('data/train-00000-of-00001.parquet', parquet.get('short/train/0000.parquet')!);
			files.set('data/test-00000-of-00001.parquet', parquet.get('short/test/0000.parquet')!);
			revisions.set('main', { sha: shas.main, files });
		} else {
			revisions.set('main', { sha: shas.main, files: card(id) });
			revisions.set('refs/convert/parquet', { sha: (shas as { 'refs/convert/parquet': string })['refs/convert/parquet'], files: parquet });
		}
		out.set(id, { gated: id === 'whetstone-test/gated-tickets', revisions });
	}
	return out;
}

function serveDataset(
	req: IncomingMessage,
	res: ServerResponse,
	url: URL,
	datasets: Map<string, DatasetRepo>,
	options: HubServerOptions,
	count: (kind: 'ranges' | 'fullBodies') => void
): void {
	// The raw path: a revision like refs%2Fconvert%2Fparquet is one segment until decoded.
	const raw = url.pathname;
	if (raw === '/api/datasets') {
		const q = (url.searchParams.get('search') ?? '').toLowerCase();
		const limit = Number(url.searchParams.get('limit') ?? 20);
		return json(res, 200, [...datasets.keys()].filter((id) => id.toLowerCase().includes(q)).slice(0, limit).map((id) => ({ id, gated: datasets.get(id)!.gated ? 'auto' : false })));
	}
	const api = raw.match(/^\/api\/datasets\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/);
	const resolve = raw.match(/^\/datasets\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
	if (!api && !resolve) return send(res, 404, 'Not Found');
	const id = decodeURIComponent((api ?? resolve)![1]);
	const repo = datasets.get(id);
	if (!repo) return hubError(res, 404, 'RepoNotFound', 'Repository not found');
	const auth = req.headers.authorization?.replace(/^Bearer\s+/i, '');
	if (auth && auth !== HUB_TEST_TOKEN && auth !== HUB_UNACCEPTED_TOKEN)
		return hubError(res, 401, 'InvalidCredentials', 'Invalid credentials in Authorization header');
	const rev = decodeURIComponent((api ? api[2] : resolve![2]) ?? 'main');
	const revision = repo.revisions.get(rev) ?? [...repo.revisions.values()].find((r) => r.sha === rev);
	if (!revision) return hubError(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
	if (api)
		return json(res, 200, {
			_id: revision.sha.slice(0, 24),
			id,
			sha: revision.sha,
			private: false,
			gated: repo.gated ? 'auto' : false,
			disabled: false,
			tags: ['format:parquet', 'task_categories:text-classification'],
			lastModified: '2025-01-01T00:00:00.000Z',
			siblings: [...revision.files].map(([rfilename, bytes]) =>
				url.searchParams.get('blobs') === 'true' ? { rfilename, blobId: createHash('sha1').update(bytes).digest('hex'), size: bytes.byteLength } : { rfilename }
			)
		});
	// As for models: a gated dataset lists its files publicly; reading them needs an accepted license.
	if (repo.gated && !auth) return hubError(res, 401, 'GatedRepo', `Access to dataset ${id} is restricted. You must be authenticated to access it.`);
	if (repo.gated && auth === HUB_UNACCEPTED_TOKEN) return hubError(res, 403, 'GatedRepo', `Access to dataset ${id} is restricted and you are not in the authorized list. Visit the dataset page to ask for access.`);
	const file = decodeURIComponent(resolve![3]);
	const body = revision.files.get(file);
	if (!body) return hubError(res, 404, 'EntryNotFound', 'Entry not found');
	serveFile(req, res, file, body, revision.sha, options, count);
}

// `npx tsx tests/support/hub-server.ts --port 4320 [--host 127.0.0.1] [--slow BYTES_PER_SEC]`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const arg = (name: string) => {
		const i = process.argv.indexOf(`--${name}`);
		return i > 0 ? process.argv[i + 1] : undefined;
	};
	const hub = await startHubServer({
		port: Number(arg('port') ?? 4320),
		host: arg('host') ?? '127.0.0.1',
		slowBytesPerSec: Number(arg('slow') ?? 0)
	});
	console.log(`Fake Hugging Face Hub on ${hub.url}`);
	for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void hub.close().then(() => process.exit(0)));
}
