/**
 * The studio's own logits for a few token rows, written into a transformers.js export as
 * `reference_logits.json` (src/lib/export/onnx): whoever runs the ONNX graph elsewhere can check
 * that their runtime gives what the studio computed. Rows are right-padded with the pad id and a
 * zero mask, as the studio's batches are.
 */
import * as tf from '@tensorflow/tfjs';
import type { ReferenceLogits } from '../../export/onnx';

export type LogitsFn = (batch: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }) => tf.Tensor;

export async function referenceLogits(forward: LogitsFn, rows: number[][], padId = 0): Promise<ReferenceLogits> {
	const t = Math.max(...rows.map((r) => r.length));
	const input_ids = rows.map((r) => [...r, ...Array<number>(t - r.length).fill(padId)]);
	const attention_mask = rows.map((r) => Array.from({ length: t }, (_, j) => (j < r.length ? 1 : 0)));
	const logits = tf.tidy(() => forward({ inputIds: tf.tensor2d(input_ids, undefined, 'int32'), attentionMask: tf.tensor2d(attention_mask, undefined, 'float32') }));
	try {
		return { input_ids, attention_mask, logits: (await logits.array()) as number[][] | number[][][] };
	} finally {
		logits.dispose();
	}
}
