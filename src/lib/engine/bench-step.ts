/**
 * bench:step (issue 10): what one training step costs on this device, for three engines trained
 * side by side in one run: the engine's fast path (fused WebGPU kernels where they exist,
 * fast-path.ts), its reference path (the composite tfjs ops), and a GPT written with stock tfjs
 * ops and tf.train.adam (bench/stock-gpt.ts, the yardstick). Their steps are interleaved, round by
 * round in rotating order, so a slow spell of the adapter falls on all three alike. Per engine:
 * GPU dispatches per step by phase (forward / backward / clip / optimizer, dispatch-count.ts),
 * submits, copies and writes per step, ms per step (min and median after warm-up), tokens per
 * second, and the ratios to the stock GPT (the median of per-round ratios is the paired one).
 *
 * Also a GPT-2-small-sized step (124M parameters), refused with the adapter's limit when a tensor
 * does not fit its storage-buffer binding, and greedy generation tokens per second with and
 * without the KV cache (generate.ts's `kvCache` option).
 *
 * Each step ends with the loss read back (as a logging step does), so the time is the GPU's too.
 * The pure parts (arguments, statistics, the table) are exported for bench/step.ts and the tests.
 */
import type { CompiledSummary } from './compiled/compiled-steps';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../shared/config';
import { defaultLora } from '../shared/method';
import { Prng } from '../shared/prng';
import { backendInfo } from './backend';
import { randomCheckpoint } from './bench-hf';
import { ClassifierSession } from './classifier';
import { GpuCounter, totalDispatches, STEP_PHASES, type GpuCounts } from './dispatch-count';
import { fastPathEnabled, setFastPath } from './fast-path';
import { generateStream, type GenerateOptions } from './generate';
import { checkModelBufferLimits } from './models/limits';
import { bufferLimit, setBindingLimitForTest } from './ops/split';
import { paramsFromCheckpoint } from './models/load';
import { resolveConfig } from './models/registry';
import { setStepPhase, type StepPhase } from './phase';
import { configForObjective, PretrainedSession, type LmTokenRows } from './pretrained';

// ---- the request and its arguments ----

/** The from-scratch model, two causal LMs, and a BERT sequence classifier (two labels). */
export type BenchModel = 'scratch' | 'gpt2' | 'llama' | 'bert';

export interface StepShape {
	model: BenchModel;
	layers: number;
	width: number;
	heads: number;
	vocab: number;
	seq: number;
	batch: number;
	/** Train LoRA adapters only (gpt2, llama, bert). */
	lora: boolean;
	/**
	 * The model's dropout (0 by default, as the stock GPT has none): residual, embedding and
	 * attention dropout at this rate (Llama: attention only, as its config has), and LoRA's.
	 */
	dropout?: number;
}

export interface StepBenchArgs extends StepShape {
	/** Measured rounds (one step of each engine per round), after `warmup` steps of each. */
	steps: number;
	warmup: number;
	json: boolean;
	/** The GPT-2-small-sized step: LoRA, full fine-tuning, or not at all. */
	large: 'lora' | 'full' | 'off';
	/** The large step with compiled steps on (its two traced steps warm up; every measured step is a replay). */
	compiled?: boolean;
	/** New tokens per generation (0: no generation figures). */
	gen: number;
	/** Which parts run: the interleaved steps, the GPT-2-small-sized step, generation. */
	parts: BenchPart[];
	/** Pretend the adapter binds at most this many MiB in the GPT-2-small step (a vocabulary table over it is read in parts); 0: the adapter's own limit. */
	bindLimitMib: number;
	/** The README's set in one browser session: gpt2 and gpt2 LoRA at `layers`, then gpt2 at 1 layer, scratch at `layers` and 1, bert and bert LoRA at `layers` and 1. */
	matrix: boolean;
}

export type BenchPart = 'steps' | 'large' | 'generate' | 'profile';
const PARTS: readonly BenchPart[] = ['steps', 'large', 'generate', 'profile'];
/** What runs when --parts is not given: the profile is asked for by name. */
const DEFAULT_PARTS: readonly BenchPart[] = ['steps', 'large', 'generate'];

export const DEFAULT_STEP_ARGS: StepBenchArgs = {
	model: 'scratch',
	layers: 2,
	width: 128,
	heads: 4,
	vocab: 512,
	seq: 64,
	batch: 4,
	lora: false,
	dropout: 0,
	steps: 5,
	warmup: 2,
	json: false,
	large: 'lora',
	gen: 24,
	parts: [...DEFAULT_PARTS],
	matrix: false,
	bindLimitMib: 0
};

const MODELS: readonly BenchModel[] = ['scratch', 'gpt2', 'llama', 'bert'];

