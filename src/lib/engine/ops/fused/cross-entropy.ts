/**
 * Softmax cross-entropy on WebGPU, fused (llm.c's `fused_classifier`): the forward reads each row
 * of logits once for its max, log-sum-exp and target term, the backward reads it once more and
 * writes dlogits = (softmax - target distribution) · dy / count without storing the probabilities
 * in between. Reference: `crossEntropy` in ../loss.ts (the composite, and the path on WebGL and
 * the CPU), whose semantics this follows exactly: a negative label ignores its row, label
 * smoothing mixes the uniform distribution in, the mean is over counted rows (at least one).
 *
 * Dispatches: forward 2 (per-row loss and log-sum-exp; the mean), backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { rowProgram, runProgram } from './program';

export const CROSS_ENTROPY_DISPATCHES = { forward: 2, backward: 1 };

/** Per row: [loss × counted, log-sum-exp] as an (N, 2) tensor. */
const rowsBody = `
	let N = uniforms.logitsShape[0];
	let C = uniforms.logitsShape[1];
	let ok = row < N;
	let n = select(0, C, ok);
	let base = row * C;
	var m = -3.402823e+38;
	for (var c = tid; c < n; c += WG) { m = max(m, logits[base + c]); }
	m = wgMax(m, tid);
	var s = 0.0;
	var sx = 0.0;
	for (var c = tid; c < n; c += WG) {
		let v = logits[base + c];
		s += exp(v - m);
		sx += v;
	}
	s = wgSum(s, tid);
	sx = wgSum(sx, tid);
	if (ok && tid == 0) {
		let lse = m + log(s);
		let label = labels[row];
		let tgt = max(label, 0);
		var nll = 0.0;
		if (tgt < C) { nll = lse - logits[base + tgt]; }
		let eps = uniforms.smoothing;
		if (eps > 0.0) { nll = nll * (1.0 - eps) + eps * (lse - sx / f32(C)); }
		result[row * 2] = select(0.0, nll, label >= 0);
		result[row * 2 + 1] = lse;
	}`;

/** The mean over counted rows, one workgroup. */
const meanBody = `
	let N = uniforms.labelsShape;
	var s = 0.0;
	var count = 0.0;
	for (var i = tid; i < N; i += WG) {
		s += rows[i * 2];
		count += select(0.0, 1.0, labels[i] >= 0);
	}
	s = wgSum(s, tid);
	count = wgSum(count, tid);
	if (row == 0 && tid == 0) { result[0] = s / max(count, 1.0); }`;

/** dlogits; each workgroup recounts the labels (N reads shared by WG threads) instead of a dispatch. */
const backwardBody = `
	let N = uniforms.logitsShape[0];
	let C = uniforms.logitsShape[1];
	var count = 0.0;
	for (var i = tid; i < N; i += WG) { count += select(0.0, 1.0, labels[i] >= 0); }
	count = wgSum(count, tid);
	let ok = row < N;
	let n = select(0, C, ok);
	let r = min(row, N - 1);
	let label = labels[r];
	let scale = select(0.0, dy[0] / max(count, 1.0), label >= 0);
	let lse = rows[r * 2 + 1];
	let eps = uniforms.smoothing;
	let spread = eps / f32(C);
	let base = row * C;
	for (var c = tid; c < n; c += WG) {
		let p = exp(logits[base + c] - lse);
		var t = spread;
		if (c == label) { t = t + 1.0 - eps; }
		result[base + c] = scale * (p - t);
	}`;

/** logits (N, C) float32, labels (N) int32; the mean loss as a scalar, differentiable in logits. */
export function fusedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing: number): tf.Scalar {
	const [n, c] = logits.shape;
	const smoothing = [{ type: 'float32' as const, data: [labelSmoothing] }];
	const op = tf.customGrad((...args: unknown[]) => {
		const x = args[0] as tf.Tensor2D;
		const save = args[1] as tf.GradSaveFunc;
		const rows = runProgram(rowProgram('whetstoneCrossEntropyRows', ['logits', 'labels'], [n, 2], n, c, rowsBody, 'smoothing : f32,'), [x, labels], smoothing);
		const mean = runProgram(rowProgram('whetstoneCrossEntropyMean', ['rows', 'labels'], [1], 1, n, meanBody), [rows, labels]);
		// The labels are saved like the logits: a caller's labels made inside the differentiated
		// function are disposed when its forward ends, before the backward runs.
		save([x, rows, labels]);
		return {
			value: mean.reshape([]),
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
				const [xs, rs, ls] = saved;
				return [runProgram(rowProgram('whetstoneCrossEntropyGrad', ['logits', 'rows', 'labels', 'dy'], [n, c], n, c, backwardBody, 'smoothing : f32,'), [xs, rs, ls, dy.reshape([1])], smoothing)];
			}
		};
	});
	return op(logits) as tf.Scalar;
}
