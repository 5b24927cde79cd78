/**
 * Drives experiments from the page: a study's trials one after another through the engine's
 * normal training path (each a run with `experiment` lineage), the pruner listening to the
 * validation points as they arrive, and the study record written after every change so a reload
 * resumes where it stopped (an interrupted trial resumes from its last checkpoint). A
 * cross-validation runs its folds (or seeds) the same way.
 */
import { getData } from '$lib/client/data.svelte';
import { getEngine } from '$lib/client/engine.svelte';
import { studio } from '$lib/client/studio.svelte';
import { Study } from '$lib/experiments/study';
import { configFor, objectiveOf, type CvRecord, type ExperimentRecord, type StudyRecord } from '$lib/experiments/record';
import type { RunConfig } from '$lib/shared/config';
import type { Run } from '$lib/shared/types';
import { getDatasetVersion, getMetrics, getRun, listExperiments, putExperiment } from '$lib/storage';

class ExperimentRunner {
	/** The project's experiments, newest first. */
	records = $state.raw<ExperimentRecord[]>([]);
	/** The experiment running now, and what it is doing. */
	activeId = $state<string | null>(null);
	message = $state<string | null>(null);
	error = $state<string | null>(null);
	private pauseRequested = false;
	private saving: Promise<void> = Promise.resolve();

	async load(projectId: string): Promise<void> {
		this.records = await listExperiments(projectId);
	}

	/** Writes are chained, so a later state never lands before an earlier one. */
	private save(record: ExperimentRecord): Promise<void> {
		const plain = JSON.parse(JSON.stringify(record)) as ExperimentRecord;
		plain.updatedAt = Date.now();
		this.records = [plain, ...this.records.filter((r) => r.id !== plain.id)].sort((a, b) => b.createdAt - a.createdAt);
		this.saving = this.saving.then(() => putExperiment(plain)).catch((e) => void (this.error = (e as Error).message));
		return this.saving;
	}

	/** Pause at the next log step of the trial (or fold) under way; Resume continues it. */
	pause(): void {
		this.pauseRequested = true;
		getEngine().pause();
	}

	/**
	 * Tokens for a dataset version with the base config's tokenizer (a pretrained model's own, as the
	 * Train screen prepares them); fills in vocabulary and classes.
	 */
	private async prepare(versionId: string, base: RunConfig) {
		const ds = await getDatasetVersion(versionId);
		if (!ds) throw new Error('The dataset version of this experiment no longer exists.');
		const cfg = structuredClone(base);
		const p = cfg.pretrained;
		if (p) {
			const prep = await getData().prepareHubTokens(versionId, { repo: p.repo, revision: p.revision }, p.objective, p.contextLength);
			p.numClasses = ds.labels.length;
			return { ds, prep: { tokenizerHash: prep.tokenizerHash, tokenizedKey: prep.key as string | undefined }, cfg };
		}
		const prep = await getData().prepareTokens(versionId, base.tokenizer, base.model.contextLength);
		cfg.model.vocabSize = prep.vocabSize;
		cfg.model.numClasses = ds.labels.length;
		return { ds, prep: { tokenizerHash: prep.tokenizerHash, tokenizedKey: undefined as string | undefined }, cfg };
	}

	private async begin(id: string, what: () => Promise<void>): Promise<void> {
		if (this.activeId) throw new Error('An experiment is already running; pause it first.');
		this.activeId = id;
		this.pauseRequested = false;
		this.error = null;
		try {
			await what();
		} catch (e) {
			this.error = (e as Error).message;
		} finally {
			getEngine().onMetrics = null;
			this.activeId = null;
			this.message = null;
			await studio.refresh();
		}
	}

