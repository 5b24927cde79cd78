/** Small synthetic support-ticket tables, the sample files and the tiny Hub tokenizers, shared by the data tests. */
import { existsSync, readFileSync } from 'node:fs';
import { Prng } from '../../../src/lib/shared/prng';

export const TEAMS = ['billing', 'shipping', 'tech', 'account'];
const PHRASES: Record<string, string[]> = {
	billing: ['I was charged twice for my invoice', 'refund my payment please', 'the card payment failed'],
	shipping: ['my parcel has not arrived', 'the delivery is late again', 'tracking number shows nothing'],
	tech: ['the app crashes on login', 'error 500 when I upload a file', 'the page will not load'],
	account: ['reset my password', 'change the email on my account', 'delete my profile']
};

/** CSV text of `n` tickets: id, text, team, channel, region, priority. */
export function ticketsCsv(n: number, seed = 1, teams = TEAMS): string {
	const rng = new Prng(seed);
	const lines = ['id,text,team,channel,region,priority'];
	for (let i = 0; i < n; i++) {
		const team = teams[i % teams.length];
		const p = PHRASES[team] ?? PHRASES.billing;
		const text = `${p[rng.int(p.length)]}, order ${1000 + i}${rng.next() < 0.3 ? ' — thanks!' : ''}`;
		const channel = ['email', 'chat', 'phone'][rng.int(3)];
		const region = ['EU', 'US', 'APAC'][rng.int(3)];
		lines.push(`T-${i},"${text}",${team},${channel},${region},${1 + rng.int(3)}`);
	}
	return lines.join('\n') + '\n';
}

export const enc = (s: string) => new TextEncoder().encode(s);

/** The sample files in tests/fixtures/data, as bytes for `inspectFile` / `importDataset`. */
export function sampleFile(name: string): ArrayBuffer {
	const b = readFileSync(new URL(`../../fixtures/data/${name}`, import.meta.url));
	return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A `readFile` for one of the tiny Hub tokenizers in tests/fixtures/hub (gpt2, llama, qwen2,
 * bert), standing in for `(file) => getModelFile(ref, file)`; `override` replaces or removes files.
 */
export function hubFiles(name: string, override: Record<string, string | undefined> = {}) {
	return async (file: string): Promise<ArrayBuffer | undefined> => {
		if (file in override) {
			const text = override[file];
			return text === undefined ? undefined : (enc(text).buffer as ArrayBuffer);
		}
		const url = new URL(`../../fixtures/hub/${name}/${file}`, import.meta.url);
		if (!existsSync(url)) return undefined;
		const b = readFileSync(url);
		return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
	};
}

export function hubText(name: string, file: string): string {
	return readFileSync(new URL(`../../fixtures/hub/${name}/${file}`, import.meta.url), 'utf8');
}

/**
 * A Llama-style variant of the tiny gpt2 tokenizer: `<s>` (99) and `</s>` (100) added, a
 * TemplateProcessing post-processor that puts BOS first (Llama 2/3's `add_bos_token`), and the
 * special tokens written as AddedToken objects, as Llama's tokenizer_config.json does.
 */
export function llamaStyle(): Record<string, string | undefined> {
	const json = JSON.parse(hubText('gpt2', 'tokenizer.json'));
	const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
	json.added_tokens.push(added(99, '<s>'), added(100, '</s>'));
	json.post_processor = {
		type: 'TemplateProcessing',
		single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
		pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
		special_tokens: { '<s>': { id: '<s>', ids: [99], tokens: ['<s>'] } }
	};
	const token = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: false, rstrip: false, single_word: false });
	return {
		'tokenizer.json': JSON.stringify(json),
		'tokenizer_config.json': JSON.stringify({ add_bos_token: true, add_eos_token: false, bos_token: token('<s>'), eos_token: token('</s>'), unk_token: token('<unk>'), pad_token: null, clean_up_tokenization_spaces: false }),
		'special_tokens_map.json': undefined
	};
}
