/**
 * The optimizers against torch's update rules, computed by hand: step one of Adam(W) in closed
 * form, SGD with momentum under a constant gradient in closed form, and several steps on a
 * quadratic against the formulas of torch.optim.{AdamW, Adam, SGD} written out in float64.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Adam, AdamW } from '../../../src/lib/engine/train/adamw';
import { Sgd } from '../../../src/lib/engine/train/sgd';
import { createOptimizer, hasOptimizerState, type Optimizer } from '../../../src/lib/engine/train/optimizer';
import { defaultTrainConfig } from '../../../src/lib/shared/config';

beforeAll(async () => {
	await tf.setBackend('cpu');
});

// A matrix (decayed) and a bias (never decayed), as the Trainer's parameter groups split them.
const P0 = { 'h.w': [0.5, -1.5, 2.0, 0.25], 'h.bias': [1.0, -2.0] };
const SHAPES: Record<string, number[]> = { 'h.w': [2, 2], 'h.bias': [2] };
const TARGET = { 'h.w': [0.1, 0.2, -0.3, 0.4], 'h.bias': [0.5, 0.5] };
type Vals = Record<string, number[]>;

function vars(): Map<string, tf.Variable> {
	return new Map(Object.entries(P0).map(([k, v]) => [k, tf.variable(tf.tensor(v, SHAPES[k]))]));
}

/** Gradient of 0.5 Σ (p - target)² ∘ scale: (p - target) * scale, so each step sees new gradients. */
const grad = (p: Vals): Vals => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.map((x, i) => (x - TARGET[k as keyof typeof TARGET][i]) * (i + 1))]));

function run(opt: Optimizer, lrs: number[]): Vals {
	for (const lr of lrs) {
		tf.tidy(() => {
			const p: Vals = {};
			for (const [k, v] of opt.params) p[k] = Array.from(v.dataSync());
			const g = grad(p);
			opt.apply(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, tf.tensor(v, SHAPES[k])])), lr);
		});
	}
	return Object.fromEntries([...opt.params].map(([k, v]) => [k, Array.from(v.dataSync())]));
}

function expectClose(a: Vals, b: Vals, tol = 2e-6) {
	for (const k of Object.keys(b)) b[k].forEach((x, i) => expect(Math.abs(a[k][i] - x)).toBeLessThan(tol * Math.max(1, Math.abs(x))));
}

/** torch.optim.Adam / AdamW (single-tensor path), in float64. */
function adamRef(lrs: number[], o: { b1: number; b2: number; eps: number; wd: number; decoupled: boolean }): Vals {
	const p: Vals = structuredClone(P0);
	const m: Vals = Object.fromEntries(Object.entries(P0).map(([k, v]) => [k, v.map(() => 0)]));
	const v: Vals = structuredClone(m);
	lrs.forEach((lr, s) => {
		const t = s + 1;
		const g0 = grad(p);
		for (const k of Object.keys(p)) {
			const decays = k !== 'h.bias' && o.wd > 0;
			for (let i = 0; i < p[k].length; i++) {
				let g = g0[k][i];
				if (decays && !o.decoupled) g += o.wd * p[k][i];
				if (decays && o.decoupled) p[k][i] *= 1 - lr * o.wd;
				m[k][i] = o.b1 * m[k][i] + (1 - o.b1) * g;
				v[k][i] = o.b2 * v[k][i] + (1 - o.b2) * g * g;
				const denom = Math.sqrt(v[k][i]) / Math.sqrt(1 - o.b2 ** t) + o.eps;
				p[k][i] -= (lr / (1 - o.b1 ** t)) * (m[k][i] / denom);
			}
		}
	});
	return p;
}

/** torch.optim.SGD (dampening 0), in float64. */
function sgdRef(lrs: number[], o: { mu: number; nesterov: boolean; wd: number }): Vals {
	const p: Vals = structuredClone(P0);
	const buf: Vals = {};
	for (const lr of lrs) {
		const g0 = grad(p);
		for (const k of Object.keys(p)) {
			for (let i = 0; i < p[k].length; i++) {
				let g = g0[k][i];
				if (k !== 'h.bias') g += o.wd * p[k][i];
				if (o.mu > 0) {
					buf[k] ??= [];
					buf[k][i] = buf[k][i] === undefined ? g : o.mu * buf[k][i] + g;
					g = o.nesterov ? g + o.mu * buf[k][i] : buf[k][i];
				}
				p[k][i] -= lr * g;
			}
		}
	}
	return p;
}

const LRS = [0.1, 0.05, 0.2, 0.1, 0.01];

