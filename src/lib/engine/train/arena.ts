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
