/**
 * One micro-batch of a training step, shared by every session: forward and backward in one
 * tf.tidy, gradients summed on the GPU across the micro-batches of an accumulated step, then
 * global-norm clipping and the optimizer update once, on the last. As the Hugging Face Trainer
 * scales each micro-batch's loss by its share of the examples (or target tokens) in the whole
 * accumulated batch, the update equals the one a single large batch would make.
 *
 * Loss, correct predictions and grad norms are summed on the GPU too and read back only when the
 * loop logs (`take`). On the step before a log point (`record`), the same tidy also computes each
 * layer group's gradient norm and update/weight ratio (shared/internals.ts), read back with them.
 * A table over the storage binding limit (ops/split.ts) is summed and measured part by part.
 */
import * as tf from '@tensorflow/tfjs';
import { addMany } from '../ops';
import { groupOrder, layerGroup, type LayerStat } from '../../shared/internals';
import { clipByGlobalNorm } from './clip';
import { addInParts, sumOfSquares } from '../ops/split';
import { setStepPhase } from '../phase';
import { sampleMemory } from '../memory-probe';
import type { Optimizer } from './optimizer';
import { CompiledSteps, type CompiledSummary } from '../compiled/compiled-steps';
import { compiledStepsEnabled, useFastPath } from '../fast-path';

export interface WindowStats {
	/** Mean loss per example (classification) or target token (language modelling). */
	loss: number;
	accuracy: number;
	/** Mean global gradient norm (before clipping) per optimizer step. */
	gradNorm: number;
	/** Optimizer steps in the window. */
	steps: number;
	/** Per layer group, at the window's last recorded step (when one was asked for). */
	layers?: LayerStat[];
}

/**
 * Where a micro-batch sits in its optimizer step: `scale` is its share of the step's examples
 * or target tokens (1 without accumulation); `apply` marks the last, which updates the weights.
 */
export interface MicroStep {
	scale: number;
	apply: boolean;
	/** On the applying micro-batch: record the per-layer internals of this update (the loop asks before a log point). */
	record?: boolean;
}

export const WHOLE_STEP: MicroStep = { scale: 1, apply: true };

/**
 * What a compiled step (compiled/) needs of a micro-batch beyond its loss function: `kind` names
 * its dispatch list (the batch's shape and sequence-length bucket, the objective, and how many of
 * its rows are real: a last, partial batch is a kind of its own, so that anything computed on the
 * host from which rows are real, such as a multi-label loss's row mask, is traced for it), `arrays`
 * the host arrays its tensors are made from (recognised in the upload by identity, so pass the very
 * arrays the tensors are made of), `seed` its dropout seed.
 */
export interface StepInputs {
	kind: string;
	arrays: Record<string, ArrayBufferView>;
	seed: number;
}

interface Sums {
	loss: tf.Tensor;
	correct: tf.Tensor;
	gradNorm: tf.Tensor | null;
	updates: number;
	weight: number;
	/** (2, G): gradient norms, then update/weight ratios, per group in `groups` order. */
	layers: tf.Tensor | null;
}

/** A window's running sums as tensors: loss, correct, and the grad norm where one was taken. */
function sums(s: Sums | null): tf.Tensor[] {
	return s ? [s.loss, s.correct, ...(s.gradNorm ? [s.gradNorm] : [])] : [];
}

export class StepAccumulator {
	private grads: Record<string, tf.Tensor> | null = null;
	private sums: Sums | null = null;
	private readonly byVarName = new Map<string, string>();
	/** Layer groups in forward order, and each trained parameter's group. */
	private readonly groups: string[];
	private readonly groupOf = new Map<string, number>();
	/** Compiled steps (issue 10), when switched on: whole steps replayed from a traced dispatch list. */
	private compiled: CompiledSteps | null = null;
	/** This session's choice (`setCompiled`); null follows fast-path.ts's default (on). */
	private compiledChoice: boolean | null = null;
	/** Per kind of compiled step, what its outputs are beyond the weights and the sums. */
	private readonly layouts = new Map<string, { norm: boolean; layers: boolean; grads: string[] }>();

	constructor(
		private readonly optimizer: Optimizer,
		private readonly gradClip: number
	) {
		for (const [name, v] of optimizer.params) this.byVarName.set(v.name, name);
		this.groups = [...new Set([...optimizer.params.keys()].map(layerGroup))].sort(groupOrder);
		for (const name of optimizer.params.keys()) this.groupOf.set(name, this.groups.indexOf(layerGroup(name)));
	}

	/** Σ over each group of `f(name)` (scalars), stacked: (G). */
	private perGroup(names: string[], f: (name: string) => tf.Tensor): tf.Tensor1D {
		const parts: tf.Tensor[][] = this.groups.map(() => []);
		for (const n of names) parts[this.groupOf.get(n)!].push(f(n));
		return tf.stack(parts.map((p) => (p.length ? addMany(p) : tf.scalar(0)))) as tf.Tensor1D;
	}

