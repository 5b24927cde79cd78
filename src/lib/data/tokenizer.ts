/**
 * Encodes and decodes text with a Hugging Face `tokenizer.json` (ours from `bpe.ts`, or a
 * pretrained model's). Built on `Tokenizer` from @huggingface/tokenizers: the same class that
 * transformers.js' `PreTrainedTokenizer` wraps, without pulling in onnxruntime, so it loads
 * offline in a Web Worker and in Node.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { bpeTokenizerConfig } from './bpe';

export class TextTokenizer {
	readonly vocabSize: number;
	readonly padId: number | undefined;
	readonly clsId: number | undefined;
	readonly eosId: number | undefined;
	private tok: Tokenizer;

	constructor(json: string | object, config?: object) {
		const spec = typeof json === 'string' ? JSON.parse(json) : json;
		this.tok = new Tokenizer(spec, { ...bpeTokenizerConfig(), ...(config ?? {}) });
		let maxId = -1;
		for (const id of this.tok.get_vocab(true).values()) if (id > maxId) maxId = id;
		this.vocabSize = maxId + 1;
		const added = new Map<string, number>();
		for (const [id, t] of this.tok.get_added_tokens_decoder()) added.set(t.content, id);
		this.padId = added.get('<pad>');
		this.clsId = added.get('<cls>');
		this.eosId = added.get('<eos>');
	}

	/** Async so callers need not change if loading ever becomes lazy (e.g. a dynamic import). */
	static async fromJson(json: string, config?: object): Promise<TextTokenizer> {
		return new TextTokenizer(json, config);
	}

	/** Token ids of `text`, with no special tokens added. */
	encode(text: string): number[] {
		if (text.length === 0) return [];
		return this.tok.encode(text, { add_special_tokens: false }).ids;
	}

	/** The text of `ids`, special tokens skipped. */
	decode(ids: number[]): string {
		// tokenizers.js throws on an empty list; an empty sequence is just the empty string.
		if (ids.length === 0) return '';
		return this.tok.decode(ids, { skip_special_tokens: true });
	}

	/** Token strings of `text` (byte-level symbols, e.g. "Ġhello"), for showing tokenization. */
	tokens(text: string): string[] {
		if (text.length === 0) return [];
		return this.tok.tokenize(text);
	}
}
