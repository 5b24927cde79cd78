/**
 * Counting what a training step asks of the GPU (bench:step, issue 10): every compute dispatch,
 * queue submit, buffer-to-buffer copy and queue write, each dispatch attributed to the step phase
 * (phase.ts) the engine was in when it was encoded. It works by wrapping the WebGPU prototypes'
 * methods for as long as a count is wanted, so it sees the tfjs backend's kernels and any fused
 * kernel that drives the device itself alike, and costs nothing once uninstalled.
 *
 * The wrapping takes the prototypes as arguments, so a test can hand it fakes.
 */
import { stepPhase, type StepPhase } from './phase';

export const STEP_PHASES: readonly StepPhase[] = ['forward', 'backward', 'clip', 'optimizer', 'other'];

/** What one stretch of GPU work was made of. */
export interface GpuCounts {
	/** Compute dispatches (direct and indirect), by the phase they were encoded in. */
	dispatches: Record<StepPhase, number>;
	submits: number;
	/** copyBufferToBuffer commands (read-backs, uploads and tfjs's own copies). */
	copies: number;
	/** queue.writeBuffer calls (tfjs writes each kernel's uniforms this way). */
	writes: number;
}

export function emptyCounts(): GpuCounts {
	return { dispatches: { forward: 0, backward: 0, clip: 0, optimizer: 0, other: 0 }, submits: 0, copies: 0, writes: 0 };
}

export function totalDispatches(c: GpuCounts): number {
	return STEP_PHASES.reduce((s, p) => s + c.dispatches[p], 0);
}

/** The prototypes whose methods are counted; in a browser or worker, those of the WebGPU globals. */
export interface GpuPrototypes {
	computePass?: object;
	queue?: object;
	commandEncoder?: object;
}

export function webgpuPrototypes(scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): GpuPrototypes {
	const proto = (name: string) => (scope[name] as { prototype?: object } | undefined)?.prototype;
	return { computePass: proto('GPUComputePassEncoder'), queue: proto('GPUQueue'), commandEncoder: proto('GPUCommandEncoder') };
}

type Kind = 'dispatch' | 'submit' | 'copy' | 'write';

/**
 * Wrap the methods that make GPU work; `onEvent` hears each call (after it was passed on). Returns
 * the function that puts the original methods back. Missing prototypes or methods are skipped.
 */
export function wrapGpuMethods(protos: GpuPrototypes, onEvent: (kind: Kind) => void): () => void {
	const restore: (() => void)[] = [];
	const wrap = (target: object | undefined, method: string, kind: Kind) => {
		if (!target) return;
		const t = target as Record<string, unknown>;
		const original = t[method];
		if (typeof original !== 'function') return;
		t[method] = function (this: unknown, ...args: unknown[]) {
			const out = (original as (...a: unknown[]) => unknown).apply(this, args);
			onEvent(kind);
			return out;
		};
		restore.push(() => (t[method] = original));
	};
	wrap(protos.computePass, 'dispatchWorkgroups', 'dispatch');
	wrap(protos.computePass, 'dispatchWorkgroupsIndirect', 'dispatch');
	wrap(protos.queue, 'submit', 'submit');
	wrap(protos.queue, 'writeBuffer', 'write');
	wrap(protos.commandEncoder, 'copyBufferToBuffer', 'copy');
	return () => restore.reverse().forEach((r) => r());
}

/**
 * Counts GPU work into whichever `GpuCounts` is active (`measure` switches it), so interleaved
 * engines each get their own tally; work while none is active is not counted.
 */
export class GpuCounter {
	private active: GpuCounts | null = null;
	private readonly uninstall: () => void;

	constructor(protos: GpuPrototypes = webgpuPrototypes(), phase: () => StepPhase = stepPhase) {
		this.uninstall = wrapGpuMethods(protos, (kind) => {
			const c = this.active;
			if (!c) return;
			if (kind === 'dispatch') c.dispatches[phase()]++;
			else if (kind === 'submit') c.submits++;
			else if (kind === 'copy') c.copies++;
			else c.writes++;
		});
	}

	/** Run `f` with its GPU work counted into a fresh tally; returns both. */
	async measure<T>(f: () => Promise<T> | T): Promise<{ value: T; counts: GpuCounts }> {
		const counts = emptyCounts();
		const outer = this.active;
		this.active = counts;
		try {
			return { value: await f(), counts };
		} finally {
			this.active = outer;
		}
	}

	dispose(): void {
		this.active = null;
		this.uninstall();
	}
}
