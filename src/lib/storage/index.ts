/**
 * The studio's storage: IndexedDB through `idb`, usable from the page and from workers.
 * DESIGN.md, "Storage".
 */
export * from './db';
export * from './projects';
export * from './datasets';
export * from './tokenizers';
export * from './runs';
export * from './metrics';
export * from './checkpoints';
export * from './quota';
export * from './models';
export * from './experiments';
