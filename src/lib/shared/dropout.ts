/**
 * Dropout overrides for a pretrained model: a run's rates written into the config.json fields
 * each architecture's transformers class reads, so the engine and an exported model agree.
 */
import type { PretrainedConfig } from './config';

export type DropoutKind = 'attention' | 'residual' | 'classifier';

/** Each architecture's config.json names for its dropout rates, as transformers reads them. */
const DROPOUT_FIELDS: Record<string, { attention: string[]; residual: string[]; classifier: string[] }> = {
	gpt2: { attention: ['attn_pdrop'], residual: ['resid_pdrop', 'embd_pdrop'], classifier: [] },
	llama: { attention: ['attention_dropout'], residual: [], classifier: [] },
	qwen2: { attention: ['attention_dropout'], residual: [], classifier: [] },
	bert: { attention: ['attention_probs_dropout_prob'], residual: ['hidden_dropout_prob'], classifier: ['classifier_dropout'] },
	distilbert: { attention: ['attention_dropout'], residual: ['dropout'], classifier: ['seq_classif_dropout'] },
	roberta: { attention: ['attention_probs_dropout_prob'], residual: ['hidden_dropout_prob'], classifier: ['classifier_dropout'] },
	gpt_neox: { attention: ['attention_dropout'], residual: ['hidden_dropout'], classifier: [] },
	mistral: { attention: ['attention_dropout'], residual: [], classifier: [] },
	gemma: { attention: ['attention_dropout'], residual: [], classifier: [] },
	phi3: { attention: ['attention_dropout'], residual: [], classifier: [] }
};

/** config.json with the run's dropout overrides written into the fields the model reads. */
export function withDropout(json: Record<string, unknown>, dropout?: PretrainedConfig['dropout']): Record<string, unknown> {
	const fields = DROPOUT_FIELDS[String(json.model_type)];
	if (!dropout || !fields) return json;
	const out = { ...json };
	for (const kind of ['attention', 'residual', 'classifier'] as const) {
		const rate = dropout[kind];
		if (rate === undefined || rate === null) continue;
		for (const f of fields[kind]) out[f] = rate;
	}
	return out;
}

/** Which dropout kinds an architecture has (the form shows only those). */
export function dropoutKinds(modelType: string): DropoutKind[] {
	const f = DROPOUT_FIELDS[modelType];
	return f ? (['attention', 'residual', 'classifier'] as const).filter((k) => f[k].length) : [];
}

/** The model's own rate for a kind (its config.json, or the transformers default), for the form. */
export function modelDropout(json: Record<string, unknown>, kind: DropoutKind): number {
	const f = DROPOUT_FIELDS[String(json.model_type)]?.[kind]?.[0];
	const v = f ? json[f] : undefined;
	if (typeof v === 'number') return v;
	const defaults: Record<string, number> = { attn_pdrop: 0.1, resid_pdrop: 0.1, attention_dropout: 0, attention_probs_dropout_prob: 0.1, hidden_dropout_prob: 0.1, dropout: 0.1, seq_classif_dropout: 0.2 };
	// BERT's classifier_dropout null means "use hidden_dropout_prob".
	if (f === 'classifier_dropout') return modelDropout(json, 'residual');
	return f ? (defaults[f] ?? 0) : 0;
}
