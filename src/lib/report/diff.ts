/**
 * The fields in which run configs differ, for the Compare screen: configs are flattened to dotted
 * paths ("train.learningRate") and only paths whose values are not all equal are kept.
 */

/** Leaves of a plain object as `path → JSON text`; arrays are leaves. */
export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
	if (value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
		for (const [key, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${key}` : key, out);
	} else if (value !== undefined) {
		out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
	}
	return out;
}

export interface DiffRow {
	path: string;
	/** One per config; undefined where the config lacks the field. */
	values: (string | undefined)[];
}

/** Paths in first-seen order whose values differ between the configs (a missing field differs). */
export function configDiff(configs: unknown[]): DiffRow[] {
	const flat = configs.map((c) => flatten(c));
	const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))];
	return paths
		.map((path) => ({ path, values: flat.map((f) => f[path]) }))
		.filter((row) => row.values.some((v) => v !== row.values[0]));
}
