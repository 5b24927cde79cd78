/**
 * The compiled steps of one training session (issue 10): one plan (step-plan.ts) per kind of step
 * (the batch's shape, its sequence-length bucket, whether sums are running), each traced twice and
 * then replayed. A kind whose plan is refused runs uncompiled from then on, and the reason is kept
 * (`refused`) for the log and the bench. Plans are dropped when tfjs frees a buffer one binds.
 */
import * as tf from '@tensorflow/tfjs';
import { PlanBuffers, StepPlan, traceStep, type PlanStats, type Trace, type TraceBackend } from './step-plan';
import type { StepContext } from './notes';

/** Traces before a kind is given up (the first may differ from the rest: tables made on first use). */
const MAX_TRACES = 4;

interface Kind {
	traces: number;
	last: Trace | null;
	plan: StepPlan | null;
	refused: string | null;
}

/** A backend whose buffer releases already tell the sessions' plans. */
const watched = new WeakMap<object, Set<CompiledSteps>>();

function watchReleases(backend: TraceBackend, owner: CompiledSteps): void {
	let owners = watched.get(backend);
	if (!owners) {
		const set = new Set<CompiledSteps>();
		owners = set;
		watched.set(backend, set);
		const bm = backend.bufferManager as { releaseBuffer: (b: GPUBuffer, reuse?: boolean) => void };
		const original = bm.releaseBuffer;
		bm.releaseBuffer = function (this: unknown, b: GPUBuffer, reuse?: boolean) {
			for (const o of set) o.released(b);
			return original.call(this, b, reuse);
		};
	}
	owners.add(owner);
}

export interface CompiledSummary {
	kinds: number;
	compiled: number;
	replays: number;
	refused: string[];
	stats: PlanStats | null;
}

export class CompiledSteps {
	private readonly kinds = new Map<string, Kind>();
	private buffers: PlanBuffers | null = null;
	private backend: TraceBackend | null = null;
	private readonly stableOf = new Map<GPUBuffer, Set<StepPlan>>();
	replays = 0;

	/** Whether the active backend can run compiled steps (WebGPU with the internals a trace uses). */
	static supported(): boolean {
		const b = tf.backend() as unknown as Partial<TraceBackend>;
		return !!b.device && !!b.bufferManager && typeof b.submitQueue === 'function' && typeof b.makeUniforms === 'function' && typeof GPUBuffer !== 'undefined';
	}

	/**
	 * One step of `kind`: replayed where a plan is ready, otherwise run by `step` (traced while
	 * the kind is still being compiled). `ins`/`outs` name the engine's tensors the step reads and
	 * leaves; `adopt` takes the replay's outputs. Returns whether the step was replayed.
	 */
	run(kind: string, ctx: StepContext, ins: tf.Tensor[], step: () => void, outs: () => tf.Tensor[], adopt: (outs: tf.Tensor[]) => void): boolean {
		const backend = tf.backend() as unknown as TraceBackend;
		if (this.backend !== backend) this.reset(backend);
		let k = this.kinds.get(kind);
		if (!k) this.kinds.set(kind, (k = { traces: 0, last: null, plan: null, refused: null }));
		if (k.plan && k.plan.invalid) {
			k.plan = null;
			k.last = null;
			k.traces = 0;
		}
		if (k.plan) {
			adopt(k.plan.replay(ctx, ins));
			this.replays++;
			return true;
		}
		if (k.refused) {
			step();
			return false;
		}
		const trace = traceStep(backend, ctx, ins, step, outs);
		k.traces++;
		if (k.last) {
			const plan = StepPlan.compile(backend, k.last, trace, this.buffers!);
			if (typeof plan !== 'string') {
				k.plan = plan;
				k.last = null;
				for (const b of plan.stable) {
					let s = this.stableOf.get(b);
					if (!s) this.stableOf.set(b, (s = new Set()));
					s.add(plan);
				}
				return false;
			}
			if (k.traces >= MAX_TRACES) {
				k.refused = plan;
				k.last = null;
				return false;
			}
		} else if (trace.failure && k.traces >= MAX_TRACES) k.refused = trace.failure;
		k.last = trace;
		return false;
	}

	/** tfjs freed `buffer`: plans that bind it are dropped. */
	released(buffer: GPUBuffer): void {
		const plans = this.stableOf.get(buffer);
		if (!plans) return;
		for (const p of plans) p.invalidate();
		this.stableOf.delete(buffer);
	}

	summary(): CompiledSummary {
		const all = [...this.kinds.values()];
		const plan = all.find((k) => k.plan)?.plan ?? null;
		return {
			kinds: all.length,
			compiled: all.filter((k) => k.plan).length,
			replays: this.replays,
			refused: all.filter((k) => k.refused).map((k) => k.refused!),
			stats: plan?.stats ?? null
		};
	}

	/** Drop every plan (the model or the optimizer's arenas changed shape), keeping nothing traced. */
	reset(backend: TraceBackend | null = null): void {
		for (const k of this.kinds.values()) k.plan?.invalidate();
		this.kinds.clear();
		this.stableOf.clear();
		this.buffers?.dispose();
		this.buffers = null;
		if (this.backend) watched.get(this.backend)?.delete(this);
		this.backend = backend;
		if (backend) {
			this.buffers = new PlanBuffers(backend);
			watchReleases(backend, this);
		}
	}

	dispose(): void {
		this.reset(null);
	}
}
