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
		maxWorkers: Math.max(2, availableParallelism()),
		// Each fork keeps its modules from file to file instead of importing tfjs and the engine again
		// for each of ~160 files (about 130 s of imports summed over the tier, 42 s without isolation).
		// The files keep no state between them that another reads: each picks its own fake-indexeddb
		// database and tfjs backend and counts tensors from where it starts; the one global a module
		// leaves behind (onnxruntime-web's Worker) is removed before each file by the setup file.
		isolate: false,
		setupFiles: ['tests/support/unit-globals.ts']
	}
});
