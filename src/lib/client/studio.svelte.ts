/**
 * What the open tab is looking at: the project list, the current project with its dataset
 * version and runs, and storage use. The page is the reader of stored results (workers write
 * them); it writes only project records. On first open it creates the built-in example project.
 */
import { base } from '$app/paths';
import { getData } from './data.svelte';
import { getEngine } from './engine.svelte';
import { deleteDatasetVersion, deleteProject, getDatasetVersion, getProject, listDatasetVersions, listProjects, listRuns, newId, putProject, isPersisted, storageEstimate } from '../storage';
import type { DatasetVersion, Project, Run } from '../shared/types';
import type { RunConfig } from '../shared/config';
import { nextRunName } from '../shared/run-names';
import { RUNS_CHANNEL, runsTrainingAnywhere } from '../shared/tabs';
import { UserError } from '../shared/errors';

const CURRENT_KEY = 'whetstone.currentProject';
/** A user string inside a sentence, bidi-isolated (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE). */
const isolate = (s: string) => `\u2068${s}\u2069`;
export const EXAMPLE_ID = 'support-tickets';

class Studio {
	projects = $state.raw<Project[]>([]);
	projectId = $state<string | null>(null);
	dataset = $state.raw<DatasetVersion | null>(null);
	/** The project's dataset versions, newest first. */
	datasets = $state.raw<DatasetVersion[]>([]);
	runs = $state.raw<Run[]>([]);
	selectedRunId = $state<string | null>(null);
	/** A checkpoint picked on one screen for another (Train's "Evaluate this" opens Evaluate on it). */
	selectedCheckpoint = $state.raw<{ runId: string; checkpointId: string } | null>(null);
	/** A run config for the Train screen's New-run form ("Copy as new run", "New run from here"); the form loads it and clears this. */
	draftConfig = $state.raw<RunConfig | null>(null);
	storage = $state<{ usage: number; quota: number } | null>(null);
	persisted = $state(false);
	loading = $state(true);
	error = $state<string | null>(null);

	project = $derived(this.projects.find((p) => p.id === this.projectId) ?? null);
	selectedRun = $derived(this.runs.find((r) => r.id === this.selectedRunId) ?? this.runs[0] ?? null);

	/** Runs another tab of the studio is training right now (shared/tabs.ts): shown as such, never resumed here. */
	trainingElsewhere = $state.raw<ReadonlySet<string>>(new Set());
	/** What the last project deletion did (it may have stopped a run first). */
	notice = $state<string | null>(null);

	private loaded: Promise<void> | null = null;
	private watchingTabs = false;

	/** Load once per tab: projects, the example on first open, and interrupted runs. */
	load(): Promise<void> {
		return (this.loaded ??= this.doLoad());
	}

	private async doLoad() {
		this.loading = true;
		try {
			// A read: persistence is asked for when training first starts (storage/quota.ts).
			this.persisted = await isPersisted();
			let projects = await listProjects();
			if (!projects.length) {
				await this.createExample();
				projects = await listProjects();
			}
			this.projects = projects;
			const saved = localStorage.getItem(CURRENT_KEY);
			await this.select(projects.find((p) => p.id === saved)?.id ?? projects[0].id);
			const running = this.runs.filter((r) => r.status === 'running').map((r) => r.id);
			if (running.length) {
				await getEngine().settleInterrupted(running);
				await this.refresh();
			}
			this.watchOtherTabs();
		} catch (e) {
			this.error = (e as Error).message;
		} finally {
			this.loading = false;
			void this.updateStorage();
		}
	}

	/** Follow the other tabs: re-read on their announcements, and every few seconds for a tab that closed without one. */
	private watchOtherTabs(): void {
		if (this.watchingTabs || typeof window === 'undefined') return;
		this.watchingTabs = true;
		if (typeof BroadcastChannel !== 'undefined') new BroadcastChannel(RUNS_CHANNEL).onmessage = () => void this.syncTabs(true).catch(() => {});
		setInterval(() => void this.syncTabs(false).catch(() => {}), 3000);
		void this.syncTabs(false).catch(() => {});
	}

	/**
	 * Who trains what, from the Web Locks. A run stored as "running" that no tab holds was
	 * interrupted (its tab closed, its worker died): it is settled at its last checkpoint, so it
	 * never keeps saying "running".
	 */
	async syncTabs(refresh: boolean): Promise<void> {
		const engine = getEngine();
		const held = await runsTrainingAnywhere();
		const mine = engine.live?.runId;
		if (mine) held.delete(mine);
		if (held.size !== this.trainingElsewhere.size || [...held].some((id) => !this.trainingElsewhere.has(id))) {
			this.trainingElsewhere = held;
			refresh = true;
		}
		const orphaned = this.runs.filter((r) => r.status === 'running' && r.id !== mine && !held.has(r.id)).map((r) => r.id);
		// A crashed engine is not restarted behind the user's back: its banner offers the restart.
		if (orphaned.length && engine.status === 'ready' && (await engine.settleInterrupted(orphaned)).length) refresh = true;
		if (refresh) await this.refresh();
	}

