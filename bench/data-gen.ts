/**
 * The generated dataset of the data benchmarks (bench/data-import.ts, bench/tokenize.ts): rows of
 * made-up words with a Zipf-like skew, seeded, so every run reads the same rows.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** 6,000 made-up words from syllables, drawn with a Zipf-like skew, so texts overlap as real ones do (rarely whole). */
const SYLLABLES = 'ka lo mi nu re sa ti vo be da fe gi ho ju ne pa qui ro su ta ul ve wa xi yo ze an el in or'.split(' ');
const WORDS = Array.from({ length: 6000 }, (_, i) => {
	let w = '';
	for (let n = i + 7; w.length < 3 || n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length];
	return w;
});
const LABELS = ['billing', 'tech', 'shipping', 'account'];

/** A seeded xorshift, so every run imports the same rows. */
export function rng(seed: number) {
	let s = seed >>> 0 || 1;
	return () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return (s >>> 0) / 2 ** 32;
	};
}

/** Writes the CSV (text,label): `n` rows, or until `bytes` are written; `minWords` + up to `spread` words a row. Returns rows and bytes. */
export async function writeCsv(path: string, n: number, bytes: number, minWords = 6, spread = 14): Promise<{ rows: number; bytes: number }> {
	const out = createWriteStream(path);
	const r = rng(7);
	let written = 0;
	let i = 0;
	const header = 'text,label\n';
	out.write(header);
	written += header.length;
	while (n ? i < n : written < bytes) {
		const lines: string[] = [];
		for (let k = 0; k < 1000 && (n ? i < n : true); k++, i++) {
			const len = minWords + Math.floor(r() * spread);
			const words: string[] = [`ticket ${i}:`];
			for (let w = 0; w < len; w++) words.push(WORDS[Math.floor(WORDS.length * r() ** 3)]);
			lines.push(`"${words.join(' ')}",${LABELS[Math.floor(r() * 4)]}\n`);
		}
		const chunk = lines.join('');
		written += chunk.length;
		if (!out.write(chunk)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	return { rows: i, bytes: written };
}