	/** Run (or resume) a study until its budget is spent or it is paused. */
	runStudy(record: StudyRecord): Promise<void> {
		return this.begin(record.id, async () => {
			const engine = getEngine();
			const study = Study.fromJSON(record);
			const rec = study.state as StudyRecord;
			rec.status = 'running';
			await this.save(rec);
			this.message = 'Preparing the tokens…';
			const { ds, prep, cfg: base } = await this.prepare(rec.datasetVersionId, rec.baseConfig);
			for (let trial = study.ask(); trial; trial = study.ask()) {
				if (this.pauseRequested) break;
				const n = trial.number;
				let run: Run | undefined = trial.runId ? await getRun(trial.runId) : undefined;
				if (!run) {
					run = await engine.createRun({
						projectId: rec.projectId,
						datasetVersionId: ds.id,
						datasetHash: ds.contentHash,
						tokenizerHash: prep.tokenizerHash,
						...(prep.tokenizedKey ? { tokenizedKey: prep.tokenizedKey } : {}),
						config: configFor(base, trial.params, rec.maxSteps),
						name: `${rec.config.name} · trial ${n}`,
						experiment: { kind: 'study', id: rec.id, index: n, params: trial.params }
					});
					trial.runId = run.id;
					await this.save(rec);
					await studio.refresh();
				}
				this.message = `Trial ${n + 1}${rec.config.budget.trials ? ` of ${rec.config.budget.trials}` : ''}`;
				const runId = run.id;
				let pruned = false;
				engine.onMetrics = (p) => {
					const v = p[rec.metric];
					if (p.runId !== runId || pruned || typeof v !== 'number') return;
					if (study.report(n, p.step, v)) {
						pruned = true;
						this.message = `Trial ${n + 1} pruned at step ${p.step}`;
						engine.stop();
					}
					void this.save(rec);
				};
				let status: Run['status'] = run.status;
				try {
					if (status !== 'completed') status = await engine.train(runId);
				} catch (e) {
					if (engine.status === 'crashed') throw e;
					study.tell(n, { error: (e as Error).message });
					await this.save(rec);
					continue;
				} finally {
					engine.onMetrics = null;
				}
				if (pruned) {
					await this.save(rec);
					continue;
				}
				if (status === 'completed') {
					const value = objectiveOf(await getMetrics(runId), rec.metric);
					study.tell(n, value === undefined ? { error: 'the run reported no validation value' } : { value });
				} else if (status === 'failed') {
					study.tell(n, { error: (await getRun(runId))?.error ?? 'the run failed' });
				} else {
					// Paused (or stopped by hand): the trial stays running and resumes from its checkpoint.
					break;
				}
				await this.save(rec);
			}
			rec.status = study.stopReason() ? 'done' : 'paused';
			await this.save(rec);
		});
	}

	/** Run (or resume) a cross-validation's folds or seeds. */
	runCv(record: CvRecord): Promise<void> {
		return this.begin(record.id, async () => {
			const engine = getEngine();
			const data = getData();
			const rec = JSON.parse(JSON.stringify(record)) as CvRecord;
			rec.status = 'running';
			await this.save(rec);
			for (const fold of rec.folds) {
				if (fold.state === 'complete' || fold.state === 'failed') continue;
				if (this.pauseRequested) break;
				const what = rec.kind === 'folds' ? `Fold ${fold.index + 1} of ${rec.k}` : `Seed ${fold.seed} (${fold.index + 1} of ${rec.k})`;
				this.message = `${what}: preparing its data…`;
				if (!fold.datasetVersionId) {
					const v =
						rec.kind === 'folds'
							? await data.foldDataset(rec.datasetVersionId, { k: rec.k, seed: rec.seed, stratify: rec.stratify }, fold.index)
							: await getDatasetVersion(rec.datasetVersionId);
					fold.datasetVersionId = v!.id;
					await this.save(rec);
				}
				const { ds, prep, cfg } = await this.prepare(fold.datasetVersionId, rec.baseConfig);
				let run: Run | undefined = fold.runId ? await getRun(fold.runId) : undefined;
				if (!run) {
					run = await engine.createRun({
						projectId: rec.projectId,
						datasetVersionId: ds.id,
						datasetHash: ds.contentHash,
						tokenizerHash: prep.tokenizerHash,
						...(prep.tokenizedKey ? { tokenizedKey: prep.tokenizedKey } : {}),
						config: configFor(cfg, {}, rec.maxSteps, fold.seed),
						name: `${rec.name} · ${rec.kind === 'folds' ? `fold ${fold.index + 1}` : `seed ${fold.seed}`}`,
						experiment: { kind: rec.kind, id: rec.id, index: fold.index }
					});
					fold.runId = run.id;
					await studio.refresh();
				}
				fold.state = 'running';
				await this.save(rec);
				this.message = what;
				let status: Run['status'] = run.status;
				try {
					if (status !== 'completed') status = await engine.train(run.id);
				} catch (e) {
					if (engine.status === 'crashed') throw e;
					fold.state = 'failed';
					fold.error = (e as Error).message;
					await this.save(rec);
					continue;
				}
				if (status === 'completed') {
					const points = await getMetrics(run.id);
					fold.valLoss = objectiveOf(points, 'valLoss');
					fold.valAccuracy = objectiveOf(points, 'valAccuracy');
					fold.state = 'complete';
				} else if (status === 'failed') {
					fold.state = 'failed';
					fold.error = (await getRun(run.id))?.error ?? 'the run failed';
				} else break;
				await this.save(rec);
			}
			rec.status = rec.folds.every((f) => f.state === 'complete' || f.state === 'failed') ? 'done' : 'paused';
			await this.save(rec);
		});
	}

	async remove(id: string): Promise<void> {
		const { deleteExperiment } = await import('$lib/storage');
		await deleteExperiment(id);
		this.records = this.records.filter((r) => r.id !== id);
	}

	/** For a new record: stored before it runs, so it shows (and survives a reload) at once. */
	add(record: ExperimentRecord): Promise<void> {
		return this.save(record);
	}
}

export const runner = new ExperimentRunner();
