/**
 * Activation checkpointing's memory, measured and estimated: a 12-layer GPT-2-shaped model
 * (random weights, a small vocabulary so the blocks dominate) trained a couple of steps through
 * the session with checkpointing off and on (train/checkpoint-check.ts), printing the peak bytes
 * in use inside a step (tfjs CPU in Node: every tensor's bytes; the browser's e2e prints WebGPU's),
 * the losses' agreement and the time; then shared/memory.ts's estimate for the same shape and for
 * GPT-2 small. Figures only: nothing here passes or fails.
 *
 *   npm run bench:checkpointing -- [--layers 12] [--width 256] [--seq 128] [--rows 4] [--steps 2]
 */
import * as tf from '@tensorflow/tfjs';
import { checkpointTrainingCheck } from '../src/lib/engine/train/checkpoint-check';
import { activationBytes, approxBytes } from '../src/lib/shared/memory';

const arg = (name: string, fallback: string) => {
	const i = process.argv.indexOf(`--${name}`);
	return Number(i > 0 ? process.argv[i + 1] : fallback);
};
const o = { layers: arg('layers', '12'), width: arg('width', '256'), seq: arg('seq', '128'), rows: arg('rows', '4'), steps: arg('steps', '2') };

await tf.setBackend('cpu');
const t0 = performance.now();
const r = await checkpointTrainingCheck(o);
const ms = performance.now() - t0;
console.log(`backend: ${r.backend} (Node); ${r.shape}; ${o.steps} steps each, ${(ms / 1000).toFixed(1)} s for both runs`);
console.log('checkpointing | peak in step above its start | peak in use | losses');
for (const [name, run] of [['off', r.plain], ['on', r.checkpointed]] as const)
	console.log(`${name} | ${approxBytes(run.peakStepBytes)} | ${approxBytes(run.peakBytes)} | ${run.losses.map((l) => l.toFixed(5)).join(' ')}`);
console.log(`max relative difference: losses ${r.lossMaxRel.toExponential(2)}, weights ${r.paramMaxRel.toExponential(2)}; tensors leaked ${r.tensorsLeaked}`);

const estimate = (name: string, config: Record<string, unknown>, batch: { batchSize: number; seqLen: number }) =>
	console.log(`${name} | ${batch.batchSize}×${batch.seqLen} | ${approxBytes(activationBytes(config, batch))} | ${approxBytes(activationBytes(config, batch, true))}`);
console.log('\nestimate (shared/memory.ts) | batch | activations | checkpointed');
estimate('this shape', { model_type: 'gpt2', n_embd: o.width, n_layer: o.layers, n_head: 4, vocab_size: 61 }, { batchSize: o.rows, seqLen: o.seq });
estimate('GPT-2 small', { model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, vocab_size: 50257 }, { batchSize: 8, seqLen: 512 });
