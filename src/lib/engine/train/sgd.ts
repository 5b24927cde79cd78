/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD computes it (dampening 0):
 *   g   <- g + wd * p                     (L2, only where `decay(name)`)
 *   buf <- momentum * buf + g             (the first step's buffer is g itself: buf starts at 0)
 *   g   <- nesterov ? g + momentum * buf : buf
 *   p   <- p - lr * g
 * The momentum buffer is saved as `optimizer.m.<param>`; plain SGD (momentum 0) has no state.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedUpdate } from './fused-optimizer';
import { zerosLikeInParts } from '../ops/split';
import type { DecayRule, HostState, Optimizer } from './optimizer';

export interface SgdConfig {
	momentum: number;
	nesterov: boolean;
	weightDecay: number;
}

export class Sgd implements Optimizer {
	step = 0;
	readonly buf = new Map<string, tf.Variable>();
	/** The fast path's arenas; while they hold the momentum buffers, `buf` is empty. */
	private readonly fused: FusedUpdate;

	constructor(
		readonly params: Map<string, tf.Variable>,
		readonly cfg: SgdConfig,
		readonly decay: DecayRule
	) {
		if (cfg.momentum > 0) for (const [name, p] of params) this.buf.set(name, tf.tidy(() => tf.variable(zerosLikeInParts(p), false)));
		this.fused = new FusedUpdate(params, decay, cfg.momentum > 0 ? [this.buf] : []);
	}

	replayable(): boolean {
		return this.fused.replayable();
	}

	replayed(): void {
		this.step++;
		this.fused.replayed();
	}

	fusedApply(grads: Record<string, tf.Tensor>, lr: number, maxNorm: number): tf.Scalar | null {
		const { momentum, nesterov, weightDecay } = this.cfg;
		const norm = this.fused.run(grads, { kind: 'sgd', momentum, nesterov, weightDecay }, lr, maxNorm, this.step + 1);
		if (norm) this.step++;
		return norm;
	}

	apply(grads: Record<string, tf.Tensor>, lr: number): void {
		this.fused.takeBack();
		this.step++;
		const { momentum: mu, nesterov, weightDecay: wd } = this.cfg;
		for (const [name, p] of this.params) {
			let g = grads[name];
			if (!g) continue;
			if (wd > 0 && this.decay(name, p.shape)) g = g.add(p.mul(wd));
			const buf = this.buf.get(name);
			if (buf) {
				const b1 = buf.mul(mu).add(g);
				buf.assign(b1);
				g = nesterov ? g.add(b1.mul(mu)) : b1;
			}
			p.assign(p.sub(g.mul(lr)));
		}
	}

	stateCopies(): [string, tf.Tensor][] | null {
		const slots = this.fused.copySlots();
		if (!slots) return null;
		return slots.length ? [...slots[0]].map(([name, t]) => [`optimizer.m.${name}`, t] as [string, tf.Tensor]) : [];
	}

	stateTensors(): [string, tf.Tensor][] {
		this.fused.takeBack();
		return [...this.buf].map(([name, t]) => [`optimizer.m.${name}`, t]);
	}

	loadState(tensors: HostState, step: number): void {
		this.fused.takeBack();
		for (const [name, variable] of this.buf) {
			const t = tensors.get(`optimizer.m.${name}`);
			if (!t) throw new Error(`Checkpoint has no momentum buffer for ${name}.`);
			tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape)));
		}
		this.step = step;
	}

	dispose(): void {
		this.fused.dispose();
		for (const t of this.buf.values()) t.dispose();
	}
}
