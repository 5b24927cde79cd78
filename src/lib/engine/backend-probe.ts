/**
 * Which backend a run trains on. A real GPU keeps WebGPU. On a software WebGPU adapter
 * (SwiftShader: `isFallbackAdapter`) WebGPU is usually the slowest of the three (issue 10: one step
 * 1.8–3.8 s on WebGPU, 0.3–0.8 s on WebGL, 0.9–2.0 s on the CPU backend), so the engine times two
 * training steps of the run's own model on each backend, after one untimed warm-up step (kernel
 * compilation is not counted), and trains on the fastest. The decision is remembered per model
 * shape and adapter, so the next run of that shape starts at once. The user's setting (WebGPU,
 * WebGL or CPU) wins over all of this and skips the probe.
 *
 * The planning and the messages are pure functions; `probeBackends` does the timing through
 * callbacks, so it knows nothing of sessions or storage.
 */
import type { RunConfig } from '../shared/config';
import type { BackendChoice, BackendInfo, BackendMode, BackendProbeFigure } from '../shared/types';

export type BackendName = 'webgpu' | 'webgl' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'cpu'];

/** The setting's choices, as the page names them. */
export const BACKEND_MODES: readonly { mode: BackendMode; label: string }[] = [
	{ mode: 'auto', label: 'Automatic' },
	{ mode: 'webgpu', label: 'WebGPU' },
	{ mode: 'webgl', label: 'WebGL' },
	{ mode: 'cpu', label: 'CPU' }
];

/** Longest a backend may take for its warm-up and timed steps before it is skipped. */
export const PROBE_CAP_MS = 60_000;
/** Timed steps per backend (after one untimed warm-up step). */
export const PROBE_STEPS = 2;

export function isBackendMode(x: unknown): x is BackendMode {
	return x === 'auto' || x === 'webgpu' || x === 'webgl' || x === 'cpu';
}

export function backendLabel(name: string, software = false): string {
	const l = name === 'webgpu' ? 'WebGPU' : name === 'webgl' ? 'WebGL' : name === 'cpu' ? 'CPU' : name;
	return software && name === 'webgpu' ? `${l} (software adapter)` : l;
}

/** Try the pinned backend first, then the others in the default order (for a machine that lacks it). */
export function preferenceOrder(mode: BackendMode): BackendName[] {
	return mode === 'auto' ? [...BACKEND_NAMES] : [mode, ...BACKEND_NAMES.filter((n) => n !== mode)];
}

/**
 * What a probe's decision depends on: the adapter, and the shape of one training step (the model,
 * the batch, the trained weights). Learning rate, steps, seed and data do not change a step's cost.
 */
export function probeKey(cfg: RunConfig, adapter: string): string {
	const p = cfg.pretrained;
	const model = p
		? { repo: p.repo, revision: p.revision, objective: p.objective, context: p.contextLength, classes: p.numClasses, method: p.method ?? null }
		: { ...cfg.model };
	const shape = { model, batch: cfg.train.batchSize, accum: cfg.train.gradAccumSteps, optimizer: cfg.train.optimizer };
	return `v1|${adapter}|${stableJson(shape)}`;
}

function stableJson(x: unknown): string {
	if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
	if (x && typeof x === 'object')
		return `{${Object.keys(x)
			.sort()
			.filter((k) => (x as Record<string, unknown>)[k] !== undefined)
			.map((k) => `${JSON.stringify(k)}:${stableJson((x as Record<string, unknown>)[k])}`)
			.join(',')}}`;
	return JSON.stringify(x);
}

/** What the engine does at a run's start. */
export type BackendPlan =
	| { kind: 'use'; order: BackendName[]; choice: BackendChoice }
	| { kind: 'probe'; backends: BackendName[]; key: string };

export interface PlanInput {
	mode: BackendMode;
	/** The WebGPU backend as it started on this page (its adapter), or null if WebGPU never started. */
	webgpu: BackendInfo | null;
	/** Why WebGPU cannot be used again on this page (its device was lost for good), if so. */
	webgpuGone?: string;
	/** The model shape's key on this adapter (probeKey). */
	key: string;
	/** An earlier decision for the same key, if one is remembered. */
	remembered?: BackendChoice;
}

/**
 * The user's setting first (no probe); then a real GPU keeps WebGPU; then a remembered decision
 * for this shape on this adapter; else probe. Without WebGPU there is nothing to choose between
 * that is worth a probe: the engine keeps the default order (WebGL, then the CPU).
 */
