/**
 * ops/split.ts's part boundaries, and train/split-check.ts on the CPU backend, where nothing is
 * split (the fast path is WebGPU's): the check trains the three models through the real sessions, both
 * runs agree exactly and leave no tensor behind. On WebGPU the same check trains the tables in
 * parts under a pretended 4 KiB binding limit (tests/e2e/split-tables.spec.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { partRanges } from '../../../src/lib/engine/ops/split';
import { splitTrainingCheck } from '../../../src/lib/engine/train/split-check';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

describe('partRanges', () => {
	it('cuts whole rows within the limit, the last part the remainder', () => {
		// 97 rows of 32 floats (128 bytes) at 4 KiB: 32 rows a part.
		expect(partRanges(97, 32, 4096)).toEqual([
			{ from: 0, rows: 32 },
			{ from: 32, rows: 32 },
			{ from: 64, rows: 32 },
			{ from: 96, rows: 1 }
		]);
	});

	it('covers every row once, each part within the limit', () => {
		for (const [rows, cols, limit] of [
			[50257, 768, 128 * 2 ** 20],
			[151936, 896, 128 * 2 ** 20],
			[10, 7, 28],
			[64, 32, 8192]
		]) {
			const parts = partRanges(rows, cols, limit);
			expect(parts[0].from).toBe(0);
			parts.forEach((p, i) => {
				expect(p.rows * cols * 4).toBeLessThanOrEqual(limit);
				if (i) expect(p.from).toBe(parts[i - 1].from + parts[i - 1].rows);
			});
			expect(parts.at(-1)!.from + parts.at(-1)!.rows).toBe(rows);
		}
		// GPT-2 small's embedding on a 128 MiB adapter: two parts (43690 rows fit in one).
		expect(partRanges(50257, 768, 128 * 2 ** 20).map((p) => p.rows)).toEqual([43690, 6567]);
		// One part when the table fits.
		expect(partRanges(64, 32, 8192)).toEqual([{ from: 0, rows: 64 }]);
	});

	it('gives one row a part when a row is over the limit (models/limits.ts refuses that first)', () => {
		expect(partRanges(3, 100, 64)).toEqual([
			{ from: 0, rows: 1 },
			{ from: 1, rows: 1 },
			{ from: 2, rows: 1 }
		]);
	});
});

it('split-check trains GPT-2, Llama and the from-scratch classifier fully (AdamW and SGD, two micro-batches a step) through the session, both runs alike on the CPU', async () => {
	const cases = await splitTrainingCheck(2);
	expect(cases.map((c) => `${c.model} ${c.optimizer}`)).toEqual(['gpt2 adamw', 'gpt2 sgd', 'llama adamw', 'llama sgd', 'scratch adamw', 'scratch sgd']);
	for (const c of cases) {
		expect(c.whole.every(Number.isFinite), c.model).toBe(true);
		expect(c.whole.length).toBe(2);
		expect(c.whole[1], c.model).toBeLessThan(c.whole[0]);
		expect(c.cuts, c.model).toBe(0); // the CPU has no binding limit
		expect(c.tableBindings, c.model).toEqual({ whole: null, inParts: null }); // and no WebGPU programs
		expect(c.lossMaxRel, c.model).toBe(0);
		expect(c.paramMaxRel, c.model).toBe(0);
		expect(c.paramNormRel, c.model).toBe(0);
		expect(c.overLimit, c.model).toContain(c.model === 'llama' ? 'lm_head.weight' : 'transformer.wte.weight');
		expect(c.tensorsLeaked, c.model).toBe(0);
	}
}, 60_000);
