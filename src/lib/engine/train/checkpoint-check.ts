/**
 * Activation checkpointing (models/checkpoint.ts) through the real session (pretrained.ts) on
 * this worker's backend, on the WebGPU fast path where it is on: a small random GPT-2 with
 * dropout everywhere, trained a few steps from the same weights with the same dropout seeds with
 * checkpointing off and on. Returns the losses and the trained weights' differences, and the peak
 * bytes in use (tf.memory().numBytesInGPU on WebGPU) sampled inside each step at the end of the
 * forward and in every block's recompute (engine/memory-probe.ts), above the bytes in use when
 * the step began. On WebGPU a disposed tensor's buffer returns to the pool only when the queued
 * commands are submitted (every 15 dispatches by default), so each sample submits them first, as
 * tfjs-webgpu does before a copy: otherwise the figure counts tensors already gone. The caller
 * decides what passes.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type RunConfig } from '../../shared/config';
import { Prng } from '../../shared/prng';
import { fastPathEnabled } from '../fast-path';
import { randomCheckpoint } from '../bench-hf';
import { hfConfigFor } from '../bench-step';
import { bytesInUse, watchMemory } from '../memory-probe';
import { resolveConfig } from '../models/registry';
import { configForObjective, PretrainedSession, type LmTokenRows } from '../pretrained';

export interface CheckpointRun {
	losses: number[];
	/** Highest bytes in use sampled inside a step, minus the bytes in use as that step began. */
	peakStepBytes: number;
	/** Highest bytes in use sampled inside a step. */
	peakBytes: number;
}

export interface CheckpointCheck {
	backend: string;
	fastPath: boolean;
	shape: string;
	plain: CheckpointRun;
	checkpointed: CheckpointRun;
	/** max |checkpointed − plain| / max |plain| over the step losses. */
	lossMaxRel: number;
	/** The same over every trained weight after the last step. */
	paramMaxRel: number;
	tensorsLeaked: number;
}

export interface CheckpointCheckOptions {
	steps?: number;
	layers?: number;
	width?: number;
	seq?: number;
	rows?: number;
}

/** Bytes in use once the queued commands are submitted (WebGPU), so that disposed tensors count as free. */
function settledBytes(m?: tf.MemoryInfo): number {
	const b = tf.backend() as unknown as { ensureCommandEncoderReady?(): void; endComputePassEncoder?(): void; submitQueue?(): void };
	if (tf.getBackend() === 'webgpu' && b.submitQueue && b.ensureCommandEncoderReady && b.endComputePassEncoder) {
		b.ensureCommandEncoderReady();
		b.endComputePassEncoder();
		b.submitQueue();
		return bytesInUse(tf.memory());
	}
	return bytesInUse(m ?? tf.memory());
}

function runConfig(hfConfig: Record<string, unknown>, seq: number, rows: number, checkpointing: boolean): RunConfig {
	const cfg = defaultRunConfig(2);
	cfg.train = { ...cfg.train, batchSize: rows, weightDecay: 0.01, seed: 5, activationCheckpointing: checkpointing };
	cfg.pretrained = { repo: 'check', revision: 'check', modelType: 'gpt2', hfConfig, objective: 'causal-lm', contextLength: seq, numClasses: 2, method: { kind: 'full' } };
	return cfg;
}

async function train(hfConfig: Record<string, unknown>, o: Required<CheckpointCheckOptions>, checkpointing: boolean): Promise<{ run: CheckpointRun; weights: Float32Array[] }> {
	const { spec, config } = resolveConfig(configForObjective(hfConfig, 'causal-lm', []));
	const session = await PretrainedSession.fromPretrained(runConfig(hfConfig, o.seq, o.rows, checkpointing), randomCheckpoint(spec.paramShapes(config), 3), { padId: 0 }, []);
	const losses: number[] = [];
	let peakBytes = 0;
	let peakStepBytes = 0;
	try {
		const rng = new Prng(11);
		const vocab = hfConfig.vocab_size as number;
		const data = {
			ids: Int32Array.from({ length: o.rows * o.seq }, () => 3 + rng.int(vocab - 3)),
			offsets: Int32Array.from({ length: o.rows + 1 }, (_, i) => i * o.seq),
			labels: new Int32Array(o.rows)
		} as LmTokenRows;
		const hb = session.batch(data, [...Array(o.rows).keys()]);
		for (let i = 0; i < o.steps; i++) {
			const start = settledBytes();
			watchMemory((_, m) => {
				const b = settledBytes(m);
				peakBytes = Math.max(peakBytes, b);
				peakStepBytes = Math.max(peakStepBytes, b - start);
			});
			try {
				session.trainStep(hb, 1e-2, 1000 + i);
			} finally {
				watchMemory(null);
			}
			losses.push((await session.takeStats())?.loss ?? NaN);
		}
		const weights = (await session.weights()).map((t) => t.data);
		return { run: { losses, peakBytes, peakStepBytes }, weights };
	} finally {
		session.dispose();
	}
}

function maxRel(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
	let diff = 0;
	let scale = 0;
	a.forEach((x, k) => {
		for (let i = 0; i < x.length; i++) {
			diff = Math.max(diff, Math.abs(x[i] - b[k][i]));
			scale = Math.max(scale, Math.abs(b[k][i]));
		}
	});
	return diff / Math.max(scale, 1e-30);
}

/** See the file's comment. */
export async function checkpointTrainingCheck(opts: CheckpointCheckOptions = {}): Promise<CheckpointCheck> {
	const o = { steps: 3, layers: 4, width: 32, seq: 16, rows: 4, ...opts };
	const hfConfig = { ...hfConfigFor({ model: 'gpt2', layers: o.layers, width: o.width, heads: 4, vocab: 61, seq: o.seq }), resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 };
	const before = tf.memory().numTensors;
	const plain = await train(hfConfig, o, false);
	const checkpointed = await train(hfConfig, o, true);
	return {
		backend: tf.getBackend(),
		fastPath: fastPathEnabled() && tf.getBackend() === 'webgpu',
		shape: `GPT-2, ${o.layers} layers, width ${o.width}, ${o.rows} rows × ${o.seq} tokens, dropout 0.1`,
		plain: plain.run,
		checkpointed: checkpointed.run,
		lossMaxRel: maxRel([checkpointed.run.losses], [plain.run.losses]),
		paramMaxRel: maxRel(checkpointed.weights, plain.weights),
		tensorsLeaked: tf.memory().numTensors - before
	};
}