/** `--name value` and `--flag` arguments; throws on anything it does not know, saying what it takes. */
export function parseStepArgs(argv: readonly string[]): StepBenchArgs {
	const a: StepBenchArgs = { ...DEFAULT_STEP_ARGS };
	const ints = ['layers', 'width', 'heads', 'vocab', 'seq', 'batch', 'steps', 'warmup', 'gen'] as const;
	for (let i = 0; i < argv.length; i++) {
		const flag = argv[i];
		if (!flag.startsWith('--')) throw new Error(`Unexpected argument '${flag}'. Arguments are --name value or --flag.`);
		const name = flag.slice(2);
		if (name === 'lora' || name === 'json' || name === 'matrix' || name === 'compiled') {
			a[name] = true;
			continue;
		}
		if (name !== 'model' && name !== 'large' && name !== 'parts' && name !== 'bind-limit-mib' && name !== 'dropout' && !(ints as readonly string[]).includes(name))
			throw new Error(`Unknown option --${name}. Options: --model, ${ints.map((k) => `--${k}`).join(', ')}, --dropout, --large, --bind-limit-mib, --parts, --lora, --json, --matrix, --compiled.`);
		const value = argv[++i];
		if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value.`);
		if (name === 'dropout') {
			const r = Number(value);
			if (!(r >= 0 && r < 1)) throw new Error(`--dropout must be a rate at least 0 and below 1 (got '${value}').`);
			a.dropout = r;
		} else if (name === 'bind-limit-mib') {
			const n = Number(value);
			if (!Number.isInteger(n) || n < 1) throw new Error(`--bind-limit-mib must be a whole number of MiB ≥ 1 (got '${value}').`);
			a.bindLimitMib = n;
		} else if (name === 'model') {
			if (!MODELS.includes(value as BenchModel)) throw new Error(`--model must be one of ${MODELS.join(', ')} (got '${value}').`);
			a.model = value as BenchModel;
		} else if (name === 'parts') {
			const parts = value.split(',').filter(Boolean);
			const bad = parts.find((p) => !PARTS.includes(p as BenchPart));
			if (bad || !parts.length) throw new Error(`--parts is a comma-separated list of ${PARTS.join(', ')} (got '${value}').`);
			a.parts = parts as BenchPart[];
		} else if (name === 'large') {
			if (!['lora', 'full', 'off'].includes(value)) throw new Error(`--large must be lora, full or off (got '${value}').`);
			a.large = value as StepBenchArgs['large'];
		} else {
			const n = Number(value);
			const min = name === 'gen' ? 0 : 1;
			if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min} (got '${value}').`);
			a[name as (typeof ints)[number]] = n;
		}
	}
	if (a.width % a.heads) throw new Error(`--width (${a.width}) must be a multiple of --heads (${a.heads}).`);
	if (a.lora && a.model === 'scratch') throw new Error('--lora trains adapters of a Hugging Face architecture: use it with --model gpt2, llama or bert.');
	if (a.seq < 2) throw new Error('--seq must be at least 2 (language modelling predicts the next token).');
	return a;
}

/** The shapes one run benchmarks: the one asked for, or with `matrix` the README's set. */
export function shapesFor(a: StepBenchArgs): StepShape[] {
	const { model, layers, width, heads, vocab, seq, batch, lora, dropout } = a;
	const base = { width, heads, vocab, seq, batch, dropout };
	if (!a.matrix) return [{ ...base, model, layers, lora }];
	// The Hugging Face architecture first, so a run cut short still has the figures most asked for.
	const depths = [...new Set([layers, 1])];
	return [
		{ ...base, model: 'gpt2', layers, lora: false },
		{ ...base, model: 'gpt2', layers, lora: true },
		...(['gpt2', 'scratch'] as const).flatMap((m) => depths.map((l) => ({ ...base, model: m, layers: l, lora: false }))).filter((s) => !(s.model === 'gpt2' && s.layers === layers)),
		...depths.flatMap((l) => [false, true].map((lora) => ({ ...base, model: 'bert' as const, layers: l, lora })))
	];
}

// ---- statistics and the report ----

