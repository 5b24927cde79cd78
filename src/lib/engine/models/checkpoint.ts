/**
 * Activation checkpointing per transformer block (Chen et al. 2016, "Training Deep Nets with
 * Sublinear Memory Cost"; what `torch.utils.checkpoint` and transformers'
 * `gradient_checkpointing_enable()` do): the block's forward runs as one custom op, so the tape
 * keeps only its input, and its backward runs the block's forward again from that input and takes
 * the gradients of the recomputed block.
 *
 * tfjs runs a `tf.customGrad` forward with the tape off and tidies its intermediates, and a custom
 * op returns gradients only for its inputs: so the block's trained variables are passed as inputs
 * beside x (`tf.variableGrads` then reaches them through the op), while frozen tensors (a LoRA
 * run's base weights) and the pass's context (masks, rotary tables) are only saved for the
 * recompute, which takes no gradient for them. Dropout draws the same masks in the recompute: the
 * seeds come from the pass's `Dropout` sites, replayed from where the block started.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from './spec';
import { sampleMemory } from '../memory-probe';

/** A dropout source that can hand out its remaining seeds again (spec.ts `Dropout.fork`). */
export interface Replayable<D> {
	fork(): D;
}

/** What the optimizer can train: the forward reads trained weights as variables, frozen ones as plain tensors. */
const isTrained = (t: tf.Tensor) => t instanceof tf.Variable && t.trainable;

/**
 * `block(p, x, context, drop)` over the parameters of `params` named `prefix…`, with its
 * activations recomputed in the backward instead of kept. `context` holds the tensors the block
 * reads besides x and its parameters (undefined entries are passed through as undefined); `drop`
 * is the pass's dropout source, replayed for the recompute.
 */
export function checkpointBlock<D extends Replayable<D> | undefined>(
	params: Params,
	prefix: string,
	x: tf.Tensor,
	context: (tf.Tensor | undefined)[],
	drop: D,
	block: (p: Params, x: tf.Tensor, context: (tf.Tensor | undefined)[], drop: D) => tf.Tensor
): tf.Tensor {
	const names = Object.keys(params).filter((n) => n.startsWith(prefix));
	const trained = names.filter((n) => isTrained(params[n]));
	const frozen = names.filter((n) => !isTrained(params[n]));
	const present = context.flatMap((t, i) => (t ? [i] : []));
	const start = drop?.fork() as D; // the block's dropout seeds, from its first site on
	const nIn = 1 + trained.length;

	const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
		const save = args.pop() as tf.GradSaveFunc;
		const inputs = args as tf.Tensor[]; // [x, ...trained]
		save([...inputs, ...frozen.map((n) => params[n]), ...present.map((i) => context[i]!)]); // clones: no copy of the data
		const value = block(params, inputs[0], context, drop);
		const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
			const p: Params = {};
			frozen.forEach((n, k) => (p[n] = saved[nIn + k]));
			const ctx: (tf.Tensor | undefined)[] = context.map(() => undefined);
			present.forEach((i, k) => (ctx[i] = saved[nIn + frozen.length + k]));
			const replay = start?.fork() as D;
			// The outer backward runs with its tape closed (gradient depth 0), so this inner tf.grads
			// opens a fresh tape and, when done, frees its own saved tensors and sets the engine's
			// tape to null; the outer backward then frees its saved tensors from that tape field,
			// so it is put back.
			const state = tf.engine().state;
			const outer = state.activeTape;
			try {
				return tf.grads((...ins: tf.Tensor[]) => {
					trained.forEach((n, k) => (p[n] = ins[1 + k]));
					const y = block(p, ins[0], ctx, replay);
					sampleMemory('recompute'); // the backward's high point for this block
					return y;
				})(saved.slice(0, nIn), dy);
			} finally {
				state.activeTape = outer;
			}
		};
		return { value, gradFunc };
	});
	return op(x, ...trained.map((n) => params[n]));
}
