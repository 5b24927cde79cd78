/**
 * Tables larger than one shader may bind. WebGPU binds each tensor as one storage buffer, and a
 * binding may not exceed the adapter's `maxStorageBufferBindingSize` (128 MiB on some adapters:
 * GPT-2's 50257 × 768 embedding is 147 MiB). A buffer may be larger than that (up to
 * `maxBufferSize`) and buffer copies do not bind it, so on the fast path such a table is read in
 * parts of whole rows, each cut out by one copy (fused/pack.ts), and used part by part: the
 * embedding gathers from each part and sums (an id outside a part reads zeros there), a linear map
 * with the table as its (out, in) weight (a tied LM head) multiplies by each part and joins the
 * outputs. The parts are not trained: a trained tensor over the limit is refused before training
 * (models/limits.ts), as its gradient and optimizer state could not be bound either.
 */
import * as tf from '@tensorflow/tfjs';
import { useFastPath } from '../fast-path';
import { fusedRowsOf } from './fused/pack';

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

/** Whether `t` (float32) is too large to bind and the fast path should read it in parts. */
export function overBindingLimit(t: tf.Tensor): boolean {
	if (!useFastPath() || t.dtype !== 'float32' || t.rank !== 2) return false;
	const limit = bindingLimit();
	return limit !== null && t.size * 4 > limit;
}

export interface RowPart {
	from: number;
	rows: tf.Tensor2D;
}

/** `t` (R, C) as parts of whole rows, each within the binding limit. */
export function rowParts(t: tf.Tensor2D): RowPart[] {
	const [r, c] = t.shape;
	const per = Math.max(1, Math.floor((bindingLimit() ?? Infinity) / (4 * c)));
	const parts: RowPart[] = [];
	for (let from = 0; from < r; from += per) parts.push({ from, rows: fusedRowsOf(t, from, Math.min(per, r - from)) as tf.Tensor2D });
	return parts;
}
