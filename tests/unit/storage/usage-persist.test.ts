/**
 * Persistent storage is asked for once, when training first starts, and the answer remembered
 * (storage/quota.ts); reading whether it is granted asks nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isPersisted, persistAnswer, persistOnFirstTraining } from '../../../src/lib/storage/quota';

function memoryStorage(): Storage {
	const m = new Map<string, string>();
	return {
		getItem: (k) => m.get(k) ?? null,
		setItem: (k, v) => void m.set(k, String(v)),
		removeItem: (k) => void m.delete(k),
		clear: () => m.clear(),
		key: (i) => [...m.keys()][i] ?? null,
		get length() {
			return m.size;
		}
	};
}

afterEach(() => vi.unstubAllGlobals());

describe('persistence', () => {
	it('asks once, remembers the answer, and does not ask again', async () => {
		const persist = vi.fn(async () => false);
		vi.stubGlobal('localStorage', memoryStorage());
		vi.stubGlobal('navigator', { storage: { persist } });
		expect(persistAnswer()).toBeNull();
		const first = await persistOnFirstTraining();
		expect(first).toMatchObject({ granted: false });
		expect(persistAnswer()).toEqual(first);
		expect(await persistOnFirstTraining()).toBeNull();
		expect(persist).toHaveBeenCalledTimes(1);
	});

	it('remembers a grant; a damaged record counts as never asked', async () => {
		vi.stubGlobal('localStorage', memoryStorage());
		vi.stubGlobal('navigator', { storage: { persist: async () => true } });
		localStorage.setItem('whetstone.persistAsked', '{not json');
		expect(persistAnswer()).toBeNull();
		expect((await persistOnFirstTraining())?.granted).toBe(true);
		expect(persistAnswer()?.granted).toBe(true);
	});

	it('reads the grant without asking, false where the browser cannot say', async () => {
		const persist = vi.fn(async () => true);
		vi.stubGlobal('navigator', { storage: { persist, persisted: async () => true } });
		expect(await isPersisted()).toBe(true);
		expect(persist).not.toHaveBeenCalled();
		vi.stubGlobal('navigator', { storage: {} });
		expect(await isPersisted()).toBe(false);
		vi.stubGlobal('navigator', { storage: { persisted: () => Promise.reject(new Error('no')) } });
		expect(await isPersisted()).toBe(false);
	});
});
