/**
 * Parity with transformers: run a model on the inputs of a reference folder (written by the
 * PyTorch modeling code; tests/fixtures/hf-tiny/README.md says how) and compare logits, loss,
 * gradient norms, greedy generation and half-precision rounding. The vitest suites and
 * `scripts/check-parity.ts` both call `runParity`, so the tests exercise exactly what the script
 * reports (micrograd's habit: the same computation in a trusted framework, numbers compared).
 */
import * as tf from '@tensorflow/tfjs';
import { roundToBfloat16, roundToHalf } from '../io/float16';
import type { SafetensorsTensor } from '../io/safetensors';
import { generate } from './heads';
import { paramsFromCheckpoint } from './load';
import { resolveConfig } from './registry';
import type { ArchSpec, Batch, HfConfigBase, Params, Task } from './spec';

/** reference.json as the fixture generator writes it. */
export interface ParityReference {
	input_ids: number[][];
	attention_mask?: number[][];
	token_type_ids?: number[][];
	/** (B, T) with -100 ignored for causal LMs; (B) class ids for sequence classification. */
	labels: number[][] | number[];
	/** (B, T, V) or (B, numLabels). */
	logits: unknown[];
	loss: number;
	grad_norm: number;
	param_grad_norms: Record<string, number>;
	generation?: {
		prompt_ids: number[];
		max_new_tokens: number;
		eos_token_id?: number | number[] | null;
		output_ids: number[];
		new_ids?: number[];
		/** Smallest top-1/top-2 logit margin over the greedy steps: how robust the argmax is. */
		min_top1_top2_gap?: number;
	};
}

export interface ParityInput {
	config: Record<string, unknown>;
	/** The float32 checkpoint (model.safetensors, or merged shards). */
	tensors: Map<string, SafetensorsTensor>;
	reference: ParityReference;
	/** The same weights stored as float16 / bfloat16, when the folder has them. */
	f16?: Map<string, SafetensorsTensor>;
	bf16?: Map<string, SafetensorsTensor>;
}

/**
 * Float32 on a different summation order than torch's gives differences of order 1e-7 on these
 * quantities. Logits are compared absolutely (they are O(1)); the scalar loss and gradient norms
 * relatively.
 */
export const PARITY_TOLERANCES = {
	logits: 1e-5,
	loss: 1e-5,
	gradNorm: 1e-4,
	paramGradNorm: 1e-4,
	/**
	 * A parameter whose true gradient is exactly zero (BERT's key bias: adding a constant to every
	 * key logit of a query leaves its softmax unchanged) has a reference norm that is pure
	 * round-off, ~1e-13. Below this fraction of the global norm a gradient counts as zero, and
	 * ours must be below it too.
	 */
	zeroGradFraction: 1e-7
};

export interface ParityCheck {
	name: string;
	/** What `value` measures, e.g. 'max|diff|'. */
	measure: string;
	value: number | string;
	tol?: number | string;
	pass: boolean;
	detail?: string;
}

export interface LoadedModel {
	spec: ArchSpec;
	config: HfConfigBase;
	params: Params;
}

/** Build the model a reference folder describes; every parameter must be in the checkpoint. */
export function loadModel(config: Record<string, unknown>, tensors: Map<string, SafetensorsTensor>): LoadedModel {
	const { spec, config: c } = resolveConfig(config);
	const { params, missing, unexpected } = paramsFromCheckpoint(spec, c, tensors);
	if (missing.length) {
		Object.values(params).forEach((t) => t.dispose());
		throw new Error(`Checkpoint lacks ${missing.length} parameter(s) of this ${spec.modelType} config, e.g. '${missing[0]}'.`);
	}
	if (unexpected.length) console.warn(`Ignoring ${unexpected.length} unused checkpoint tensor(s), e.g. '${unexpected[0]}'.`);
	return { spec, config: c, params };
}

/** The reference inputs as tensors for a model with this head (caller disposes). */
export function referenceBatch(ref: ParityReference, task: Task): { batch: Batch; labels: tf.Tensor } {
	const batch: Batch = { inputIds: tf.tensor2d(ref.input_ids, undefined, 'int32') };
	if (ref.attention_mask) batch.attentionMask = tf.tensor2d(ref.attention_mask, undefined, 'float32');
	if (ref.token_type_ids) batch.tokenTypeIds = tf.tensor2d(ref.token_type_ids, undefined, 'int32');
	// causal LM: (B, T) int32; classification: (B) int32 class ids, (B) float targets, or (B, C) multi-hot
	const flat = (ref.labels as unknown[]).flat() as number[];
	const dtype = task === 'causal-lm' || (!Array.isArray(ref.labels[0]) && flat.every(Number.isInteger)) ? 'int32' : 'float32';
	const labels = tf.tensor(ref.labels as number[][] | number[], undefined, dtype);
	return { batch, labels };
}

