/**
 * Softmax cross-entropy on WebGPU, fused (llm.c's `fused_classifier`): the forward reads each row
 * of logits once for its max, log-sum-exp and target term, the backward reads it once more and
 * writes dlogits = (softmax - target distribution) · dy / count without storing the probabilities
 * in between. Reference: `crossEntropy` in ../loss.ts (the composite, and the path on WebGL and
 * the CPU), whose semantics this follows exactly: a negative label ignores its row, label
 * smoothing mixes the uniform distribution in, the mean is over counted rows (at least one).
 *
 * With `shift` = T (the causal-LM loss of `heads.ts`), logits (B·T, C) are scored against the
 * next position's label: row b·T + t reads label b·T + t + 1, and each sequence's last row is
 * ignored, so neither the logits nor the labels are sliced (no slice forward, no pad backward).
 *
 * The forward also finds each row's first largest logit (torch's and tfjs's argmax, first on ties)
 * and, when asked (`correct`), the mean kernel writes how many counted rows it names the label of:
 * a causal LM's next-token accuracy at no dispatch of its own, where the composite slices the
 * logits and labels, takes the argmax, compares, masks and sums (eight dispatches a step).
 *
 * Dispatches: forward 2 (per-row loss, log-sum-exp and hit; the mean), backward 1.
 */
import * as tf from '@tensorflow/tfjs';
import { rowProgram, runIntoWritable, runProgram } from './program';

export const CROSS_ENTROPY_DISPATCHES = { forward: 2, backward: 1 };

/** Row r's label: its own, or with a shift of T the next position's (-1, ignored, past a sequence's end). */
const labelAt = `
	fn labelAt(r : i32) -> i32 {
		let t = uniforms.shift;
		if (t <= 0) { return labels[r]; }
		if (r % t == t - 1) { return -1; }
		return labels[r + 1];
	}`;

/** Per row: [loss × counted, log-sum-exp, 1 if the first largest logit is the (counted) label] as an (N, 3) tensor. */
const rowsBody = `
	let N = uniforms.logitsShape[0];
	let C = uniforms.logitsShape[1];
	let ok = row < N;
	let n = select(0, C, ok);
	let base = row * C;
	var mine = -3.402823e+38;
	var at = 0;
	for (var c = tid; c < n; c += WG) {
		let v = logits[base + c];
		if (v > mine) { mine = v; at = c; }
	}
	let m = wgMax(mine, tid);
	// The first column holding the maximum: the largest of the negated first indices of the threads that hold it.
	let first = -wgMax(select(-3.402823e+38, -f32(at), mine == m && n > 0), tid);
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
		let label = labelAt(row);
		let tgt = max(label, 0);
		var nll = 0.0;
		if (tgt < C) { nll = lse - logits[base + tgt]; }
		let eps = uniforms.smoothing;
		if (eps > 0.0) { nll = nll * (1.0 - eps) + eps * (lse - sx / f32(C)); }
		result[row * 3] = select(0.0, nll, label >= 0);
		result[row * 3 + 1] = lse;
		result[row * 3 + 2] = select(0.0, 1.0, label >= 0 && i32(first) == label);
	}`;

/** The mean over counted rows, one workgroup; with `hits`, the rows whose argmax is their label into `correct`. */
const meanBody = (hits: boolean) => `
	let N = uniforms.rowsShape[0];
	var s = 0.0;
	var count = 0.0;
	var right = 0.0;
	for (var i = tid; i < N; i += WG) {
		s += rows[i * 3];
		count += select(0.0, 1.0, labelAt(i) >= 0);
		right += rows[i * 3 + 2];
	}
	s = wgSum(s, tid);
	count = wgSum(count, tid);
	right = wgSum(right, tid);
	if (row == 0 && tid == 0) {
		result[0] = s / max(count, 1.0);
		${hits ? 'correct[0] = right;' : ''}
	}`;

/** dlogits; each workgroup recounts the labels (N reads shared by WG threads) instead of a dispatch. */
const backwardBody = `
	let N = uniforms.logitsShape[0];
	let C = uniforms.logitsShape[1];
	var count = 0.0;
	for (var i = tid; i < N; i += WG) { count += select(0.0, 1.0, labelAt(i) >= 0); }
	count = wgSum(count, tid);
	let ok = row < N;
	let n = select(0, C, ok);
	let r = min(row, N - 1);
	let label = labelAt(r);
	let scale = select(0.0, dy[0] / max(count, 1.0), label >= 0);
	let lse = rows[r * 3 + 1];
	let eps = uniforms.smoothing;
	let spread = eps / f32(C);
	let base = row * C;
	for (var c = tid; c < n; c += WG) {
		let p = exp(logits[base + c] - lse);
		var t = spread;
		if (c == label) { t = t + 1.0 - eps; }
		result[base + c] = scale * (p - t);
	}`;

/** A row program with `labelAt` and the smoothing and shift uniforms. */
function program(key: string, names: string[], shape: number[], rows: number, width: number, body: string) {
	const p = rowProgram(key, names, shape, rows, width, body, 'smoothing : f32, shift : i32,');
	const user = p.getUserCode;
	p.getUserCode = () => labelAt + user();
	return p;
}

/**
 * logits (N, C) float32, labels (N) int32; the mean loss as a scalar, differentiable in logits.
 * `shift` T > 0: each row is scored against the next row's label, the last of every T ignored.
 * `correct` (a float32 tensor of one element, from `emptyTensor`): given, the forward writes into
 * it how many counted rows have their label as their first largest logit.
 */
export function fusedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing: number, shift = 0, correct?: tf.Tensor): tf.Scalar {
	const [n, c] = logits.shape;
	const smoothing = [{ type: 'float32' as const, data: [labelSmoothing] }, { type: 'int32' as const, data: [shift] }];
	const op = tf.customGrad((...args: unknown[]) => {
		const x = args[0] as tf.Tensor2D;
		const save = args[1] as tf.GradSaveFunc;
		const rows = runProgram(program('whetstoneCrossEntropyRows', ['logits', 'labels'], [n, 3], n, c, rowsBody), [x, labels], smoothing);
		const mean = correct
			? runIntoWritable(program('whetstoneCrossEntropyMeanHits', ['rows', 'labels', 'correct'], [1], 1, n, meanBody(true)), [rows, labels], [{ name: 'correct', tensor: correct }], smoothing)
			: runProgram(program('whetstoneCrossEntropyMean', ['rows', 'labels'], [1], 1, n, meanBody(false)), [rows, labels], smoothing);
		// The labels are saved like the logits: a caller's labels made inside the differentiated
		// function are disposed when its forward ends, before the backward runs.
		save([x, rows, labels]);
		return {
			value: mean.reshape([]),
			gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
				const [xs, rs, ls] = saved;
				return [runProgram(program('whetstoneCrossEntropyGrad', ['logits', 'rows', 'labels', 'dy'], [n, c], n, c, backwardBody), [xs, rs, ls, dy.reshape([1])], smoothing)];
			}
		};
	});
	return op(logits) as tf.Scalar;
}
