/**
 * Scoring one checkpoint on one split, as the tab sees it: the job in progress (a count and an ETA),
 * its Cancel, and how the last one ended. It lives outside the Evaluate screen so the Train screen's
 * "Evaluate this" can start a job that the Evaluate screen then shows. One job at a time: the engine
 * keeps one model warm, and a second job would swap it under the first.
 */
import { getEngine } from './engine.svelte';
import { studio } from './studio.svelte';
import type { EvaluateOptions, SplitName } from '../shared/types';

/** What an instruction run answers when scored (the Evaluate screen's fields start here). */
export const GENERATION_DEFAULTS = { generationRows: 20, maxNewTokens: 48 } as const;

export interface ScoringTarget {
	runId: string;
	checkpointId: string;
	/** The checkpoint's step, for the words on screen. */
	step: number;
	split: SplitName;
}

export interface ScoringJob extends ScoringTarget {
	done: number;
	/** 0 until the worker reports how many examples it scores. */
	total: number;
	/** Seconds left, once two progress reports give a rate; null before. */
	etaSec: number | null;
	cancelling: boolean;
}

export interface ScoringOutcome extends ScoringTarget {
	kind: 'scored' | 'cancelled' | 'failed';
	message: string;
}

/** Seconds left at the rate measured since the first report (which includes loading the model, so it is not the origin). */
export function etaSeconds(first: { t: number; done: number }, now: { t: number; done: number }, total: number): number | null {
	const rate = (now.done - first.done) / Math.max(1e-9, (now.t - first.t) / 1000);
	if (!(now.done > first.done) || !Number.isFinite(rate) || rate <= 0) return null;
	return Math.max(0, (total - now.done) / rate);
}

export function formatEta(sec: number | null): string {
	if (sec === null) return '–';
	return sec < 90 ? `${Math.round(sec)} s` : `${Math.round(sec / 60)} min`;
}

/** "scoring 40 / 120 test examples · ETA 12 s", or what happens before the first count. */
export function scoringLabel(job: ScoringJob): string {
	if (job.cancelling) return job.total ? `cancelling… (${job.done} / ${job.total} ${job.split} examples scored)` : 'cancelling…';
	if (!job.total) return `loading the checkpoint at step ${job.step}…`;
	return `scoring ${job.done} / ${job.total} ${job.split} examples · ETA ${formatEta(job.etaSec)}`;
}

class Scoring {
	job = $state.raw<ScoringJob | null>(null);
	outcome = $state.raw<ScoringOutcome | null>(null);
	private cancelRequested = false;

	/**
	 * Score `target` and store the result with its run (replacing the run's stored evaluation).
	 * Resolves when it has ended, however it ended; `outcome` says how.
	 */
	async start(target: ScoringTarget, options: EvaluateOptions = {}): Promise<void> {
		const engine = getEngine();
		if (this.job) {
			this.outcome = { ...target, kind: 'failed', message: 'Another checkpoint is being scored; wait for it or cancel it first.' };
			return;
		}
		if (engine.live) {
			this.outcome = { ...target, kind: 'failed', message: 'A run is training; score this checkpoint when it has paused or finished.' };
			return;
		}
		this.cancelRequested = false;
		this.outcome = null;
		this.job = { ...target, done: 0, total: 0, etaSec: null, cancelling: false };
		let first: { t: number; done: number } | null = null;
		const where = `step ${target.step} on the ${target.split} split`;
		try {
			await engine.evaluate(
				target.runId,
				target.checkpointId,
				target.split,
				(done, total) => {
					const now = { t: performance.now(), done };
					first ??= now;
					if (this.job) this.job = { ...this.job, done, total, etaSec: etaSeconds(first, now, total) };
				},
				options,
				() => this.cancelRequested
			);
			this.outcome = { ...target, kind: 'scored', message: `Scored the checkpoint at ${where}.` };
		} catch (e) {
			const cancelled = (e as { code?: string }).code === 'cancelled';
			this.outcome = cancelled
				? { ...target, kind: 'cancelled', message: `Cancelled: the checkpoint at ${where} was not scored; the stored result is as it was.` }
				: { ...target, kind: 'failed', message: `Scoring the checkpoint at ${where} failed: ${(e as Error).message}` };
		} finally {
			this.job = null;
			await studio.refresh();
		}
	}

	cancel(): void {
		if (!this.job || this.job.cancelling) return;
		this.cancelRequested = true;
		this.job = { ...this.job, cancelling: true };
	}
}

export const scoring = new Scoring();