export function disposeBatch(batch: Batch, labels: tf.Tensor): void {
	tf.dispose([batch.inputIds, batch.attentionMask, batch.tokenTypeIds, batch.positionIds, labels].filter((t) => t !== undefined));
}

/** Loss and d(loss)/d(param) for every parameter; a tied weight's gradient sums both of its uses. */
export function lossAndGrads(m: LoadedModel, batch: Batch, labels: tf.Tensor): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
	const names = Object.keys(m.params);
	const f = (...xs: tf.Tensor[]) => {
		const p: Params = Object.fromEntries(names.map((n, i) => [n, xs[i]]));
		return m.spec.loss(m.spec.forward(p, m.config, batch), labels, m.config);
	};
	const { value, grads } = tf.valueAndGrads(f)(names.map((n) => m.params[n]));
	return { loss: value as tf.Scalar, grads: Object.fromEntries(names.map((n, i) => [n, grads[i]])) };
}

/** L2 norm accumulated in float64 from the float32 values. */
export function l2(values: ArrayLike<number>): number {
	let s = 0;
	for (let i = 0; i < values.length; i++) s += values[i] * values[i];
	return Math.sqrt(s);
}

const rel = (ours: number, ref: number) => Math.abs(ours - ref) / Math.max(Math.abs(ref), Number.MIN_VALUE);

export async function runParity(input: ParityInput, tol = PARITY_TOLERANCES): Promise<ParityCheck[]> {
	const checks: ParityCheck[] = [];
	const ref = input.reference;
	const m = loadModel(input.config, input.tensors);
	const { batch, labels } = referenceBatch(ref, m.config.task);
	try {
		// logits
		const logits = tf.tidy(() => m.spec.forward(m.params, m.config, batch));
		const ours = await logits.data();
		const expectedShape = shapeOf(ref.logits);
		logits.dispose();
		const want = (ref.logits as unknown[]).flat(3) as number[];
		if (want.length !== ours.length)
			checks.push({ name: 'logits', measure: 'shape', value: `[${logits.shape}]`, tol: `[${expectedShape}]`, pass: false });
		else {
			let worst = 0;
			for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(ours[i] - want[i]));
			checks.push({ name: 'logits', measure: 'max|diff|', value: worst, tol: tol.logits, pass: worst <= tol.logits });
		}

		// loss and gradients
		const { loss, grads } = lossAndGrads(m, batch, labels);
		const lossValue = (await loss.data())[0];
		loss.dispose();
		const lossRel = rel(lossValue, ref.loss);
		checks.push({ name: 'loss', measure: '|rel diff|', value: lossRel, tol: tol.loss, pass: lossRel <= tol.loss, detail: `${lossValue} vs ${ref.loss}` });

		const norms: Record<string, number> = {};
		for (const [name, g] of Object.entries(grads)) norms[name] = l2(await g.data());
		tf.dispose(Object.values(grads));
		const total = l2(Object.values(norms));
		const totalRel = rel(total, ref.grad_norm);
		checks.push({ name: 'grad_norm', measure: '|rel diff|', value: totalRel, tol: tol.gradNorm, pass: totalRel <= tol.gradNorm, detail: `${total.toPrecision(8)} vs ${ref.grad_norm}` });
		checks.push(compareParamNorms(norms, ref.param_grad_norms, ref.grad_norm, tol));

		// greedy generation
		const gen = ref.generation;
		if (gen && m.config.task === 'causal-lm') {
			const out = await generate(m.spec, m.params, m.config, gen.prompt_ids, {
				maxNewTokens: gen.max_new_tokens,
				eosTokenId: gen.eos_token_id ?? null
			});
			const same = out.length === gen.output_ids.length && out.every((t, i) => t === gen.output_ids[i]);
			const firstDiff = out.findIndex((t, i) => t !== gen.output_ids[i]);
			checks.push({
				name: 'generation',
				measure: 'tokens',
				value: same ? `${out.length}/${gen.output_ids.length} match` : `differ at ${firstDiff < 0 ? Math.min(out.length, gen.output_ids.length) : firstDiff}`,
				pass: same,
				detail: same ? undefined : `got [${out}] want [${gen.output_ids}]`
			});
		}
	} finally {
		disposeBatch(batch, labels);
		tf.dispose(Object.values(m.params));
	}

	if (input.f16) checks.push(compareRounded('f16 rounding', input.tensors, input.f16, roundToHalf));
	if (input.bf16) checks.push(compareRounded('bf16 rounding', input.tensors, input.bf16, roundToBfloat16));
	return checks;
}

