/**
 * Phases: the stretches of work around the training steps that take more than a moment (training
 * the tokenizer, tokenizing, loading the model, compiling the first steps, scoring the test split,
 * generating the test answers, writing a checkpoint), and the stages of checking and cleaning a
 * dataset version, and the stages of an import after its files are read. Each is reported by name with a count and an
 * estimate of the time left, so the Train screen never sits on a step counter that does not move.
 * Shared by both sides: the workers send `PhaseProgress`, the page shows it. No tfjs, no DOM.
 */

export type PhaseName =
	| 'waiting'
	| 'preparing'
	| 'choosing-backend'
	| 'training-tokenizer'
	| 'tokenizing'
	| 'loading-model'
	| 'warm-up'
	| 'validating'
	| 'checkpoint'
	| 'scoring'
	| 'generating'
	| 'measuring'
	| 'hashing'
	| 'comparing'
	| 'scanning'
	| 'cleaning'
	| 'building-rows'
	| 'deduplicating'
	| 'hashing-version'
	| 'storing-version';

export interface PhaseProgress {
	phase: PhaseName;
	done: number;
	total: number;
	/** What is counted, plural: 'rows', 'prompts', 'steps', 'tensors'. */
	unit: string;
	/** Seconds left, estimated from the pace so far; absent until there is a pace. */
	etaSec?: number;
	/**
	 * Share of the work done (0..1) when it is finer than the count: answers grow token by token
	 * while the count of finished answers moves only when one ends. The bar and the ETA follow it.
	 */
	fraction?: number;
	/** A word on how it went, e.g. that the cached tokens were reused. */
	note?: string;
	/** Whether Stop ends this phase early (and what stopping leaves is said on the button's title). */
	cancellable?: boolean;
}

/** What the screen calls each phase. */
export const PHASE_LABELS: Record<PhaseName, string> = {
	waiting: 'Waiting for another tab',
	preparing: 'Preparing data',
	'choosing-backend': 'Choosing the fastest backend: timing two steps on each',
	'training-tokenizer': 'Training the tokenizer (BPE)',
	tokenizing: 'Tokenizing',
	'loading-model': 'Loading the model',
	'warm-up': 'Warming up: compiling GPU kernels for the first steps',
	validating: 'Scoring the validation split',
	checkpoint: 'Writing a checkpoint',
	scoring: 'Scoring the test split',
	generating: 'Generating test answers',
	// Check & clean on the Data screen (data/clean.ts)
	measuring: 'Measuring lengths and Unicode',
	hashing: 'Hashing rows for near-duplicates',
	comparing: 'Comparing near-duplicate candidates',
	scanning: 'Looking for personal data',
	cleaning: 'Applying the cleaning steps',
	// An import after its files are read (data/pipeline.ts importDataset)
	'building-rows': 'Building rows',
	deduplicating: 'Finding exact duplicates',
	'hashing-version': 'Hashing the rows (content hash)',
	'storing-version': 'Storing the version'
};

/** "about 40 s left", "about 3 min left"; empty when there is no estimate yet. */
export function etaText(sec: number | undefined): string {
	if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '';
	if (sec < 1) return 'less than a second left';
	if (sec < 90) return `about ${Math.round(sec)} s left`;
	return `about ${Math.round(sec / 60)} min left`;
}

/** "Generating test answers · 7 / 20 prompts · about 40 s left" */
export function phaseText(p: PhaseProgress): string {
	const parts = [PHASE_LABELS[p.phase]];
	if (p.total > 0) parts.push(`${p.done} / ${p.total} ${p.unit}`);
	const eta = p.done < p.total ? etaText(p.etaSec) : '';
	if (eta) parts.push(eta);
	if (p.note) parts.push(p.note);
	return parts.join(' · ');
}

/**
 * Reports one phase: `tick(done)` sends its progress with an ETA from the pace since it began,
 * at most every `everyMs` (and always the first and the last count), `end()` clears it.
 */
export class PhaseReporter {
	private readonly started: number;
	private last = -Infinity;

	constructor(
		private readonly emit: (p: PhaseProgress | null) => void,
		private readonly base: Omit<PhaseProgress, 'done' | 'etaSec'>,
		private readonly everyMs = 250,
		private readonly now: () => number = () => performance.now()
	) {
		this.started = this.now();
		this.emit({ ...base, done: 0 });
		this.last = this.started;
	}

	private latest = 0;

	/** `fraction`, when given, is the share of the work done, finer than `done / total`. */
	tick(done: number, note?: string, fraction?: number): void {
		this.latest = done;
		const t = this.now();
		const moved = done > 0 || (fraction ?? 0) > 0;
		if (done < this.base.total && moved && t - this.last < this.everyMs) return;
		this.last = t;
		const elapsed = (t - this.started) / 1000;
		const f = fraction ?? (this.base.total > 0 ? done / this.base.total : 0);
		const etaSec = f > 0 ? (elapsed * (1 - f)) / f : undefined;
		this.emit({ ...this.base, done, ...(etaSec !== undefined ? { etaSec } : {}), ...(fraction !== undefined ? { fraction } : {}), ...(note ? { note } : {}) });
	}

	/** Send the latest count now, even if one was sent a moment ago (the phase is over). */
	finish(note?: string): void {
		this.last = -Infinity;
		this.tick(this.latest, note);
	}

	end(): void {
		this.emit(null);
	}
}
