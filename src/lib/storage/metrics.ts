/**
 * Per-run metric series, one record per [runId, step]. Training and validation numbers for the
 * same step arrive separately, so a new point is merged into the stored one, field by field.
 */
import type { MetricPoint } from '../shared/types';
import { openDb } from './db';
import { ownedAfter, ownedBy, write } from './tx';

export async function appendMetrics(points: MetricPoint[]): Promise<void> {
	if (points.length === 0) return;
	await write(
		['metrics'],
		async (tx) => {
			const store = tx.objectStore('metrics');
			// One at a time, so two points for the same step in one call merge as well.
			for (const point of points) {
				const stored = await store.get([point.runId, point.step]);
				await store.put({ ...(stored ?? point), ...definedFields(point) });
			}
		},
		{ what: 'the training metrics' }
	);
}

/** A run's points, by step. */
export async function getMetrics(runId: string): Promise<MetricPoint[]> {
	// Keys are [runId, step], so the key order is the step order.
	return (await openDb()).getAll('metrics', ownedBy(runId));
}

/** Forget points after `step`: a run resumed from an earlier checkpoint logs them again. */
export async function deleteMetricsAfter(runId: string, step: number): Promise<void> {
	await write(['metrics'], (tx) => tx.objectStore('metrics').delete(ownedAfter(runId, step)));
}

/** Copy a run's points up to and including `step` to another run (a branch starts with its parent's history). */
export async function copyMetrics(fromRunId: string, toRunId: string, step: number): Promise<number> {
	return write(
		['metrics'],
		async (tx) => {
			const store = tx.objectStore('metrics');
			const points = await store.getAll(IDBKeyRange.bound([fromRunId, -Infinity], [fromRunId, step]));
			for (const point of points) await store.put({ ...point, runId: toRunId });
			return points.length;
		},
		{ what: 'the training metrics' }
	);
}

/** A field sent as `undefined` means "not measured here", not "erase". */
function definedFields(point: MetricPoint): Partial<MetricPoint> {
	const entries: [string, unknown][] = Object.entries(point);
	return Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as Partial<MetricPoint>;
}
