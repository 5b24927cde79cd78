/**
 * bench:step's pure parts (arguments, statistics, the ratio table), its dispatch attribution on
 * fake WebGPU prototypes, the stock GPT yardstick's numerics, and the interleaved run end to end
 * on the tfjs CPU backend (no GPU work to count there, so only its times and losses).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_STEP_ARGS, benchmarkSteps, byKernel, formatStepTable, kernelName, formatSummaryTable, median, minimum, parseStepArgs, shapesFor, summarizeEngine, withRatios, type EngineResult } from '../../../src/lib/engine/bench-step';
import { GpuCounter, emptyCounts, totalDispatches, wrapGpuMethods, type GpuCounts } from '../../../src/lib/engine/dispatch-count';
import { setStepPhase, stepPhase } from '../../../src/lib/engine/phase';
import { StockGpt } from '../../../bench/stock-gpt';

describe('the profile by kernel', () => {
	it('names a dispatch by its class, or by its shader key when the class is ours or minified', () => {
		class MatMulPackedProgram {
			shaderKey = 'matMulPacked_4_4_true';
		}
		expect(kernelName(new MatMulPackedProgram())).toBe('MatMulPackedProgram');
		expect(kernelName({ shaderKey: 'whetstoneVec4MatMul_false_true_64,1,12,2float32', constructor: Object })).toBe('whetstoneVec4MatMul_false_true');
		expect(kernelName({ shaderKey: 'whetstoneLayerNorm_thread', constructor: Object })).toBe('whetstoneLayerNorm_thread');
		class Si {
			shaderKey = 'matMulPackedVec4_8_8[1,2]';
		}
		expect(kernelName(new Si())).toBe('matMulPackedVec4');
	});

	it('sums calls and time by kernel, largest first', () => {
		expect(byKernel([{ kernel: 'a', ms: 1 }, { kernel: 'b', ms: 5 }, { kernel: 'a', ms: 2.5 }])).toEqual([
			{ kernel: 'b', calls: 1, ms: 5 },
			{ kernel: 'a', calls: 2, ms: 3.5 }
		]);
		expect(byKernel([])).toEqual([]);
	});
});

describe('parseStepArgs', () => {
	it('takes the defaults of the issue shape', () => {
		expect(parseStepArgs([])).toEqual(DEFAULT_STEP_ARGS);
		expect(DEFAULT_STEP_ARGS).toMatchObject({ model: 'scratch', layers: 2, width: 128, heads: 4, vocab: 512, seq: 64, batch: 4, lora: false, json: false });
	});

	it('reads values and flags', () => {
		const a = parseStepArgs(['--model', 'gpt2', '--layers', '1', '--width', '64', '--heads', '2', '--vocab', '300', '--seq', '32', '--batch', '8', '--lora', '--json', '--steps', '3', '--large', 'off', '--gen', '0', '--parts', 'steps,generate']);
		expect(a.parts).toEqual(['steps', 'generate']);
		expect(parseStepArgs([]).parts).toEqual(['steps', 'large', 'generate']);
		expect(parseStepArgs(['--parts', 'profile']).parts).toEqual(['profile']);
		expect(a).toMatchObject({ model: 'gpt2', layers: 1, width: 64, heads: 2, vocab: 300, seq: 32, batch: 8, lora: true, json: true, steps: 3, large: 'off', gen: 0 });
	});

	it('lists the README set with --matrix', () => {
		const a = parseStepArgs(['--matrix']);
		expect(shapesFor(a).map((s) => `${s.model}${s.lora ? '+lora' : ''}:${s.layers}`)).toEqual(['gpt2:2', 'gpt2+lora:2', 'gpt2:1', 'scratch:2', 'scratch:1', 'bert:2', 'bert+lora:2', 'bert:1', 'bert+lora:1']);
		expect(parseStepArgs(['--model', 'bert', '--lora'])).toMatchObject({ model: 'bert', lora: true });
		expect(shapesFor(parseStepArgs(['--model', 'llama', '--layers', '3']))).toEqual([{ model: 'llama', layers: 3, width: 128, heads: 4, vocab: 512, seq: 64, batch: 4, lora: false, dropout: 0 }]);
		expect(shapesFor(parseStepArgs(['--matrix', '--dropout', '0.1'])).every((s) => s.dropout === 0.1)).toBe(true);
	});

	it('says what is wrong', () => {
		expect(() => parseStepArgs(['--model', 't5'])).toThrow(/--model must be one of scratch, gpt2, llama, bert/);
		expect(() => parseStepArgs(['--layers', '0'])).toThrow(/--layers must be a whole number ≥ 1/);
		expect(() => parseStepArgs(['--width', '100', '--heads', '3'])).toThrow(/multiple of --heads/);
		expect(() => parseStepArgs(['--lora'])).toThrow(/--model gpt2, llama or bert/);
		expect(() => parseStepArgs(['--steps'])).toThrow(/--steps needs a value/);
		expect(() => parseStepArgs(['--fast'])).toThrow(/Unknown option --fast/);
		expect(() => parseStepArgs(['--parts', 'steps,train'])).toThrow(/--parts is a comma-separated list of steps, large, generate, profile/);
		expect(() => parseStepArgs(['gpt2'])).toThrow(/Unexpected argument 'gpt2'/);
		expect(() => parseStepArgs(['--dropout', '1'])).toThrow(/--dropout must be a rate at least 0 and below 1/);
	});
});

describe('statistics and the table', () => {
	it('median and minimum', () => {
		expect(median([3, 1, 2])).toBe(2);
		expect(median([4, 1, 3, 2])).toBe(2.5);
		expect(median([])).toBeNaN();
		expect(minimum([3, 1, 2])).toBe(1);
	});

	const counts = (fwd: number, bwd: number, clip: number, opt: number, submits: number): GpuCounts => {
		const c = emptyCounts();
		Object.assign(c.dispatches, { forward: fwd, backward: bwd, clip, optimizer: opt });
		c.submits = submits;
		c.copies = 2;
		return c;
	};
	const base = (engine: EngineResult['engine'], label: string) => ({ engine, label, params: 10, trainableParams: 10, lossFirst: 6, lossLast: 5 });

	it('summarizes per step and pairs each round with the stock engine', () => {
		const fast = summarizeEngine(base('fast', 'fast'), [counts(10, 20, 1, 1, 2), counts(10, 20, 1, 1, 2)], [50, 30, 40], 256);
		const stock = summarizeEngine(base('stock', 'stock'), [counts(100, 200, 0, 100, 20)], [100, 100, 50], 256);
		expect(fast.dispatchesPerStep).toBe(32);
		expect(fast.split).toEqual({ forward: 10, backward: 20, clip: 1, optimizer: 1, other: 0 });
		expect(fast.msPerStep).toEqual({ min: 30, median: 40 });
		expect(fast.tokensPerSec).toBeCloseTo(6400);
		const [f, s] = withRatios([fast, stock]);
		expect(f.ratioToStock!.dispatches).toBeCloseTo(0.08);
		expect(f.ratioToStock!.medianMs).toBeCloseTo(0.4);
		expect(f.ratioToStock!.pairedMs).toBeCloseTo(0.5); // rounds 0.5, 0.3, 0.8
		expect(s.ratioToStock).toEqual({ dispatches: 1, medianMs: 1, pairedMs: 1 });

		const summary = formatSummaryTable([{ shape: { model: 'gpt2', layers: 2, width: 128, heads: 4, vocab: 512, seq: 64, batch: 4, lora: true }, engines: [f, s] }]).split('\n');
		expect(summary[2]).toBe('| gpt2 LoRA | 2 | Whetstone fast path | 32 | 10 / 20 / 1 / 1 | 2 | 40 | 0.08 | 0.50 |');
		expect(summary[3]).toContain('| stock tfjs GPT + Adam |');

		const table = formatStepTable([f, s]).split('\n');
		expect(table).toHaveLength(4);
		expect(table[2]).toBe('| fast | 32 | 10 / 20 / 1 / 1 (0) | 2 | 2 | 30 · 40 | 6400 | 0.08 | 0.40 · 0.50 |');
	});
});

describe('dispatch counting', () => {
	afterEach(() => setStepPhase('other'));

	class FakePass {
		n = 0;
		dispatchWorkgroups(x: number) {
			this.n += x;
		}
	}
	class FakeQueue {
		submit() {}
		writeBuffer() {}
	}
	class FakeEncoder {
		copyBufferToBuffer() {}
	}
	const protos = () => ({ computePass: FakePass.prototype, queue: FakeQueue.prototype, commandEncoder: FakeEncoder.prototype });

	it('attributes each dispatch to the phase it was encoded in, and only while measuring', async () => {
		const pass = new FakePass();
		const queue = new FakeQueue();
		const counter = new GpuCounter(protos(), stepPhase);
		pass.dispatchWorkgroups(1); // not measured
		const { value, counts } = await counter.measure(async () => {
			setStepPhase('forward');
			pass.dispatchWorkgroups(1);
			pass.dispatchWorkgroups(1);
			setStepPhase('backward');
			pass.dispatchWorkgroups(1);
			setStepPhase('clip');
			pass.dispatchWorkgroups(1);
			setStepPhase('optimizer');
			pass.dispatchWorkgroups(1);
			queue.writeBuffer();
			queue.submit();
			new FakeEncoder().copyBufferToBuffer();
			setStepPhase('other');
			pass.dispatchWorkgroups(1);
			return 'done';
		});
		expect(value).toBe('done');
		expect(counts.dispatches).toEqual({ forward: 2, backward: 1, clip: 1, optimizer: 1, other: 1 });
		expect(totalDispatches(counts)).toBe(6);
		expect([counts.submits, counts.copies, counts.writes]).toEqual([1, 1, 1]);
		expect(pass.n).toBe(7); // the wrapped method still does its work
		counter.dispose();
		expect(FakePass.prototype.dispatchWorkgroups.toString()).toContain('this.n += x'); // the original is back
	});

	it('skips what the prototypes lack', () => {
		const restore = wrapGpuMethods({ computePass: {}, queue: undefined }, () => {});
		expect(() => restore()).not.toThrow();
	});
});

describe('the stock GPT yardstick (CPU)', () => {
	it('starts near ln(vocab), learns one batch, and leaks no tensors', async () => {
		await tf.setBackend('cpu');
		const shape = { vocab: 32, seq: 8, width: 16, heads: 2, layers: 1 };
		const before = tf.memory().numTensors;
		const gpt = new StockGpt(shape, { seed: 3, learningRate: 1e-2 });
		expect(gpt.numParams).toBe(32 * 16 + 8 * 16 + (2 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 2 * 16 + 16 * 64 + 64 + 64 * 16 + 16) + 2 * 16);
		const ids = tf.tensor2d(Array.from({ length: 16 }, (_, i) => (i * 5) % 32), [2, 8], 'int32');
		const targets = tf.tensor2d(Array.from({ length: 16 }, (_, i) => (i * 7 + 1) % 32), [2, 8], 'int32');
		const phases: string[] = [];
		const marked = new StockGpt(shape, { seed: 3 }, (p) => phases.push(p));
		tf.dispose(marked.step(ids, targets));
		expect(phases).toEqual(['forward', 'backward', 'optimizer', 'other']);
		marked.dispose();
		const losses: number[] = [];
		for (let i = 0; i < 30; i++) {
			const l = gpt.step(ids, targets);
			losses.push((await l.data())[0]);
			l.dispose();
		}
		expect(Math.abs(losses[0] - Math.log(32))).toBeLessThan(0.1);
		expect(losses[29]).toBeLessThan(losses[0] / 2);
		gpt.dispose();
		tf.dispose([ids, targets]);
		expect(tf.memory().numTensors).toBe(before);
	});
});

describe('benchmarkSteps (CPU)', () => {
	it('runs the four engines interleaved and reports each', async () => {
		await tf.setBackend('cpu');
		const r = await benchmarkSteps({ model: 'gpt2', layers: 1, width: 16, heads: 2, vocab: 64, seq: 8, batch: 2, lora: false }, 2, 1);
		expect(r.engines.map((e) => e.engine)).toEqual(['fast', 'compiled', 'reference', 'stock']);
		// Off WebGPU nothing is compiled: the compiled engine's steps run as the fast path's.
		expect(r.engines[1].compiled).toMatchObject({ kinds: 0, compiled: 0, replays: 0 });
		for (const e of r.engines) {
			expect(e.ms).toHaveLength(2);
			expect(e.msPerStep.min).toBeGreaterThan(0);
			expect(Number.isFinite(e.lossLast)).toBe(true);
			expect(Math.abs(e.lossFirst - Math.log(64))).toBeLessThan(0.5);
			expect(e.ratioToStock).toBeDefined();
		}
		expect(r.tokensPerStep).toBe(16);
		expect(r.tensorsLeaked).toBe(0);
	});

	it('trains the BERT classifier with LoRA: two labels, only the adapters and the head trained', async () => {
		await tf.setBackend('cpu');
		const r = await benchmarkSteps({ model: 'bert', layers: 1, width: 16, heads: 2, vocab: 64, seq: 8, batch: 2, lora: true }, 1, 1);
		const fast = r.engines[0];
		expect(fast.label).toMatch(/BERT classifier, LoRA/);
		expect(fast.trainableParams).toBeLessThan(fast.params / 2);
		for (const e of r.engines.slice(0, 2)) expect(Math.abs(e.lossFirst - Math.log(2))).toBeLessThan(0.5);
		expect(r.tensorsLeaked).toBe(0);
	});
});
