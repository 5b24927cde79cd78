// The loop tells its phases around the steps: the warm-up up to the first log point, scoring the
// validation split with a row count, and writing each checkpoint; each ends before the next begins.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { defaultRunConfig } from '../../../src/lib/shared/config';
import { ClassifierSession } from '../../../src/lib/engine/classifier';
import { initialLoopState, trainLoop } from '../../../src/lib/engine/train/loop';
import type { PhaseProgress } from '../../../src/lib/shared/phases';
import { Prng } from '../../../src/lib/shared/prng';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

function tokens(n: number) {
	const rng = new Prng(3);
	const ids: number[] = [];
	const offsets = [0];
	for (let i = 0; i < n; i++) {
		for (let j = 0; j < 6; j++) ids.push(4 + rng.int(40));
		offsets.push(ids.length);
	}
	return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), labels: Int32Array.from({ length: n }, (_, i) => i % 2) };
}

describe('trainLoop phases', () => {
	it('warm-up, validation and checkpoints, in order, each with its count, each ended', async () => {
		const cfg = defaultRunConfig(2);
		cfg.model = { ...cfg.model, vocabSize: 64, contextLength: 8, nLayer: 1, nHead: 2, dModel: 8, dropout: 0 };
		cfg.train = { ...cfg.train, batchSize: 4, epochs: 1, maxSteps: 6, warmupSteps: 0, logEvery: 3, evalEvery: 6, checkpointEvery: 6 };
		const data = { tokens: tokens(34), train: [...Array(24).keys()], validation: [...Array(10).keys()].map((i) => 24 + i) };
		const session = ClassifierSession.create(cfg, { padId: 0 });
		const seen: (PhaseProgress | null)[] = [];
		const log: string[] = [];
		// A clock that moves 1 ms a call: the reporter's 250 ms throttle holds back the counts in
		// between however slow this machine is, so the order below does not depend on its speed.
		let clock = 0;
		await trainLoop(session, data, cfg, initialLoopState(cfg, data.train), {
			control: () => 'run',
			now: () => clock++,
			onMetrics: (p) => void log.push(`metrics ${p.step}`),
			onCheckpoint: async (s) => void log.push(`checkpoint ${s.step}`),
			onPhase: (p) => {
				seen.push(p);
				log.push(p ? `${p.phase} ${p.done}/${p.total}` : 'end');
			}
		});
		session.dispose();
		// The warm-up counts the three steps to the first log point and ends before its metrics.
		expect(log.slice(0, 4)).toEqual(['warm-up 0/3', 'warm-up 3/3', 'end', 'metrics 3']); // counts in between are sent at most every 250 ms
		// At step 6: validation over its 10 rows, then the checkpoint.
		const v = log.indexOf('validating 0/10');
		expect(v).toBe(4);
		expect(log.slice(v)).toEqual(['validating 0/10', 'validating 10/10', 'end', 'metrics 6', 'checkpoint 0/0', 'checkpoint 6', 'end']);
		expect(seen.filter((p) => p?.phase === 'validating').every((p) => p!.unit === 'rows')).toBe(true);
	});
});
