/**
 * The start-up sweep of records whose owner no longer exists: a run whose project was deleted, a
 * metric series or checkpoint whose run was deleted, a dataset version whose project was deleted
 * (with its rows and token caches). They are left when a deletion races a writer: a project
 * deleted in one tab while another tab's engine still appended a metric point or wrote a
 * checkpoint manifest. Checkpoint chunks without a manifest are `sweepOrphanChunks`'s.
 * Run it, like that sweep, when no tab is training (engine-api's `init` takes the training lock).
 */
import { dropRun, dropVersion } from './cascade';
import { write } from './tx';

export interface SweptRecords {
	runs: number;
	metrics: number;
	checkpoints: number;
	versions: number;
}

export async function sweepOrphanRecords(): Promise<SweptRecords> {
	return write(['projects', 'datasets', 'rows', 'tokenized', 'runs', 'metrics', 'checkpoints', 'checkpointChunks'], async (tx) => {
		const projects = new Set(await tx.objectStore('projects').getAllKeys());
		const out: SweptRecords = { runs: 0, metrics: 0, checkpoints: 0, versions: 0 };
		const runs = await tx.objectStore('runs').getAll();
		const live = new Set<string>();
		for (const run of runs) {
			if (projects.has(run.projectId)) live.add(run.id);
			else {
				await dropRun(tx, run.id);
				out.runs++;
			}
		}
		for (const version of await tx.objectStore('datasets').getAll())
			if (!projects.has(version.projectId)) {
				await dropVersion(tx, version.id);
				out.versions++;
			}
		// Metric points and checkpoints of runs that are gone (a writer outlived the delete).
		const metricRuns = new Set((await tx.objectStore('metrics').getAllKeys()).map(([runId]) => runId));
		for (const runId of metricRuns)
			if (!live.has(runId)) {
				out.metrics += await tx.objectStore('metrics').index('byRun').count(runId);
				await tx.objectStore('metrics').delete(IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]));
			}
		for (const manifest of await tx.objectStore('checkpoints').getAll())
			if (!live.has(manifest.runId)) {
				await tx.objectStore('checkpoints').delete(manifest.id);
				await tx.objectStore('checkpointChunks').delete(IDBKeyRange.bound([manifest.id, -Infinity], [manifest.id, Infinity]));
				out.checkpoints++;
			}
		return out;
	});
}