function compareParamNorms(ours: Record<string, number>, want: Record<string, number>, globalNorm: number, tol = PARITY_TOLERANCES): ParityCheck {
	const missing = Object.keys(want).filter((n) => !(n in ours));
	const extra = Object.keys(ours).filter((n) => !(n in want));
	if (missing.length || extra.length)
		return {
			name: 'param grad norms',
			measure: 'names',
			value: `${missing.length} missing, ${extra.length} extra`,
			pass: false,
			detail: [...missing.map((n) => `missing ${n}`), ...extra.map((n) => `extra ${n}`)].slice(0, 4).join('; ')
		};
	const zero = tol.zeroGradFraction * globalNorm;
	let worst = 0;
	let worstName = '';
	let zeros = 0;
	const failed: string[] = [];
	for (const [name, r] of Object.entries(want)) {
		if (r < zero) {
			zeros++;
			if (ours[name] >= zero) failed.push(`${name}: ${ours[name].toExponential(2)} where the reference is ~0`);
			continue;
		}
		const d = rel(ours[name], r);
		if (d > worst) [worst, worstName] = [d, name];
		if (d > tol.paramGradNorm) failed.push(`${name}: rel ${d.toExponential(2)}`);
	}
	const count = Object.keys(want).length;
	return {
		name: 'param grad norms',
		measure: 'worst |rel diff|',
		value: worst,
		tol: tol.paramGradNorm,
		pass: failed.length === 0,
		detail: `${count - failed.length}/${count} params ok${zeros ? ` (${zeros} analytically zero)` : ''}${worstName ? `, worst ${worstName}` : ''}` + (failed.length ? `; failing: ${failed.slice(0, 4).join('; ')}` : '')
	};
}

/** Every half-precision tensor must equal the float32 tensor rounded to that type, bit for bit. */
function compareRounded(
	name: string,
	full: Map<string, SafetensorsTensor>,
	half: Map<string, SafetensorsTensor>,
	round: (x: Float32Array) => Float32Array
): ParityCheck {
	const bad: string[] = [];
	let values = 0;
	for (const [key, t] of full) {
		const h = half.get(key);
		if (!h || !(t.data instanceof Float32Array) || !(h.data instanceof Float32Array) || h.shape.join() !== t.shape.join()) {
			bad.push(`${key}: ${h ? 'dtype or shape differs' : 'missing'}`);
			continue;
		}
		const want = new Uint32Array(round(t.data).buffer);
		const got = new Uint32Array(h.data.buffer, h.data.byteOffset, h.data.length);
		const i = want.findIndex((w, j) => w !== got[j]);
		if (i >= 0) bad.push(`${key}[${i}]: ${h.data[i]} vs ${t.data[i]} rounded`);
		values += want.length;
	}
	for (const key of half.keys()) if (!full.has(key)) bad.push(`${key}: not in the float32 file`);
	return {
		name,
		measure: 'tensors equal',
		value: `${full.size - bad.length}/${full.size}`,
		pass: bad.length === 0,
		detail: bad.length ? bad.slice(0, 4).join('; ') : `${values} values bit-exact`
	};
}

function shapeOf(x: unknown): number[] {
	const shape: number[] = [];
	while (Array.isArray(x)) {
		shape.push(x.length);
		x = x[0];
	}
	return shape;
}

/** 3.1e-07, as Python prints it, so figures line up with the generator's logs. */
function fmt(v: number | string | undefined): string {
	if (typeof v !== 'number') return v ?? '';
	if (v === 0) return '0';
	const [mant, exp] = v.toExponential(1).split('e');
	return `${mant}e${exp[0] === '-' ? '-' : '+'}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** `logits  max|diff| 3.1e-07  tol 1e-05  PASS`, for the terminal. */
export function formatCheck(c: ParityCheck): string {
	const tolPart = c.tol === undefined ? '' : `  tol ${fmt(c.tol)}`;
	return `${c.name.padEnd(17)} ${c.measure} ${fmt(c.value)}${tolPart}  ${c.pass ? 'PASS' : 'FAIL'}${c.detail ? `  (${c.detail})` : ''}`;
}

export function summarize(checks: ParityCheck[]): string {
	const failed = checks.filter((c) => !c.pass).length;
	return `${checks.length - failed} passed, ${failed} failed`;
}
