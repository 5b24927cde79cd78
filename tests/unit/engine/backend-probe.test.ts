/**
 * Choosing the backend (engine/backend-probe.ts): the user's setting wins and skips the probe, a
 * real GPU keeps WebGPU, a remembered probe of the same shape on the same adapter is reused, a
 * software adapter is probed; the probe's timing skips warm-up, caps and failures; the message
 * names the fastest with every figure; the page remembers decisions per key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { choiceMessage, fastest, planBackend, preferenceOrder, probeBackends, probeChoice, probeKey, type BackendName } from '../../../src/lib/engine/backend-probe';
import { defaultRunConfig, modelPresets } from '../../../src/lib/shared/config';
import type { BackendInfo } from '../../../src/lib/shared/types';
import { rememberBackendFromUrl, rememberDecision, rememberedDecisions, storeBackendMode, storedBackendMode } from '../../../src/lib/client/backend-setting';

const swiftshader: BackendInfo = { name: 'webgpu', adapter: 'google swiftshader', isFallbackAdapter: true };
const realGpu: BackendInfo = { name: 'webgpu', adapter: 'nvidia ampere', isFallbackAdapter: false };

function nano() {
	const cfg = defaultRunConfig(3);
	Object.assign(cfg.model, modelPresets.nano);
	return cfg;
}

describe('probeKey', () => {
	it('is the same for the same shape and adapter, whatever the learning rate, steps or seed', () => {
		const a = nano();
		const b = nano();
		b.train.learningRate = a.train.learningRate * 3;
		b.train.maxSteps = 999;
		b.train.seed = 12345;
		expect(probeKey(a, 'swiftshader')).toBe(probeKey(b, 'swiftshader'));
	});
	it('differs with the model shape, the batch size and the adapter', () => {
		const a = nano();
		const wider = nano();
		wider.model.dModel = 64;
		const bigger = nano();
		bigger.train.batchSize = a.train.batchSize * 2;
		const keys = new Set([probeKey(a, 'swiftshader'), probeKey(wider, 'swiftshader'), probeKey(bigger, 'swiftshader'), probeKey(a, 'other adapter')]);
		expect(keys.size).toBe(4);
	});
});

describe('planBackend', () => {
	const key = probeKey(nano(), 'google swiftshader');

	it('a pinned backend wins over everything and never probes', () => {
		for (const mode of ['webgpu', 'webgl', 'cpu'] as const) {
			const plan = planBackend({ mode, webgpu: swiftshader, key });
			expect(plan.kind).toBe('use');
			if (plan.kind !== 'use') continue;
			expect(plan.order[0]).toBe(mode);
			expect(plan.choice.how).toBe('override');
			expect(plan.choice.message).toContain('set in Backend');
		}
	});

	it('a pinned WebGPU whose device was lost for good goes on with the others and says why', () => {
		const plan = planBackend({ mode: 'webgpu', webgpu: swiftshader, webgpuGone: 'the GPU device was lost', key });
		expect(plan.kind === 'use' && plan.order).toEqual(['webgl', 'cpu']);
		expect(plan.kind === 'use' && plan.choice.message).toContain('the GPU device was lost');
	});

	it('Automatic keeps WebGPU on a real GPU without probing', () => {
		const plan = planBackend({ mode: 'auto', webgpu: realGpu, key });
		expect(plan.kind).toBe('use');
		expect(plan.kind === 'use' && plan.order[0]).toBe('webgpu');
		expect(plan.kind === 'use' && plan.choice.how).toBe('gpu');
	});

	it('Automatic without WebGPU uses WebGL, else the CPU', () => {
		const plan = planBackend({ mode: 'auto', webgpu: null, key });
		expect(plan.kind === 'use' && plan.order).toEqual(['webgl', 'cpu']);
	});

	it('Automatic on a software adapter probes all three backends', () => {
		expect(planBackend({ mode: 'auto', webgpu: swiftshader, key })).toEqual({ kind: 'probe', backends: ['webgpu', 'webgl', 'cpu'], key });
	});

	it('reuses a remembered probe of the same key, and only of the same key', () => {
		const figures = [
			{ backend: 'webgpu' as const, msPerStep: 2310 },
			{ backend: 'webgl' as const, msPerStep: 412 },
			{ backend: 'cpu' as const, msPerStep: 1204 }
		];
		const remembered = probeChoice(figures, key);
		const plan = planBackend({ mode: 'auto', webgpu: swiftshader, key, remembered });
		expect(plan.kind).toBe('use');
		if (plan.kind !== 'use') return;
		expect(plan.order).toEqual(['webgl', 'webgpu', 'cpu']);
		expect(plan.choice.how).toBe('remembered');
		expect(plan.choice.probe).toEqual(figures);
		expect(plan.choice.message).toContain('timed earlier');
		expect(planBackend({ mode: 'auto', webgpu: swiftshader, key: key + 'x', remembered }).kind).toBe('probe');
		// The user's setting beats a remembered probe.
		expect(planBackend({ mode: 'cpu', webgpu: swiftshader, key, remembered }).kind === 'use').toBe(true);
	});
});

describe('fastest and the message', () => {
	it('names the fastest, then every figure from fastest to slowest, then the skipped ones', () => {
		const figures = [
			{ backend: 'webgpu' as const, msPerStep: 2310.4 },
			{ backend: 'webgl' as const, msPerStep: 412.2 },
			{ backend: 'cpu' as const, msPerStep: 1204 }
		];
		expect(fastest(figures)).toBe('webgl');
		expect(choiceMessage(figures)).toMatch(/^WebGL — fastest here: WebGL 412 ms\/step, CPU 1,204, WebGPU \(software adapter\) 2,310\. /);
		const skipped = choiceMessage([{ backend: 'webgpu', skipped: 'over 60 s' }, { backend: 'webgl', skipped: 'failed: no canvas' }, { backend: 'cpu', msPerStep: 900 }]);
		expect(skipped).toMatch(/^CPU — fastest here: CPU 900 ms\/step, WebGPU \(software adapter\) skipped \(over 60 s\), WebGL skipped \(failed: no canvas\)/);
	});
	it('says so when no backend finished', () => {
		expect(fastest([{ backend: 'webgl', skipped: 'over 60 s' }])).toBeNull();
		expect(choiceMessage([{ backend: 'webgl', skipped: 'over 60 s' }])).toContain('No backend finished the probe');
	});
	it('a tie goes to the earlier backend in the default order', () => {
		expect(fastest([{ backend: 'cpu', msPerStep: 100 }, { backend: 'webgpu', msPerStep: 100 }])).toBe('webgpu');
	});
	it('a pinned backend is tried first, then the others in the default order', () => {
		expect(preferenceOrder('cpu')).toEqual(['cpu', 'webgpu', 'webgl']);
		expect(preferenceOrder('auto')).toEqual(['webgpu', 'webgl', 'cpu']);
	});
});

describe('probeBackends', () => {
	/** A fake clock: each backend's steps take the given milliseconds; the warm-up takes `warm`. */
	function fake(cost: Record<BackendName, { warm: number; step: number } | Error>) {
		let t = 0;
		let active: BackendName = 'webgpu';
		const used: BackendName[] = [];
		let disposed = 0;
		const hooks = {
			now: () => t,
			use: async (name: BackendName) => {
				const c = cost[name];
				if (c instanceof Error) throw c;
				active = name;
				used.push(name);
			},
			subject: async () => ({
				step: async (i: number) => {
					const c = cost[active] as { warm: number; step: number };
					t += i === 0 ? c.warm : c.step;
				},
				dispose: () => void disposed++
			})
		};
		return { hooks, used, disposed: () => disposed };
	}

	it('times the steps after an untimed warm-up, per backend', async () => {
		const f = fake({ webgpu: { warm: 30_000, step: 2000 }, webgl: { warm: 5000, step: 400 }, cpu: { warm: 100, step: 1200 } });
		const figures = await probeBackends(['webgpu', 'webgl', 'cpu'], f.hooks);
		expect(figures).toEqual([
			{ backend: 'webgpu', msPerStep: 2000 },
			{ backend: 'webgl', msPerStep: 400 },
			{ backend: 'cpu', msPerStep: 1200 }
		]);
		expect(f.disposed()).toBe(3);
		expect(fastest(figures)).toBe('webgl');
	});

	it('skips a backend past the cap (warm-up included) and one that fails to start', async () => {
		const f = fake({ webgpu: { warm: 55_000, step: 4000 }, webgl: new Error('no canvas'), cpu: { warm: 100, step: 1200 } });
		const figures = await probeBackends(['webgpu', 'webgl', 'cpu'], { ...f.hooks, capMs: 60_000 });
		expect(figures).toEqual([
			{ backend: 'webgpu', skipped: 'over 60 s' },
			{ backend: 'webgl', skipped: 'failed: no canvas' },
			{ backend: 'cpu', msPerStep: 1200 }
		]);
		expect(f.disposed()).toBe(2);
	});

	it('a stopped run ends the probe with what it has', async () => {
		const f = fake({ webgpu: { warm: 1, step: 2 }, webgl: { warm: 1, step: 1 }, cpu: { warm: 1, step: 3 } });
		let n = 0;
		const figures = await probeBackends(['webgpu', 'webgl', 'cpu'], { ...f.hooks, stopped: () => n++ > 0 });
		expect(figures.map((x) => x.skipped ?? x.msPerStep)).toEqual([2, 'the run was stopped', 'the run was stopped']);
	});
});

