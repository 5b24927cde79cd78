/**
 * Tables larger than one shader may bind. WebGPU binds each tensor as one storage buffer, and a
 * binding may not exceed the adapter's `maxStorageBufferBindingSize` (128 MiB on some adapters:
 * GPT-2's 50257 × 768 embedding is 147 MiB). A buffer may be larger than that (up to
 * `maxBufferSize`) and buffer copies do not bind it, so on the fast path such a table is read in
 * parts of whole rows, each cut out by one copy (fused/pack.ts), and used part by part: the
 * embedding gathers from each part and sums (an id outside a part reads zeros there), a linear map
 * with the table as its (out, in) weight (an LM head) multiplies by each part and joins the outputs.
 *
 * The parts are differentiable, so such a table trains: each part's gradient is computed at the
 * part's size (the embedding's scatter-add into the part's rows, the LM head's dW = dyᵀ·x for the
 * part's rows), and the table's gradient is those joined by copies into one full-size tensor that
 * no shader binds; the fused optimizer copies it into its arena chunks. A table is cut once per
 * forward (the cut is remembered while its parts live, for the same values and the same gradient
 * tape), so a tied embedding and LM head share the parts and their two gradients add part by part.
 * What cannot be read this way (a row over the limit, a table over maxBufferSize, the composites)
 * is refused before training by models/limits.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedConcatRows, fusedRowParts } from './fused/pack';

let limitOverride: number | null = null;

/** Tests: pretend the adapter binds at most `bytes` (null: the adapter's own limit). */
export function setBindingLimitForTest(bytes: number | null): void {
	limitOverride = bytes;
}

/** The largest binding this backend allows, in bytes; null off WebGPU. */
export function bindingLimit(): number | null {
	if (limitOverride !== null) return limitOverride;
	const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
	return device?.limits?.maxStorageBufferBindingSize ?? null;
}

/** The largest buffer this backend allocates, in bytes (a table read in parts is still one); null off WebGPU. */
export function bufferLimit(): number | null {
	const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
	return device?.limits?.maxBufferSize ?? null;
}

/** Whether `t` (float32) is too large to bind and the fast path should read it in parts. */
export function overBindingLimit(t: tf.Tensor): boolean {
	if (!useFastPath() || t.dtype !== 'float32' || t.rank !== 2) return false;
	const limit = bindingLimit();
	return limit !== null && t.size * 4 > limit;
}

export interface PartRange {
	from: number;
	rows: number;
}

/**
 * A (rows, cols) float32 table's parts of whole rows, each at most `limitBytes` (at least one row
 * each, even when one row is over: models/limits.ts refuses that case first), in order.
 */
export function partRanges(rows: number, cols: number, limitBytes: number): PartRange[] {
	const per = Math.max(1, Math.floor(limitBytes / (4 * Math.max(1, cols))));
	const out: PartRange[] = [];
	for (let from = 0; from < rows; from += per) out.push({ from, rows: Math.min(per, rows - from) });
	return out;
}

export interface RowPart {
	from: number;
	rows: tf.Tensor2D;
}

interface Cut {
	dataId: object;
	tape: unknown;
	taped: boolean;
	parts: RowPart[];
}

const cuts = new WeakMap<tf.Tensor, Cut>();
let cutCount = 0;

/** How many times a table has been cut into parts since the page loaded (for checks: did a split happen). */
export function tablesCut(): number {
	return cutCount;
}

/**
 * The gradient tape (tfjs-core's engine state) and whether it records here (not inside a custom
 * gradient's forward, as a checkpointed block's), so that a cut is reused only where it was made.
 */
function tapeState(): { tape: unknown; taped: boolean } {
	const engine = tf.engine() as unknown as { state: { activeTape: unknown }; isTapeOn(): boolean };
	return { tape: engine.state.activeTape, taped: engine.isTapeOn() };
}

/**
 * `t` (R, C) as parts of whole rows, each within the binding limit, differentiable in `t`. The same
 * parts come back for the same tensor while they live, its values are unchanged (a variable's
 * assign gives it new data) and the same tape records.
 */
export function rowParts(t: tf.Tensor2D): RowPart[] {
	const { tape, taped } = tapeState();
	const known = cuts.get(t);
	if (known && known.dataId === t.dataId && known.tape === tape && known.taped === taped && known.parts.every((p) => !p.rows.isDisposed)) return known.parts;
	const [r, c] = t.shape;
	const ranges = partRanges(r, c, bindingLimit() ?? Infinity);
	const tensors = fusedRowParts(t, ranges.map((p) => p.rows));
	const parts = ranges.map((p, i) => ({ from: p.from, rows: tensors[i] as tf.Tensor2D }));
	cuts.set(t, { dataId: t.dataId, tape, taped, parts });
	cutCount++;
	return parts;
}

/**
 * a + b (one shape), part by part and joined by copies when they are over the binding limit: the
 * gradients of a table summed over an accumulated step's micro-batches (train/step.ts).
 */
export function addInParts(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
	if (!overBindingLimit(a)) return a.add(b);
	const pb = rowParts(b as tf.Tensor2D);
	return fusedConcatRows(rowParts(a as tf.Tensor2D).map((p, i) => p.rows.add(pb[i].rows)));
}

/** Σ (a − b)², or Σ a² without b, as a scalar: part by part over the binding limit (a step's recorded norms, train/step.ts). */
export function sumOfSquares(a: tf.Tensor, b?: tf.Tensor): tf.Scalar {
	const whole = (x: tf.Tensor, y?: tf.Tensor) => (y ? x.sub(y) : x).square().sum() as tf.Scalar;
	if (!overBindingLimit(a)) return whole(a, b);
	const pb = b ? rowParts(b as tf.Tensor2D) : null;
	return tf.addN(rowParts(a as tf.Tensor2D).map((p, i) => whole(p.rows, pb?.[i].rows)));
}

/**
 * Zeros shaped like `t`: over the binding limit, zero parts joined by copies, as one fill dispatch
 * would bind the whole tensor (an optimizer's moments for a table read in parts).
 */
export function zerosLikeInParts(t: tf.Tensor): tf.Tensor {
	if (!overBindingLimit(t)) return tf.zerosLike(t);
	const [r, c] = t.shape;
	return fusedConcatRows(partRanges(r, c, bindingLimit()!).map((p) => tf.zeros([p.rows, c])));
}
