/**
 * How much browser storage the studio uses and may use, and asking the browser to keep it.
 * `persist()` exists only on the page (not in workers); without it the browser may evict
 * everything under storage pressure.
 */

/** Bytes used and available to this origin, or null where the browser cannot say. */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
	const storage = storageManager();
	if (typeof storage?.estimate !== 'function') return null;
	try {
		const { usage = 0, quota = 0 } = await storage.estimate();
		return { usage, quota };
	} catch {
		return null;
	}
}

/** Ask the browser not to evict our data; true if it agreed (or already had). */
export async function requestPersistence(): Promise<boolean> {
	const storage = storageManager();
	if (typeof storage?.persist !== 'function') return false;
	try {
		return await storage.persist();
	} catch {
		return false;
	}
}

function storageManager(): Partial<StorageManager> | undefined {
	return typeof navigator === 'undefined' ? undefined : navigator.storage;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units, as browsers and disks report them: "0 B", "950 kB", "1.2 MB". */
export function formatBytes(n: number): string {
	if (!Number.isFinite(n)) return '–';
	if (n < 0) return `-${formatBytes(-n)}`;
	// The smallest unit whose rounded value stays below 1000, so 999.96 kB reads "1.0 MB".
	for (let unit = 0; ; unit++) {
		const value = n / 1000 ** unit;
		const text = unit === 0 ? String(Math.round(value)) : value.toFixed(value < 9.95 ? 1 : 0);
		if (Number(text) < 1000 || unit === UNITS.length - 1) return `${text} ${UNITS[unit]}`;
	}
}