	/**
	 * Compile steps on WebGPU's fast path (on by default, fast-path.ts): each kind of micro-batch
	 * (`StepInputs.kind`, with where it sits: running sums, accumulated gradients, the update,
	 * recording the layers' internals) is traced twice, then replayed in one submit
	 * (compiled/step-plan.ts). An update through the composite optimizer is never compiled.
	 */
	setCompiled(on: boolean): void {
		this.compiledChoice = on;
		this.compiledSteps();
	}

	/** The compiled steps, made or dropped to follow the session's choice or the default. */
	private compiledSteps(): CompiledSteps | null {
		const on = this.compiledChoice ?? compiledStepsEnabled();
		if (on && !this.compiled) this.compiled = new CompiledSteps();
		if (!on && this.compiled) {
			this.compiled.dispose();
			this.compiled = null;
		}
		return this.compiled;
	}

	/** What compiling has done so far (null when it is off). */
	compiledSummary(): CompiledSummary | null {
		return this.compiled?.summary() ?? null;
	}

	/**
	 * Run one micro-batch. `lossFn` returns the batch's mean loss and its number of correct
	 * predictions; `weight` is how many examples or tokens that mean is over. With `inputs`, a
	 * whole step may be replayed from a compiled plan instead (`setCompiled`).
	 */
	run(lossFn: () => { loss: tf.Scalar; correct: tf.Tensor }, weight: number, lr: number, micro: MicroStep = WHOLE_STEP, inputs?: StepInputs): void {
		// The weight and scale are uploaded from these arrays, which a compiled step recognises and rewrites.
		const w = new Float32Array([weight]);
		const sc = new Float32Array([micro.scale]);
		const cs = this.compiledSteps();
		if (!cs || !inputs || !useFastPath() || !CompiledSteps.supported() || (micro.apply && !this.optimizer.replayable?.())) {
			this.runNow(lossFn, w, sc, lr, micro);
			return;
		}
		const prev = this.sums;
		const prevGrads = this.grads;
		const gradNames = prevGrads ? Object.keys(prevGrads) : [];
		const params = [...this.optimizer.params.values()];
		// The kind: the batch's, and where the micro-batch sits (running sums, accumulated gradients, the update, recording).
		const kind = [inputs.kind, prev ? (prev.gradNorm ? 'sums+norm' : 'sums') : 'first', prevGrads ? `acc${gradNames.length}` : 'fresh', micro.apply ? 'apply' : 'micro', micro.record ? 'record' : '', micro.scale === 1 ? 'whole' : 'part'].join('|');
		const ctx = { arrays: { ...inputs.arrays, weight: w, scale: sc }, seed: inputs.seed, lr, optimizerStep: this.optimizer.step + (micro.apply ? 1 : 0) };
		cs.run(
			kind,
			ctx,
			[...params, ...sums(prev), ...gradNames.map((n) => prevGrads![n])],
			() => this.runNow(lossFn, w, sc, lr, micro),
			() => {
				// What the step leaves, in order; its layout is kept so a replay can hand the outputs back.
				const s = this.sums!;
				const layout = { norm: !!s.gradNorm, layers: !!(micro.record && s.layers), grads: this.grads ? Object.keys(this.grads) : [] };
				this.layouts.set(kind, layout);
				return [...(micro.apply ? params : []), ...sums(s), ...(layout.layers ? [s.layers!] : []), ...layout.grads.map((n) => this.grads![n])];
			},
			(outs) => {
				const layout = this.layouts.get(kind)!;
				let i = 0;
				if (micro.apply) {
					for (const v of params) {
						v.assign(outs[i]);
						outs[i++].dispose();
					}
					this.optimizer.replayed!();
				}
				const loss = outs[i++];
				const correct = outs[i++];
				const gradNorm = layout.norm ? outs[i++] : null;
				const layers = layout.layers ? outs[i++] : null;
				const grads = Object.fromEntries(layout.grads.map((n) => [n, outs[i++]]));
				if (prevGrads) tf.dispose(Object.values(prevGrads));
				if (prev) tf.dispose(sums(prev));
				if (prev?.layers && layers) prev.layers.dispose();
				this.grads = micro.apply ? null : grads;
				this.sums = { loss, correct, gradNorm, updates: (prev?.updates ?? 0) + (micro.apply ? 1 : 0), weight: (prev?.weight ?? 0) + weight, layers: layers ?? prev?.layers ?? null };
			}
		);
	}