export function planBackend(x: PlanInput): BackendPlan {
	if (x.mode !== 'auto') {
		const gone = x.mode === 'webgpu' && x.webgpuGone;
		return {
			kind: 'use',
			order: gone ? preferenceOrder('webgpu').filter((n) => n !== 'webgpu') : preferenceOrder(x.mode),
			choice: {
				mode: x.mode,
				how: 'override',
				message: gone
					? `${backendLabel(x.mode)} is set in Backend, but ${x.webgpuGone}`
					: `${backendLabel(x.mode)}: set in Backend (the engine does not time the others).`
			}
		};
	}
	if (!x.webgpu || x.webgpuGone) return { kind: 'use', order: ['webgl', 'cpu'], choice: { mode: 'auto', how: 'gpu', message: x.webgpuGone ? `Automatic: ${x.webgpuGone}` : 'Automatic: WebGPU is not available in this browser, so the engine uses WebGL, else the CPU.' } };
	if (!x.webgpu.isFallbackAdapter) return { kind: 'use', order: ['webgpu', 'webgl', 'cpu'], choice: { mode: 'auto', how: 'gpu', message: 'WebGPU: this adapter is a real GPU.' } };
	const r = x.remembered;
	if (r?.key === x.key && r.probe && fastest(r.probe)) {
		const best = fastest(r.probe)!;
		return { kind: 'use', order: preferenceOrder(best), choice: { ...r, how: 'remembered', message: choiceMessage(r.probe, true) } };
	}
	return { kind: 'probe', backends: ['webgpu', 'webgl', 'cpu'], key: x.key };
}

/** The backend with the fewest milliseconds per step; ties go to the earlier in the default order. */
export function fastest(figures: readonly BackendProbeFigure[]): BackendName | null {
	let best: BackendProbeFigure | null = null;
	for (const name of BACKEND_NAMES) {
		const f = figures.find((g) => g.backend === name);
		if (f?.msPerStep !== undefined && Number.isFinite(f.msPerStep) && (!best || f.msPerStep < best.msPerStep!)) best = f;
	}
	return best?.backend ?? null;
}

const ms = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * "WebGL — fastest here: WebGL 412 ms/step, CPU 1,204, WebGPU (software adapter) 2,310", fastest
 * first, then the skipped ones with why.
 */
export function choiceMessage(figures: readonly BackendProbeFigure[], remembered = false): string {
	const best = fastest(figures);
	const timed = figures.filter((f) => f.msPerStep !== undefined).sort((a, b) => a.msPerStep! - b.msPerStep!);
	const parts = timed.map((f, i) => `${backendLabel(f.backend, true)} ${ms(f.msPerStep!)}${i === 0 ? ' ms/step' : ''}`);
	const skipped = figures.filter((f) => f.msPerStep === undefined).map((f) => `${backendLabel(f.backend, true)} skipped (${f.skipped ?? 'no figure'})`);
	const figuresText = [...parts, ...skipped].join(', ');
	if (!best) return `No backend finished the probe (${figuresText}).`;
	return `${backendLabel(best)} — fastest here${remembered ? ' (timed earlier for this model shape on this adapter)' : ''}: ${figuresText}. The WebGPU adapter is a software fallback (no usable GPU), so the engine timed two training steps on each backend.`;
}

/** The choice a probe makes: the fastest backend, its figures and the message. */
export function probeChoice(figures: BackendProbeFigure[], key: string): BackendChoice {
	return { mode: 'auto', how: 'probe', key, probe: figures, message: choiceMessage(figures) };
}

/** One training step to time: enqueue it, then wait until the backend has computed it. */
export interface ProbeSubject {
	step(i: number): Promise<void>;
	dispose(): void;
}

export interface ProbeHooks {
	/** Switch the engine to a backend (throws when it does not start). */
	use(name: BackendName): Promise<void>;
	/** A fresh model of the run's shape on the active backend, with a batch. */
	subject(): Promise<ProbeSubject>;
	/** Told before each backend is timed. */
	onBackend?(name: BackendName, index: number): void;
	/** Whether the user stopped the run: the probe ends with what it has. */
	stopped?(): boolean;
	capMs?: number;
	steps?: number;
	now?: () => number;
}

/**
 * Time each backend: start it, build the model, one untimed warm-up step, then `steps` timed
 * steps. A backend that fails, or whose warm-up and steps run past `capMs`, is skipped with why.
 * A step cannot be interrupted, so a backend over the cap is noticed at the end of its step.
 */
export async function probeBackends(backends: readonly BackendName[], hooks: ProbeHooks): Promise<BackendProbeFigure[]> {
	const cap = hooks.capMs ?? PROBE_CAP_MS;
	const steps = hooks.steps ?? PROBE_STEPS;
	const now = hooks.now ?? (() => performance.now());
	const out: BackendProbeFigure[] = [];
	for (const [i, name] of backends.entries()) {
		if (hooks.stopped?.()) {
			out.push({ backend: name, skipped: 'the run was stopped' });
			continue;
		}
		hooks.onBackend?.(name, i);
		const began = now();
		const over = () => now() - began > cap;
		let subject: ProbeSubject | null = null;
		try {
			await hooks.use(name);
			subject = await hooks.subject();
			await subject.step(0);
			if (over()) throw new RangeError();
			const t = now();
			for (let s = 1; s <= steps; s++) {
				await subject.step(s);
				if (over()) throw new RangeError();
			}
			out.push({ backend: name, msPerStep: (now() - t) / steps });
		} catch (e) {
			out.push({ backend: name, skipped: e instanceof RangeError ? `over ${Math.round(cap / 1000)} s` : `failed: ${(e as Error).message}` });
		} finally {
			subject?.dispose();
		}
	}
	return out;
}
