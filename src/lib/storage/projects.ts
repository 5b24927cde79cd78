/**
 * Projects: the top-level records the user sees. Deleting one removes everything it owns
 * (dataset versions, rows, tokenized caches, runs, metrics, checkpoints) in one transaction.
 */
import type { Project } from '../shared/types';
import { dropRun, dropVersion, type RunStores, type VersionStores } from './cascade';
import { openDb } from './db';
import { write } from './tx';

/** Most recently updated first. */
export async function listProjects(): Promise<Project[]> {
	const projects = await (await openDb()).getAll('projects');
	return projects.sort((a, b) => b.updatedAt - a.updatedAt);
}

export async function getProject(id: string): Promise<Project | undefined> {
	return (await openDb()).get('projects', id);
}

export async function putProject(project: Project): Promise<void> {
	await write(['projects'], async (tx) => void (await tx.objectStore('projects').put(project)), {
		what: 'the project'
	});
}

export async function deleteProject(id: string): Promise<void> {
	const stores: ('projects' | 'experiments' | VersionStores | RunStores)[] = [
		'projects', 'datasets', 'rows', 'tokenized', 'runs', 'metrics', 'checkpoints', 'checkpointChunks', 'experiments'
	];
	await write(stores, async (tx) => {
		const [versionIds, runIds, experimentIds] = await Promise.all([
			tx.objectStore('datasets').index('byProject').getAllKeys(id),
			tx.objectStore('runs').index('byProject').getAllKeys(id),
			tx.objectStore('experiments').index('byProject').getAllKeys(id)
		]);
		await Promise.all([
			tx.objectStore('projects').delete(id),
			...experimentIds.map((experimentId) => tx.objectStore('experiments').delete(experimentId)),
			...versionIds.map((versionId) => dropVersion(tx, versionId)),
			...runIds.map((runId) => dropRun(tx, runId))
		]);
	});
}
