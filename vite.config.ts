import { sveltekit } from '@sveltejs/kit/vite';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	worker: { format: 'es' },
	server: { fs: { allow: ['workers'] } },
	test: {
		include: ['tests/unit/**/*.test.ts'],
		environment: 'node',
		testTimeout: 60_000,
		hookTimeout: 60_000,
		pool: 'forks',
		// Vitest's default leaves a core idle (cores − 1: one fork on a 2-core machine); the tests are
		// single-threaded tfjs on the CPU, so one fork per core nearly halves the unit tier's time.
		maxWorkers: Math.max(2, availableParallelism())
	}
});
