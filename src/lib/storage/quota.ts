/**
 * How much browser storage the studio uses and may use, and asking the browser to keep it.
 * `persist()` exists only on the page (not in workers); without it the browser may evict
 * everything under storage pressure. The studio asks once, when the user first starts training
 * (the moment there is work worth keeping), and remembers the answer in localStorage.
 * DESIGN.md, "Storage"; the Storage Standard, https://storage.spec.whatwg.org/#persistence.
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

/** Whether the browser already keeps our data (a read: asks nothing). */
export async function isPersisted(): Promise<boolean> {
	const storage = storageManager();
	if (typeof storage?.persisted !== 'function') return false;
	try {
		return await storage.persisted();
	} catch {
		return false;
	}
}

const PERSIST_KEY = 'whetstone.persistAsked';

/** When the studio asked for persistent storage, and what the browser answered. */
export interface PersistAnswer {
	granted: boolean;
	at: number;
}

/** The remembered answer, or null if the studio never asked in this browser profile. */
export function persistAnswer(): PersistAnswer | null {
	try {
		const raw = globalThis.localStorage?.getItem(PERSIST_KEY);
		const parsed = raw ? (JSON.parse(raw) as Partial<PersistAnswer>) : null;
		return parsed && typeof parsed.granted === 'boolean' && typeof parsed.at === 'number' ? { granted: parsed.granted, at: parsed.at } : null;
	} catch {
		return null;
	}
}

/**
 * Ask for persistent storage the first time training starts in this profile, and remember that
 * it was asked (the browser decides without a prompt in Chromium, with one in Firefox: asking on
 * every start would nag). Returns the answer, or null when it was asked before.
 */
export async function persistOnFirstTraining(): Promise<PersistAnswer | null> {
	if (persistAnswer()) return null;
	const answer: PersistAnswer = { granted: await requestPersistence(), at: Date.now() };
	try {
		globalThis.localStorage?.setItem(PERSIST_KEY, JSON.stringify(answer));
	} catch {
		// Private mode without localStorage: it is asked again next time, which does no harm.
	}
	return answer;
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