export function median(xs: readonly number[]): number {
	if (!xs.length) return NaN;
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function minimum(xs: readonly number[]): number {
	return xs.length ? Math.min(...xs) : NaN;
}

export type EngineName = 'fast' | 'compiled' | 'reference' | 'stock';

export interface EngineResult {
	engine: EngineName;
	/** What ran, in words. */
	label: string;
	params: number;
	trainableParams: number;
	dispatchesPerStep: number;
	/** Dispatches per step by the phase they were encoded in. */
	split: Record<StepPhase, number>;
	submitsPerStep: number;
	copiesPerStep: number;
	writesPerStep: number;
	msPerStep: { min: number; median: number };
	/** Each measured step's ms, in round order. */
	ms: number[];
	tokensPerSec: number;
	/** Loss after the warm-up's first step and at the last measured step (it should fall). */
	lossFirst: number;
	lossLast: number;
	/**
	 * Median milliseconds the step's call took to return, over the measured rounds: the JavaScript
	 * that encodes a step (autodiff, tensors, uniforms, bind groups), before the GPU finishes it.
	 */
	encodeMs?: number;
	/** The compiled engine: what compiling did (plans, replays, refusals, the plan's figures). */
	compiled?: CompiledSummary | null;
	/** This engine over the stock GPT: dispatches, median ms, and the median of the per-round ms ratios. */
	ratioToStock?: { dispatches: number; medianMs: number; pairedMs: number };
}

/** Per-step figures of one engine from its measured steps' counts and times. */
export function summarizeEngine(
	base: Pick<EngineResult, 'engine' | 'label' | 'params' | 'trainableParams' | 'lossFirst' | 'lossLast' | 'compiled' | 'encodeMs'>,
	counts: readonly GpuCounts[],
	ms: readonly number[],
	tokensPerStep: number
): EngineResult {
	const per = (f: (c: GpuCounts) => number) => median(counts.map(f));
	const split = Object.fromEntries(STEP_PHASES.map((p) => [p, per((c) => c.dispatches[p])])) as Record<StepPhase, number>;
	const med = median(ms);
	return {
		...base,
		dispatchesPerStep: per(totalDispatches),
		split,
		submitsPerStep: per((c) => c.submits),
		copiesPerStep: per((c) => c.copies),
		writesPerStep: per((c) => c.writes),
		msPerStep: { min: minimum(ms), median: med },
		ms: [...ms],
		tokensPerSec: (tokensPerStep * 1000) / med
	};
}

/** Fill in each engine's ratios to the stock engine (paired by round). */
export function withRatios(results: EngineResult[]): EngineResult[] {
	const stock = results.find((r) => r.engine === 'stock');
	if (!stock) return results;
	return results.map((r) => ({
		...r,
		ratioToStock: {
			dispatches: r.dispatchesPerStep / stock.dispatchesPerStep,
			medianMs: r.msPerStep.median / stock.msPerStep.median,
			pairedMs: median(r.ms.map((m, i) => m / stock.ms[i]).filter(Number.isFinite))
		}
	}));
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** The engines as a markdown table (the README's before/after table takes the same columns). */
export function formatStepTable(results: readonly EngineResult[]): string {
	const head = '| engine | dispatches / step | fwd / bwd / clip / opt (other) | submits | copies | ms / step min · median | tokens/s | × stock dispatches | × stock ms (median · paired) |';
	const rule = '|---|---|---|---|---|---|---|---|---|';
	const rows = results.map((r) => {
		const s = r.split;
		const ratio = r.ratioToStock;
		return (
			`| ${r.label} | ${num(r.dispatchesPerStep)} | ${num(s.forward)} / ${num(s.backward)} / ${num(s.clip)} / ${num(s.optimizer)} (${num(s.other)}) | ${num(r.submitsPerStep)} | ${num(r.copiesPerStep)} | ` +
			`${fmt(r.msPerStep.min)} · ${fmt(r.msPerStep.median)} | ${fmt(r.tokensPerSec)} | ${ratio ? fmt(ratio.dispatches, 2) : '–'} | ${ratio ? `${fmt(ratio.medianMs, 2)} · ${fmt(ratio.pairedMs, 2)}` : '–'} |`
		);
	});
	return [head, rule, ...rows].join('\n');
}

/** Several shapes' engines in one table, the README's "Training step speed" layout. */
export function formatSummaryTable(runs: readonly { shape: StepShape; engines: readonly EngineResult[] }[]): string {
	const head = '| model | layers | engine | dispatches / step | fwd / bwd / clip / opt | submits | ms / step (median) | × stock dispatches | × stock ms (paired) |';
	const rule = '|---|---|---|---|---|---|---|---|---|';
	const name: Record<EngineName, string> = { fast: 'Whetstone fast path', compiled: 'Whetstone fast path, compiled step', reference: 'Whetstone reference path', stock: 'stock tfjs GPT + Adam' };
	const rows = runs.flatMap(({ shape, engines }) =>
		engines.map((r) => {
			const s = r.split;
			const model = shape.model === 'scratch' ? 'from scratch' : `${shape.model}${shape.lora ? ' LoRA' : ''}`;
			return (
				`| ${model} | ${shape.layers} | ${name[r.engine]} | ${num(r.dispatchesPerStep)} | ${num(s.forward)} / ${num(s.backward)} / ${num(s.clip)} / ${num(s.optimizer)} | ${num(r.submitsPerStep)} | ` +
				`${fmt(r.msPerStep.median)} | ${r.ratioToStock ? fmt(r.ratioToStock.dispatches, 2) : '–'} | ${r.ratioToStock ? fmt(r.ratioToStock.pairedMs, 2) : '–'} |`
			);
		})
	);
	return [head, rule, ...rows].join('\n');
}

// ---- the models at the requested shape ----

/** config.json of a Hugging Face architecture at the bench shape (no dropout unless asked, as the stock GPT). */
export function hfConfigFor(shape: Pick<StepShape, 'model' | 'layers' | 'width' | 'heads' | 'vocab' | 'seq' | 'dropout'>): Record<string, unknown> {
	const positions = Math.max(shape.seq, 64);
	const p = shape.dropout ?? 0;
	if (shape.model === 'gpt2')
		return { model_type: 'gpt2', vocab_size: shape.vocab, n_positions: positions, n_embd: shape.width, n_layer: shape.layers, n_head: shape.heads, resid_pdrop: p, embd_pdrop: p, attn_pdrop: p };
	if (shape.model === 'llama')
		return {
			model_type: 'llama',
			vocab_size: shape.vocab,
			hidden_size: shape.width,
			intermediate_size: 4 * shape.width,
			num_hidden_layers: shape.layers,
			num_attention_heads: shape.heads,
			num_key_value_heads: shape.heads,
			max_position_embeddings: positions,
			rms_norm_eps: 1e-5,
			rope_theta: 10000,
			tie_word_embeddings: true,
			attention_dropout: p,
			bos_token_id: 1,
			eos_token_id: 2
		};
	if (shape.model === 'bert')
		return {
			model_type: 'bert',
			vocab_size: shape.vocab,
			hidden_size: shape.width,
			intermediate_size: 4 * shape.width,
			num_hidden_layers: shape.layers,
			num_attention_heads: shape.heads,
			max_position_embeddings: positions,
			type_vocab_size: 2,
			hidden_act: 'gelu',
			hidden_dropout_prob: p,
			attention_probs_dropout_prob: p,
			pad_token_id: 0
		};
	throw new Error(`No Hugging Face config for model '${shape.model}'.`);
}

/** GPT-2 small's config.json (124M parameters). */
export const GPT2_SMALL: Record<string, unknown> = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };

const LR = 1e-3;

interface Trainer {
	engine: EngineName;
	/** Milliseconds each step's call took to return (encoding it; the GPU runs on), when measured. */
	encode?: number[];
	compiled?: () => CompiledSummary | null;
	label: string;
	params: number;
	trainableParams: number;
	/** One whole step, its loss read back. */
	step(i: number): Promise<number>;
	dispose(): void;
}

function scratchConfig(s: StepShape): RunConfig {
	const cfg = defaultRunConfig(2);
	cfg.model = { ...cfg.model, vocabSize: s.vocab, contextLength: s.seq, nLayer: s.layers, nHead: s.heads, dModel: s.width, dropout: s.dropout ?? 0 };
	cfg.train = { ...cfg.train, batchSize: s.batch };
	return cfg;
}

/** The bench's sequence classifier (bert) has two labels. */
const BENCH_LABELS = ['0', '1'];

function objectiveFor(hfConfig: Record<string, unknown>): 'classification' | 'causal-lm' {
	return hfConfig.model_type === 'bert' ? 'classification' : 'causal-lm';
}

function pretrainedConfig(hfConfig: Record<string, unknown>, s: Pick<StepShape, 'seq' | 'batch' | 'dropout'>, lora: boolean): RunConfig {
	const cfg = defaultRunConfig(2);
	const modelType = String(hfConfig.model_type);
	cfg.train = { ...cfg.train, batchSize: s.batch, weightDecay: 0.01 };
	cfg.pretrained = {
		repo: 'bench',
		revision: 'bench',
		modelType,
		hfConfig,
		objective: objectiveFor(hfConfig),
		contextLength: s.seq,
		numClasses: BENCH_LABELS.length,
		method: lora ? { ...defaultLora(modelType), dropout: s.dropout ?? 0 } : { kind: 'full' }
	};
	return cfg;
}

/** Random full-length rows of token ids (1 ≤ id < vocab) for a language-modelling batch. */
function lmRows(rows: number, len: number, vocab: number, seed: number): LmTokenRows {
	const rng = new Prng(seed);
	return {
		ids: Int32Array.from({ length: rows * len }, () => 1 + rng.int(vocab - 1)),
		offsets: Int32Array.from({ length: rows + 1 }, (_, i) => i * len),
		labels: new Int32Array(rows)
	};
}

async function sessionTrainer(engine: 'fast' | 'compiled' | 'reference', s: StepShape): Promise<Trainer> {
	const fast = engine !== 'reference';
	const encode: number[] = [];
	const rows = [...Array(s.batch).keys()];
	const what =
		s.model === 'scratch' ? 'from-scratch classifier' : s.model === 'bert' ? `BERT classifier${s.lora ? ', LoRA' : ''}` : `${s.model === 'gpt2' ? 'GPT-2' : 'Llama'} causal LM${s.lora ? ', LoRA' : ''}`;
	const label = `Whetstone ${engine === 'compiled' ? 'fast path, compiled step' : fast ? 'fast path' : 'reference path'} (${what}${s.dropout ? `, dropout ${s.dropout}` : ''})`;
	if (s.model === 'scratch') {
		const session = ClassifierSession.create(scratchConfig(s), { padId: 0 });
		const data = lmRows(s.batch, s.seq, s.vocab, 7);
		data.labels = Int32Array.from(rows, (i) => i % 2);
		const hb = session.batch(data, rows);
		let params = 0;
		for (const v of session.params.values()) params += v.size;
		session.setCompiledSteps(engine === 'compiled');
		return {
			engine,
			compiled: () => session.compiledSummary(),
			encode,
			label,
			params,
			trainableParams: params,
			step: async (i) => {
				setFastPath(fast);
				const t0 = performance.now();
				session.trainStep(hb, LR, i);
				encode.push(performance.now() - t0);
				return (await session.takeStats())?.loss ?? NaN;
			},
			dispose: () => session.dispose()
		};
	}
	const hfConfig = hfConfigFor(s);
	const objective = objectiveFor(hfConfig);
	const labels = objective === 'classification' ? BENCH_LABELS : [];
	const { spec, config } = resolveConfig(configForObjective(hfConfig, objective, labels));
	// A classifier's head is part of the random checkpoint, so nothing is left to initialise.
	const session = await PretrainedSession.fromPretrained(pretrainedConfig(hfConfig, s, s.lora), randomCheckpoint(spec.paramShapes(config)), { padId: 0 }, labels);
	const data = lmRows(s.batch, s.seq, s.vocab, 7);
	data.labels = Int32Array.from(rows, (i) => i % 2);
	const hb = session.batch(data, rows);
	session.setCompiledSteps(engine === 'compiled');
	return {
		engine,
		compiled: () => session.compiledSummary(),
		encode,
		label,
		params: session.totalParams,
		trainableParams: session.trainableParams,
		step: async (i) => {
			setFastPath(fast);
			const t0 = performance.now();
			session.trainStep(hb, LR, i);
			encode.push(performance.now() - t0);
			return (await session.takeStats())?.loss ?? NaN;
		},
		dispose: () => session.dispose()
	};
}

async function stockTrainer(s: StepShape): Promise<Trainer> {
	// Only a benchmark loads the yardstick: a separate chunk of the worker's bundle.
	const { StockGpt } = await import('../../../bench/stock-gpt');
	const gpt = new StockGpt(s, { seed: 7, learningRate: LR }, setStepPhase);
	const data = lmRows(s.batch, s.seq + 1, s.vocab, 7);
	const all = tf.tensor2d(data.ids, [s.batch, s.seq + 1], 'int32');
	const ids = all.slice([0, 0], [s.batch, s.seq]) as tf.Tensor2D; // (B, T)
	const targets = all.slice([0, 1], [s.batch, s.seq]) as tf.Tensor2D; // (B, T): the next tokens
	all.dispose();
	return {
		engine: 'stock',
		label: 'stock tfjs GPT + tf.train.adam',
		params: gpt.numParams,
		trainableParams: gpt.numParams,
		step: async () => {
			setFastPath(false); // the stock GPT has no fused kernels; nothing of ours should run
			const loss = gpt.step(ids, targets);
			try {
				return (await loss.data())[0];
			} finally {
				loss.dispose();
			}
		},
		dispose: () => {
			gpt.dispose();
			tf.dispose([ids, targets]);
		}
	};
}

export interface StepBenchReport {
	backend: string;
	adapter: string;
	isFallbackAdapter: boolean;
	shape: StepShape;
	steps: number;
	warmup: number;
	tokensPerStep: number;
	engines: EngineResult[];
	/** Tensors alive after the bench minus before (should be 0). */
	tensorsLeaked: number;
}

function backendLine(): Pick<StepBenchReport, 'backend' | 'adapter' | 'isFallbackAdapter'> {
	const info = backendInfo();
	return { backend: tf.getBackend(), adapter: info?.adapter ?? tf.getBackend(), isFallbackAdapter: Boolean(info?.isFallbackAdapter) };
}

/**
 * The three engines at one shape, interleaved: `warmup` steps each (compiling their pipelines),
 * then `steps` rounds of one counted, timed step each, in an order that rotates every round.
 */
export async function benchmarkSteps(shape: StepShape, steps: number, warmup: number): Promise<StepBenchReport> {
	const was = fastPathEnabled();
	const before = tf.memory().numTensors;
	const trainers: Trainer[] = [];
	const counter = new GpuCounter();
	try {
		trainers.push(await sessionTrainer('fast', shape), await sessionTrainer('compiled', shape), await sessionTrainer('reference', shape), await stockTrainer(shape));
		const first = new Map<Trainer, number>();
		for (const t of trainers) for (let i = 0; i < warmup; i++) {
			const loss = await t.step(i);
			if (i === 0) first.set(t, loss);
		}
		const counts = new Map<Trainer, GpuCounts[]>(trainers.map((t) => [t, []]));
		const ms = new Map<Trainer, number[]>(trainers.map((t) => [t, []]));
		const last = new Map<Trainer, number>();
		for (let round = 0; round < steps; round++) {
			for (let k = 0; k < trainers.length; k++) {
				const t = trainers[(round + k) % trainers.length];
				const start = performance.now();
				const { value, counts: c } = await counter.measure(() => t.step(warmup + round));
				ms.get(t)!.push(performance.now() - start);
				counts.get(t)!.push(c);
				last.set(t, value);
			}
		}
		const tokensPerStep = shape.batch * shape.seq;
		const engines = withRatios(
			trainers.map((t) =>
				summarizeEngine(
					{ engine: t.engine, label: t.label, params: t.params, trainableParams: t.trainableParams, lossFirst: first.get(t) ?? NaN, lossLast: last.get(t) ?? NaN, compiled: t.compiled?.(), encodeMs: t.encode?.length ? median(t.encode.slice(-steps)) : undefined },
					counts.get(t)!,
					ms.get(t)!,
					tokensPerStep
				)
			)
		);
		trainers.splice(0).forEach((t) => t.dispose());
		return { ...backendLine(), shape, steps, warmup, tokensPerStep, engines, tensorsLeaked: tf.memory().numTensors - before };
	} finally {
		counter.dispose();
		trainers.forEach((t) => t.dispose());
		setFastPath(was);
		setStepPhase('other');
	}
}

// ---- a GPT-2-small-sized step ----

export interface LargeStepReport {
	backend: string;
	adapter: string;
	params: number;
	trainableParams: number;
	method: 'lora' | 'full';
	batch: number;
	seq: number;
	/** The adapter's maxStorageBufferBindingSize, where it reports one. */
	limitBytes?: number;
	/** Why it did not run (a tensor over the binding limit, or the error it failed with); absent when it ran. */
	refused?: string;
	result?: EngineResult;
}

/** One GPT-2-small-sized step on the fast path: 1 warm-up step and `steps` measured. */
export async function benchmarkLargeStep(method: 'lora' | 'full', opts: { batch: number; seq: number; steps: number; bindLimitBytes?: number; compiled?: boolean }): Promise<LargeStepReport> {
	const { spec, config } = resolveConfig(configForObjective(GPT2_SMALL, 'causal-lm', []));
	let params = 0;
	for (const s of Object.values(spec.paramShapes(config))) params += s.reduce((a, b) => a + b, 1);
	const limitBytes = opts.bindLimitBytes || backendInfo()?.maxStorageBufferBindingSize;
	const { backend, adapter } = backendLine();
	const out: LargeStepReport = { backend, adapter, params, trainableParams: params, method, batch: opts.batch, seq: opts.seq, limitBytes };
	if (limitBytes) {
		// A vocabulary table over the limit is read (and, with full fine-tuning, trained) in parts.
		const report = checkModelBufferLimits(spec, config, { batchSize: opts.batch, seqLength: opts.seq }, limitBytes, { maxBufferBytes: bufferLimit() ?? undefined });
		if (report.message) return { ...out, refused: report.message };
	}
	const was = fastPathEnabled();
	let session: PretrainedSession | null = null;
	const counter = new GpuCounter();
	try {
		setFastPath(true);
		if (opts.bindLimitBytes) setBindingLimitForTest(opts.bindLimitBytes);
		session = await PretrainedSession.fromPretrained(pretrainedConfig(GPT2_SMALL, opts, method === 'lora'), randomCheckpoint(spec.paramShapes(config)), { padId: 0 }, []);
		const rows = [...Array(opts.batch).keys()];
		const hb = session.batch(lmRows(opts.batch, opts.seq, config.vocabSize, 7), rows);
		const s = session;
		s.setCompiledSteps(!!opts.compiled);
		const encode: number[] = [];
		const step = async (i: number) => {
			const t0 = performance.now();
			s.trainStep(hb, LR, i);
			encode.push(performance.now() - t0);
			return (await s.takeStats())?.loss ?? NaN;
		};
		const lossFirst = await step(0);
		// Compiled: the two traced steps are warm-up too, so every measured step is a replay.
		const traced = opts.compiled ? 2 : 0;
		for (let i = 0; i < traced; i++) await step(1 + i);
		encode.length = 0;
		const counts: GpuCounts[] = [];
		const ms: number[] = [];
		let lossLast = NaN;
		for (let i = 0; i < opts.steps; i++) {
			const start = performance.now();
			const { value, counts: c } = await counter.measure(() => step(1 + traced + i));
			ms.push(performance.now() - start);
			counts.push(c);
			lossLast = value;
		}
		const label = `Whetstone fast path${opts.compiled ? ', compiled step' : ''} (GPT-2 small, ${method === 'lora' ? 'LoRA' : 'full fine-tuning'})`;
		const result = summarizeEngine(
			{ engine: opts.compiled ? 'compiled' : 'fast', label, params: session.totalParams, trainableParams: session.trainableParams, lossFirst, lossLast, encodeMs: median(encode), compiled: session.compiledSummary() },
			counts,
			ms,
			opts.batch * opts.seq
		);
		return { ...out, params: session.totalParams, trainableParams: session.trainableParams, result };
	} catch (e) {
		return { ...out, refused: `It failed: ${(e as Error).message}` };
	} finally {
		counter.dispose();
		session?.dispose();
		setBindingLimitForTest(null);
		setFastPath(was);
		setStepPhase('other');
	}
}

// ---- generation ----

export interface GenerationFigure {
	kvCache: boolean;
	tokens: number;
	ms: number;
	tokensPerSec: number;
	dispatchesPerToken: number;
	submitsPerToken: number;
}

export interface GenerationReport {
	backend: string;
	model: string;
	promptTokens: number;
	figures: GenerationFigure[];
}

/** Greedy generation, batch 1, from an 8-token prompt, at the bench shape (gpt2 for the scratch model and bert, which do not generate). */
export async function benchmarkGeneration(shape: Pick<StepShape, 'model' | 'layers' | 'width' | 'heads' | 'vocab' | 'seq'>, newTokens: number): Promise<GenerationReport> {
	const model = shape.model === 'scratch' || shape.model === 'bert' ? 'gpt2' : shape.model;
	const hfConfig = hfConfigFor({ ...shape, model, seq: Math.max(shape.seq, 8 + newTokens) });
	const { spec, config } = resolveConfig(configForObjective(hfConfig, 'causal-lm', []));
	const { params } = paramsFromCheckpoint(spec, config, randomCheckpoint(spec.paramShapes(config)));
	const prompt = Array.from({ length: 8 }, (_, i) => 1 + ((i * 37) % (shape.vocab - 1)));
	const counter = new GpuCounter();
	const figures: GenerationFigure[] = [];
	try {
		for (const kvCache of [true, false]) {
			const options: Partial<GenerateOptions> = { maxNewTokens: newTokens, doSample: false, eosTokenIds: [], kvCache };
			await generateStream(spec, params, config, prompt, options); // warm-up: compiles this mode's pipelines
			const start = performance.now();
			const { value: ids, counts } = await counter.measure(() => generateStream(spec, params, config, prompt, options));
			const ms = performance.now() - start;
			const n = Math.max(1, ids.length);
			figures.push({ kvCache, tokens: ids.length, ms, tokensPerSec: (ids.length * 1000) / ms, dispatchesPerToken: totalDispatches(counts) / n, submitsPerToken: counts.submits / n });
		}
	} finally {
		counter.dispose();
		tf.dispose(Object.values(params));
	}
	return { backend: tf.getBackend(), model: `${model} ${shape.layers} layers × ${shape.width}, vocabulary ${shape.vocab} (random weights)`, promptTokens: prompt.length, figures };
}

// ---- where a step's GPU time goes ----

/** One kernel's share of a profiled step: how many dispatches it made and their GPU time. */
export interface KernelTime {
	kernel: string;
	calls: number;
	ms: number;
}

export interface ProfileReport {
	backend: string;
	adapter: string;
	isFallbackAdapter: boolean;
	shape: StepShape;
	/** False when the device has no `timestamp-query`: every time is then 0. */
	timestamps: boolean;
	engines: { engine: EngineName; label: string; gpuMs: number; dispatches: number; kernels: KernelTime[] }[];
}

interface TimedBackend {
	supportTimestampQuery: boolean;
	activeTimers: { name: string; query: Promise<number> }[] | null;
	programTimersStack: unknown[] | null;
	runWebGPUProgram: (program: { shaderKey?: string; constructor: { name: string } }, ...rest: unknown[]) => unknown;
}

/**
 * The kernel a dispatch belongs to: a tfjs program by its class, ours (object literals) by the
 * shader key up to its first shape-dependent part.
 */
export function kernelName(program: { shaderKey?: string; constructor: { name: string } }): string {
	const cls = program.constructor.name;
	// A class name the bundler kept; else (ours, or a minified tfjs class) the shader key's head.
	if (cls !== 'Object' && cls.length > 3) return cls;
	const key = program.shaderKey ?? cls;
	return cls === 'Object' ? key.split(/[_:]\d/)[0] : key.split(/[_\[]/)[0];
}

/** Dispatch times summed by kernel, largest first. */
export function byKernel(dispatches: readonly { kernel: string; ms: number }[]): KernelTime[] {
	const m = new Map<string, KernelTime>();
	for (const d of dispatches) {
		const k = m.get(d.kernel) ?? { kernel: d.kernel, calls: 0, ms: 0 };
		k.calls++;
		k.ms += d.ms;
		m.set(d.kernel, k);
	}
	return [...m.values()].sort((a, b) => b.ms - a.ms);
}

/**
 * One step of the fast path and of the stock GPT, after `warmup` steps each, with every dispatch
 * timed by the GPU (tfjs's timer: each program in its own pass with timestamp writes): where the
 * time goes, by kernel. Timing ends every pass, so the step's wall time here means nothing.
 */
export async function profileStep(shape: StepShape, warmup: number): Promise<ProfileReport> {
	const was = fastPathEnabled();
	const backend = tf.backend() as unknown as TimedBackend;
	if (typeof backend.runWebGPUProgram !== 'function') throw new Error('The profile times WebGPU dispatches: run it on the WebGPU backend.');
	const trainers: Trainer[] = [];
	const run = backend.runWebGPUProgram;
	try {
		trainers.push(await sessionTrainer('fast', shape), await stockTrainer(shape));
		for (const t of trainers) for (let i = 0; i < warmup; i++) await t.step(i);
		const engines: ProfileReport['engines'] = [];
		for (const t of trainers) {
			const timers: { name: string; query: Promise<number> }[] = [];
			const names: string[] = [];
			backend.runWebGPUProgram = function (this: TimedBackend, program, ...rest) {
				const n = timers.length;
				const out = run.call(this, program, ...rest);
				if (timers.length > n) names.push(kernelName(program));
				return out;
			};
			backend.programTimersStack = timers;
			backend.activeTimers = timers;
			try {
				await t.step(warmup);
			} finally {
				backend.activeTimers = null;
				backend.programTimersStack = null;
				backend.runWebGPUProgram = run;
			}
			const ms = await Promise.all(timers.map((x) => x.query));
			const kernels = byKernel(ms.map((m, i) => ({ kernel: names[i] ?? timers[i].name, ms: m })));
			engines.push({ engine: t.engine, label: t.label, gpuMs: ms.reduce((a, b) => a + b, 0), dispatches: ms.length, kernels });
		}
		return { ...backendLine(), shape, timestamps: backend.supportTimestampQuery, engines };
	} finally {
		backend.runWebGPUProgram = run;
		trainers.forEach((t) => t.dispose());
		setFastPath(was);
		setStepPhase('other');
	}
}

// ---- the one entry point the worker exposes ----

export type StepBenchRequest =
	| { part: 'steps'; shape: StepShape; steps: number; warmup: number }
	| { part: 'large'; method: 'lora' | 'full'; batch: number; seq: number; steps: number; bindLimitBytes?: number; compiled?: boolean }
	| { part: 'generate'; shape: StepShape; newTokens: number }
	| { part: 'profile'; shape: StepShape; warmup: number };

export type StepBenchResult =
	| { part: 'steps'; report: StepBenchReport }
	| { part: 'large'; report: LargeStepReport }
	| { part: 'generate'; report: GenerationReport }
	| { part: 'profile'; report: ProfileReport };

export async function runStepBench(req: StepBenchRequest): Promise<StepBenchResult> {
	if (req.part === 'steps') return { part: 'steps', report: await benchmarkSteps(req.shape, req.steps, req.warmup) };
	if (req.part === 'profile') return { part: 'profile', report: await profileStep(req.shape, req.warmup) };
	if (req.part === 'large') return { part: 'large', report: await benchmarkLargeStep(req.method, req) };
	return { part: 'generate', report: await benchmarkGeneration(req.shape, req.newTokens) };
}
