/**
 * Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay
 * Regularization"), step for step as torch.optim.Adam and torch.optim.AdamW compute them:
 *   AdamW: p <- p * (1 - lr * wd)               (decoupled decay, only where `decay(name)`)
 *   Adam:  g <- g + wd * p                       (L2: the decay goes through the moments)
 *   m  <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
 *   p  <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * The optimizer owns its moment variables and takes an explicit variable list, so a LoRA run can
 * hand it the adapter weights only. Its state is named tensors, saved whole in a checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedUpdate } from './fused-optimizer';
import { zerosLikeInParts } from '../ops/split';
import type { HostState, Optimizer } from './optimizer';

export interface AdamWConfig {
	beta1: number;
	beta2: number;
	eps: number;
	weightDecay: number;
}

export const defaultAdamW: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** No decay on biases, norms and positional/1-D parameters (the Hugging Face Trainer default). */
export function decayByDefault(name: string, shape: number[]): boolean {
	return shape.length >= 2 && !/norm|ln_|\.bias$/i.test(name);
}

/** Adam with L2 weight decay added to the gradient, as torch.optim.Adam(weight_decay=wd). */
export class Adam implements Optimizer {
	step = 0;
	readonly m = new Map<string, tf.Variable>();
	readonly v = new Map<string, tf.Variable>();
	protected readonly decoupled: boolean = false;
	/** The fast path's arenas; while they hold the moments, `m` and `v` are empty. */
	private readonly fused: FusedUpdate;

	constructor(
		readonly params: Map<string, tf.Variable>,
		readonly cfg: AdamWConfig = defaultAdamW,
		readonly decay: (name: string, shape: number[]) => boolean = decayByDefault
	) {
		for (const [name, p] of params) {
			this.m.set(name, tf.tidy(() => tf.variable(zerosLikeInParts(p), false)));
			this.v.set(name, tf.tidy(() => tf.variable(zerosLikeInParts(p), false)));
		}
		this.fused = new FusedUpdate(params, (name, shape) => this.decay(name, shape), [this.m, this.v]);
	}

	replayable(): boolean {
		return this.fused.replayable();
	}

	replayed(): void {
		this.step++;
		this.fused.replayed();
	}

	fusedApply(grads: Record<string, tf.Tensor>, lr: number, maxNorm: number): tf.Scalar | null {
		const { beta1, beta2, eps, weightDecay } = this.cfg;
		const norm = this.fused.run(grads, { kind: 'adam', decoupled: this.decoupled, beta1, beta2, eps, weightDecay }, lr, maxNorm, this.step + 1);
		if (norm) this.step++;
		return norm;
	}

	/** One update; call inside the step's tf.tidy. */
	apply(grads: Record<string, tf.Tensor>, lr: number): void {
		this.fused.takeBack();
		this.step++;
		const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.cfg;
		const bc1 = 1 - Math.pow(b1, this.step);
		const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, this.step));
		for (const [name, p] of this.params) {
			let g = grads[name];
			if (!g) continue;
			const decays = wd > 0 && this.decay(name, p.shape);
			if (decays && !this.decoupled) g = g.add(p.mul(wd));
			const m = this.m.get(name)!;
			const v = this.v.get(name)!;
			const m1 = m.mul(b1).add(g.mul(1 - b1));
			const v1 = v.mul(b2).add(g.square().mul(1 - b2));
			m.assign(m1);
			v.assign(v1);
			const base = decays && this.decoupled ? p.mul(1 - lr * wd) : p;
			const denom = v1.sqrt().div(bc2Sqrt).add(eps);
			p.assign(base.sub(m1.div(denom).mul(lr / bc1)));
		}
	}

	stateCopies(): [string, tf.Tensor][] | null {
		const slots = this.fused.copySlots();
		if (!slots) return null;
		return (['m', 'v'] as const).flatMap((kind, k) => [...slots[k]].map(([name, t]) => [`optimizer.${kind}.${name}`, t] as [string, tf.Tensor]));
	}

	/** Moments as named tensors for a checkpoint: `optimizer.m.<param>` / `optimizer.v.<param>`. */
	stateTensors(): [string, tf.Tensor][] {
		this.fused.takeBack();
		const out: [string, tf.Tensor][] = [];
		for (const [name, t] of this.m) out.push([`optimizer.m.${name}`, t]);
		for (const [name, t] of this.v) out.push([`optimizer.v.${name}`, t]);
		return out;
	}

	loadState(tensors: HostState, step: number): void {
		this.fused.takeBack();
		for (const [kind, map] of [['m', this.m], ['v', this.v]] as const) {
			for (const [name, variable] of map) {
				const t = tensors.get(`optimizer.${kind}.${name}`);
				if (!t) throw new Error(`Checkpoint has no optimizer state for ${name}.`);
				tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape)));
			}
		}
		this.step = step;
	}

	dispose(): void {
		this.fused.dispose();
		for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
	}
}

/** AdamW: the decay shrinks the weights directly instead of passing through the moments. */
export class AdamW extends Adam {
	protected override readonly decoupled = true;
}