describe('AdamW', () => {
	it('first step: p(1 - lr·wd) - lr·g/(|g| + eps) on weights, no decay on the bias', () => {
		const opt = new AdamW(vars(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
		const out = run(opt, [0.01]);
		const g = grad(structuredClone(P0));
		// m̂ = g and v̂ = g², so the step is lr·sign(g) (up to eps).
		expectClose(out, {
			'h.w': P0['h.w'].map((x, i) => x * (1 - 0.01 * 0.1) - 0.01 * Math.sign(g['h.w'][i])),
			'h.bias': P0['h.bias'].map((x, i) => x - 0.01 * Math.sign(g['h.bias'][i]))
		});
		opt.dispose();
	});

	it('matches torch.optim.AdamW over several steps with a changing learning rate', () => {
		const opt = new AdamW(vars(), { beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.2 });
		expectClose(run(opt, LRS), adamRef(LRS, { b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.2, decoupled: true }));
		expect(opt.step).toBe(LRS.length);
		opt.dispose();
	});
});

describe('Adam', () => {
	it('first step with L2 decay: the decay goes through the moments, so the step is lr·sign(g + wd·p)', () => {
		const opt = new Adam(vars(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 });
		const out = run(opt, [0.01]);
		const g = grad(structuredClone(P0));
		expectClose(out, {
			'h.w': P0['h.w'].map((x, i) => x - 0.01 * Math.sign(g['h.w'][i] + 0.5 * x)),
			'h.bias': P0['h.bias'].map((x, i) => x - 0.01 * Math.sign(g['h.bias'][i]))
		});
		opt.dispose();
	});

	it('matches torch.optim.Adam over several steps and differs from AdamW when decaying', () => {
		const opt = new Adam(vars(), { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.3 });
		const out = run(opt, LRS);
		expectClose(out, adamRef(LRS, { b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.3, decoupled: false }));
		const w = adamRef(LRS, { b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.3, decoupled: true });
		expect(Math.abs(out['h.w'][2] - w['h.w'][2])).toBeGreaterThan(1e-4);
		opt.dispose();
	});
});

describe('SGD', () => {
	it('with momentum under a constant gradient: p_t = p_0 - lr·g·Σ_k (1 - μ^k)/(1 - μ)', () => {
		const params = new Map([['h.w', tf.variable(tf.tensor([[1, 2]]))]]);
		const opt = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 0 }, () => true);
		const g = { 'h.w': tf.tensor([[0.5, -1]]) };
		for (let t = 0; t < 4; t++) opt.apply(g, 0.1);
		const sum = [1, 2, 3, 4].reduce((s, k) => s + (1 - 0.9 ** k) / (1 - 0.9), 0);
		const out = Array.from(params.get('h.w')!.dataSync());
		expect(out[0]).toBeCloseTo(1 - 0.1 * 0.5 * sum, 5);
		expect(out[1]).toBeCloseTo(2 + 0.1 * sum, 5);
		opt.dispose();
		params.get('h.w')!.dispose();
		g['h.w'].dispose();
	});

	it('matches torch.optim.SGD: plain, with momentum and L2 decay, and Nesterov', () => {
		for (const o of [
			{ mu: 0, nesterov: false, wd: 0 },
			{ mu: 0.9, nesterov: false, wd: 0.1 },
			{ mu: 0.5, nesterov: true, wd: 0.05 }
		]) {
			const opt = new Sgd(vars(), { momentum: o.mu, nesterov: o.nesterov, weightDecay: o.wd }, (name, shape) => shape.length >= 2 && !name.endsWith('.bias'));
			expectClose(run(opt, LRS), sgdRef(LRS, o));
			expect(opt.stateTensors().length).toBe(o.mu > 0 ? 2 : 0);
			opt.dispose();
		}
	});
});

describe('createOptimizer', () => {
	it('builds the configured optimizer, and its state round-trips through host tensors', async () => {
		for (const optimizer of ['adamw', 'adam', 'sgd'] as const) {
			const t = { ...defaultTrainConfig, optimizer, weightDecay: 0.1 };
			const a = createOptimizer(vars(), t);
			expect(a).toBeInstanceOf(optimizer === 'sgd' ? Sgd : optimizer === 'adam' ? Adam : AdamW);
			if (optimizer === 'adam') expect(a).not.toBeInstanceOf(AdamW);
			run(a, [0.1, 0.1]);
			const saved = new Map(a.stateTensors().map(([n, x]) => [n, { shape: x.shape, data: x.dataSync().slice() as Float32Array }]));
			expect(hasOptimizerState(saved)).toBe(true);
			const b = createOptimizer(new Map([...a.params].map(([k, v]) => [k, tf.variable(v.clone())])), t);
			b.loadState(saved, a.step);
			expect(run(a, [0.05])).toEqual(run(b, [0.05]));
			for (const o of [a, b]) {
				o.params.forEach((v) => v.dispose());
				o.dispose();
			}
		}
	});
});
