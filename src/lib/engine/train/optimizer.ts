/**
 * What every optimizer offers the sessions and the loop, and the one place a TrainConfig becomes
 * an optimizer. Each owns its state variables for an explicit variable list (a LoRA run hands it
 * the adapter weights only) and saves that state as named tensors (`optimizer.<slot>.<param>`) in
 * every checkpoint. Weight decay skips biases and norms, as the Hugging Face Trainer's parameter
 * groups do, whichever optimizer is chosen. On WebGPU the fast path (fused-optimizer.ts) clips and
 * updates every parameter in two dispatches; the composite `apply` is the reference and the path on
 * WebGL and the CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { normalizeTrainConfig, type TrainConfig } from '../../shared/config';
import { Adam, AdamW, decayByDefault } from './adamw';
import { Sgd } from './sgd';
import { readTensors, type HostTensor } from '../tensors';

export type HostState = Map<string, { shape: number[]; data: Float32Array }>;

export interface Optimizer {
	/** Updates applied so far (Adam's bias correction counts them). */
	step: number;
	/** The variables it updates, by Hugging Face name. */
	readonly params: Map<string, tf.Variable>;
	/** One update from these gradients (keyed like `params`); call inside the step's tf.tidy. */
	apply(grads: Record<string, tf.Tensor>, lr: number): void;
	/**
	 * Global-norm clipping (`maxNorm` > 0) and one update in a constant number of GPU dispatches
	 * (fused-optimizer.ts), returning the gradients' norm before clipping; null where the fast path
	 * does not apply, and the caller runs `clipByGlobalNorm` and `apply`. Inside the step's tf.tidy.
	 */
	fusedApply?(grads: Record<string, tf.Tensor>, lr: number, maxNorm: number): tf.Scalar | null;
	/** Whether a compiled step (compiled/) may replay the fused update now (fused-optimizer.ts `replayable`). */
	replayable?(): boolean;
	/** A compiled step replayed one fused update: count it, and note the weights the arenas wrote. */
	replayed?(): void;
	/** State as named tensors for a checkpoint (empty for plain SGD). */
	stateTensors(): [string, tf.Tensor][];
	/**
	 * The same named state as copies, while the fast path's arenas hold it (null otherwise, and the
	 * caller uses `stateTensors`): reading them leaves the arenas, and any compiled step, in place.
	 * The caller disposes them.
	 */
	stateCopies?(): [string, tf.Tensor][] | null;
	/** Restore what `stateTensors` saved; throws when a slot is missing. */
	loadState(tensors: HostState, step: number): void;
	dispose(): void;
}

export type DecayRule = (name: string, shape: number[]) => boolean;

export function createOptimizer(params: Map<string, tf.Variable>, train: Partial<TrainConfig>, decay: DecayRule = decayByDefault): Optimizer {
	const t = normalizeTrainConfig(train);
	if (t.optimizer === 'sgd') return new Sgd(params, { momentum: t.momentum, nesterov: t.nesterov, weightDecay: t.weightDecay }, decay);
	const cfg = { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay };
	return t.optimizer === 'adam' ? new Adam(params, cfg, decay) : new AdamW(params, cfg, decay);
}

/** Whether a checkpoint carries optimizer state (a resumable one does; an exported model does not). */
export function hasOptimizerState(tensors: HostState): boolean {
	for (const name of tensors.keys()) if (name.startsWith('optimizer.')) return true;
	return false;
}

/**
 * `before` and the optimizer's state, read to the host for a checkpoint: the state as copies while
 * the fast path's arenas hold it (so they, and any compiled step that binds them, stay), else from
 * its variables.
 */
export async function readWithOptimizerState(optimizer: Optimizer, before: [string, tf.Tensor][]): Promise<HostTensor[]> {
	const copies = optimizer.stateCopies?.() ?? null;
	try {
		return await readTensors([...before, ...(copies ?? optimizer.stateTensors())]);
	} finally {
		if (copies) tf.dispose(copies.map(([, t]) => t));
	}
}
