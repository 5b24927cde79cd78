/**
 * Reading a Hugging Face `config.json`: each field with the default its `PretrainedConfig`
 * subclass gives it (transformers v4.40), and a named error saying which field is wrong.
 */
import { UserError } from '../../shared/errors';
import type { HfConfigBase, ProblemType, Task } from './spec';

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

/** The names transformers gives classes nobody named: LABEL_0, LABEL_1, ... */
export function defaultLabelNames(n: number): string[] {
	return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

/** id2label as a list by id; its keys must be 0..n-1 (transformers turns them into ints). */
function labelNames(r: ConfigReader, modelType: string, n: number): string[] {
	const raw = r.raw('id2label');
	if (!raw || typeof raw !== 'object') return defaultLabelNames(n);
	const names = defaultLabelNames(n);
	for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
		const id = Number(k);
		if (!Number.isInteger(id) || id < 0 || id >= n || typeof v !== 'string')
			throw bad(modelType, `config.json id2label must map the ids 0..${n - 1} to names; got ${JSON.stringify(k)}: ${JSON.stringify(v)}.`);
		names[id] = v;
	}
	return names;
}

export const PROBLEM_TYPES: ProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/**
 * The head a checkpoint was saved with, from config.json `architectures` (e.g.
 * `GPT2ForSequenceClassification`): `*ForSequenceClassification` and `*LMHeadModel` /
 * `*ForCausalLM` name theirs; anything else (a bare `GPT2Model`, `BertForMaskedLM`, no
 * `architectures`) gets the architecture's first task.
 */
export function taskFromArchitectures(r: ConfigReader, tasks: readonly Task[]): Task {
	const raw = r.raw('architectures');
	const names = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
	const has = (re: RegExp, task: Task) => tasks.includes(task) && names.some((n) => re.test(n));
	if (has(/ForSequenceClassification$/, 'sequence-classification')) return 'sequence-classification';
	if (has(/(LMHeadModel|ForCausalLM)$/, 'causal-lm')) return 'causal-lm';
	return tasks[0];
}

/** The fields of `HfConfigBase` that every architecture reads the same way (the head and its labels). */
export function readHeadFields(
	r: ConfigReader,
	json: Record<string, unknown>,
	modelType: string,
	tasks: readonly Task[]
): Pick<HfConfigBase, 'task' | 'numLabels' | 'labelNames' | 'problemType' | 'initializerRange' | 'hfConfig'> {
	const n = numLabels(r);
	const problemType = (r.raw('problem_type') ?? null) as ProblemType | null;
	if (problemType !== null && !PROBLEM_TYPES.includes(problemType))
		throw bad(modelType, `problem_type '${problemType}' is not one of ${PROBLEM_TYPES.join(', ')}.`);
	return {
		task: taskFromArchitectures(r, tasks),
		numLabels: n,
		labelNames: labelNames(r, modelType, n),
		problemType,
		initializerRange: r.num('initializer_range', 0.02),
		hfConfig: structuredClone(json)
	};
}
