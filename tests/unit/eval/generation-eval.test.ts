// Generation scoring against the metric functions it is built from, on a small hand case.
import { describe, expect, it } from 'vitest';
import { bootstrapCI, corpusBleu, pairedBootstrap, rougeScores, sentenceBleu } from '../../../src/lib/engine/eval';
import { exactMatch, generationPairingProblem, pairedGenerationComparison, scoreGenerations } from '../../../src/lib/engine/eval/generation-eval';
import type { GenerationEvaluation } from '../../../src/lib/shared/types';

const refs = [
	'Open Settings and choose Plan & billing.',
	'Yes, notes you opened before stay on your device.',
	'The free plan syncs two devices.',
	'Write to support@example.com.'
];
const outs = ['Open Settings, then choose Plan and billing.', '  Yes, notes you opened before stay on your device.\n', 'The free plans sync two devices only.', ''];

describe('scoreGenerations', () => {
	const s = scoreGenerations(refs, outs, { resamples: 200, seed: 3 });

	it('corpus BLEU is sacrebleu corpus_score; per-example BLEU is sentence_bleu', () => {
		expect(s.bleu).toBe(corpusBleu(outs, refs.map((r) => [r])).score);
		expect(s.bleu).toBeGreaterThan(0);
		s.perExample.bleu.forEach((b, i) => expect(b).toBeCloseTo(sentenceBleu(outs[i], [refs[i]]).score, 12));
		expect(s.signature).toBe('nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
	});

	it('ROUGE is the mean stemmed F of rouge-score', () => {
		const r = refs.map((ref, i) => rougeScores(ref, outs[i], { useStemmer: true }));
		for (const t of ['rouge1', 'rouge2', 'rougeL'] as const) {
			const mean = r.reduce((a, x) => a + x[t].fmeasure, 0) / r.length;
			expect(s[t]).toBeCloseTo(mean, 14);
		}
		expect(s.perExample.rougeL[3]).toBe(0); // an empty output
		// Stemming matters: "plans"/"plan" and "sync"/"syncs" match.
		expect(s.perExample.rouge1[2]).toBeGreaterThan(rougeScores(refs[2], outs[2], { useStemmer: false }).rouge1.fmeasure);
	});

	it('exact match ignores surrounding whitespace only', () => {
		expect(s.perExample.exact).toEqual([false, true, false, false]);
		expect(s.exactMatch).toBe(0.25);
		expect(exactMatch('Yes.', ' Yes.\n')).toBe(true);
		expect(exactMatch('Yes.', 'yes.')).toBe(false);
	});

	it('intervals are the bootstrap of the same statistics (corpus BLEU resampled from segment statistics)', () => {
		const opts = { resamples: 200, seed: 3 };
		const bleu = bootstrapCI(refs.length, (idx) => corpusBleu([...idx].map((i) => outs[i]), [...idx].map((i) => [refs[i]])).score, opts);
		expect(s.intervals.bleu.low).toBeCloseTo(bleu.low, 9);
		expect(s.intervals.bleu.high).toBeCloseTo(bleu.high, 9);
		const em = bootstrapCI(refs.length, (idx) => [...idx].filter((i) => i === 1).length / idx.length, opts);
		expect(s.intervals.exactMatch).toEqual(em);
		expect(s.intervals.rougeL.low).toBeLessThanOrEqual(s.rougeL);
		expect(s.intervals.rougeL.high).toBeGreaterThanOrEqual(s.rougeL);
	});

	it('rejects mismatched or empty inputs', () => {
		expect(() => scoreGenerations(['a'], [])).toThrow(RangeError);
		expect(() => scoreGenerations([], [])).toThrow(RangeError);
	});
});

describe('paired generation comparison', () => {
	const evaluation = (o: string[]): GenerationEvaluation => {
		const s = scoreGenerations(refs, o, { resamples: 10 });
		return {
			split: 'test',
			rows: refs.length,
			maxNewTokens: 16,
			...s,
			examples: refs.map((reference, i) => ({ row: i + 10, prompt: `q${i}`, reference, output: o[i], bleu: s.perExample.bleu[i], rougeL: s.perExample.rougeL[i], exact: s.perExample.exact[i] }))
		};
	};
	const a = evaluation(outs);
	const b = evaluation(['Settings.', 'No.', 'Two.', '']);

	it('matches pairedBootstrap on the per-example values', () => {
		const c = pairedGenerationComparison(a, b, { resamples: 300, seed: 5 });
		const ref = pairedBootstrap(
			4,
			(idx) => [...idx].reduce((s, i) => s + a.examples[i].rougeL, 0) / idx.length,
			(idx) => [...idx].reduce((s, i) => s + b.examples[i].rougeL, 0) / idx.length,
			{ resamples: 300, seed: 5 }
		);
		const rl = c.metrics.find((m) => m.metric === 'rougeL')!;
		expect(rl.diff).toBeCloseTo(ref.diff, 14);
		expect(rl.low).toBeCloseTo(ref.low, 14);
		expect(rl.high).toBeCloseTo(ref.high, 14);
		expect(rl.pValue).toBe(ref.pValue);
		expect(c.metrics.find((m) => m.metric === 'exactMatch')!.diff).toBe(0.25);
	});

	it('pairs evaluations that share rows with the same token limit', () => {
		expect(generationPairingProblem(a, b)).toBeNull();
		// A baseline on a subset of the prompts pairs on the shared rows.
		expect(generationPairingProblem(a, { ...b, examples: b.examples.slice(1) })).toBeNull();
		expect(generationPairingProblem(a, { ...b, examples: b.examples.map((e) => ({ ...e, row: e.row + 100 })) })).toMatch(/no prompt in common/);
		expect(generationPairingProblem(a, { ...b, maxNewTokens: 8 })).toMatch(/limits/);
	});
});
