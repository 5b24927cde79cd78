/**
 * The prompt-only baseline for classification with a causal LM: each label is scored by the
 * log-likelihood of its label word ("verbalizer", Schick & Schütze 2021) after a prompt built from
 * an editable template, with k examples from the training split in front for few-shot (Brown et al.
 * 2020). The class probabilities are the softmax of the summed log-likelihoods, the way
 * lm-evaluation-harness scores multiple choice (`acc`, unnormalized).
 *
 * Template: `{text}` is the example, `{label}` where the label word goes, e.g.
 * "Ticket: {text}\nTeam: {label}". The prompt is everything before `{label}`; a space written
 * before `{label}` belongs to the label word (" billing"), as BPE tokenizers expect.
 *
 * Multi-label datasets: a few-shot example shows its whole label set in the label slot, the words
 * joined by ", " ("Tags: billing, refund"), while a scored row is asked for one word there, and
 * each label's score is its word's share of one softmax over the label words (a label is chosen
 * at ≥ 1/K, workers/baselines.ts). The two agree because each example's labels are written in a
 * seeded random order: the word right after the prompt is then any one of the example's labels,
 * equally often, so the next word the examples teach is "one of this text's labels". A model that
 * follows them spreads its probability evenly over a text's m labels (1/m each, at least 1/K as
 * m ≤ K) and leaves little for the rest, so the 1/K rule reads back the set. Written in a fixed
 * order, the first word would be the set's first label only, and the others would score low.
 */
import type { Prng } from '../../shared/prng';
import { UserError } from '../../shared/errors';
import type { ArchSpec, HfConfigBase, Params } from '../models/spec';
import { pairLogLikelihoods } from './lm-score';

export interface PromptTemplate {
	template: string;
	/** One word (or phrase) per label, index-aligned with the labels. */
	labelWords: string[];
}

export interface Encoder {
	encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
}

export function checkTemplate(t: PromptTemplate, labels: string[]): void {
	if (!t.template.includes('{text}')) throw new UserError('invalid-config', 'The prompt template needs {text} where the example goes.');
	const at = t.template.indexOf('{label}');
	if (at < 0 || t.template.indexOf('{label}', at + 1) >= 0 || t.template.slice(at + 7).trim())
		throw new UserError('invalid-config', 'The prompt template needs {label} once, at its very end, where the label word is scored.');
	if (t.labelWords.length !== labels.length || t.labelWords.some((w) => !w.trim()))
		throw new UserError('invalid-config', `Give one non-empty label word for each of the ${labels.length} labels.`);
	if (new Set(t.labelWords.map((w) => w.trim())).size !== t.labelWords.length) throw new UserError('invalid-config', 'Two labels have the same label word; make them distinct.');
}

/** The prompt for `text` (everything before the label word) and each label's continuation. */
export function splitTemplate(t: PromptTemplate, text: string): { prompt: string; continuations: string[] } {
	const head = t.template.slice(0, t.template.indexOf('{label}')).replaceAll('{text}', text);
	const space = /\s$/.test(head) ? head.match(/[ \t]*$/)![0] : '';
	const prompt = head.slice(0, head.length - space.length);
	return { prompt, continuations: t.labelWords.map((w) => space + w.trim()) };
}

/** A training example shown in the prompt: its label, or (multi-label) its whole label set in the order shown. */
export interface Shot {
	text: string;
	label: number;
	labels?: number[];
}

/**
 * k training examples shown in front of every prompt, rendered with their label words: one word,
 * or a multi-label example's every word in its `labels` order, joined by ", ".
 */
export function fewShotPrefix(t: PromptTemplate, examples: Shot[]): string {
	return examples
		.map((e) => {
			const { prompt, continuations } = splitTemplate(t, e.text);
			const ids = e.labels?.length ? e.labels : [e.label];
			// The first word keeps the space the template puts before {label}: " billing, refund".
			return prompt + ids.map((j, i) => (i ? t.labelWords[j].trim() : continuations[j])).join(', ');
		})
		.join('\n\n');
}

/**
 * k examples from the training rows, seeded, spread over the (first) labels as evenly as the data
 * allows. A multi-label example's set comes back in a seeded random order (see the header: what
 * the first word after the prompt teaches).
 */
export function drawShots<T extends Shot>(train: T[], k: number, prng: Prng): T[] {
	if (k <= 0) return [];
	const byLabel = new Map<number, T[]>();
	for (const r of prng.shuffle(train)) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
	const out: T[] = [];
	const queues = [...byLabel.values()];
	for (let round = 0; out.length < k && queues.some((q) => q.length); round++)
		for (const q of queues) if (out.length < k && q.length) out.push(q.shift()!);
	return prng.shuffle(out).map((s) => (s.labels && s.labels.length > 1 ? { ...s, labels: prng.shuffle(s.labels) } : s));
}

/**
 * Class probabilities (row-major n × K) for each text: softmax over the label words' summed
 * log-likelihoods after the (few-shot prefix and) prompt.
 */
export async function scoreWithPrompts<C extends HfConfigBase>(
	spec: ArchSpec<C>,
	params: Params,
	config: C,
	tokenizer: Encoder,
	t: PromptTemplate,
	texts: string[],
	opts: { prefix?: string; onProgress?: (done: number) => void; shouldStop?: () => boolean } = {}
): Promise<Float32Array> {
	const k = t.labelWords.length;
	const probs = new Float32Array(texts.length * k);
	// Several rows' label words share one forward pass (about 32 sequences): far fewer GPU dispatches.
	const rowsPerPass = Math.max(1, Math.floor(32 / k));
	for (let start = 0; start < texts.length; start += rowsPerPass) {
		if (opts.shouldStop?.()) throw new UserError('cancelled', 'The baseline was cancelled.');
		const rows = texts.slice(start, start + rowsPerPass);
		const pairs = rows.flatMap((text) => {
			const { prompt, continuations } = splitTemplate(t, text);
			const full = opts.prefix ? `${opts.prefix}\n\n${prompt}` : prompt;
			const promptIds = tokenizer.encode(full, { addSpecialTokens: true });
			return continuations.map((c) => ({ prompt: promptIds, continuation: tokenizer.encode(c, { addSpecialTokens: false }) }));
		});
		const scores = await pairLogLikelihoods(spec, params, config, pairs, { batchSize: rowsPerPass * k });
		rows.forEach((_, r) => {
			const sums = scores.slice(r * k, (r + 1) * k).map((s) => s.sum);
			const max = Math.max(...sums);
			const exps = sums.map((s) => Math.exp(s - max));
			const z = exps.reduce((a, b) => a + b, 0);
			exps.forEach((e, j) => (probs[(start + r) * k + j] = e / z));
		});
		opts.onProgress?.(Math.min(texts.length, start + rowsPerPass));
	}
	return probs;
}
