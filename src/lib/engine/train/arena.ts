/**
 * Where each trainable parameter lives in the fused optimizer's flat arenas (fused-optimizer.ts):
 * one contiguous float32 segment per parameter, the same layout for parameters, gradients and
 * moments. The parameters that take weight decay come first, so the kernel tells them apart by
 * comparing an element's index with one boundary (`decayEnd`) instead of reading a segment table.
 * Pure layout, no GPU: the unit tests check it on the CPU.
 */

export interface ArenaSegment {
	name: string;
	shape: number[];
	/** First element of the segment in the arena. */
	offset: number;
	size: number;
	decays: boolean;
}

export interface ArenaLayout {
	segments: ArenaSegment[];
	/** Elements in the arena (the sum of the segment sizes). */
	total: number;
	/** Elements below this index take weight decay; those at or above it do not. */
	decayEnd: number;
}

/**
 * Lay the parameters out in the arena: decayed ones first, each group in the order given (the
 * optimizer's parameter order), so the layout is the same on every call with the same parameters.
 */
export function arenaLayout(params: Iterable<[string, number[]]>, decays: (name: string, shape: number[]) => boolean): ArenaLayout {
	const all = [...params].map(([name, shape]) => ({ name, shape, size: shape.reduce((a, b) => a * b, 1), decays: decays(name, shape) }));
	const ordered = [...all.filter((p) => p.decays), ...all.filter((p) => !p.decays)];
	const segments: ArenaSegment[] = [];
	let offset = 0;
	let decayEnd = 0;
	for (const p of ordered) {
		segments.push({ ...p, offset });
		offset += p.size;
		if (p.decays) decayEnd = offset;
	}
	return { segments, total: offset, decayEnd };
}

/** Workgroups of the norm's first pass: each sums a strided share of the squared gradients. */
export const NORM_WORKGROUPS = 256;
/**
 * Partial sums of the norm pass with 'thread' reductions (software adapters, ops/fused/reductions.ts):
 * one workgroup of this many threads, no barrier; every update thread then adds them all.
 */
export const THREAD_PARTIALS = 16;
/** Threads per workgroup in both fused kernels. */
export const WORKGROUP_SIZE = 256;
/** Largest 1-D dispatch WebGPU allows by default; the update kernel loops over what is beyond it. */
export const MAX_WORKGROUPS = 65535;

/** Workgroups for the norm's first pass and for the update over an arena of `total` elements. */
export function workgroupCounts(total: number): { norm: number; update: number } {
	const groups = Math.max(1, Math.ceil(total / WORKGROUP_SIZE));
	return { norm: Math.min(NORM_WORKGROUPS, groups), update: Math.min(MAX_WORKGROUPS, groups) };
}

/**
 * One buffer's share of the arena. A shader may bind at most `maxStorageBufferBindingSize` bytes
 * and a buffer may hold at most `maxBufferSize` (128 MiB and 256 MiB on some adapters, 1 GiB on
 * SwiftShader): an arena larger than that (full fine-tuning of a model over ~33M parameters at
 * 128 MiB) is cut into chunks of at most `chunkElements` values, each its own buffer per arena,
 * and each with its own pair of dispatches. `decayEnd` is counted from the chunk's start.
 */
export interface ArenaChunk {
	/** First element of the chunk in the flat arena. */
	start: number;
	/** Elements in the chunk. */
	total: number;
	/** Elements of the chunk below this index take weight decay. */
	decayEnd: number;
}

/** Values per chunk for a binding limit of `limitBytes` (at least one value). */
export function chunkElements(limitBytes: number): number {
	return Math.max(1, Math.floor(limitBytes / 4));
}

/** The chunks of `layout` for chunks of at most `perChunk` values: one chunk when the arena fits. */
export function arenaChunks(layout: ArenaLayout, perChunk: number): ArenaChunk[] {
	const chunks: ArenaChunk[] = [];
	for (let start = 0; start < layout.total || chunks.length === 0; start += perChunk) {
		const total = Math.min(perChunk, layout.total - start);
		chunks.push({ start, total, decayEnd: Math.max(0, Math.min(total, layout.decayEnd - start)) });
		if (total <= 0) break;
	}
	return chunks;
}

/** Where a segment's values lie: per chunk, `size` values at `at` in the chunk, from `from` in the segment. */
export interface ArenaPiece {
	chunk: number;
	at: number;
	from: number;
	size: number;
}

/** The pieces of one segment, in order, for chunks of `perChunk` values (a segment may span several). */
export function segmentPieces(seg: Pick<ArenaSegment, 'offset' | 'size'>, perChunk: number): ArenaPiece[] {
	const pieces: ArenaPiece[] = [];
	for (let from = 0; from < seg.size; ) {
		const pos = seg.offset + from;
		const chunk = Math.floor(pos / perChunk);
		const at = pos - chunk * perChunk;
		const size = Math.min(seg.size - from, perChunk - at);
		pieces.push({ chunk, at, from, size });
		from += size;
	}
	return pieces;
}
