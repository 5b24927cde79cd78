/**
 * Runs before every unit test file (vitest `setupFiles`). The unit tier runs its files without module
 * isolation (vite.config.ts), so the files in one fork share its globals. onnxruntime-web's
 * Emscripten loader sets `globalThis.Worker` to Node's worker_threads Worker when it loads; a later
 * file would then see "a browser with workers", and its clients and shard pools would start real
 * Node workers on .ts files. A file starts, as it would in a fork of its own, without that Worker.
 */
import { Worker as NodeWorker } from 'node:worker_threads';

const g = globalThis as { Worker?: unknown };
if (g.Worker === NodeWorker) delete g.Worker;