	private runNow(lossFn: () => { loss: tf.Scalar; correct: tf.Tensor }, w: Float32Array, sc: Float32Array, lr: number, micro: MicroStep): void {
		const weight = w[0];
		const prevGrads = this.grads;
		const prev = this.sums;
		const next = tf.tidy(() => {
			let correct: tf.Tensor | null = null;
			let raw: tf.Scalar | null = null;
			setStepPhase('forward');
			const { grads } = tf.variableGrads(() => {
				const out = lossFn();
				sampleMemory('forward-end');
				setStepPhase('backward');
				correct = tf.keep(out.correct);
				raw = tf.keep(out.loss);
				return micro.scale === 1 ? out.loss : out.loss.mul(tf.tensor(sc, [], 'float32'));
			}, [...this.optimizer.params.values()]);
			let named: Record<string, tf.Tensor> = {};
			for (const [vn, g] of Object.entries(grads)) named[this.byVarName.get(vn)!] = g;
			if (prevGrads) for (const [k, g] of Object.entries(prevGrads)) named[k] = named[k] ? addInParts(g, named[k]) : g.clone();
			let norm: tf.Tensor | undefined;
			let layers: tf.Tensor | undefined;
			if (micro.apply) {
				const names = Object.keys(named);
				const params = this.optimizer.params;
				// The weights before the update: a clone shares the variable's data, which assign() then leaves alone.
				const before = micro.record ? new Map(names.map((n) => [n, params.get(n)!.clone()])) : null;
				const gradNorms = micro.record ? this.perGroup(names, (n) => sumOfSquares(named[n])).sqrt() : null;
				setStepPhase('clip');
				// On WebGPU, clipping and the update in two dispatches (fused-optimizer.ts marks 'optimizer' itself).
				const fused = this.optimizer.fusedApply?.(named, lr, this.gradClip) ?? null;
				if (fused) norm = fused;
				else {
					const clipped = clipByGlobalNorm(named, this.gradClip);
					setStepPhase('optimizer');
					this.optimizer.apply(clipped.grads, lr);
					norm = clipped.norm;
				}
				setStepPhase('other');
				if (before && gradNorms) {
					const moved = this.perGroup(names, (n) => sumOfSquares(params.get(n)!, before.get(n)!)).sqrt();
					const size = this.perGroup(names, (n) => sumOfSquares(before.get(n)!)).sqrt();
					layers = tf.stack([gradNorms, moved.div(size.maximum(1e-30))]); // (2, G)
				}
				named = {};
			}
			setStepPhase('other');
			const c = correct as unknown as tf.Tensor;
			const r = raw as unknown as tf.Scalar;
			const weighted = r.mul(tf.tensor(w, [], 'float32'));
			const gradNorm = norm && prev?.gradNorm ? prev.gradNorm.add(norm) : (norm ?? prev?.gradNorm?.clone());
			const loss = prev ? prev.loss.add(weighted) : weighted;
			const corr = prev ? prev.correct.add(c) : c.clone();
			tf.dispose([c, r]);
			return { loss, correct: corr, gradNorm, grads: named, ...(layers ? { layers } : {}) };
		}) as { loss: tf.Tensor; correct: tf.Tensor; gradNorm?: tf.Tensor; grads: Record<string, tf.Tensor>; layers?: tf.Tensor };
		if (prevGrads) tf.dispose(Object.values(prevGrads));
		if (prev) tf.dispose(sums(prev));
		// The window keeps the latest recorded step's internals.
		if (prev?.layers && next.layers) prev.layers.dispose();
		this.grads = micro.apply ? null : next.grads;
		this.sums = {
			loss: next.loss,
			correct: next.correct,
			gradNorm: next.gradNorm ?? null,
			updates: (prev?.updates ?? 0) + (micro.apply ? 1 : 0),
			weight: (prev?.weight ?? 0) + weight,
			layers: next.layers ?? prev?.layers ?? null
		};
	}

	/** Mean loss, accuracy and grad norm since the last call (reads three scalars back). */
	async take(): Promise<WindowStats | null> {
		const s = this.sums;
		if (!s) return null;
		this.sums = null;
		const [loss, correct, gn, per] = await Promise.all([
			s.loss.data(),
			s.correct.data(),
			s.gradNorm ? s.gradNorm.data() : Promise.resolve([NaN]),
			s.layers ? s.layers.data() : Promise.resolve(null)
		]);
		tf.dispose([...sums(s), ...(s.layers ? [s.layers] : [])]);
		const n = Math.max(1, s.weight);
		const g = this.groups.length;
		const layers = per ? this.groups.map((group, i) => ({ group, gradNorm: per[i], updateRatio: per[g + i] })) : undefined;
		return { loss: loss[0] / n, accuracy: correct[0] / n, gradNorm: gn[0] / Math.max(1, s.updates), steps: s.updates, ...(layers ? { layers } : {}) };
	}

	dispose(): void {
		this.compiled?.dispose();
		this.compiled = null;
		if (this.grads) tf.dispose(Object.values(this.grads));
		if (this.sums) tf.dispose([...sums(this.sums), ...(this.sums.layers ? [this.sums.layers] : [])]);
		this.grads = null;
		this.sums = null;
	}
}
