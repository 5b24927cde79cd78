/**
 * One model, one setting, one memory figure: the model picker's "to fine-tune (full)" and the
 * method form's "about … to train" come from one function (shared/memory.ts), rendered here by
 * the components themselves (Svelte's server renderer) for the same settings.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { render } from 'svelte/server';
import ModelFacts from '../../../src/routes/train/ModelFacts.svelte';
import MethodForm from '../../../src/routes/train/MethodForm.svelte';
import { approxBytes, describeMemory, estimateMemory, fineTuneMemory, scratchMemory, trainingMemory } from '../../../src/lib/shared/memory';
import { countMethod, FULL, hfParamShapes, type FineTuneMethod } from '../../../src/lib/shared/method';
import { countParams, defaultModelConfig } from '../../../src/lib/shared/config';
import type { ModelInspection } from '../../../src/lib/shared/hub';

const qwen = JSON.parse(readFileSync('tests/fixtures/hf-tiny/qwen2/config.json', 'utf8')) as Record<string, unknown>;
const params = Object.values(hfParamShapes(qwen, 'causal-lm', 2)).reduce((a, s) => a + s.reduce((x, d) => x * d, 1), 0);
const batch = { batchSize: 8, seqLen: 128 };

function inspection(): ModelInspection {
	return {
		repo: 'whetstone-test/tiny-qwen2',
		requestedRevision: 'main',
		revision: 'a'.repeat(40),
		modelType: 'qwen2',
		supported: true,
		config: qwen,
		files: [],
		weightFiles: ['model.safetensors'],
		downloadBytes: 4 * params,
		params,
		dtypes: { F32: 24 },
		hasTokenizer: true,
		hasChatTemplate: true,
		// What the Hub look-up estimates at its own default shape: not what the card shows.
		memory: estimateMemory(params, qwen, { name: 'model.embed_tokens.weight', bytes: 4 * 128 * 32 }, { batchSize: 8, seqLen: 256 }),
		cached: true
	};
}

/** The text of the element with this data-testid in server-rendered HTML. */
function byTestId(html: string, id: string): string {
	const m = new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html);
	if (!m) throw new Error(`no ${id} in ${html.slice(0, 200)}`);
	return m[1].trim();
}

describe('the memory to train', () => {
	it('adds up its parts: weights, gradients, optimizer moments and the activations of the chosen batch', () => {
		const m = trainingMemory({ total: 1000, trainable: 100 }, qwen, batch);
		expect(m.weights).toBe(4000);
		expect(m.gradients).toBe(400);
		expect(m.optimizer).toBe(800);
		expect(m.total).toBe(m.weights + m.gradients + m.optimizer + m.activations);
		expect(trainingMemory({ total: 1000, trainable: 100 }, qwen, batch, 0).optimizer).toBe(0);
		// Activations grow with the batch and the context.
		expect(trainingMemory({ total: 1, trainable: 1 }, qwen, { batchSize: 16, seqLen: 128 }).activations).toBeGreaterThan(m.activations);
		expect(trainingMemory({ total: 1, trainable: 1 }, qwen, { batchSize: 8, seqLen: 256 }).activations).toBeGreaterThan(m.activations);
		expect(describeMemory(m)).toMatch(/^weights 4 kB \+ gradients 400 B \+ optimizer state 800 B \+ activations .+ \(batch 8 × 128 tokens\)$/);
	});

	it('is the Hub look-up estimate too, at the same batch', () => {
		const e = estimateMemory(params, qwen, { name: 'x', bytes: 1 }, batch);
		expect(e.fullFineTune).toBe(fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch)!.total);
	});

	it('from scratch: every weight trains, and a classification head has no LM logits', () => {
		const m = scratchMemory(defaultModelConfig, 32);
		const p = countParams(defaultModelConfig);
		expect(m.weights).toBe(4 * p);
		expect(m.gradients + m.optimizer).toBe(12 * p);
		expect(m.batch).toEqual({ batchSize: 32, seqLen: defaultModelConfig.contextLength });
		expect(scratchMemory({ ...defaultModelConfig, head: 'lm' }, 32).activations).toBeGreaterThan(m.activations);
	});

	it('the picker and the method form show the same figure for the same settings', () => {
		const picker = render(ModelFacts, { props: { insp: inspection(), fullMemory: fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch) } }).body;
		const form = render(MethodForm, { props: { method: FULL, hfConfig: qwen, objective: 'causal-lm', numClasses: 2, batch } }).body;
		const shown = byTestId(picker, 'picker-memory');
		expect(byTestId(form, 'method-memory')).toBe(shown);
		expect(shown).toBe(approxBytes(fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch)!.total));
		// Not the look-up's own estimate at another batch shape (the two figures the issue saw).
		expect(shown).not.toBe(approxBytes(inspection().memory.fullFineTune));
		// Both explain the parts.
		expect(picker).toContain(describeMemory(fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch)!));
		expect(byTestId(form, 'method-memory-parts')).toBe(describeMemory(fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch)!));

		// LoRA: less, counted with the same rules as the engine.
		const lora: FineTuneMethod = { kind: 'lora', rank: 8, alpha: 16, dropout: 0.05, targetModules: 'q_proj,v_proj' };
		const loraForm = render(MethodForm, { props: { method: lora, hfConfig: qwen, objective: 'causal-lm', numClasses: 2, batch } }).body;
		const loraMem = fineTuneMemory(qwen, 'causal-lm', 2, lora, batch)!;
		expect(byTestId(loraForm, 'method-memory')).toBe(approxBytes(loraMem.total));
		expect(loraMem.total).toBeLessThan(fineTuneMemory(qwen, 'causal-lm', 2, FULL, batch)!.total);
		expect(loraMem.weights).toBe(4 * countMethod(hfParamShapes(qwen, 'causal-lm', 2), lora, false).total);
	});
});