describe('the page remembers the setting and the decisions', () => {
	const store = new Map<string, string>();
	const g = globalThis as { localStorage?: unknown; location?: unknown };
	g.localStorage = {
		getItem: (k: string) => store.get(k) ?? null,
		setItem: (k: string, v: string) => void store.set(k, v),
		removeItem: (k: string) => void store.delete(k)
	};
	afterEach(() => {
		store.clear();
		delete g.location;
	});

	it('stores a pinned backend; Automatic is the default', () => {
		expect(storedBackendMode()).toBe('auto');
		storeBackendMode('webgl');
		expect(storedBackendMode()).toBe('webgl');
		storeBackendMode('auto');
		expect(storedBackendMode()).toBe('auto');
		store.set('whetstone.backend', 'quantum');
		expect(storedBackendMode()).toBe('auto');
	});

	it('?backend= in the URL sets it; an unknown value is ignored', () => {
		g.location = { href: 'http://localhost/?hub=x&backend=webgpu' };
		rememberBackendFromUrl();
		expect(storedBackendMode()).toBe('webgpu');
		g.location = { href: 'http://localhost/?backend=tpu' };
		rememberBackendFromUrl();
		expect(storedBackendMode()).toBe('webgpu');
	});

	it('keeps probe decisions by key, newest first, at most 20', () => {
		const figures = [{ backend: 'webgl' as const, msPerStep: 1 }];
		for (let i = 0; i < 25; i++) rememberDecision(probeChoice(figures, `k${i}`));
		const kept = rememberedDecisions();
		expect(Object.keys(kept)).toHaveLength(20);
		expect(Object.keys(kept)[0]).toBe('k24');
		expect(kept.k0).toBeUndefined();
		// Only probes are remembered: a pinned backend says nothing about which is fastest.
		rememberDecision({ mode: 'cpu', how: 'override', message: 'x', key: 'k99' });
		expect(rememberedDecisions().k99).toBeUndefined();
	});
});
