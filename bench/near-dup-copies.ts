/**
 * The Check & clean panel's check (src/lib/data/clean.ts: near-duplicates by MinHash/LSH, personal
 * data, leakage) in Node, one thread, on generated tickets where many rows are copies of a few
 * short texts ("thanks!", "ok", kept with "keep duplicates"): `--copies` rows drawn from
 * `--texts` texts (case and spacing varied, so the same normalised text), scattered among `--rows`
 * rows in all, with 5% near-copies of other rows planted and a seeded 80/10/10 split.
 *
 * Prints the time of each stage and in all, the peak of sampled JS heap plus typed arrays
 * (`heapUsed + arrayBuffers`, every 20 ms, above what was held before), and what the panel
 * would show (clusters, rows "keep one per cluster" drops, held-out rows leaked), or the message
 * the check stopped with. Run from an older checkout to compare; never asserts a time.
 *
 *   npm run bench:near-dup                                    # 200,000 rows, 50,000 copies of 20 texts
 *   npm run bench:near-dup -- --rows 200000 --copies 10000 --texts 20
 */
import { checkRowsInSlices } from '../src/lib/data/clean';
import type { StoredRow } from '../src/lib/shared/types';
import { rng } from './data-gen';

const arg = (name: string, fallback: number) => {
	const i = process.argv.indexOf(`--${name}`);
	return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const total = arg('rows', 200_000);
const copies = arg('copies', 50_000);
const distinct = arg('texts', 20);

const SHORT = ['thanks!', 'ok', 'thank you, that fixed it', 'yes', 'no', 'still broken', 'any update?', 'please close this ticket', 'same problem here', 'resolved', 'great, thanks for the quick help', 'not yet', '+1', 'hello?', 'works now', 'n/a', 'see above', 'duplicate of the earlier ticket', 'cheers', 'done'];
const repeated = Array.from({ length: distinct }, (_, i) => SHORT[i % SHORT.length] + (i >= SHORT.length ? ` (${i})` : ''));

function rows(): StoredRow[] {
	const r = rng(11);
	const vocab = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}${'aeiou'[i % 5]}`);
	const word = () => vocab[Math.floor(vocab.length * r() ** 3)];
	const others: string[] = [];
	const texts: string[] = [];
	// the copies scattered: each row is one with the chance of the copies left among the rows left
	let left = copies;
	for (let i = 0; i < total; i++) {
		if (r() * (total - i) < left) {
			left--;
			const t = repeated[Math.floor(r() * repeated.length)];
			texts.push(left % 3 === 0 ? t.toUpperCase() : left % 3 === 1 ? ` ${t}  ` : t);
		} else if (others.length > 100 && r() < 0.05) {
			const words = others[Math.floor(r() * others.length)].split(' ');
			words[2 + Math.floor(r() * (words.length - 2))] = word();
			texts.push(words.join(' '));
		} else {
			others.push(`ticket ${i}: ` + Array.from({ length: 6 + Math.floor(r() * 14) }, word).join(' '));
			texts.push(others[others.length - 1]);
		}
	}
	return texts.map((text) => {
		const x = r();
		return { text, label: 0, split: x < 0.8 ? 0 : x < 0.9 ? 1 : 2 };
	});
}

const gc = (globalThis as { gc?: () => void }).gc;
const used = () => {
	const m = process.memoryUsage();
	return m.heapUsed + m.arrayBuffers;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main() {
	const data = rows();
	gc?.();
	const before = used();
	let peak = before;
	const sample = setInterval(() => (peak = Math.max(peak, used())), 20);
	const stages: [string, number][] = [];
	const t0 = performance.now();
	let outcome: string;
	try {
		const check = await checkRowsInSlices(data, 0.8, undefined, undefined, undefined, (p) => {
			if (p && stages.at(-1)?.[0] !== p.phase) stages.push([p.phase, performance.now()]);
		});
		outcome = `${check.clusterCount.toLocaleString('en-US')} clusters, ${check.nearRemovable.toLocaleString('en-US')} rows removable, leaked ${check.leakage.validation.toLocaleString('en-US')} validation + ${check.leakage.test.toLocaleString('en-US')} test rows (the fix moves ${check.leakage.moves.toLocaleString('en-US')})`;
	} catch (e) {
		outcome = `stopped: ${(e as Error).message}`;
	}
	const t1 = performance.now();
	clearInterval(sample);
	peak = Math.max(peak, used());
	const times = stages.map(([name, at], k) => `${name} ${(((stages[k + 1]?.[1] ?? t1) - at) / 1000).toFixed(1)} s`).join(', ');
	console.log(`${data.length.toLocaleString('en-US')} rows, ${copies.toLocaleString('en-US')} copies of ${distinct} texts; check ${((t1 - t0) / 1000).toFixed(1)} s (${times}); peak heap + typed arrays ${mib(peak - before)} above the ${mib(before)} held before${gc ? '' : ' (run with --expose-gc for a steady baseline)'}`);
	console.log(outcome);
}

main();
