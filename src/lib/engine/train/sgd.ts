/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD computes it (dampening 0):
 *   g   <- g + wd * p                     (L2, only where `decay(name)`)
 *   buf <- momentum * buf + g             (the first step's buffer is g itself: buf starts at 0)
 *   g   <- nesterov ? g + momentum * buf : buf
 *   p   <- p - lr * g
 * The momentum buffer is saved as `optimizer.m.<param>`; plain SGD (momentum 0) has no state.
 */
import * as tf from '@tensorflow/tfjs';
import type { DecayRule, HostState, Optimizer } from './optimizer';

export interface SgdConfig {
	momentum: number;
	nesterov: boolean;
	weightDecay: number;
}

export class Sgd implements Optimizer {
	step = 0;
	readonly buf = new Map<string, tf.Variable>();

	constructor(
		readonly params: Map<string, tf.Variable>,
		readonly cfg: SgdConfig,
		readonly decay: DecayRule
	) {
		if (cfg.momentum > 0) for (const [name, p] of params) this.buf.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
	}

	apply(grads: Record<string, tf.Tensor>, lr: number): void {
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

	stateTensors(): [string, tf.Tensor][] {
		return [...this.buf].map(([name, t]) => [`optimizer.m.${name}`, t]);
	}

	loadState(tensors: HostState, step: number): void {
		for (const [name, variable] of this.buf) {
			const t = tensors.get(`optimizer.m.${name}`);
			if (!t) throw new Error(`Checkpoint has no momentum buffer for ${name}.`);
			tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape)));
		}
		this.step = step;
	}

	dispose(): void {
		for (const t of this.buf.values()) t.dispose();
	}
}
