/**
 * What the fine-tuning-method tests share (tests/unit/engine/lora.test.ts and
 * tests/unit/models/lora-architectures.test.ts): a run config over a tiny fixture, a few seeded
 * token rows, a few training steps, and the logits of a fixed batch as host numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig, type Objective, type RunConfig } from '../../../src/lib/shared/config';
import type { FineTuneMethod } from '../../../src/lib/shared/method';
import type { LmTokenRows, PretrainedSession } from '../../../src/lib/engine/pretrained';
import type { Params } from '../../../src/lib/engine/models/spec';
import { Prng } from '../../../src/lib/shared/prng';
import { fixtureJson } from './fixtures';

/** A run on the tiny `arch` fixture: batch 4, lr 1e-2, no decay or warm-up, context 16, 3 classes. */
export function methodConfig(arch: string, objective: Objective, method?: FineTuneMethod): RunConfig {
	const c = defaultRunConfig(3);
	c.train = { ...c.train, batchSize: 4, learningRate: 1e-2, weightDecay: 0, warmupSteps: 0, epochs: 1, logEvery: 2, evalEvery: 4, checkpointEvery: 100 };
	const hfConfig = fixtureJson(arch, 'config.json');
	c.pretrained = { repo: `whetstone-test/tiny-${arch}`, revision: 'f'.repeat(40), modelType: String(hfConfig.model_type), hfConfig, objective, contextLength: 16, numClasses: 3, method };
	return c;
}

/** `n` seeded rows of 5-12 tokens, the first token telling the class (i % 3). */
export function tokenRows(n = 12, seed = 1): LmTokenRows {
	const rng = new Prng(seed);
	const ids: number[] = [];
	const offsets = [0];
	const lab: number[] = [];
	for (let i = 0; i < n; i++) {
		const len = 5 + rng.int(8);
		for (let j = 0; j < len; j++) ids.push(j === 0 ? 10 + (i % 3) : 30 + rng.int(60));
		offsets.push(ids.length);
		lab.push(i % 3);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from(lab) };
}

/** `steps` training steps on sliding batches of 4 rows. */
export function trainSteps(s: PretrainedSession, data: LmTokenRows, steps = 3): void {
	for (let i = 0; i < steps; i++) s.trainStep(s.batch(data, [i, i + 1, i + 2, i + 3]), 1e-2, i);
}

/** The logits of rows 0-3 under `params` (the session's own by default), as host numbers. */
export async function batchLogits(s: PretrainedSession, data: LmTokenRows, params: Params = s.modelParams, spec = s.spec, hf = s.hf): Promise<Float32Array> {
	const hb = s.batch(data, [0, 1, 2, 3]);
	const out = tf.tidy(() => spec.forward(params, hf, { inputIds: tf.tensor2d(hb.ids, [hb.rows, hb.length], 'int32'), attentionMask: tf.tensor2d(hb.mask, [hb.rows, hb.length]) }));
	const v = (await out.data()) as Float32Array;
	out.dispose();
	return v;
}
