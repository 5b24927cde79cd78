/**
 * Reading a Hugging Face `config.json`: each field with the default its `PretrainedConfig`
 * subclass gives it (transformers v4.40), and a named error saying which field is wrong.
 */
import { UserError } from '../../shared/errors';

export interface ConfigReader {
	/** A number, or `def` when the field is absent or null. */
	num(key: string, def?: number): number;
	/** A positive integer (a size or a count). */
	size(key: string, def?: number): number;
	bool(key: string, def: boolean): boolean;
	str(key: string, def?: string): string;
	/** A token id: a number, or null. */
	tokenId(key: string, def: number | null): number | null;
	/** eos_token_id may be a number or a list; both become a list. */
	tokenIds(key: string, def: number | null): number[];
	/** The raw value, for fields with their own shape (rope_scaling, id2label). */
	raw(key: string): unknown;
}

export function configReader(json: Record<string, unknown>, modelType: string): ConfigReader {
	if (json === null || typeof json !== 'object') throw bad(modelType, 'config.json is not a JSON object.');
	const get = (key: string) => (json[key] === null ? undefined : json[key]);
	const need = (key: string, what: string): never => {
		throw bad(modelType, `config.json field '${key}' must be ${what}, got ${JSON.stringify(json[key])}.`);
	};
	const reader: ConfigReader = {
		num(key, def) {
			const v = get(key) ?? def;
			if (typeof v !== 'number' || !Number.isFinite(v)) return need(key, 'a number');
			return v;
		},
		size(key, def) {
			const v = reader.num(key, def);
			if (!Number.isInteger(v) || v <= 0) return need(key, 'a positive integer');
			return v;
		},
		bool(key, def) {
			const v = get(key) ?? def;
			if (typeof v !== 'boolean') return need(key, 'true or false');
			return v;
		},
		str(key, def) {
			const v = get(key) ?? def;
			if (typeof v !== 'string') return need(key, 'a string');
			return v;
		},
		tokenId(key, def) {
			const v = key in json ? json[key] : def;
			if (v === null || v === undefined) return null;
			if (!Number.isInteger(v)) return need(key, 'an integer token id or null');
			return v as number;
		},
		tokenIds(key, def) {
			const v = key in json ? json[key] : def;
			if (v === null || v === undefined) return [];
			const list = Array.isArray(v) ? v : [v];
			if (!list.every((x) => Number.isInteger(x))) return need(key, 'a token id or a list of token ids');
			return list as number[];
		},
		raw: (key) => json[key]
	};
	return reader;
}

export function bad(modelType: string, message: string): UserError {
	return new UserError('invalid-config', `${modelType}: ${message}`);
}

/** HF's `num_labels`: the size of id2label when given, else the `num_labels` field, else 2. */
export function numLabels(r: ConfigReader): number {
	const id2label = r.raw('id2label');
	if (id2label && typeof id2label === 'object') return Object.keys(id2label).length;
	return r.size('num_labels', 2);
}
