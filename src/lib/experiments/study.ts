/**
 * The study loop, as Optuna's ask-and-tell interface: `ask` gives the next trial's parameters (or
 * the trial that was running when the study stopped, so an interrupted study resumes it),
 * `report` takes an intermediate value and says whether the pruner stops the trial, `tell` records
 * the end. The whole state is one plain object (`study.state`), stored after every change; a
 * trial's parameters depend only on the study's seed, its number and the trials before it, so a
 * study resumed from its saved state asks exactly what an uninterrupted one would.
 */
import { Prng, hashSeed } from '../shared/prng';
import { ashaShouldPrune } from './pruners/asha';
import { medianShouldPrune } from './pruners/median';
import { sampleGrid } from './samplers/grid';
import { sampleRandom } from './samplers/random';
import { sampleTpe } from './samplers/tpe';
import { validateSpace, type Params } from './space';
import { signed, type StudyConfig, type StudyState, type Trial } from './types';

export type Clock = () => number;

export class Study {
	constructor(
		public state: StudyState,
		private now: Clock = Date.now
	) {
		validateSpace(state.config.space);
	}

	static create(config: StudyConfig, id = `study-${config.seed}-${Date.now().toString(36)}`, now: Clock = Date.now): Study {
		return new Study({ id, config, trials: [], createdAt: now(), elapsedSeconds: 0 }, now);
	}

	/** From a saved state (a deep copy: the study never aliases what the caller keeps). */
	static fromJSON(state: StudyState, now: Clock = Date.now): Study {
		return new Study(structuredClone(state), now);
	}

	toJSON(): StudyState {
		return structuredClone(this.state);
	}

	get config(): StudyConfig {
		return this.state.config;
	}
	get trials(): Trial[] {
		return this.state.trials;
	}

	/** Why no further trial is asked for, or null while the budget lasts. */
	stopReason(): string | null {
		const { budget } = this.config;
		const started = this.trials.length;
		if (budget.trials !== undefined && started >= budget.trials && !this.running()) return `all ${budget.trials} trials have run`;
		if (budget.seconds !== undefined && this.state.elapsedSeconds >= budget.seconds && !this.running())
			return `the time budget (${budget.seconds} s) is spent`;
		if (this.config.sampler.kind === 'grid' && !this.running() && this.nextParams() === null) return 'every point of the grid has run';
		return null;
	}

	running(): Trial | undefined {
		return this.trials.find((t) => t.state === 'running');
	}

	private nextParams(): Params | null {
		const { config } = this;
		const number = this.trials.length;
		const rng = new Prng((hashSeed(`${config.seed}:${number}`) ^ config.seed) >>> 0);
		const finished = this.trials.filter((t) => t.state !== 'running');
		switch (config.sampler.kind) {
			case 'random':
				return sampleRandom(config.space, rng);
			case 'grid':
				return sampleGrid(
					config.space,
					config.seed,
					this.trials.map((t) => t.params),
					config.sampler.points
				);
			case 'tpe': {
				const { kind: _kind, ...opts } = config.sampler;
				return sampleTpe(config.space, finished, config.direction, rng, opts);
			}
		}
	}

	/** The next trial to run (the interrupted one first), or null when the budget is spent. */
	ask(): Trial | null {
		const running = this.running();
		if (running) return running;
		if (this.stopReason()) return null;
		const params = this.nextParams();
		if (!params) return null;
		const trial: Trial = { number: this.trials.length, params, state: 'running', intermediate: [], startedAt: this.now() };
		this.trials.push(trial);
		return trial;
	}

	/**
	 * An intermediate value at `step`; returns true when the pruner stops the trial (then it is
	 * already marked pruned). A step reported again (a resumed trial) replaces the earlier value.
	 */
	report(number: number, step: number, value: number): boolean {
		const trial = this.get(number);
		if (trial.state !== 'running') return trial.state === 'pruned';
		const i = trial.intermediate.findIndex(([s]) => s >= step);
		if (i < 0) trial.intermediate.push([step, value]);
		else if (trial.intermediate[i][0] === step) trial.intermediate[i] = [step, value];
		else trial.intermediate.splice(i, 0, [step, value]);
		const { pruner, direction } = this.config;
		const others = this.trials.filter((t) => t.number !== number);
		const prune =
			pruner.kind === 'median'
				? medianShouldPrune(trial, others, direction, pruner)
				: pruner.kind === 'asha'
					? ashaShouldPrune(trial, others, direction, pruner)
					: false;
		if (prune) this.finish(trial, 'pruned', value, step);
		return prune;
	}

	/** The trial's end: a final value (complete), or a failure with its message. */
	tell(number: number, result: { value: number } | { error: string } | { pruned: true }): void {
		const trial = this.get(number);
		if (trial.state !== 'running') return;
		if ('value' in result) {
			if (Number.isFinite(result.value)) this.finish(trial, 'complete', result.value);
			else {
				trial.error = `the objective was ${result.value}`;
				this.finish(trial, 'failed');
			}
		} else if ('error' in result) {
			trial.error = result.error;
			this.finish(trial, 'failed');
		} else {
			const last = trial.intermediate[trial.intermediate.length - 1];
			this.finish(trial, 'pruned', last?.[1], last?.[0]);
		}
	}

	private finish(trial: Trial, state: Trial['state'], value?: number, prunedAt?: number) {
		trial.state = state;
		if (value !== undefined) trial.value = value;
		if (state === 'pruned' && prunedAt !== undefined) trial.prunedAtStep = prunedAt;
		trial.finishedAt = this.now();
		this.state.elapsedSeconds += Math.max(0, (trial.finishedAt - trial.startedAt) / 1000);
	}

	get(number: number): Trial {
		const t = this.trials[number];
		if (!t || t.number !== number) throw new Error(`Study ${this.state.id} has no trial ${number}.`);
		return t;
	}

	/** The best complete trial. */
	best(): Trial | undefined {
		let best: Trial | undefined;
		for (const t of this.trials)
			if (t.state === 'complete' && (!best || signed(this.config.direction, t.value!) < signed(this.config.direction, best.value!))) best = t;
		return best;
	}
}

/** The best value after each finished trial, in trial order (the optimisation history's line). */
export function bestSoFar(trials: readonly Trial[], direction: StudyConfig['direction']): (number | null)[] {
	let best: number | null = null;
	return trials.map((t) => {
		if (t.state === 'complete' && t.value !== undefined && (best === null || signed(direction, t.value) < signed(direction, best))) best = t.value;
		return best;
	});
}

export type Objective = (params: Params, trial: Trial, study: Study) => number | Promise<number>;

/** Runs trials until the budget is spent (for Node and tests; the studio drives ask/tell itself). */
export async function optimize(study: Study, objective: Objective, onTrial?: (t: Trial) => void): Promise<Study> {
	for (let trial = study.ask(); trial; trial = study.ask()) {
		try {
			const value = await objective(trial.params, trial, study);
			study.tell(trial.number, { value });
		} catch (e) {
			if (e instanceof TrialPruned) study.tell(trial.number, { pruned: true });
			else study.tell(trial.number, { error: e instanceof Error ? e.message : String(e) });
		}
		onTrial?.(trial);
	}
	return study;
}

/** Thrown by an objective when `study.report` says to stop (Optuna's TrialPruned). */
export class TrialPruned extends Error {
	constructor() {
		super('pruned');
		this.name = 'TrialPruned';
	}
}
