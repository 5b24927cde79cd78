import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, requestPersistence, storageEstimate } from '../../../src/lib/storage/quota';

afterEach(() => vi.unstubAllGlobals());

describe('quota', () => {
	it('formats bytes in decimal units', () => {
		expect(formatBytes(0)).toBe('0 B');
		expect(formatBytes(999)).toBe('999 B');
		expect(formatBytes(1000)).toBe('1.0 kB');
		expect(formatBytes(1_234_567)).toBe('1.2 MB');
		expect(formatBytes(154_000_000)).toBe('154 MB');
		expect(formatBytes(999_960)).toBe('1.0 MB');
		expect(formatBytes(2.5e9)).toBe('2.5 GB');
		expect(formatBytes(-2048)).toBe('-2.0 kB');
	});

	it('reads the estimate, or null where there is none', async () => {
		vi.stubGlobal('navigator', {});
		expect(await storageEstimate()).toBeNull();
		vi.stubGlobal('navigator', { storage: { estimate: async () => ({ usage: 5, quota: 100 }) } });
		expect(await storageEstimate()).toEqual({ usage: 5, quota: 100 });
	});

	it('asks for persistence only where persist exists (the page, not workers)', async () => {
		vi.stubGlobal('navigator', { storage: { estimate: async () => ({}) } });
		expect(await requestPersistence()).toBe(false);
		vi.stubGlobal('navigator', { storage: { persist: async () => true } });
		expect(await requestPersistence()).toBe(true);
		vi.stubGlobal('navigator', { storage: { persist: async () => Promise.reject(new Error('denied')) } });
		expect(await requestPersistence()).toBe(false);
	});
});