	async createExample(): Promise<Project> {
		const now = Date.now();
		const project: Project = {
			id: newId('prj_'),
			name: 'Support ticket routing',
			task: 'classification',
			description: 'Route customer support tickets to the right team: billing, technical, account, shipping or product feedback.',
			createdAt: now,
			updatedAt: now,
			example: EXAMPLE_ID
		};
		await putProject(project);
		const res = await fetch(`${base}/examples/support-tickets.csv`);
		if (!res.ok) throw new Error(`The built-in example could not be loaded (HTTP ${res.status}).`);
		const version = await getData().importExample(project.id, await res.text());
		project.datasetVersionId = version.id;
		await putProject(project);
		this.projects = await listProjects();
		return project;
	}

	async createProject(name: string, description = ''): Promise<Project> {
		const now = Date.now();
		const project: Project = { id: newId('prj_'), name: name.trim() || 'Untitled project', task: 'classification', description, createdAt: now, updatedAt: now };
		await putProject(project);
		this.projects = await listProjects();
		await this.select(project.id);
		return project;
	}

	async select(id: string): Promise<void> {
		this.projectId = id;
		localStorage.setItem(CURRENT_KEY, id);
		this.selectedRunId = null;
		await this.refresh();
	}

	/** Re-read the current project, its dataset version and runs from storage. */
	async refresh(): Promise<void> {
		const id = this.projectId;
		if (!id) return;
		const project = await getProject(id);
		if (project) this.projects = this.projects.map((p) => (p.id === id ? project : p));
		this.dataset = project?.datasetVersionId ? ((await getDatasetVersion(project.datasetVersionId)) ?? null) : null;
		this.datasets = await listDatasetVersions(id);
		this.runs = await listRuns(id);
		void this.updateStorage();
	}

	async useDataset(version: DatasetVersion): Promise<void> {
		const project = this.project;
		if (!project) return;
		await putProject({ ...project, datasetVersionId: version.id, updatedAt: Date.now() });
		await this.refresh();
	}

	/** Deletes a dataset version the project does not use and no run was trained on (storage refuses the others, saying why). */
	async deleteDataset(id: string): Promise<void> {
		await deleteDatasetVersion(id);
		await this.refresh();
	}

	/**
	 * Delete a project with everything it owns. Its work is cancelled first: a run this tab trains
	 * is stopped and waited for (so no metric point or checkpoint lands after the delete); a run
	 * another tab trains makes the delete refuse, saying where. Returns what it did, for the page
	 * to say.
	 */
	async remove(id: string): Promise<string> {
		const engine = getEngine();
		// Names inside a sentence are isolated (FSI … PDI) so bidi controls in them cannot reorder it.
		const name = isolate(this.projects.find((p) => p.id === id)?.name ?? 'the project');
		const runs = await listRuns(id);
		const ids = new Set(runs.map((r) => r.id));
		const held = await runsTrainingAnywhere();
		const elsewhere = runs.find((r) => r.id !== engine.live?.runId && held.has(r.id));
		if (elsewhere) throw new UserError('invalid-config', `Run “${isolate(elsewhere.name)}” of “${name}” is training in another tab. Stop it there first, then delete the project.`);
		const stopped = await engine.stopTraining(ids);
		await deleteProject(id);
		const stoppedName = stopped ? isolate(runs.find((r) => r.id === stopped)?.name ?? '') : undefined;
		this.notice = stoppedName
			? `Training of “${stoppedName}” was stopped first; then “${name}” was deleted with its datasets, runs and checkpoints.`
			: `“${name}” was deleted with its datasets, runs and checkpoints.`;
		this.projects = await listProjects();
		if (this.projectId === id) {
			if (!this.projects.length) await this.createExample();
			await this.select(this.projects[0].id);
		}
		void this.updateStorage();
		return this.notice;
	}

	/** The name of the project's next training run, e.g. "run 3" (baselines take no number; see shared/run-names.ts). */
	nextRunName(prefix = 'run'): string {
		return nextRunName(this.runs, prefix);
	}

	async updateStorage(): Promise<void> {
		this.storage = await storageEstimate();
	}
}

export const studio = new Studio();
