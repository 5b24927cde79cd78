/** The Evaluate screen's scoring job: a count and an ETA from the rate after the first report, one job at a time, Cancel. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { etaSeconds, formatEta, scoring, scoringLabel, type ScoringJob } from '../../../src/lib/client/scoring.svelte';
import { getEngine } from '../../../src/lib/client/engine.svelte';
import { UserError } from '../../../src/lib/shared/errors';
import { closeChannels, connect, type Received } from './fake-worker';

const job = (over: Partial<ScoringJob> = {}): ScoringJob => ({ runId: 'r', checkpointId: 'c', step: 4, split: 'test', done: 0, total: 0, etaSec: null, cancelling: false, ...over });

describe('scoring progress', () => {
	it('measures the rate from the first report, not from the start (loading the model is not scoring)', () => {
		// 32 examples per second after the first batch: 60 left take 1.875 s.
		expect(etaSeconds({ t: 5000, done: 32 }, { t: 6000, done: 64 }, 124)).toBeCloseTo(1.875);
		expect(etaSeconds({ t: 5000, done: 32 }, { t: 5000, done: 32 }, 124)).toBeNull();
		expect(etaSeconds({ t: 5000, done: 32 }, { t: 9000, done: 124 }, 124)).toBe(0);
	});

	it('says the count, the split and the ETA', () => {
		expect(scoringLabel(job())).toBe('loading the checkpoint at step 4…');
		expect(scoringLabel(job({ done: 40, total: 120, etaSec: 12.4 }))).toBe('scoring 40 / 120 test examples · ETA 12 s');
		expect(scoringLabel(job({ done: 40, total: 120, split: 'validation' }))).toBe('scoring 40 / 120 validation examples · ETA –');
		expect(scoringLabel(job({ done: 40, total: 120, cancelling: true }))).toBe('cancelling… (40 / 120 test examples scored)');
		expect(scoringLabel(job({ cancelling: true }))).toBe('cancelling…');
		expect(formatEta(150)).toBe('3 min');
	});
});

describe('a scoring job', () => {
	afterEach(closeChannels);

	/** The tab's engine with a fake worker whose evaluate reports progress, then waits for `go`. */
	function fakeEvaluate(): { go: () => void; received: Received[] } {
		let go!: () => void;
		const gate = new Promise<void>((r) => (go = r));
		const received = connect(getEngine(), {
			evaluate: async (_run: string, _ckpt: string, split: string, onProgress: (d: number, t: number) => Promise<void>, _o: unknown, shouldStop: () => Promise<boolean>) => {
				await onProgress(32, 120);
				await onProgress(64, 120);
				await gate;
				if (await shouldStop()) throw new UserError('cancelled', 'Evaluation was cancelled; the stored results are as they were.');
				await onProgress(120, 120);
				return { split };
			}
		});
		return { go, received };
	}
	const target = { runId: 'run_1', checkpointId: 'ckpt_4', step: 4, split: 'validation' as const };

	it('counts the examples, then says it scored them', async () => {
		const { go } = fakeEvaluate();
		const done = scoring.start(target);
		await vi.waitFor(() => expect(scoring.job?.done).toBe(64));
		expect(scoring.job).toMatchObject({ total: 120, split: 'validation', cancelling: false });
		expect(scoring.job!.etaSec).not.toBeNull();
		// One job at a time.
		await scoring.start({ ...target, checkpointId: 'ckpt_8', step: 8 });
		expect(scoring.outcome?.kind).toBe('failed');
		go();
		await done;
		expect(scoring.job).toBeNull();
		expect(scoring.outcome).toMatchObject({ kind: 'scored', checkpointId: 'ckpt_4', message: 'Scored the checkpoint at step 4 on the validation split.' });
	});

	it('Cancel reaches the worker, which stores nothing; the outcome says so', async () => {
		const { go } = fakeEvaluate();
		const done = scoring.start(target);
		await vi.waitFor(() => expect(scoring.job?.done).toBe(64));
		scoring.cancel();
		expect(scoringLabel(scoring.job!)).toBe('cancelling… (64 / 120 validation examples scored)');
		go();
		await done;
		expect(scoring.outcome).toMatchObject({ kind: 'cancelled', message: 'Cancelled: the checkpoint at step 4 on the validation split was not scored; the stored result is as it was.' });
	});

	it('a run starts training only after the checkpoint being scored is done (one warm model)', async () => {
		const { go, received } = fakeEvaluate();
		const engine = getEngine();
		const done = scoring.start(target);
		await vi.waitFor(() => expect(scoring.job?.done).toBe(64));
		expect(engine.evaluating).toBe(true);
		const training = engine.train('run_2');
		await new Promise((r) => setTimeout(r, 50));
		expect(received.some((r) => r.method === 'train')).toBe(false);
		expect(engine.live?.state).toBe('starting');
		go();
		await done;
		expect(await training).toBe('completed');
		expect(engine.evaluating).toBe(false);
		const order = received.map((r) => r.method).filter((m) => m === 'evaluate' || m === 'train');
		expect(order).toEqual(['evaluate', 'train']);
	});
});
